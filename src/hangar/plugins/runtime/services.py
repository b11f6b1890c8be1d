"""The blocking host services behind gated calls (files, network), run in worker threads.

They run on small pools of *daemon* threads (``fs_pool``, ``net_pool``), never the loop's
default executor: ``asyncio.run`` joins that executor at exit, so one call stuck in the
kernel (a hung mount, a slow fetch) would hang the whole ``ainb`` process on its way out.
"""

from __future__ import annotations

import asyncio
import os
import queue
import stat
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, TypeVar

from hangar.adapters.files import write_private
from hangar.plugins.protocol import DirEntry, NetworkFetchParams, NetworkFetchResult
from hangar.proto.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS, NOT_FOUND, RpcError

__all__ = [
    "MAX_TRANSFER",
    "DaemonPool",
    "fetch",
    "fs_pool",
    "net_pool",
    "read_dir",
    "read_file",
    "run_in",
    "write_file",
]

T = TypeVar("T")

#: Bytes one answer may carry: base64 grows them by a third, and a frame holds 16 MiB.
MAX_TRANSFER = 12 * 1024 * 1024

# O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; O_NOFOLLOW: the
# gate handed us a canonical path, so a symlink here was swapped in after the check.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


class DaemonPool(Executor):
    """At most ``workers`` daemon threads; nobody waits for them at interpreter exit."""

    def __init__(self, workers: int, name: str) -> None:
        self._workers = workers
        self._name = name
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        fut: Future[T] = Future()
        self._jobs.put((fut, lambda: fn(*args, **kwargs)))
        with self._lock:
            if len(self._threads) < self._workers:
                t = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(t)
                t.start()
        return fut

    def _work(self) -> None:
        while True:
            fut, job = self._jobs.get()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                result = job()
            except BaseException as exc:
                fut.set_exception(exc)
            else:
                fut.set_result(result)


fs_pool = DaemonPool(4, "plugin-fs")
net_pool = DaemonPool(4, "plugin-net")


async def run_in(pool: Executor, fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)


def read_file(path: Path) -> bytes:
    """A regular file's bytes (at most ``MAX_TRANSFER``); FIFOs, devices, sockets refused."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise RpcError(NOT_FOUND, f"no such file: {path}") from None
    except OSError as exc:
        raise RpcError(INTERNAL_ERROR, f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise RpcError(INVALID_PARAMS, f"is a directory: {path}")
        if not stat.S_ISREG(st.st_mode):
            raise RpcError(INVALID_PARAMS, f"not a regular file: {path}")
        if st.st_size > MAX_TRANSFER:
            raise RpcError(
                INVALID_PARAMS, f"{path} is {st.st_size} bytes; the limit is {MAX_TRANSFER}"
            )
        parts: list[bytes] = []
        got = 0
        while got <= MAX_TRANSFER:  # the file may grow while we read: stop one past the limit
            data = os.read(fd, min(1 << 20, MAX_TRANSFER + 1 - got))
            if not data:
                break
            parts.append(data)
            got += len(data)
        if got > MAX_TRANSFER:
            raise RpcError(INVALID_PARAMS, f"{path} grew past the limit of {MAX_TRANSFER} bytes")
        return b"".join(parts)
    except OSError as exc:
        raise RpcError(INTERNAL_ERROR, f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_dir(path: Path) -> list[DirEntry]:
    entries: list[DirEntry] = []
    try:
        fd = os.open(path, _OPEN_FLAGS | os.O_DIRECTORY)
    except FileNotFoundError:
        raise RpcError(NOT_FOUND, f"no such directory: {path}") from None
    except NotADirectoryError:
        raise RpcError(INVALID_PARAMS, f"not a directory: {path}") from None
    except OSError as exc:
        raise RpcError(INTERNAL_ERROR, f"cannot list {path}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise RpcError(INVALID_PARAMS, f"not a directory: {path}")
        with os.scandir(fd) as it:  # stats only, never opens an entry
            for entry in it:
                try:
                    is_dir = entry.is_dir()
                    size = 0 if is_dir else entry.stat().st_size
                except OSError:
                    is_dir, size = False, 0
                entries.append(DirEntry(entry.name, is_dir, size))
    except OSError as exc:
        raise RpcError(INTERNAL_ERROR, f"cannot list {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return sorted(entries, key=lambda e: e.name)


def write_file(path: Path, data: bytes) -> None:
    """Atomic write (temp file + rename, the file 0600), creating parent directories."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, data)
    except OSError as exc:
        raise RpcError(INTERNAL_ERROR, f"cannot write {path}: {exc.strerror or exc}") from None


def fetch(params: NetworkFetchParams) -> NetworkFetchResult:
    import urllib.error
    import urllib.request

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        # a redirect could leave the granted hosts: hand the 3xx back to the plugin instead
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    if not params.url.startswith(("http://", "https://")):
        raise RpcError(INVALID_PARAMS, f"only http(s) URLs can be fetched: {params.url!r}")
    request = urllib.request.Request(
        params.url, data=params.body, method=params.method.upper(), headers=dict(params.headers)
    )
    opener = urllib.request.build_opener(_NoRedirect)
    timeout = max(0.1, params.timeout_ms / 1000)
    try:
        with opener.open(request, timeout=timeout) as resp:
            body = resp.read(MAX_TRANSFER + 1)
            status, headers = resp.status, list(resp.headers.items())
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_TRANSFER + 1)
        status, headers = exc.code, list(exc.headers.items())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RpcError(INTERNAL_ERROR, f"fetch {params.url} failed: {exc}") from None
    if len(body) > MAX_TRANSFER:
        raise RpcError(INTERNAL_ERROR, f"response from {params.url} exceeds {MAX_TRANSFER} bytes")
    return NetworkFetchResult(status=status, headers=headers, body=body)
