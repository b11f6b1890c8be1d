#!/usr/bin/env python3
"""List source files changed since BASE and the test files named after them.

Usage: untested-changes.py [BASE]   (default BASE: HEAD, i.e. uncommitted changes)
Run from the repository root. Matches by file name only, so read the result as a hint:
"no test file" means nobody named a test after the file, not that nothing tests it.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import PurePosixPath

TEST_PATH = re.compile(r"(^|/)(tests?|__tests__|spec)/|(^|/)test_[^/]*$|_test\.|\.(test|spec)\.")
TEST_AFFIX = re.compile(r"^test_|_test$|_spec$|\.test$|\.spec$|Test$|Tests$|Spec$")
SOURCE = re.compile(r"\.(py|jsx?|tsx?|go|rs|rb|java|kt|c|cc|cpp|h|hpp|cs|php|swift|scala|exs?|sh)$")


def git(*args: str) -> list[str]:
    out = subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def subject(test_path: str) -> str:
    """The name a test file is about: test_parser.py, parser_test.go, parser.spec.ts -> parser."""
    stem = PurePosixPath(test_path).name.split(".")[0]
    return TEST_AFFIX.sub("", stem).lower()


def main() -> int:
    base = sys.argv[1] if len(sys.argv) > 1 else "HEAD"
    untracked = git("ls-files", "--others", "--exclude-standard")
    changed = set(git("diff", "--name-only", base)) | set(untracked)
    tests = [f for f in git("ls-files") + untracked if TEST_PATH.search(f)]
    sources = sorted(
        f
        for f in changed
        if SOURCE.search(f)
        and not TEST_PATH.search(f)
        and not PurePosixPath(f).stem.startswith("__")
    )
    if not sources:
        print(f"no changed source files since {base}")
        return 0
    for src in sources:
        stem = PurePosixPath(src).stem.lower()
        related = [t for t in tests if subject(t) == stem or subject(t).startswith(stem + "_")]
        if not related:
            print(f"no test file     {src}")
            continue
        mark = "tests changed" if any(t in changed for t in related) else "tests unchanged"
        print(f"{mark:<17}{src}")
        for t in related:
            print(f"    {'*' if t in changed else ' '} {t}")
    return 0


if __name__ == "__main__":
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
