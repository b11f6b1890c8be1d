"""Scanning session files: exact aggregates of the fixture home, incremental rescans."""

from __future__ import annotations

import json
from datetime import UTC, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from hangar.plugins.reference import transcripts
from hangar.plugins.reference.usage_data import (
    UsageData,
    UsageDataError,
    UsageRow,
    decode_usage_data,
    encode_usage_data,
)
from hangar.plugins.reference.usage_scan import UsageScanner

from .conftest import CLAUDE_API, CLAUDE_APP, CODEX

APP, API = "/home/dev/src/app", "/home/dev/src/api"
SONNET, OPUS, HAIKU = (
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-1-20250805",
    "claude-haiku-4-5-20251001",
)
OPUS45 = "claude-opus-4-5-20251101"

# Worked out by hand from the fixture files (see the comments in them):
EXPECTED = [
    # msg_01A counted once (its last line: output 200), plus msg_01B
    UsageRow(day="2025-05-26", source="claude", model=SONNET, project=APP, input_tokens=14,
             cache_creation_tokens=1500, cache_read_tokens=1000, output_tokens=300,
             total_tokens=2814, requests=2, cost_usd=0.010467),
    UsageRow(day="2025-05-27", source="claude", model=HAIKU, project=APP, input_tokens=1000,
             output_tokens=50, total_tokens=1050, requests=1, cost_usd=0.00125),
    # msg_01C is in both Claude files (a resumed session): counted once
    UsageRow(day="2025-05-27", source="claude", model=OPUS, project=APP, input_tokens=20,
             cache_read_tokens=2000, output_tokens=300, total_tokens=2320, requests=1,
             cost_usd=0.0258),
    # two token counts (a third repeats the first), cached input split out of input
    UsageRow(day="2025-05-27", source="codex", model="gpt-5-codex", project=APP,
             input_tokens=4000, cache_read_tokens=8000, output_tokens=1000,
             reasoning_tokens=300, total_tokens=13000, requests=2, cost_usd=0.016),
    # 3000 cache writes, 2000 of them to the 1-hour cache: 10*5 + 100*25 + 1000*6.25
    # (5-minute writes, 1.25x input) + 2000*10 (1-hour writes, 2x input) = 28800 micro-USD
    UsageRow(day="2025-05-28", source="claude", model=OPUS45, project=API, input_tokens=10,
             cache_creation_tokens=3000, output_tokens=100, total_tokens=3110, requests=1,
             cost_usd=0.0288, cache_creation_1h_tokens=2000),
    UsageRow(day="2025-05-28", source="claude", model=SONNET, project=API, input_tokens=3,
             cache_creation_tokens=200, cache_read_tokens=4000, output_tokens=150,
             total_tokens=4353, requests=1, cost_usd=0.004209),
    # no price known: tokens counted, cost null
    UsageRow(day="2025-05-28", source="claude", model="some-local-model", project=API,
             input_tokens=100, output_tokens=10, total_tokens=110, requests=1, cost_usd=None),
    # totals only: the difference from the previous total
    UsageRow(day="2025-05-28", source="codex", model="gpt-5", project=APP, input_tokens=1000,
             cache_read_tokens=2000, output_tokens=200, reasoning_tokens=50,
             total_tokens=3200, requests=1, cost_usd=0.0035),
]  # fmt: skip


def scan(home: Path) -> tuple[UsageScanner, UsageData]:
    scanner = UsageScanner(home, tz=UTC)
    scanner.scan()
    return scanner, scanner.snapshot()


def test_fixture_home_aggregates_exactly(fixture_data: UsageData) -> None:
    assert fixture_data.rows == EXPECTED
    assert fixture_data.files == 3
    assert fixture_data.malformed_lines == 1  # the torn line in the middle of a transcript


def test_days_follow_the_time_zone(home: Path) -> None:
    scanner = UsageScanner(home, tz=timezone(timedelta(hours=2)))
    scanner.scan()
    haiku = [r for r in scanner.snapshot().rows if r.model == HAIKU]
    assert [r.day for r in haiku] == ["2025-05-28"]  # 23:30 UTC is past midnight at UTC+2


def test_empty_home_is_no_data_not_an_error(tmp_path: Path) -> None:
    scanner = UsageScanner(tmp_path)
    assert scanner.scan() is False
    assert scanner.snapshot() == UsageData(rows=[], files=0, malformed_lines=0)


def test_rescan_without_changes_reads_nothing(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scanner, first = scan(home)
    fed = count_lines_fed(monkeypatch)
    assert scanner.scan() is False
    assert fed == []
    assert scanner.snapshot() == first


def count_lines_fed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    fed: list[bytes] = []
    for cls in (transcripts.ClaudeParser, transcripts.CodexParser):
        original = cls.feed

        def spy(self: Any, line: bytes, _original: Any = original) -> Any:
            fed.append(line)
            return _original(self, line)

        monkeypatch.setattr(cls, "feed", spy)
    return fed


def claude_line(mid: str, ts: str, usage: tuple[int, int, int, int], cwd: str = APP) -> bytes:
    record = {
        "type": "assistant",
        "cwd": cwd,
        "sessionId": "4f35e220-c435-4cf7-b9b9-f40426042847",
        "requestId": f"req_{mid}",
        "timestamp": ts,
        "uuid": f"u-{mid}",
        "message": {
            "id": mid,
            "model": SONNET,
            "role": "assistant",
            "content": [{"type": "text", "text": "done"}],
            "usage": dict(
                zip(
                    (
                        "input_tokens",
                        "cache_creation_input_tokens",
                        "cache_read_input_tokens",
                        "output_tokens",
                    ),
                    usage,
                    strict=True,
                )
            ),
        },
    }
    return json.dumps(record).encode() + b"\n"


def row(data: UsageData, day: str, source: str, model: str) -> UsageRow:
    [found] = [r for r in data.rows if (r.day, r.source, r.model) == (day, source, model)]
    return found


def test_partial_last_line_waits_then_only_the_new_bytes_are_read(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanner, before = scan(home)
    new = claude_line("msg_01E", "2025-05-26T12:00:00.000Z", (1, 2, 3, 4))
    path = home / CLAUDE_APP
    with path.open("ab") as f:
        f.write(new[:40])  # the CLI is mid-write
    fed = count_lines_fed(monkeypatch)
    assert scanner.scan() is False
    assert scanner.snapshot() == before
    assert fed == []  # an unfinished record is neither parsed nor counted as malformed
    with path.open("ab") as f:
        f.write(new[40:])
    assert scanner.scan() is True
    assert fed == [new]  # only the appended record, not the whole file again
    after = scanner.snapshot()
    grew = row(after, "2025-05-26", "claude", SONNET)
    assert (grew.input_tokens, grew.total_tokens, grew.requests) == (15, 2824, 3)
    assert after.malformed_lines == 1


def test_a_whole_record_without_its_newline_is_read(home: Path) -> None:
    scanner, _ = scan(home)
    with (home / CLAUDE_APP).open("ab") as f:
        f.write(claude_line("msg_01F", "2025-05-26T13:00:00Z", (5, 0, 0, 5)).rstrip(b"\n"))
    assert scanner.scan() is True
    assert row(scanner.snapshot(), "2025-05-26", "claude", SONNET).requests == 3


def test_appended_codex_count_is_picked_up(home: Path) -> None:
    scanner, _ = scan(home)
    event = {
        "timestamp": "2025-05-28T01:10:00Z",
        "type": "event_msg",
        "payload": {
            "type": "token_count",
            "info": {
                "total_token_usage": {
                    "input_tokens": 16000,
                    "cached_input_tokens": 10500,
                    "output_tokens": 1300,
                    "reasoning_output_tokens": 360,
                    "total_tokens": 17300,
                },
            },
        },
    }
    with (home / CODEX).open("ab") as f:
        f.write(json.dumps(event).encode() + b"\n")
    assert scanner.scan() is True
    gpt5 = row(scanner.snapshot(), "2025-05-28", "codex", "gpt-5")
    # the previous total was 15000/10000/1200/350: +1000 input of which 500 cached, +100 out
    assert (gpt5.input_tokens, gpt5.cache_read_tokens, gpt5.output_tokens) == (1500, 2500, 300)
    assert gpt5.requests == 2


def test_truncated_file_is_rescanned_from_the_start(home: Path) -> None:
    scanner, _ = scan(home)
    path = home / CLAUDE_API
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3]))  # drop the unknown-model message
    assert scanner.scan() is True
    data = scanner.snapshot()
    assert [r.model for r in data.rows if r.day == "2025-05-28" and r.source == "claude"] == [
        SONNET
    ]
    assert row(data, "2025-05-27", "claude", OPUS).requests == 1


def test_file_rewritten_with_other_content_is_rescanned(home: Path) -> None:
    scanner, _ = scan(home)
    path = home / CLAUDE_API
    old_size = path.stat().st_size
    replacement = claude_line("msg_09", "2025-05-29T09:00:00Z", (7, 0, 0, 3), cwd=API)
    path.write_bytes(replacement * (old_size // len(replacement) + 1))  # larger, new head
    assert scanner.scan() is True
    data = scanner.snapshot()
    assert row(data, "2025-05-29", "claude", SONNET).total_tokens == 10  # one message, deduped
    assert not [r for r in data.rows if r.model == "some-local-model"]
    # msg_01C is still counted once: the other transcript holds it too
    assert row(data, "2025-05-27", "claude", OPUS).requests == 1


def test_deleted_file_leaves_the_snapshot(home: Path) -> None:
    scanner, _ = scan(home)
    (home / CODEX).unlink()
    assert scanner.scan() is True
    data = scanner.snapshot()
    assert {r.source for r in data.rows} == {"claude"}
    assert data.files == 2


def test_duplicate_message_across_files_counts_once_whichever_file_is_read_first(
    home: Path,
) -> None:
    (home / CLAUDE_APP).unlink()
    scanner, data = scan(home)
    assert row(data, "2025-05-27", "claude", OPUS).requests == 1
    # the original transcript comes back: the message is still counted once
    (home / CLAUDE_APP).write_bytes(
        (Path(__file__).parents[2] / "fixtures/plugins/home" / CLAUDE_APP).read_bytes()
    )
    assert scanner.scan() is True
    assert row(scanner.snapshot(), "2025-05-27", "claude", OPUS).requests == 1


def test_payload_round_trips_and_is_stable(fixture_data: UsageData) -> None:
    payload = encode_usage_data(fixture_data)
    assert decode_usage_data(payload) == fixture_data
    assert encode_usage_data(decode_usage_data(payload)) == payload
    doc = json.loads(payload)
    assert doc["version"] == 2
    assert doc["rows"][0]["day"] == "2025-05-26"
    assert doc["rows"][6]["cost_usd"] is None


def test_payload_of_another_version_is_rejected() -> None:
    with pytest.raises(UsageDataError, match="version 1"):
        decode_usage_data(b'{"version": 1, "rows": []}')
    with pytest.raises(UsageDataError):
        decode_usage_data(b"not json")


# -- sliced scans and saved state -----------------------------------------------------------


def test_a_sliced_scan_reports_progress_and_ends_with_the_full_totals(
    home: Path, fixture_data: UsageData
) -> None:
    big = home / ".claude/projects/-home-dev-src-big/big.jsonl"
    big.parent.mkdir()
    big.write_bytes(
        b"".join(
            claude_line(f"msg_big{i}", "2025-05-29T08:00:00Z", (1, 0, 0, 1)) for i in range(300)
        )
    )
    scanner = UsageScanner(home, tz=UTC)
    assert not scanner.complete  # no pass yet: never "complete and empty"
    scanner.start_pass()
    steps, seen = 0, []
    while not scanner.complete:
        scanner.step(0.0)  # a deadline already past: the smallest slice
        steps += 1
        data = scanner.snapshot()
        seen.append((data.files, data.files_total, data.complete))
    assert steps > 4  # the 300-line file alone took several slices (64 lines each)
    assert [s[0] for s in seen] == sorted(s[0] for s in seen)
    assert seen[-1] == (4, 4, True) and all(not c for *_, c in seen[:-1])
    data = scanner.snapshot()
    assert row(data, "2025-05-29", "claude", SONNET).requests == 300
    assert [r for r in data.rows if r.day != "2025-05-29"] == fixture_data.rows


def test_saved_state_spares_a_new_scanner_the_reading(
    home: Path, monkeypatch: pytest.MonkeyPatch, fixture_data: UsageData
) -> None:
    first, _ = scan(home)
    saved = first.save_state()
    fed = count_lines_fed(monkeypatch)
    again = UsageScanner(home, tz=UTC)
    assert again.load_state(saved) is True
    assert again.scan() is False
    assert fed == []  # nothing read again
    assert again.snapshot() == fixture_data
    new = claude_line("msg_01G", "2025-05-26T14:00:00Z", (1, 0, 0, 1))
    with (home / CLAUDE_APP).open("ab") as f:
        f.write(new)
    assert again.scan() is True
    assert fed == [new]  # only what was appended since the state was saved
    # the Codex parser's running total came back too: an appended total is a difference
    assert row(again.snapshot(), "2025-05-28", "codex", "gpt-5").requests == 1


def test_state_saved_mid_file_resumes_there(home: Path) -> None:
    big = home / ".claude/projects/-home-dev-src-big/big.jsonl"
    big.parent.mkdir()
    big.write_bytes(
        b"".join(claude_line(f"msg_b{i}", "2025-05-29T08:00:00Z", (1, 0, 0, 1)) for i in range(200))
    )
    scanner = UsageScanner(home, tz=UTC)
    scanner.start_pass()
    while scanner.progress[0] < 1:  # read into the big file, not through it
        scanner.step(0.0)
    assert not scanner.complete
    resumed = UsageScanner(home, tz=UTC)
    assert resumed.load_state(scanner.save_state())
    resumed.scan()
    _, full = scan(home)
    assert resumed.snapshot() == full
    assert row(full, "2025-05-29", "claude", SONNET).requests == 200


@pytest.mark.parametrize("damage", ["garbage", "truncated", "version", "zone", "roots"])
def test_unreadable_or_foreign_state_is_discarded(
    home: Path, tmp_path: Path, damage: str, fixture_data: UsageData
) -> None:
    import msgspec

    from hangar.plugins.reference import usage_scan

    first, _ = scan(home)
    saved = first.save_state()
    scanner = UsageScanner(home, tz=UTC)
    if damage == "garbage":
        saved = b"\x00not msgpack"
    elif damage == "truncated":
        saved = saved[: len(saved) // 2]
    elif damage == "version":
        doc = msgspec.msgpack.decode(saved)
        doc["version"] = usage_scan.STATE_VERSION + 1
        saved = msgspec.msgpack.encode(doc)
    elif damage == "zone":
        scanner = UsageScanner(home, tz=timezone(timedelta(hours=2)))
    else:
        scanner = UsageScanner(tmp_path / "elsewhere", tz=UTC)
    assert scanner.load_state(saved) is False
    assert scanner.known_files == 0
    if damage != "zone" and damage != "roots":
        scanner.scan()  # read again from zero: the same totals
        assert scanner.snapshot() == fixture_data
