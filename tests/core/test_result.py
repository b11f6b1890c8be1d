from __future__ import annotations

import json

import pytest

from hangar.core.result import TaskResult, clip_tail, one_line


def test_optional_fields_are_omitted_when_empty() -> None:
    assert TaskResult("out").to_dict() == {"content": "out"}
    assert TaskResult("out", pr_url="", error="").to_dict() == {"content": "out"}
    assert TaskResult("", exit_code=0).to_dict() == {"content": "", "exit_code": 0}


def test_full_round_trip() -> None:
    r = TaskResult("tail", exit_code=1, pr_url="https://github.com/a/b/pull/1", error="boom")
    assert r.to_dict() == {
        "content": "tail",
        "exit_code": 1,
        "pr_url": "https://github.com/a/b/pull/1",
        "error": "boom",
    }
    assert TaskResult.from_dict(r.to_dict()) == r
    assert TaskResult.from_json(r.to_json()) == r


def test_json_has_no_nulls() -> None:
    text = TaskResult("x").to_json()
    assert "null" not in text
    assert json.loads(text) == {"content": "x"}


def test_legacy_shape_parses() -> None:
    assert TaskResult.from_dict({"content": "hi", "exit_code": 0}) == TaskResult("hi", 0)


def test_tolerant_of_nulls_empties_and_unknown_keys() -> None:
    r = TaskResult.from_dict(
        {"content": "hi", "exit_code": None, "pr_url": "", "error": None, "future": [1, 2]}
    )
    assert r == TaskResult("hi")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"content": None},
        {"content": 3},
        {"content": "x", "exit_code": "0"},
        {"content": "x", "exit_code": True},
        {"content": "x", "exit_code": 1.5},
        {"content": "x", "pr_url": 1},
        {"content": "x", "error": ["a"]},
    ],
)
def test_wrong_types_are_value_errors(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TaskResult.from_dict(data)


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '"content"', "null"])
def test_bad_json_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        TaskResult.from_json(text)


def test_error_is_kept_to_one_line() -> None:
    r = TaskResult("x", error="Traceback:\n  File x\n\nValueError: bad  ")
    assert r.error == "Traceback: File x ValueError: bad"
    assert "\n" not in str(r.to_dict()["error"])


def test_one_line_clips() -> None:
    assert one_line("a" * 10, max_chars=5) == "aaaa…"
    assert len(one_line("word " * 500)) == 500


def test_clip_tail() -> None:
    assert clip_tail("abcdef", 3) == "def"
    assert clip_tail("abc", 10) == "abc"
    assert clip_tail("abc", 0) == ""
    with pytest.raises(ValueError):
        clip_tail("abc", -1)
    assert len(clip_tail("x" * 100_000)) == 16_000


def test_frozen() -> None:
    r = TaskResult("x")
    with pytest.raises(AttributeError):
        r.content = "y"  # type: ignore[misc]
