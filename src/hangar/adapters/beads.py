"""The ``bd`` (beads) CLI at arm's length (docs/beads.md#bds-json).

Every call is an argv list (never a shell), runs with ``BEADS_DIR=<dir>`` and
``BD_JSON_ENVELOPE=1`` and ``--json``, one at a time (a lock), in an asyncio subprocess with
a timeout: a bd that hangs is killed with its process group. The answer is read in either
shape bd prints (``{"schema_version": 1, "data": …}``, or the bare object or array); ``bd
show`` answers a list although its help says an object. Whatever goes wrong — bd missing,
exiting non-zero (its error is JSON on stderr, or plain text), printing something that is
not JSON, or running past the timeout — is one :class:`BdError` carrying bd's message.

The first call probes ``bd version`` and pins the version for the life of this client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

__all__ = ["DEFAULT_TIMEOUT_S", "Bd", "BdError", "BdIssue", "bd_environment", "parse_answer"]

DEFAULT_TIMEOUT_S: Final = 30.0
#: how much of bd's output an error quotes
_QUOTE = 200
#: variables of the daemon's environment bd gets (plus every BD_* and BEADS_* the user set);
#: never the agents' API keys
_PASS = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "TERM", "GIT_CONFIG_GLOBAL"}
)
_PASS_PREFIXES = ("LC_", "XDG_", "BD_", "BEADS_")
_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?")


class BdError(Exception):
    """bd could not do what was asked. ``code``: bd's own error code (``not_found`` …), or
    ``missing`` (no such program), ``timeout``, ``garbage`` (not JSON, or not the shape
    asked for), ``exit`` (a non-zero exit without a code)."""

    def __init__(self, message: str, *, code: str = "exit", verb: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.verb = verb

    @property
    def not_found(self) -> bool:
        return self.code == "not_found"


@dataclass(frozen=True)
class BdIssue:
    """The fields of a bd issue Hangar reads; ``raw`` is the whole object."""

    id: str
    title: str
    status: str
    description: str = ""
    priority: int | None = None
    labels: tuple[str, ...] = ()
    external_ref: str | None = None
    updated_at: str | None = None
    closed_at: str | None = None
    close_reason: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def closed(self) -> bool:
        return self.status == "closed"

    @classmethod
    def from_json(cls, obj: Any, verb: str = "") -> BdIssue:
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"]:
            raise BdError(
                f"bd {verb} answered something that is not an issue: {_quote(obj)}",
                code="garbage",
                verb=verb,
            )
        labels = obj.get("labels") or ()
        priority = obj.get("priority")
        return cls(
            id=obj["id"],
            title=str(obj.get("title") or ""),
            status=str(obj.get("status") or "open"),
            description=str(obj.get("description") or ""),
            priority=priority if isinstance(priority, int) else None,
            labels=tuple(str(x) for x in labels) if isinstance(labels, list) else (),
            external_ref=_opt_str(obj.get("external_ref")),
            updated_at=_opt_str(obj.get("updated_at")),
            closed_at=_opt_str(obj.get("closed_at")),
            close_reason=_opt_str(obj.get("close_reason")),
            raw=obj,
        )


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _quote(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.strip().replace("\x00", "\\0")
    return text[:_QUOTE] + ("…" if len(text) > _QUOTE else "") if text else "(nothing)"


def bd_environment(parent_env: Mapping[str, str], beads_dir: Path) -> dict[str, str]:
    """What bd runs with: a few variables of the daemon's (locale, home, path, the user's
    own ``BD_*``/``BEADS_*``), then ``BEADS_DIR`` and the JSON envelope switched on."""
    env = {k: v for k, v in parent_env.items() if k in _PASS or k.startswith(_PASS_PREFIXES)}
    env["BEADS_DIR"] = str(beads_dir)
    env["BD_JSON_ENVELOPE"] = "1"
    return env


def parse_answer(stdout: str, verb: str = "") -> Any:
    """bd's answer in either shape: the envelope's ``data``, or the bare object (its injected
    ``schema_version`` dropped) or array. A line of chatter before the JSON is skipped."""
    text = stdout.strip()
    if not text:
        raise BdError(f"bd {verb} printed nothing", code="garbage", verb=verb)
    try:
        doc = json.loads(text)
    except ValueError:
        doc = _json_after_chatter(text, verb)
    if isinstance(doc, dict):
        if "error" in doc and "id" not in doc and "data" not in doc:
            raise BdError(_error_message(verb, doc), code=str(doc.get("code") or "exit"), verb=verb)
        if "data" in doc and "schema_version" in doc:
            return doc["data"]
        return {k: v for k, v in doc.items() if k != "schema_version"}
    if isinstance(doc, list):
        return doc
    raise BdError(f"bd {verb} answered {_quote(text)}, not JSON", code="garbage", verb=verb)


def _json_after_chatter(text: str, verb: str) -> Any:
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if line.lstrip().startswith(("{", "[")):
            try:
                return json.loads("\n".join(lines[n:]))
            except ValueError:
                break
    raise BdError(f"bd {verb} answered {_quote(text)}, not JSON", code="garbage", verb=verb)


def _error_message(verb: str, doc: Mapping[str, Any]) -> str:
    code = doc.get("code")
    detail = f" ({code})" if code else ""
    return f"bd {verb} failed: {doc.get('error')}{detail}"


def _stderr_error(verb: str, stderr: str, returncode: int) -> BdError:
    """bd's error from stderr: its JSON ``{error, code}`` when it printed one (it may follow
    other lines), else the last lines of text."""
    text = stderr.strip()
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict) and "error" in doc:
                return BdError(
                    _error_message(verb, doc), code=str(doc.get("code") or "exit"), verb=verb
                )
    if not text:
        return BdError(f"bd {verb} exited {returncode} without a word", verb=verb)
    tail = " | ".join(text.splitlines()[-3:])
    return BdError(f"bd {verb} failed (exit {returncode}): {_quote(tail)}", verb=verb)


class Bd:
    """One bd database (``beads_dir``) through one bd program (``binary``)."""

    def __init__(
        self,
        binary: str,
        beads_dir: Path,
        *,
        parent_env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.binary = binary
        self.beads_dir = beads_dir
        self.timeout = timeout
        self._env = bd_environment(os.environ if parent_env is None else parent_env, beads_dir)
        self._lock = asyncio.Lock()
        self._probe_lock = asyncio.Lock()
        #: bd's version, once the probe answered
        self.version: str | None = None

    # -- the verbs -------------------------------------------------------------------------

    async def probe(self) -> str:
        """``bd version``, once: the version this client is pinned to."""
        async with self._probe_lock:
            if self.version is None:
                data = await self._call(["version"], probe=False)
                version = data.get("version") if isinstance(data, dict) else None
                if not isinstance(version, str) or not _VERSION.search(version):
                    raise BdError(
                        f"{self.binary} does not look like bd: `bd version` answered "
                        f"{_quote(data)}",
                        code="garbage",
                        verb="version",
                    )
                self.version = version
            return self.version

    async def create(
        self,
        title: str,
        *,
        description: str | None = None,
        labels: Sequence[str] = (),
        external_ref: str | None = None,
        priority: int | None = None,
    ) -> BdIssue:
        argv = ["create"]
        if description:
            argv.append(f"--description={description}")
        if priority is not None:
            argv += ["-p", str(priority)]
        if labels:
            argv += ["-l", ",".join(labels)]
        if external_ref:
            argv += ["--external-ref", external_ref]
        argv += ["--", title]  # a title may start with "-"
        return BdIssue.from_json(_one(await self._call(argv), "create"), "create")

    async def list_issues(
        self, *, labels: Sequence[str] = (), include_closed: bool = True
    ) -> list[BdIssue]:
        """Every issue carrying all ``labels`` (no limit; closed ones too, unless told)."""
        argv = ["list", "-n", "0"]
        if include_closed:
            argv.append("--all")
        for label in labels:
            argv += ["--label", label]
        data = await self._call(argv)
        if not isinstance(data, list):
            raise BdError(
                f"bd list answered {_quote(data)}, not a list", code="garbage", verb="list"
            )
        return [BdIssue.from_json(item, "list") for item in data]

    async def show(self, bd_id: str) -> BdIssue:
        """One issue; ``BdError`` with ``not_found`` when bd has none by that id."""
        data = await self._call(["show", bd_id])
        if isinstance(data, list):  # bd's real answer, whatever its help says
            found = [x for x in data if isinstance(x, dict) and x.get("id") == bd_id] or data
            if not found:
                raise BdError(f"bd show: no issue {bd_id}", code="not_found", verb="show")
            data = found[0]
        return BdIssue.from_json(data, "show")

    async def close(self, bd_id: str, reason: str) -> BdIssue:
        data = await self._call(["close", bd_id, "-r", reason])
        return BdIssue.from_json(_one(data, "close"), "close")

    # -- the call --------------------------------------------------------------------------

    async def _call(self, args: list[str], *, probe: bool = True) -> Any:
        if probe and self.version is None:
            await self.probe()
        verb = args[0]
        argv = [self.binary, verb, "--json", *args[1:]]  # before any "--" that ends flags
        async with self._lock:
            stdout, stderr, code = await self._run(argv, verb)
        if code != 0:
            raise _stderr_error(verb, stderr, code)
        return parse_answer(stdout, verb)

    async def _run(self, argv: list[str], verb: str) -> tuple[str, str, int]:
        if not self.beads_dir.is_dir():
            raise BdError(f"the beads directory {self.beads_dir} does not exist", verb=verb)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._env,
                cwd=self.beads_dir,
                start_new_session=True,  # a group of its own: a timeout kills all of it
            )
        except FileNotFoundError:
            raise BdError(f"bd not found: {self.binary}", code="missing", verb=verb) from None
        except OSError as exc:
            raise BdError(f"cannot run {self.binary}: {exc}", code="missing", verb=verb) from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            await _kill(proc)
            raise BdError(
                f"bd {verb} did not answer within {self.timeout:g}s and was killed",
                code="timeout",
                verb=verb,
            ) from None
        except BaseException:  # cancelled: never leave bd running unobserved
            await _kill(proc)
            raise
        assert proc.returncode is not None
        return out.decode(errors="replace"), err.decode(errors="replace"), proc.returncode


def _one(data: Any, verb: str) -> Any:
    """The one issue of an answer that may be an object or a list of one."""
    if isinstance(data, list):
        if len(data) != 1:
            raise BdError(
                f"bd {verb} answered {len(data)} issues where one was due",
                code="garbage",
                verb=verb,
            )
        return data[0]
    return data


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    # shielded so a second cancellation cannot leave a zombie behind
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.shield(proc.wait())
