from __future__ import annotations

import pytest

from hangar.core.pr_url import find_pr_url, find_pr_url_in, is_pr_url

PR = "https://github.com/acme/widgets/pull/42"


def test_a_bare_line_matches() -> None:
    assert find_pr_url(PR) == PR


def test_surrounding_whitespace_is_trimmed() -> None:
    assert find_pr_url(f"Creating pull request...\n   {PR}\t \nDone") == PR


def test_the_last_match_wins() -> None:
    other = "https://github.com/acme/widgets/pull/43"
    assert find_pr_url(f"{PR}\nsome text\n{other}\n") == other


def test_no_match_is_none() -> None:
    assert find_pr_url("") is None
    assert find_pr_url("nothing to see\nhere") is None


@pytest.mark.parametrize(
    "line",
    [
        "https://github.com/acme/widgets/issues/42",
        "https://github.com/acme/widgets/pull/42/files",
        "https://github.com/acme/widgets/pull/42/",
        "https://github.com/acme/widgets/pull/42#issuecomment-1",
        "https://github.com/acme/widgets/pull/",
        "https://github.com/acme/widgets/pull/abc",
        "http://github.com/acme/widgets/pull/42",
        "https://gitlab.com/acme/widgets/pull/42",
        "https://github.com.evil.io/acme/widgets/pull/42",
        "https://github.com/acme/pull/42",
        "https://github.com/ac me/widgets/pull/42",
        f"Opened {PR}",
        f"{PR} is ready",
        f"<{PR}>",
        f"{PR}.",
        f"[PR]({PR})",
        '{"type":"result","result":"' + PR + '"}',  # raw stream-json never matches
        "https://github.com/acme/widgets/pull/\uff14\uff12",  # fullwidth digits
    ],
)
def test_near_misses_do_not_match(line: str) -> None:
    assert not is_pr_url(line)
    assert find_pr_url(line) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/a/b/pull/1",
        "https://github.com/my-org/my.repo_name/pull/123456",
        "https://github.com/Org.Name/Repo-1/pull/7",
    ],
)
def test_owner_and_repo_charset(url: str) -> None:
    assert is_pr_url(url)


def test_crlf_lines() -> None:
    assert find_pr_url(f"line one\r\n{PR}\r\n") == PR


def test_across_several_texts() -> None:
    later = "https://github.com/acme/widgets/pull/99"
    assert find_pr_url_in([f"gh output\n{PR}", "final: done", later]) == later
    assert find_pr_url_in([f"gh output\n{PR}", "final: done"]) == PR
    assert find_pr_url_in([]) is None
