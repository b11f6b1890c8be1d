"""Run the app in this terminal (or, under ``ainb serve``, for one browser tab).

``python -m hangar.tui.run [--start MODE] [--workspace SLUG]``; the CLI's ``ainb``,
``ainb hangar tui`` and ``hangar tui`` call ``main`` in-process.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(start: str = "issues", workspace: str | None = None) -> int:
    from hangar.tui.app import SCREENS_BY_MODE, HangarApp

    if start not in SCREENS_BY_MODE:
        start = "issues"  # the home screen is optional in a build without it
    HangarApp(start=start, workspace=workspace).run()
    return 0


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hangar-tui", description=__doc__)
    parser.add_argument("--start", default="issues", help="the screen to open first")
    parser.add_argument("--workspace", default=None, help="workspace slug or id")
    args = parser.parse_args(argv)
    return main(start=args.start, workspace=args.workspace)


if __name__ == "__main__":
    sys.exit(_cli())
