"""The typed contract: one descriptor per method, types that survive the wire, constraints."""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from hangar.core.fsm import TaskStatus
from hangar.core.vocab import IssueState
from hangar.proto import api, calls, methods


def _method_names() -> list[str]:
    return [
        value
        for name, value in vars(methods).items()
        if name.isupper() and isinstance(value, str) and value not in methods.NOTIFICATIONS
    ]


def test_every_method_has_exactly_one_descriptor() -> None:
    described = [c.method for c in calls.ALL]
    assert len(described) == len(set(described)), "a method is described twice"
    assert sorted(described) == sorted(_method_names())
    assert set(calls.BY_METHOD) == set(described)
    # every descriptor of the module is in ALL, once
    module_calls = [v for v in vars(calls).values() if isinstance(v, calls.Call)]
    assert len(module_calls) == len(calls.ALL)
    assert all(any(c is d for d in calls.ALL) for c in module_calls)


def test_notifications_are_not_methods() -> None:
    assert methods.EVENT in methods.NOTIFICATIONS
    assert methods.EVENT not in calls.BY_METHOD


@pytest.mark.parametrize("call", calls.ALL, ids=lambda c: c.method)
def test_descriptor_types(call: calls.Call[Any, Any]) -> None:
    # params reject unknown fields and leave defaults off the wire; results are structs
    assert issubclass(call.params, api.Params)
    assert call.params.__struct_config__.forbid_unknown_fields
    assert issubclass(call.result, msgspec.Struct)
    assert calls.BY_METHOD[call.method] is call


def _sample(t: mi.Type) -> Any:
    """A value of ``t`` that meets its constraints, optional fields included."""
    if isinstance(t, mi.UnionType):
        return _sample(next(x for x in t.types if not isinstance(x, mi.NoneType)))
    if isinstance(t, mi.StrType):
        return "x"
    if isinstance(t, mi.BoolType):
        return True
    if isinstance(t, mi.IntType):
        low = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else 7)
        return min(low, t.le) if t.le is not None else low
    if isinstance(t, mi.FloatType):
        return 1.5
    if isinstance(t, mi.ListType):
        return [_sample(t.item_type)]
    if isinstance(t, mi.DictType):
        return {_sample(t.key_type): _sample(t.value_type)}
    if isinstance(t, mi.EnumType):
        return next(iter(t.cls))
    if isinstance(t, mi.LiteralType):
        return t.values[-1]
    if isinstance(t, mi.AnyType):
        return {"pr_url": "https://example.com/pr/1"}
    if isinstance(t, mi.StructType):
        return t.cls(**{f.name: _sample(f.type) for f in t.fields})
    raise AssertionError(f"no sample for {t}")


@pytest.mark.parametrize("call", calls.ALL, ids=lambda c: c.method)
def test_params_and_results_round_trip(call: calls.Call[Any, Any]) -> None:
    for struct, decode in (
        (call.params, lambda raw: msgspec.convert(raw, call.params)),
        (call.result, call.decode_result),
    ):
        value = _sample(mi.type_info(struct))
        wire = msgspec.json.decode(msgspec.json.encode(value))  # what the other end sees
        assert decode(wire) == value
        # the bare defaults survive too: absent on the wire, filled in on decode
        required = {f.name: _sample(f.type) for f in mi.type_info(struct).fields if f.required}
        bare = struct(**required)
        assert decode(msgspec.json.decode(msgspec.json.encode(bare))) == bare


def test_params_send_only_what_was_chosen() -> None:
    assert msgspec.json.encode(api.SessionSendParams(id="a", text="hi")) == (
        b'{"id":"a","text":"hi"}'
    )
    assert msgspec.json.encode(api.IssuesListParams(state=IssueState.IN_PROGRESS)) == (
        b'{"state":"in_progress"}'  # a StrEnum is its string on the wire
    )
    assert msgspec.json.encode(api.Empty()) == b"{}"


def _refused(raw: dict[str, Any], params: type[msgspec.Struct]) -> str:
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.convert(raw, params)
    return str(info.value)


@pytest.mark.parametrize(
    ("params", "raw", "where"),
    [
        (api.IssueCreateParams, {"title": "t", "priority": 4}, "$.priority"),
        (api.IssueCreateParams, {"title": "t", "priority": -1}, "$.priority"),
        (api.IssueUpdateParams, {"issue_id": "i", "priority": 9}, "$.priority"),
        (api.IssueUpdateParams, {"issue_id": "i", "state": "closed"}, "$.state"),
        (api.IssuesListParams, {"state": "bogus"}, "$.state"),
        (api.TasksListParams, {"status": "bogus"}, "$.status"),
        (api.TasksListParams, {"limit": 0}, "$.limit"),
        (api.TasksListParams, {"limit": api.TASKS_PAGE_MAX + 1}, "$.limit"),
        (api.TaskMessagesParams, {"task_id": "t", "limit": api.MESSAGES_PAGE_MAX + 1}, "$.limit"),
        (api.TaskMessagesParams, {"task_id": "t", "after_seq": -1}, "$.after_seq"),
        (api.TaskTransitionParams, {"task_id": "t", "to_status": "bogus"}, "$.to_status"),
        (
            api.AgentCreateParams,
            {"name": "a", "provider": "command", "max_concurrent_tasks": 0},
            "$.max_concurrent_tasks",
        ),
        (
            api.AgentCreateParams,
            {"name": "a", "provider": "command", "max_concurrent_tasks": 65},
            "$.max_concurrent_tasks",
        ),
        (
            api.AgentCreateParams,
            {"name": "a", "provider": "c", "max_runtime_ms": 0},
            "$.max_runtime_ms",
        ),
        (
            api.AgentCreateParams,
            {"name": "a", "provider": "c", "inactivity_timeout_ms": -5},
            "$.inactivity_timeout_ms",
        ),
        (api.AuthHelloParams, {"token": "t", "extra": 1}, "extra"),
    ],
)
def test_constraints_refuse_at_the_boundary(
    params: type[msgspec.Struct], raw: dict[str, Any], where: str
) -> None:
    assert where in _refused(raw, params)


def test_bounds_are_inclusive() -> None:
    for p in range(4):
        assert msgspec.convert({"title": "t", "priority": p}, api.IssueCreateParams).priority == p
    edge = {"limit": api.TASKS_PAGE_MAX, "status": "running"}
    got = msgspec.convert(edge, api.TasksListParams)
    assert got.limit == api.TASKS_PAGE_MAX and got.status is TaskStatus.RUNNING
    agent = {"name": "a", "provider": "command", "max_concurrent_tasks": 64}
    assert msgspec.convert(agent, api.AgentCreateParams).max_concurrent_tasks == 64
