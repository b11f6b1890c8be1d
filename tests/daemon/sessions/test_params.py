"""Session parameter ranges are constraints of the wire structs: a bad value is refused
once, where the daemon decodes the request, with the field and the bound named."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from hangar.daemon.sessions.service import SessionService
from hangar.proto import api

from .conftest import Harness, make_service

CREATE = {"name": "feat", "repo_path": "/r"}


@pytest.mark.parametrize(
    ("struct", "raw", "needle"),
    [
        (api.SessionCreateParams, {**CREATE, "max_sessions": 0}, "$.max_sessions"),
        (api.SessionCreateParams, {**CREATE, "max_sessions": 51}, "<= 50"),
        (api.SessionCreateParams, {**CREATE, "idle_threshold_ms": 0}, "$.idle_threshold_ms"),
        (api.SessionCreateParams, {**CREATE, "idle_threshold_ms": 3_600_001}, "<= 3600000"),
        (api.SessionCreateParams, {**CREATE, "session_prefix": "Hx."}, "$.session_prefix"),
        (api.SessionCreateParams, {**CREATE, "session_prefix": "hx-\n"}, "$.session_prefix"),
        (api.SessionCreateParams, {**CREATE, "session_prefix": "h" * 31}, "$.session_prefix"),
        (api.SessionCreateParams, {**CREATE, "command": ["claude", ""]}, "$.command[1]"),
        (api.SessionCreateParams, {**CREATE, "agent": "copilot"}, "$.agent"),
        (api.SessionCreateParams, {**CREATE, "agent": ""}, "$.agent"),
        (api.SessionListParams, {"wait_for_idle": "sometimes"}, "$.wait_for_idle"),
        (api.SessionListParams, {"timeout_ms": -1}, "$.timeout_ms"),
        (api.SessionListParams, {"threshold_ms": 0}, "$.threshold_ms"),
        (api.SessionReadParams, {"id": "a", "lines": 0}, "$.lines"),
        (api.SessionReadParams, {"id": "a", "lines": 2001}, "<= 2000"),
        (api.SessionReadParams, {"id": "a", "since_line": -1}, "$.since_line"),
        (api.SessionIdleParams, {"id": "a", "threshold_ms": -5}, "$.threshold_ms"),
        (api.SessionWaitIdleParams, {"id": "a", "timeout_ms": 86_400_001}, "$.timeout_ms"),
        (api.SessionWaitIdleParams, {"id": "a", "poll_interval_ms": 9}, ">= 10"),
        (api.SessionWaitIdleParams, {"id": "a", "poll_interval_ms": 60_001}, "<= 60000"),
        (api.SessionResumeParams, {"id": "a", "max_sessions": 0}, "$.max_sessions"),
    ],
)
def test_a_value_out_of_range_is_refused_at_the_struct(
    struct: type[Any], raw: dict[str, Any], needle: str
) -> None:
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert(raw, struct)
    assert needle in str(refused.value)


@pytest.mark.parametrize(
    ("struct", "raw"),
    [
        (api.SessionCreateParams, {**CREATE, "max_sessions": 50, "idle_threshold_ms": 1}),
        (api.SessionCreateParams, {**CREATE, "session_prefix": ""}),
        (api.SessionCreateParams, {**CREATE, "session_prefix": "hx-2-", "command": []}),
        (api.SessionCreateParams, {**CREATE, "agent": "gemini"}),
        (api.SessionListParams, {"wait_for_idle": "all", "timeout_ms": 0}),
        (api.SessionReadParams, {"id": "a", "lines": 2000, "since_line": 0}),
        (api.SessionWaitIdleParams, {"id": "a", "timeout_ms": 86_400_000, "poll_interval_ms": 10}),
    ],
)
def test_the_bounds_themselves_are_accepted(struct: type[Any], raw: dict[str, Any]) -> None:
    msgspec.convert(raw, struct)


def test_defaults_stay_what_clients_rely_on() -> None:
    wait = msgspec.convert({"id": "a"}, api.SessionWaitIdleParams)
    assert (wait.timeout_ms, wait.threshold_ms, wait.poll_interval_ms) == (600_000, None, 500)
    listed = msgspec.convert({}, api.SessionListParams)
    assert (listed.wait_for_idle, listed.timeout_ms) == ("none", 600_000)
    assert msgspec.convert({"id": "a"}, api.SessionReadParams).lines == 200


async def test_a_bad_configured_prefix_is_a_configuration_error(harness: Harness) -> None:
    with pytest.raises(ValueError, match="may hold only up to 30 lowercase letters"):
        make_service(harness.store, harness.clock, harness.log, harness.tmux, prefix="Bad.")
    service = make_service(harness.store, harness.clock, harness.log, harness.tmux, prefix="")
    assert isinstance(service, SessionService)
