"""``ainb-hangar-daemon`` / ``python -m hangar.daemon``: run the daemon in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from hangar.daemon.config import ConfigError, DaemonConfig
from hangar.daemon.lock import AlreadyRunning


async def _serve(config: DaemonConfig) -> int:
    from hangar.daemon.app import Daemon

    daemon = Daemon(config)
    try:
        await daemon.start()
    except AlreadyRunning as exc:
        print(f"hangar daemon: already running ({exc})", file=sys.stderr)
        return 0
    except Exception as exc:  # one clear line; the traceback goes to the log
        print(f"hangar daemon: cannot start: {exc}", file=sys.stderr)
        if daemon.log is not None:
            daemon.log.exception("daemon failed to start", error=str(exc))
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, daemon.request_stop)
    try:
        await daemon.wait_stopped()
    finally:
        await daemon.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ainb-hangar-daemon",
        description="Run the Hangar daemon in the foreground (logs also go to stderr with -v).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="echo logs to stderr")
    args = parser.parse_args(argv)
    try:
        config = DaemonConfig.from_env(echo_logs=args.verbose)
    except ConfigError as exc:
        print(f"hangar daemon: {exc}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(_serve(config))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
