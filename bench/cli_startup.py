"""CLI start-up benchmark: what a command costs before it does anything, next to a bare interpreter.

Times, interleaved round by round (so a busy machine slows every command alike), N runs each
after a few warm-ups, of:
- `python -c pass`, the venv's interpreter: the floor every command pays;
- a minimal Click app (`import click`, one command): what any Click CLI pays;
- `hangar --help`: the command tree, no daemon;
- `hangar issue list`: one call to a running daemon (its own home, a few issues filed),
  through the venv's `hangar` entry script, the way a user runs it.

    uv run python bench/cli_startup.py --n 30

Ends with one line: cli_startup: python_ms=… click_ms=… help_ms=… issue_list_ms=…
click_x=… help_x=… issue_list_x=… (wall-clock p50s, and each over bare python's p50).
Above it, per command: p50 and p90 wall-clock, and the p50 CPU time (user + system) the
process used, which a busy machine disturbs less than the wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import percentile, start_daemon  # bench/ is on sys.path when run

CLICK_MINIMAL = """\
import click

@click.command()
@click.option("--name", default="x")
def main(name):
    pass

main()
"""


def commands(home: Path) -> dict[str, list[str]]:
    python = sys.executable
    hangar = str(Path(python).parent / "hangar")  # the console script, as installed
    script = home / "click_minimal.py"
    script.write_text(CLICK_MINIMAL)
    return {
        "python": [python, "-c", "pass"],
        "click": [python, str(script)],
        "help": [hangar, "--help"],
        "issue_list": [hangar, "issue", "list"],
    }


async def prepare(home: Path, env: dict[str, str], issues: int) -> subprocess.Popen[bytes]:
    """Start the daemon and file a few issues, so `issue list` prints a real table."""
    daemon, client = await start_daemon(home, env)
    try:
        for i in range(issues):
            await client.call("hangar/issue_create", {"title": f"bench issue {i}"})
    except BaseException:
        stop(daemon)
        raise
    finally:
        await client.close()
    return daemon


def stop(daemon: subprocess.Popen[bytes]) -> None:
    daemon.terminate()
    try:
        daemon.wait(30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


def _children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds of one run of ``argv``."""
    cpu0 = _children_cpu_ms()
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    elapsed = (time.perf_counter() - t0) * 1000
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')}"
        )
    return elapsed, _children_cpu_ms() - cpu0


def run(
    args: argparse.Namespace, home: Path, env: dict[str, str]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock and CPU times, per command."""
    argvs = commands(home)
    daemon = asyncio.run(prepare(home, env, args.issues))
    try:
        for _ in range(args.warmup):
            for argv in argvs.values():
                once(argv, env)
        wall: dict[str, list[float]] = {name: [] for name in argvs}
        cpu: dict[str, list[float]] = {name: [] for name in argvs}
        for _ in range(args.n):
            for name, argv in argvs.items():
                w, c = once(argv, env)
                wall[name].append(w)
                cpu[name].append(c)
        if daemon.poll() is not None:
            raise SystemExit("the daemon died during the run")
    finally:
        stop(daemon)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=30, help="timed runs of each command (default 30)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    ap.add_argument("--issues", type=int, default=20, help="issues filed first (default 20)")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="hg-bench-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HANGAR_", "AINB_"))}
    env.update(AINB_HANGAR_HOME=str(home), HANGAR_LOG_LEVEL="warn")
    try:
        times, cpu = run(args, home, env)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    base = percentile(times["python"], 0.50)
    cpu_base = percentile(cpu["python"], 0.50)
    p50 = {name: percentile(values, 0.50) for name, values in times.items()}
    for name, values in times.items():
        cpu_p50 = percentile(cpu[name], 0.50)
        print(
            f"{name:<11} p50_ms={p50[name]:6.1f} p90_ms={percentile(values, 0.90):6.1f} "
            f"x_python={p50[name] / base:4.2f}   "
            f"cpu_p50_ms={cpu_p50:6.1f} cpu_x_python={cpu_p50 / cpu_base:4.2f}",
            file=sys.stderr,
        )
    print(
        f"cli_startup: n={args.n} python_ms={base:.1f} click_ms={p50['click']:.1f} "
        f"help_ms={p50['help']:.1f} issue_list_ms={p50['issue_list']:.1f} "
        f"click_x={p50['click'] / base:.2f} help_x={p50['help'] / base:.2f} "
        f"issue_list_x={p50['issue_list'] / base:.2f}"
    )


if __name__ == "__main__":
    main()
