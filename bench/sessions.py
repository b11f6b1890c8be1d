"""Interactive-session benchmark over the real socket, real tmux (private server) and git.

Measures, with `cat` as the agent:
- create: worktree + tmux session + launch probe + row (one call each, N sessions);
- round trip: session_send (no Enter) until session_read shows the text (the rate limit of
  1 send / 200 ms per session is respected by rotating over the sessions);
- idle probe: one session_idle call (pane state + 200-line capture + hash);
- list: session_list over N active sessions (one `tmux list-sessions` + one query).

    uv run python bench/sessions.py --n 10 --rounds 100

Ends with one line: sessions: n=… create_p50_ms=… roundtrip_p50_ms=… roundtrip_p99_ms=…
idle_p50_ms=… idle_p99_ms=… list_p50_ms=…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import percentile, start_daemon  # bench/ is on sys.path when run


def make_repo(path: Path) -> None:
    git = ["git", "-C", str(path), "-c", "user.name=b", "-c", "user.email=b@b"]
    path.mkdir(parents=True)
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "init"], check=True)


async def run(args: argparse.Namespace, home: Path, env: dict[str, str]) -> dict[str, float]:
    daemon, client = await start_daemon(home, env)
    try:
        repo = home / "repo"
        make_repo(repo)
        creates: list[float] = []
        names = [f"bench-{i}" for i in range(args.n)]
        for name in names:
            t0 = time.perf_counter()
            await client.call(
                "hangar/session_create",
                {"name": name, "repo_path": str(repo), "command": ["cat"], "max_sessions": 50},
            )
            creates.append((time.perf_counter() - t0) * 1000)

        trips: list[float] = []
        for r in range(args.rounds):
            name = names[r % len(names)]
            marker = f"m{r:05d}x"
            t0 = time.perf_counter()
            await client.call(
                "hangar/session_send", {"id": name, "text": marker, "press_enter": False}
            )
            while True:
                res = await client.call("hangar/session_read", {"id": name, "lines": 5})
                if marker in res["content"]:
                    break
            trips.append((time.perf_counter() - t0) * 1000)

        idles: list[float] = []
        for r in range(args.rounds):
            t0 = time.perf_counter()
            await client.call("hangar/session_idle", {"id": names[r % len(names)]})
            idles.append((time.perf_counter() - t0) * 1000)

        lists: list[float] = []
        for _ in range(20):
            t0 = time.perf_counter()
            await client.call("hangar/session_list", {})
            lists.append((time.perf_counter() - t0) * 1000)

        for name in names:
            await client.call("hangar/session_delete", {"id": name, "confirm": True})
        await client.close()
        return {
            "create_p50_ms": percentile(creates, 0.5),
            "roundtrip_p50_ms": percentile(trips, 0.5),
            "roundtrip_p99_ms": percentile(trips, 0.99),
            "idle_p50_ms": percentile(idles, 0.5),
            "idle_p99_ms": percentile(idles, 0.99),
            "list_p50_ms": percentile(lists, 0.5),
        }
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="sessions to create")
    parser.add_argument("--rounds", type=int, default=100, help="send/read and idle samples")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hgb-", dir="/tmp"))
    tmux_dir = Path(tempfile.mkdtemp(prefix="hgt-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HANGAR_", "AINB_", "TMUX"))}
    env.update(AINB_HANGAR_HOME=str(home), TMUX_TMPDIR=str(tmux_dir))
    try:
        figures = asyncio.run(run(args, home, env))
    finally:
        subprocess.run(["tmux", "kill-server"], env=env, capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(tmux_dir, ignore_errors=True)
    print(f"sessions: n={args.n} " + " ".join(f"{k}={v:.1f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
