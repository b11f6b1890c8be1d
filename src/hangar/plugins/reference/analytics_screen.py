"""The burndown plugin's Analytics screen, as a Rich renderable sized to the viewport.

Clock-free and deterministic: the same snapshot, tab and viewport give the same lines (the
SDK's ``paint`` turns them into a WireBuffer). Every line is built already cut to the
width, so any viewport, down to 1 by 1, renders without wrapping surprises.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from hangar.plugins.reference.usage_data import UsageData
from hangar.plugins.reference.usage_views import VIEWS, ViewName, ViewRow, group, money, total

__all__ = ["TAB_KEYS", "build_screen", "compact", "next_tab"]

TAB_KEYS: dict[str, ViewName] = {"d": "daily", "w": "weekly", "m": "models", "p": "projects"}
_LABEL_HEADERS: dict[ViewName, str] = {
    "daily": "date",
    "weekly": "week of",
    "models": "model",
    "projects": "project",
}
_EIGHTHS = "▏▎▍▌▋▊▉"
_TOKENS_W = 7
_COST_W = 10
_EMPTY = "No Claude Code or Codex sessions found under ~/.claude/projects or ~/.codex/sessions."


def next_tab(tab: ViewName, step: int) -> ViewName:
    return VIEWS[(VIEWS.index(tab) + step) % len(VIEWS)]


def compact(n: int) -> str:
    """1234 → ``1.2k``; keeps token counts inside a 7-cell column."""
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if n >= limit:
            return f"{n / limit:.1f}{suffix}"
    return str(n)


def _fit(text: str, width: int, *, keep_tail: bool = False) -> str:
    """Cut to ``width`` cells with an ellipsis; paths keep their informative tail."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    return "…" + text[-(width - 1) :] if keep_tail else text[: width - 1] + "…"


def _bar(value: int, biggest: int, width: int) -> str:
    if width <= 0 or biggest <= 0 or value <= 0:
        return ""
    cells = value * width / biggest
    full = int(cells)
    eighth = int((cells - full) * 8)
    bar = "█" * full + (_EIGHTHS[eighth - 1] if eighth else "")
    return bar or _EIGHTHS[0]  # a non-zero value always shows


def _title(tab: ViewName, width: int) -> Text:
    line = Text(no_wrap=True, overflow="crop")
    line.append(" Analytics ", style="bold reverse")
    for name in VIEWS:
        line.append(" ")
        line.append(f" {name} ", style="bold reverse cyan" if name == tab else "cyan")
    line.truncate(width)
    return line


def _summary(data: UsageData, width: int) -> Text:
    overall = total(data.rows)
    days = len({r.day for r in data.rows})
    text = (
        f" {compact(overall.total_tokens)} tokens · {money(overall.cost_usd)} · "
        f"{overall.requests:,} requests · {days} day{'s' if days != 1 else ''}"
    )
    return Text(_fit(text, width), style="bold", no_wrap=True, overflow="crop")


def _rows(tab: ViewName, rows: list[ViewRow], width: int, room: int) -> list[Text]:
    if room <= 0:
        return []
    # Days and weeks: the most recent that fit; models and projects: the largest.
    shown = rows[-(room - 1) :] if tab in ("daily", "weekly") else rows[: room - 1]
    label_w = max([len(_LABEL_HEADERS[tab]), *(len(r.key) for r in shown)])
    if tab in ("models", "projects"):  # dates keep all ten cells; names give way to bars
        label_w = min(label_w, max(width // 3, 4))
    bar_w = width - label_w - _TOKENS_W - _COST_W - 4
    biggest = max((r.total_tokens for r in shown), default=0)

    def line(label: str, bar: str, tokens: str, cost: str, style: str = "") -> Text:
        out = Text(no_wrap=True, overflow="crop", style=style)
        out.append(" " + label.ljust(label_w) + " ")
        if bar_w > 0:
            out.append(bar.ljust(bar_w), style="cyan")
        out.append(tokens.rjust(_TOKENS_W) + " ")
        out.append(cost.rjust(_COST_W), style="green" if "$" in cost else "")
        out.truncate(width)
        return out

    head = line(_LABEL_HEADERS[tab], "tokens" if bar_w >= 6 else "", "", "cost", "bold")
    body = [
        line(
            _fit(r.key, label_w, keep_tail=tab == "projects"),
            _bar(r.total_tokens, biggest, bar_w),
            compact(r.total_tokens),
            money(r.cost_usd),
        )
        for r in shown
    ]
    return [head, *body]


def _footer(data: UsageData | None, width: int) -> Text:
    text = " d/w/m/p or ←/→: switch view"
    if data is not None and not data.complete:
        text += f" · scanning: {data.files:,} of {data.files_total:,} files, totals so far"
    elif data is not None:
        text += f" · {data.files} file{'s' if data.files != 1 else ''}"
        if data.malformed_lines:
            text += f" · {data.malformed_lines} unreadable line(s) skipped"
    return Text(_fit(text, width), style="dim", no_wrap=True, overflow="crop")


def build_screen(data: UsageData | None, tab: ViewName, width: int, height: int) -> Group:
    """The whole screen: title, summary, one bar chart for ``tab``, key help."""
    if width <= 0 or height <= 0:
        return Group()
    lines: list[Text] = [_title(tab, width)]
    if data is None or not data.rows:
        if data is None:
            message = "Waiting for session-reader…"
        elif not data.complete:
            message = f"session-reader is scanning: {data.files:,} of {data.files_total:,} files…"
        else:
            message = _EMPTY  # only a complete scan may say there is nothing
        lines += [Text(""), Text(" " + message, no_wrap=True, overflow="crop")]
    else:
        lines += [_summary(data, width), Text("")]
        room = height - len(lines) - 1  # keep the last line for the footer
        lines += _rows(tab, group(data.rows, tab), width, room)
    if len(lines) < height:
        lines += [Text("")] * (height - 1 - len(lines))
        lines.append(_footer(data, width))
    return Group(*lines[:height])
