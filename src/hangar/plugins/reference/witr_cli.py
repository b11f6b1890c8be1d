"""``ainb witr TARGET [--pid|--port|--file] [--json]``: ask the external ``witr`` why
something is running.

Runs ``witr --json <target>`` as an argv list (never a shell) in its own process group,
with a 5 s timeout after which the whole group is killed. ``witr --json`` prints its Go
``Result`` struct: ``Process``, ``Ancestry`` (root first), ``Source {Type, Name}``,
``Warnings``; keys are read case-insensitively so a snake_case port reads the same.

Exit codes, so scripts can tell the failures apart:
  0   the answer was printed
  1   witr failed (its exit status and stderr are shown) or printed something not JSON
  2   bad arguments
  124 witr did not answer within the timeout (the ``timeout(1)`` convention)
  127 witr is not installed or not on PATH (the shell's "command not found")
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from typing import Any

from hangar.plugins.protocol import CliOutput
from hangar.plugins.reference.cli_support import CliParser, parse_or_output, text_output
from hangar.plugins.runtime.process import die_with_parent

__all__ = [
    "EXIT_NOT_FOUND",
    "EXIT_TIMEOUT",
    "INSTALL_HINT",
    "WITR_TIMEOUT_S",
    "WitrError",
    "format_result",
    "run_witr",
    "snapshot_payload",
    "witr_argv",
    "witr_command",
]

WITR_TIMEOUT_S = 5.0
EXIT_TIMEOUT = 124
EXIT_NOT_FOUND = 127
INSTALL_HINT = (
    "witr is not installed (no `witr` on PATH). ainb witr wraps the external witr CLI "
    "(>= 0.3.2).\n"
    "Install it with one of:\n"
    "  brew install witr\n"
    "  go install github.com/pranshuparmar/witr/cmd/witr@latest\n"
    "  see https://github.com/pranshuparmar/witr#installation\n"
)

_HELP = """\
Explain why a process is running: its ancestry (who started whom), how it was started
(systemd, launchd, cron, a shell, a container …) and any warnings, from the external
`witr` CLI (which must be on PATH).

TARGET is a process name by default; --pid, --port or --file say what else it is.
In the TUI, press w on the witr screen for witr's own full-screen browser (witr -i).
"""


class WitrError(Exception):
    """witr could not answer; ``exit_code`` follows the table in the module docstring."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def witr_argv(target: str, mode: str = "name") -> list[str]:
    """The argv for one lookup; flag values use ``--flag=value`` and a name follows ``--``,
    so a target that starts with ``-`` is never read as an option."""
    if mode == "name":
        return ["witr", "--json", "--", target]
    return ["witr", "--json", f"--{mode}={target}"]


def run_witr(
    argv: list[str],
    *,
    timeout: float = WITR_TIMEOUT_S,
    which: Callable[[str], str | None] = shutil.which,
) -> Any:
    """Run witr and return its decoded JSON; raise ``WitrError`` on any failure."""
    binary = which(argv[0])
    if binary is None:
        raise WitrError(INSTALL_HINT, EXIT_NOT_FOUND)
    try:
        proc = subprocess.Popen(
            [binary, *argv[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own group: a timeout kills its children too
            preexec_fn=die_with_parent,  # and it never outlives the plugin (or the host)
        )
    except OSError as exc:
        raise WitrError(f"could not start {binary}: {exc}\n") from exc
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise WitrError(
            f"witr did not answer within {timeout:g} s (killed): {' '.join(argv)}\n",
            EXIT_TIMEOUT,
        ) from None
    stderr = err.decode(errors="replace").strip()
    if proc.returncode != 0:
        detail = f":\n{stderr}" if stderr else " (no error output)"
        raise WitrError(f"witr exited with status {proc.returncode}{detail}\n")
    try:
        return json.loads(out)
    except ValueError:
        shown = out.decode(errors="replace").strip()[:200] or "(nothing)"
        extra = f"\nwitr stderr: {stderr}" if stderr else ""
        raise WitrError(f"witr printed something that is not JSON: {shown}{extra}\n") from None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()  # reap it and close the pipes


# -- reading witr's JSON ----------------------------------------------------------------------


def _get(obj: Any, name: str) -> Any:
    """``obj[name]`` matched case- and underscore-insensitively (``StartedAt``/``started_at``)."""
    if not isinstance(obj, dict):
        return None
    want = name.replace("_", "").lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.replace("_", "").lower() == want:
            return value
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _proc_label(proc: Any) -> str:
    name = _text(_get(proc, "Command")) or _text(_get(proc, "Cmdline")) or "?"
    return f"{name} (pid {_text(_get(proc, 'PID')) or '?'})"


def _chain(result: Any) -> list[Any]:
    ancestry = _get(result, "Ancestry")
    if isinstance(ancestry, list) and ancestry:
        return ancestry
    process = _get(result, "Process")
    return [process] if isinstance(process, dict) else []


def _format_one(result: Any) -> list[str]:
    chain = _chain(result)
    if not chain:
        return ["witr found no matching process."]
    target = chain[-1]
    lines = [f"Target      : {_proc_label(target)}"]
    for label, field in (
        ("User", "User"),
        ("Command", "Cmdline"),
        ("Started", "StartedAt"),
        ("Working dir", "WorkingDir"),
        ("Container", "Container"),
        ("Service", "Service"),
    ):
        value = _text(_get(target, field))
        if value and value != "unknown":
            lines.append(f"{label:<12}: {value}")
    lines += ["", "Why it exists:"]
    for depth, proc in enumerate(chain):
        lines.append("  " + ("   " * (depth - 1) + "└─ " if depth else "") + _proc_label(proc))
    source = _get(result, "Source")
    kind, name = _text(_get(source, "Type")), _text(_get(source, "Name"))
    if kind or name:
        shown = f"{name} ({kind})" if name and kind and name != kind else name or kind
        lines += ["", f"Source      : {shown}"]
    warnings = [w for w in _get(result, "Warnings") or [] if isinstance(w, str)]
    if warnings:
        lines += ["", "Warnings:", *(f"  • {w}" for w in warnings)]
    return lines


def format_result(result: Any) -> str:
    """A readable ancestry; several matches (a list) are shown one after another."""
    results = result if isinstance(result, list) else [result]
    if not results:
        return "witr found no matching process.\n"
    blocks = ["\n".join(_format_one(r)) for r in results]
    return "\n\n".join(blocks) + "\n"


def snapshot_payload(target: str, mode: str, result: Any) -> bytes:
    """The ``witr.snapshot`` payload: byte-identical for the same answer (sorted keys)."""
    doc = {"version": 1, "target": target, "mode": mode, "result": result}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


# -- the command ------------------------------------------------------------------------------


def _parser() -> CliParser:
    p = CliParser(
        prog="ainb witr",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", help="a process name, or a PID, port or file with the flags below")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument(
        "--pid", dest="mode", action="store_const", const="pid", help="TARGET is a PID"
    )
    kind.add_argument(
        "--port", dest="mode", action="store_const", const="port", help="TARGET is a port"
    )
    kind.add_argument(
        "--file", dest="mode", action="store_const", const="file", help="TARGET is a file path"
    )
    p.add_argument("--json", action="store_true", help="print witr's JSON as it is")
    p.set_defaults(mode="name")
    return p


def witr_command(
    argv: list[str],
    *,
    timeout: float = WITR_TIMEOUT_S,
    on_result: Callable[[str, str, Any], None] | None = None,
) -> CliOutput:
    """Parse ``argv``, run witr, print the answer; ``on_result`` sees each success."""
    parser = _parser()
    args = parse_or_output(parser, argv)
    if isinstance(args, CliOutput):
        return args
    target: str = args.target
    if args.mode in ("pid", "port") and not (target.isascii() and target.isdigit()):
        return parser.error_output(f"--{args.mode} needs a number, got {target!r}")
    try:
        result = run_witr(witr_argv(target, args.mode), timeout=timeout)
    except WitrError as exc:
        return text_output(stderr=f"ainb witr: {exc}", exit_code=exc.exit_code)
    if on_result is not None:
        on_result(target, args.mode, result)
    if args.json:
        return text_output(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return text_output(format_result(result))
