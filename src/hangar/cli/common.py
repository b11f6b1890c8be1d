"""What every command shares: --json/--workspace, the daemon call, and output helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click
import msgspec

from hangar.cli.errors import ERROR, NOT_FOUND, UNREACHABLE, USAGE, CliError
from hangar.core.fsm import TaskStatus
from hangar.core.vocab import IssueState, ScreenState, SessionStatus

if TYPE_CHECKING:
    from hangar.proto.calls import Call

F = TypeVar("F", bound=Callable[..., Any])
P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R", bound=msgspec.Struct)


#: set when this command's connection started the daemon
_started_daemon: list[int] = []


def common_options(fn: F) -> F:
    """--json and --workspace on every command."""

    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
    @click.option(
        "--workspace",
        "-w",
        "workspace",
        envvar="HANGAR_WORKSPACE",
        metavar="SLUG",
        help="Workspace slug or id (default: the daemon's default workspace).",
    )
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if _started_daemon:  # said once, after the command's own output, on success
            pid = _started_daemon.pop()
            click.echo(
                f"started the Hangar daemon (pid {pid}); `hangar daemon stop` ends it", err=True
            )
        return result

    return wrapper  # type: ignore[return-value]


class Daemon:
    """A connection to the daemon for one command; starts the daemon when needed."""

    def __init__(self, *, autostart: bool = True) -> None:
        from hangar.client import DaemonUnreachable, RemoteError, SyncClient
        from hangar.core.paths import HangarPaths

        self.paths = HangarPaths.from_env()
        try:
            self.client = SyncClient.connect(self.paths, autostart=autostart)
            if self.client.started_daemon is not None:
                _started_daemon.append(self.client.started_daemon)
        except DaemonUnreachable as exc:
            raise CliError(exc.brief, UNREACHABLE) from None
        except RemoteError as exc:  # e.g. the token file no longer matches the daemon
            raise CliError(f"the daemon refused us: {exc.message}", ERROR) from None

    def request(self, call: Call[P, R], params: P) -> R:
        """The typed call; the daemon's refusals become one-line ``CliError``s."""
        from hangar.client import DaemonUnreachable, RemoteError
        from hangar.proto import jsonrpc

        try:
            return self.client.request(call, params)
        except RemoteError as exc:
            code = NOT_FOUND if exc.code == jsonrpc.NOT_FOUND else ERROR
            raise CliError(exc.message, code) from None
        except DaemonUnreachable as exc:
            raise CliError(exc.brief, UNREACHABLE) from None

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        from hangar.client import DaemonUnreachable

        try:
            return self.client.next_event(timeout=timeout)
        except DaemonUnreachable as exc:
            raise CliError(exc.brief, UNREACHABLE) from None

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def request(call: Call[P, R], params: P) -> R:
    """One typed call on a connection of its own."""
    with Daemon() as d:
        return d.request(call, params)


def emit_json(value: Any) -> None:
    """``value`` (a result struct, or plain values) as indented JSON, keys in wire order."""
    import json  # only --json needs it

    click.echo(
        json.dumps(msgspec.to_builtins(value), indent=2, sort_keys=False, ensure_ascii=False)
    )


def more_hint(noun: str, next_before: str | None) -> None:
    """Say on stderr (stdout stays the page, text or JSON) how to get the next page."""
    if next_before is not None:
        click.echo(f"more {noun}s follow: hangar {noun} list --before {next_before}", err=True)


def usage_error(message: str) -> CliError:
    return CliError(message, USAGE)


def fmt_time(ms: int | None) -> str:
    if not ms:
        return "-"
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    # width from the visible text: colour codes take no columns
    widths = [max(len(click.unstyle(r[i])) for r in cells) for i in range(len(headers))]
    for n, r in enumerate(cells):
        pads = [" " * (widths[i] - len(click.unstyle(c))) for i, c in enumerate(r)]
        line = "  ".join(c + pad for c, pad in zip(r, pads, strict=True)).rstrip()
        click.echo(click.style(line, bold=True) if n == 0 else line)


def kv(pairs: Sequence[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in pairs)
    for k, v in pairs:
        click.echo(f"{k.ljust(width)}  {'-' if v is None or v == '' else v}")


#: a StrEnum member is its text, so a row's plain string finds its colour here
STATUS_COLORS: dict[str, str] = {
    TaskStatus.QUEUED: "white",
    TaskStatus.DISPATCHED: "cyan",
    TaskStatus.RUNNING: "blue",
    TaskStatus.DONE: "green",  # and IssueState.DONE
    TaskStatus.FAILED: "red",
    TaskStatus.CANCELLED: "yellow",  # and IssueState.CANCELLED
    IssueState.OPEN: "white",
    IssueState.IN_PROGRESS: "blue",
    # interactive sessions: their status, and what their screen says
    SessionStatus.ACTIVE: "green",
    SessionStatus.ORPHANED: "yellow",
    SessionStatus.ARCHIVED: "white",
    ScreenState.IDLE: "green",
    ScreenState.BUSY: "blue",
    ScreenState.WAITING_FOR_INPUT: "magenta",
    ScreenState.EXITED: "red",
}


def status(text: str) -> str:
    return click.style(text, fg=STATUS_COLORS.get(text))
