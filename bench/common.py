"""What the benchmarks share: percentiles, and a private daemon to measure against."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from hangar.client import AsyncClient, DaemonUnreachable
from hangar.core.paths import HangarPaths


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def start_daemon(
    home: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], AsyncClient]:
    """A daemon of its own for ``home`` (started once, before any timing) and a client."""
    daemon = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
        [sys.executable, "-m", "hangar.daemon"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(home / "daemon.err", "w"),  # noqa: SIM115
    )
    paths = HangarPaths(home)
    deadline = time.monotonic() + 30
    while not (paths.socket.exists() and paths.token.exists()):
        if daemon.poll() is not None or time.monotonic() > deadline:
            daemon.kill()
            raise SystemExit((home / "daemon.err").read_text() or "daemon did not start")
        await asyncio.sleep(0.02)
    while True:  # the socket file appears a moment before the daemon listens on it
        try:
            return daemon, await AsyncClient.connect(paths, autostart=False)
        except DaemonUnreachable:
            if daemon.poll() is not None or time.monotonic() > deadline:
                daemon.kill()  # never leave it running behind a failed start
                raise
            await asyncio.sleep(0.02)
