"""The pure half of notifications: event names, channel checks, the words, the payload,
the signature, the retry schedule and the coalescing rule (docs/notifications.md)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from hangar.core import notices as nt
from hangar.core import notify as n
from hangar.core.coalesce import Coalescer


def test_events_parse_to_vocabulary_order_and_defaults() -> None:
    assert n.parse_events(None) == n.DEFAULT_EVENTS
    assert n.parse_events("  ") == n.DEFAULT_EVENTS
    assert "task.done" not in n.DEFAULT_EVENTS
    assert n.parse_events("session.waiting, task.failed,task.failed") == (
        "task.failed",
        "session.waiting",
    )
    assert n.parse_events("all") == n.EVENT_KINDS


def test_an_unknown_event_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(n.NotifyError) as err:
        n.parse_events("task.failed,task.exploded")
    msg = str(err.value)
    assert "'task.exploded'" in msg
    for kind in n.EVENT_KINDS:
        assert kind in msg


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "example.com/hook",
        "javascript:alert(1)",
        "http://",
        "https:///path",
        "http://exa mple.com/",
        "http://example.com:notaport/",
        "",
        "http://example.com/\x00",
    ],
)
def test_a_webhook_url_must_be_http_or_https_with_a_host(url: str) -> None:
    with pytest.raises(n.NotifyError):
        n.check_webhook_url(url)


def test_good_webhook_urls_pass() -> None:
    for url in ("http://127.0.0.1:8080/hook", "https://hooks.example.com/a/b?x=1", "http://[::1]/"):
        assert n.check_webhook_url(url) == url


def test_the_shown_url_drops_credentials_and_query() -> None:
    shown = n.public_url("https://user:pw@hooks.example.com:8443/a/b?token=s3cret#frag")
    assert shown == "https://hooks.example.com:8443/a/b?…"
    assert "pw" not in shown and "s3cret" not in shown
    assert n.public_url("http://[::1]:9/x") == "http://[::1]:9/x"


def test_a_command_is_split_like_a_shell_but_never_run_by_one() -> None:
    assert n.parse_command("curl -d @- 'https://ntfy.sh/my topic'") == [
        "curl",
        "-d",
        "@-",
        "https://ntfy.sh/my topic",
    ]
    assert n.parse_command("echo $HOME; rm -rf /") == ["echo", "$HOME;", "rm", "-rf", "/"]
    for bad in ("", "   ", "''", "'unclosed"):
        with pytest.raises(n.NotifyError):
            n.parse_command(bad)


def _facts(**kw: object) -> nt.Facts:
    base: dict[str, object] = {
        "kind": "task.failed",
        "workspace_id": "W1",
        "workspace": "default",
        "at": 1000,
        "task_id": "T0000000001",
        "failure_reason": "agent_error",
        "issue_id": "I0000000001",
        "issue_title": "Fix the flaky test",
        "agent_id": "A1",
        "agent_name": "bot",
    }
    base.update(kw)
    return nt.Facts(**base)  # type: ignore[arg-type]


def test_each_kind_says_what_where_and_the_command_to_look() -> None:
    failed = nt.notice_of(_facts())
    assert "failed" in failed.title and "Fix the flaky test" in failed.title
    assert "bot" in failed.text and "agent_error" in failed.text and "default" in failed.text
    assert failed.look == "hangar task show T0000000001 -w default"
    waiting = nt.notice_of(_facts(kind="session.waiting", session_id="S1", session_name="s1"))
    assert waiting.look == "hangar session attach s1 -w default"
    orphaned = nt.notice_of(_facts(kind="session.exited", session_name="s1", state="orphaned"))
    assert "orphaned" in orphaned.title
    stranded = nt.notice_of(
        _facts(kind="dependency.stranded", blocker_id="I0000000009", state="failed")
    )
    assert "failed" in stranded.text and stranded.look.startswith("hangar issue show I000")
    paused = nt.notice_of(
        _facts(kind="autopilot.paused", autopilot_name="nightly", reason="45 of 50 failed")
    )
    assert "nightly" in paused.title and "45 of 50" in paused.text
    assert nt.notice_of(_facts(kind="test")).test


def test_the_payload_carries_only_its_fields() -> None:
    body = nt.payload(nt.notice_of(_facts()), "D1")
    data = json.loads(body)
    assert set(data) == {
        "version",
        "delivery",
        "event",
        "test",
        "count",
        "at",
        "title",
        "text",
        "command",
        "workspace",
        "task",
        "issue",
        "agent",
        "session",
        "autopilot",
        "blocker",
        "state",
        "reason",
    }
    assert data["delivery"] == "D1" and data["event"] == "task.failed"
    assert data["workspace"] == {"id": "W1", "slug": "default"}
    assert data["task"] == {"id": "T0000000001", "failure_reason": "agent_error"}
    assert data["session"] is None


def test_the_signature_is_hmac_sha256_of_the_exact_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert n.sign("k3y", body) == f"sha256={expected}"
    assert n.verify("k3y", body, n.sign("k3y", body))
    assert not n.verify("k3y", body + b" ", n.sign("k3y", body))
    assert not n.verify("other", body, n.sign("k3y", body))


def test_retry_schedule_doubles_and_retries_only_what_may_pass_later() -> None:
    assert n.RetryPolicy().delays() == [1.0, 2.0, 4.0]
    assert n.RetryPolicy(attempts=3, first_s=0.5).delays() == [0.5, 1.0]
    assert n.RetryPolicy(attempts=1).delays() == []
    retry = n.RetryPolicy.retryable
    assert retry(None) and retry(500) and retry(503) and retry(429)
    assert not retry(400) and not retry(404) and not retry(200) and not retry(301)


# -- coalescing ---------------------------------------------------------------------------


def test_the_first_of_a_burst_goes_at_once_the_rest_become_one_summary() -> None:
    c: Coalescer[str] = Coalescer(60_000)
    key = ("task.failed", "W1")
    sent = [i for i in range(50) if c.offer(key, f"e{i}", 1_000 + i * 100)]
    assert sent == [0]
    assert c.pending() == 49
    assert c.next_due() == 61_000
    assert c.due(60_999) == []
    assert c.due(61_000) == [(key, 49, "e49")]
    assert c.pending() == 0
    # the next window opened at the close: a straggler inside it is absorbed too
    assert not c.offer(key, "late", 62_000)
    assert c.due(121_000) == [(key, 1, "late")]
    # a window that closes empty is forgotten; the next event goes out at once
    assert c.due(181_000) == []
    assert c.offer(key, "fresh", 181_001)


def test_keys_coalesce_apart_and_a_quiet_window_lets_the_next_one_through() -> None:
    c: Coalescer[str] = Coalescer(1_000)
    assert c.offer("a", "a1", 0)
    assert c.offer("b", "b1", 10)
    assert not c.offer("a", "a2", 20)
    assert c.next_due() == 1_000
    assert c.offer("b", "b2", 1_010) is True  # b's window closed empty: goes out
    assert c.due(1_000) == [("a", 1, "a2")]


def test_a_zero_window_never_coalesces() -> None:
    c: Coalescer[int] = Coalescer(0)
    assert all(c.offer("k", i, 5) for i in range(5))
    assert c.next_due() is None


def test_the_summary_counts_and_points_at_the_list() -> None:
    last = nt.notice_of(_facts())
    s = nt.summary_of(last, 49, 60.0)
    assert s.count == 49 and s.title == "49 more tasks failed"
    assert "60 s" in s.text and s.look == "hangar task list --status failed -w default"
    assert json.loads(nt.payload(s, "D2"))["count"] == 49
