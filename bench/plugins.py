"""Plugin runtime benchmark: the real host, the bundled burndown plugin, real stdio.

Measures:
- spawn: first request → plugin running (process start, Python import of the SDK, init);
- render: one 200x50 frame of the Analytics screen (request, paint, WireBuffer back);
- cli: one `ainb usage --json`-style cli_dispatch (with session-reader publishing first);
- one-shot: the `ainb usage --json` command a user types, end to end (process start included).

    uv run python bench/plugins.py --renders 200

Ends with one line: plugins: spawn_ms=… render_p50_ms=… render_p99_ms=… cli_p50_ms=…
oneshot_p50_ms=…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import percentile  # bench/ is on sys.path when run
from hangar.core.paths import HangarPaths
from hangar.plugins.protocol import Viewport
from hangar.plugins.runtime import PluginHost

FIXTURE_HOME = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "plugins" / "home"


async def run(args: argparse.Namespace, data: Path, home: Path) -> dict[str, float]:
    env = {**os.environ, "AINB_HANGAR_HOME": str(data), "HOME": str(home)}
    host = PluginHost(paths=HangarPaths(data), env=env, home=home)
    await host.start(eager=False)
    try:
        t0 = time.perf_counter()
        await host.ensure_running("burndown")
        spawn = (time.perf_counter() - t0) * 1000
        renders = []
        for gen in range(args.renders):
            t0 = time.perf_counter()
            await host.render("burndown", Viewport(width=200, height=50), gen)
            renders.append((time.perf_counter() - t0) * 1000)
        clis = []
        for _ in range(args.cli):
            t0 = time.perf_counter()
            out = await host.cli_dispatch("usage", ["daily", "--json"])
            clis.append((time.perf_counter() - t0) * 1000)
            assert out.exit_code == 0, out
    finally:
        await host.aclose()
    oneshot = []
    for _ in range(args.oneshot):
        t0 = time.perf_counter()
        subprocess.run(  # noqa: ASYNC221 - timing the user's command, nothing else runs
            [str(Path(sys.executable).parent / "ainb"), "usage", "--json"],
            env=env,
            capture_output=True,
            check=True,
        )
        oneshot.append((time.perf_counter() - t0) * 1000)
    return {
        "spawn_ms": spawn,
        "render_p50_ms": percentile(renders, 0.5),
        "render_p99_ms": percentile(renders, 0.99),
        "cli_p50_ms": statistics.median(clis),
        "oneshot_p50_ms": statistics.median(oneshot),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--cli", type=int, default=20)
    parser.add_argument("--oneshot", type=int, default=5)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="hgp-", dir="/tmp"))
    home = Path(tempfile.mkdtemp(prefix="hgh-", dir="/tmp"))
    shutil.copytree(FIXTURE_HOME, home, dirs_exist_ok=True)  # real-format transcripts
    try:
        figures = asyncio.run(run(args, data, home))
    finally:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    print("plugins: " + " ".join(f"{k}={v:.1f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
