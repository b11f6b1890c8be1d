"""The Analytics and witr screens: deterministic WireBuffers at any viewport."""

from __future__ import annotations

import json

import msgspec
import pytest

from hangar.plugins.protocol import WireBuffer
from hangar.plugins.reference.analytics_screen import build_screen, compact, next_tab
from hangar.plugins.reference.usage_data import UsageData
from hangar.plugins.reference.usage_views import VIEWS, ViewName
from hangar.plugins.reference.witr_screen import build_witr_screen
from hangar.plugins.sdk import paint

from .conftest import WITR_JSON

VIEWPORTS = [(1, 1), (2, 1), (1, 6), (7, 1), (12, 3), (20, 5), (40, 4), (80, 24), (200, 60)]


def analytics(data: UsageData | None, tab: ViewName, width: int, height: int) -> WireBuffer:
    return paint(build_screen(data, tab, width, height), width, height)


def test_same_data_and_viewport_give_byte_identical_buffers(fixture_data: UsageData) -> None:
    for tab in VIEWS:
        first = msgspec.json.encode(analytics(fixture_data, tab, 80, 24))
        for _ in range(5):
            again = UsageData(rows=list(fixture_data.rows), files=3, malformed_lines=1)
            assert msgspec.json.encode(analytics(again, tab, 80, 24)) == first


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
@pytest.mark.parametrize("tab", VIEWS)
def test_any_viewport_renders_inside_its_bounds(
    fixture_data: UsageData, tab: ViewName, width: int, height: int
) -> None:
    buffer = analytics(fixture_data, tab, width, height)
    assert (buffer.width, buffer.height) == (width, height)
    assert buffer.cells, "something is always painted"
    assert all(0 <= c.x < width and 0 <= c.y < height for c, _ in buffer.cells)


def test_empty_viewport_paints_nothing(fixture_data: UsageData) -> None:
    assert analytics(fixture_data, "daily", 0, 0).cells == []


def test_daily_tab_shows_days_bars_and_costs(fixture_data: UsageData) -> None:
    lines = analytics(fixture_data, "daily", 80, 12).lines()
    assert "Analytics" in lines[0]
    assert "30.0k tokens · $0.09 · 10 requests · 3 days" in lines[1]
    day_lines = [line for line in lines if line.startswith(" 2025-05-2")]
    assert [line.split()[0] for line in day_lines] == ["2025-05-26", "2025-05-27", "2025-05-28"]
    # 2025-05-27 has the most tokens: the longest bar
    bars = [line.count("█") for line in day_lines]
    assert bars[1] == max(bars) and bars[0] < bars[2] < bars[1]
    assert day_lines[1].rstrip().endswith("$0.04")
    assert "16.4k" in day_lines[1]
    assert "1 unreadable line(s) skipped" in lines[-1]


def test_tabs_group_differently(fixture_data: UsageData) -> None:
    models = "\n".join(analytics(fixture_data, "models", 100, 14).lines())
    assert models.index("gpt-5-codex") < models.index("claude-sonnet") < models.index("some-loc")
    projects = "\n".join(analytics(fixture_data, "projects", 100, 14).lines())
    assert "/home/dev/src/app" in projects and "/home/dev/src/api" in projects
    weekly = analytics(fixture_data, "weekly", 100, 14).lines()
    assert sum(1 for line in weekly if line.startswith(" 2025-05-26")) == 1


def test_a_short_screen_keeps_the_most_recent_days(fixture_data: UsageData) -> None:
    lines = analytics(fixture_data, "daily", 80, 7).lines()  # room for two day rows
    days = [line.split()[0] for line in lines if line.startswith(" 2025-")]
    assert days == ["2025-05-27", "2025-05-28"]


def test_no_data_screens_say_why() -> None:
    waiting = "\n".join(analytics(None, "daily", 90, 6).lines())
    assert "Waiting for session-reader" in waiting
    empty = "\n".join(analytics(UsageData(), "daily", 100, 6).lines())
    assert "No Claude Code or Codex sessions found under ~/.claude/projects" in empty


def test_tab_cycling_and_compact_numbers() -> None:
    assert next_tab("daily", 1) == "weekly"
    assert next_tab("daily", -1) == "projects"
    assert next_tab("projects", 1) == "daily"
    assert [compact(n) for n in (0, 999, 1000, 26847, 1_250_000, 3_000_000_000)] == [
        "0",
        "999",
        "1.0k",
        "26.8k",
        "1.2M",
        "3.0B",
    ]


def witr_last() -> dict[str, object]:
    return {"mode": "name", "target": "nginx", "result": json.loads(WITR_JSON.read_text())}


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_witr_screen_renders_at_any_viewport(width: int, height: int) -> None:
    for last in (None, witr_last()):
        buffer = paint(build_witr_screen(last, width, height), width, height)
        assert buffer.cells
        assert all(0 <= c.x < width and 0 <= c.y < height for c, _ in buffer.cells)


def test_witr_screen_shows_the_last_ancestry_and_the_handoff_key() -> None:
    lines = paint(build_witr_screen(witr_last(), 80, 24), 80, 24).lines()
    text = "\n".join(lines)
    assert "systemd (pid 1)" in text and "└─ nginx (pid 812)" in text
    assert lines[-1].startswith(" w: open witr -i")
    first = msgspec.json.encode(paint(build_witr_screen(witr_last(), 80, 24), 80, 24))
    assert msgspec.json.encode(paint(build_witr_screen(witr_last(), 80, 24), 80, 24)) == first
