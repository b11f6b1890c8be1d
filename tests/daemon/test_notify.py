"""Notifications end to end inside the daemon: real tasks failing, a real webhook receiver
on 127.0.0.1, a fake ``notify-send`` on PATH, real commands (docs/notifications.md).

Every wait is for a condition with a deadline; retries and timeouts are made short by the
daemon's settings, never by sleeping."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from hangar.adapters.secrets import MemoryStore
from hangar.core import notify as n
from hangar.proto import jsonrpc as rpc
from hangar.proto.autopilots import AutopilotRow
from hangar.proto.events import AutopilotChanged, DependencyStranded, TaskFinished
from hangar.testing import InProcessDaemon, wait_for
from tests.daemon.helpers import make_agent
from tests.daemon.notify_kit import (
    Receiver,
    catcher,
    closed_port,
    deliveries,
    fake_notify_send,
    lines,
    notified,
    script,
)

SECRET = "whsec-never-in-a-body"


async def _fail_a_task(hangar: InProcessDaemon, title: str = "Fix the flaky test") -> str:
    if not any(a["name"] == "breaker" for a in (await hangar.call("hangar/agents_list"))["agents"]):
        await make_agent(hangar, "breaker", ["false"])
    made = await hangar.call("hangar/issue_create", {"title": title, "assign": "breaker"})
    await hangar.dispatch()
    return str(made["task"]["id"])


async def _delivered(hangar: InProcessDaemon, channel: str, count: int = 1) -> list[Any]:
    async def done() -> list[Any]:
        rows = [d for d in await deliveries(hangar, channel) if d["status"] != "coalesced"]
        return rows if len(rows) >= count else []

    return list(await wait_for(done, timeout=30))


async def test_a_failed_task_reaches_a_signed_webhook(tmp_path: Path) -> None:
    receiver = await Receiver().start()
    secrets = MemoryStore()
    try:
        async with notified(tmp_path / "h", secrets=secrets) as hangar:
            ch = await hangar.call(
                "hangar/notify_add",
                {"kind": "webhook", "url": receiver.url, "secret": SECRET, "events": ["all"]},
            )
            assert ch["signed"] and ch["target"] == receiver.url
            assert SECRET not in json.dumps(ch)
            task_id = await _fail_a_task(hangar)
            [row] = await _delivered(hangar, ch["id"])
            assert (row["status"], row["attempts"], row["kind"]) == ("delivered", 1, "task.failed")
            # the secret lives in the secret store, under the notify scope, never the database
            assert secrets.list_names(scope="notify") == [f"webhook-{ch['id']}"]
    finally:
        await receiver.close()
    [req] = receiver.requests
    assert (req.method, req.path) == ("POST", "/hook")
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-hangar-event"] == "task.failed"
    assert n.verify(SECRET, req.body, req.headers["x-hangar-signature"])
    body = json.loads(req.body)
    assert req.headers["x-hangar-delivery"] == body["delivery"] == row["id"]
    assert body["task"]["id"] == task_id and body["task"]["failure_reason"]
    assert body["agent"]["name"] == "breaker"
    assert body["issue"]["title"] == "Fix the flaky test"
    assert body["workspace"]["slug"] and body["command"].startswith(f"hangar task show {task_id}")
    assert SECRET.encode() not in req.body


async def test_a_503_is_retried_and_then_delivered(tmp_path: Path) -> None:
    receiver = await Receiver(statuses=[503, 503]).start()
    try:
        async with notified(tmp_path / "h") as hangar:
            ch = await hangar.call("hangar/notify_add", {"kind": "webhook", "url": receiver.url})
            await _fail_a_task(hangar)
            [row] = await _delivered(hangar, ch["id"])
    finally:
        await receiver.close()
    assert (row["status"], row["attempts"]) == ("delivered", 3)
    assert len(receiver.requests) == 3
    # a retry is the same delivery: same id, same body
    assert len({r.headers["x-hangar-delivery"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    assert "x-hangar-signature" not in receiver.requests[0].headers  # no secret, no signature


async def test_a_400_is_not_retried(tmp_path: Path) -> None:
    receiver = await Receiver(statuses=[400]).start()
    try:
        async with notified(tmp_path / "h") as hangar:
            ch = await hangar.call("hangar/notify_add", {"kind": "webhook", "url": receiver.url})
            await _fail_a_task(hangar)
            [row] = await _delivered(hangar, ch["id"])
    finally:
        await receiver.close()
    assert (row["status"], row["attempts"], row["error"]) == ("failed", 1, "HTTP 400")
    assert len(receiver.requests) == 1


async def test_an_unreachable_host_is_retried_then_given_up_and_the_daemon_serves(
    tmp_path: Path,
) -> None:
    url = f"http://user:pw@127.0.0.1:{closed_port()}/hook?token=abc"
    async with notified(tmp_path / "h") as hangar:
        ch = await hangar.call("hangar/notify_add", {"kind": "webhook", "url": url})
        assert ch["target"] == url.replace("user:pw@", "").replace("token=abc", "…")
        await _fail_a_task(hangar)
        [row] = await _delivered(hangar, ch["id"])
        assert (row["status"], row["attempts"]) == ("failed", 4)
        assert "pw" not in row["error"] and "abc" not in row["error"]
        # the daemon goes on: calls answer, the next task runs
        assert (await hangar.call("ping")) == {}
        await _fail_a_task(hangar, "another")
        await _delivered(hangar, ch["id"], 2)
    logged = (tmp_path / "h" / "logs").glob("*.jsonl")
    text = "".join(p.read_text() for p in logged)
    assert "notification given up" in text and "pw" not in text.replace("pwd", "")


async def test_desktop_runs_notify_send_with_the_words_as_argv(tmp_path: Path) -> None:
    record = tmp_path / "argv.jsonl"
    bindir = tmp_path / "bin"
    fake_notify_send(bindir, record)
    async with notified(tmp_path / "h", path_prefix=bindir) as hangar:
        ch = await hangar.call("hangar/notify_add", {"kind": "desktop"})
        assert ch["unavailable"] is None
        task_id = await _fail_a_task(hangar, "$(touch /tmp/pwned) 'quoted' \"x\"")
        await _delivered(hangar, ch["id"])
    [argv] = lines(record)
    assert argv[0] == "--app-name=Hangar" and argv[1] == "--"
    title, text = argv[2:]
    assert "$(touch /tmp/pwned) 'quoted' \"x\"" in title
    assert f"hangar task show {task_id}" in text


async def test_desktop_without_a_tool_says_so_in_list_and_once_in_the_log(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    async with notified(tmp_path / "h", PATH=str(empty)) as hangar:
        ch = await hangar.call("hangar/notify_add", {"kind": "desktop"})
        await hangar.call("hangar/notify_add", {"kind": "desktop"})
        listed = await hangar.call("hangar/notify_list")
        assert all(c["unavailable"].startswith("unavailable: ") for c in listed["channels"])
        tested = await hangar.call("hangar/notify_test", {"id": ch["id"]})
        assert tested["delivery"]["status"] == "failed"
        assert "notify-send" in tested["delivery"]["error"]
    text = "".join(p.read_text() for p in (tmp_path / "h" / "logs").glob("*.jsonl"))
    assert text.count("desktop notifications unavailable") == 1


async def test_a_command_gets_the_event_as_json_on_stdin(tmp_path: Path) -> None:
    record = tmp_path / "got.jsonl"
    cmd = catcher(tmp_path / "catch", record)
    async with notified(tmp_path / "h", ANTHROPIC_API_KEY="sk-ant-secret") as hangar:
        ch = await hangar.call(
            "hangar/notify_add",
            {"kind": "command", "command": f"'{cmd}'", "events": ["task.failed"]},
        )
        assert ch["target"] == str(cmd)
        task_id = await _fail_a_task(hangar)
        [row] = await _delivered(hangar, ch["id"])
        assert row["status"] == "delivered"
    [doc] = lines(record)
    assert doc["event"] == "task.failed" and doc["_env_event"] == "task.failed"
    assert doc["task"]["id"] == task_id and doc["delivery"] == row["id"]
    assert "ANTHROPIC_API_KEY" not in doc["_env_keys"]
    assert "sk-ant-secret" not in json.dumps(doc)


async def test_a_hanging_command_is_killed_with_its_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pgid"
    hang = script(
        tmp_path / "hang",
        "import os, subprocess, time\n"
        "subprocess.Popen(['sleep', '300'])\n"  # a child in the same group
        f"open({str(pidfile)!r}, 'w').write(str(os.getpgid(0)))\n"
        "time.sleep(300)\n",
    )
    async with notified(tmp_path / "h", HANGAR_NOTIFY_TIMEOUT="2s") as hangar:
        ch = await hangar.call("hangar/notify_add", {"kind": "command", "command": str(hang)})
        res = await hangar.call("hangar/notify_test", {"id": ch["id"]})
        assert res["delivery"]["status"] == "failed"
        assert "ran past 2 s and was killed" in res["delivery"]["error"]
        pgid = int(pidfile.read_text())
        await wait_for(lambda: not _group_alive(pgid), timeout=10)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_stopping_the_daemon_ends_a_command_still_running(tmp_path: Path) -> None:
    pidfile = tmp_path / "pgid"
    hang = script(
        tmp_path / "hang",
        f"import os, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpgid(0)))\n"
        "time.sleep(300)\n",
    )
    async with notified(tmp_path / "h", HANGAR_NOTIFY_TIMEOUT="300s") as hangar:
        ch = await hangar.call("hangar/notify_add", {"kind": "command", "command": str(hang)})
        await hangar.events.publish(
            (await hangar.store.workspace_default()).id,
            TaskFinished(task_id="T1", result="failure", status="failed", ended_at=1),
        )
        await wait_for(lambda: pidfile.exists() and pidfile.read_text(), timeout=30)
        assert ch["id"]
    pgid = int(pidfile.read_text())
    await wait_for(lambda: not _group_alive(pgid), timeout=10)


async def test_a_burst_of_fifty_failures_is_one_message_then_one_count(tmp_path: Path) -> None:
    record = tmp_path / "got.jsonl"
    cmd = catcher(tmp_path / "catch", record)
    async with notified(tmp_path / "h", HANGAR_NOTIFY_WINDOW="3s") as hangar:
        ch = await hangar.call("hangar/notify_add", {"kind": "command", "command": str(cmd)})
        ws = (await hangar.store.workspace_default()).id
        for i in range(50):
            await hangar.events.publish(
                ws, TaskFinished(task_id=f"T{i}", result="failure", status="failed", ended_at=i)
            )
        await wait_for(lambda: len(lines(record)) >= 2, timeout=30)
        history = await _delivered(hangar, ch["id"], 2)
        history = await deliveries(hangar, ch["id"])
    first, summary = lines(record)
    assert first["count"] == 1 and first["task"]["id"] == "T0"
    assert summary["count"] == 49 and summary["title"] == "49 more tasks failed"
    assert summary["command"].startswith("hangar task list --status failed")
    assert sorted(d["status"] for d in history) == ["coalesced", "delivered", "delivered"]


async def test_a_burst_reads_names_for_the_first_and_the_latest_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notifications never slow the lifecycle: an event a burst absorbs is only counted, its
    names are never looked up (two channels share the lookups they do make)."""
    record = tmp_path / "got.jsonl"
    cmd = catcher(tmp_path / "catch", record)
    async with notified(tmp_path / "h", HANGAR_NOTIFY_WINDOW="3s") as hangar:
        for _ in range(2):
            await hangar.call("hangar/notify_add", {"kind": "command", "command": str(cmd)})
        looked_up: list[str] = []
        real = hangar.store.task_get

        async def counting(ws: str, task_id: str) -> Any:
            looked_up.append(task_id)
            return await real(ws, task_id)

        monkeypatch.setattr(hangar.store, "task_get", counting)
        ws = (await hangar.store.workspace_default()).id
        for i in range(50):
            await hangar.events.publish(
                ws, TaskFinished(task_id=f"T{i}", result="failure", status="failed", ended_at=i)
            )
        await wait_for(lambda: len(lines(record)) >= 4, timeout=30)
    assert sorted(looked_up) == ["T0", "T49"]
    assert sorted(line["count"] for line in lines(record)) == [1, 1, 49, 49]


async def test_an_autopilot_that_paused_itself_is_told_once(tmp_path: Path) -> None:
    record = tmp_path / "got.jsonl"
    cmd = catcher(tmp_path / "catch", record)
    async with notified(tmp_path / "h") as hangar:
        await hangar.call("hangar/notify_add", {"kind": "command", "command": str(cmd)})
        ws = (await hangar.store.workspace_default()).id
        row = AutopilotRow(
            id="AP1",
            workspace_id=ws,
            name="nightly",
            agent_id="A1",
            cron_expr="0 3 * * *",
            enabled=False,
            disabled_reason="disabled by Hangar: 45 of its 50 runs failed",
            created_at=1,
        )
        for _ in range(3):  # announced again (an edit, a list refresh): still one message
            await hangar.events.publish(ws, AutopilotChanged(autopilot=row))
        await wait_for(lambda: lines(record), timeout=30)
        enabled = AutopilotRow(**{**_fields(row), "enabled": True, "disabled_reason": None})
        await hangar.events.publish(ws, AutopilotChanged(autopilot=enabled))
        # enabled again, it paused again: that is news
        await hangar.events.publish(ws, AutopilotChanged(autopilot=row))
        await wait_for(lambda: len(lines(record)) == 2, timeout=30)
        await wait_for(lambda: hangar.notify is not None and hangar.notify.pending() == 0)
    first, again = lines(record)
    assert first["event"] == again["event"] == "autopilot.paused"
    assert first["autopilot"]["name"] == "nightly"
    assert "45 of its 50" in first["reason"]


def _fields(row: AutopilotRow) -> dict[str, Any]:
    return {f: getattr(row, f) for f in row.__struct_fields__}


async def test_channels_list_test_and_remove(tmp_path: Path) -> None:
    receiver = await Receiver().start()
    secrets = MemoryStore()
    try:
        async with notified(tmp_path / "h", secrets=secrets) as hangar:
            ch = await hangar.call(
                "hangar/notify_add",
                {"kind": "webhook", "url": receiver.url, "secret": SECRET},
            )
            assert ch["events"] == list(n.DEFAULT_EVENTS)
            res = await hangar.call("hangar/notify_test", {"id": ch["id"]})
            assert (res["delivery"]["status"], res["delivery"]["kind"]) == ("delivered", "test")
            [listed] = (await hangar.call("hangar/notify_list"))["channels"]
            assert listed["deliveries"][0]["id"] == res["delivery"]["id"]
            gone = await hangar.call("hangar/notify_remove", {"id": ch["id"]})
            assert gone == {"id": ch["id"], "kind": "webhook"}
            assert (await hangar.call("hangar/notify_list"))["channels"] == []
            assert secrets.list_names(scope="notify") == []
    finally:
        await receiver.close()
    assert json.loads(receiver.requests[0].body)["test"] is True


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"kind": "webhook", "url": "ftp://example.com/x"}, "http:// or https://"),
        ({"kind": "webhook", "url": "file:///etc/passwd"}, "http:// or https://"),
        ({"kind": "webhook", "url": "http://"}, "needs a host"),
        ({"kind": "webhook"}, "needs a URL"),
        ({"kind": "desktop", "events": ["task.failed", "task.exploded"]}, "'task.exploded'"),
        ({"kind": "command", "command": ""}, "the command is empty"),
        ({"kind": "command", "command": "   "}, "the command is empty"),
        ({"kind": "command", "command": "'unclosed"}, "cannot read the command"),
        ({"kind": "command", "command": "x", "secret": "s"}, "only a webhook takes a secret"),
        ({"kind": "desktop", "url": "http://example.com"}, "takes no URL"),
        ({"kind": "pager"}, "kind"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(
    hangar: InProcessDaemon, params: dict[str, Any], says: str
) -> None:
    with pytest.raises(rpc.RpcError) as err:
        await hangar.call("hangar/notify_add", params)
    assert err.value.code == rpc.INVALID_PARAMS
    assert says in err.value.message
    assert (await hangar.call("hangar/notify_list"))["channels"] == []
    assert await hangar.store.notify.channels() == []
    assert hangar.daemon.secrets.list_names(scope="notify") == []


async def test_removing_or_testing_an_unknown_channel_is_not_found(hangar: InProcessDaemon) -> None:
    for method in ("hangar/notify_remove", "hangar/notify_test"):
        with pytest.raises(rpc.RpcError) as err:
            await hangar.call(method, {"id": "nope"})
        assert err.value.code == rpc.NOT_FOUND
        assert "notification channel not found: nope" in err.value.message


async def test_a_stranded_dependent_is_told_with_its_blocker(tmp_path: Path) -> None:
    record = tmp_path / "got.jsonl"
    cmd = catcher(tmp_path / "catch", record)
    async with notified(tmp_path / "h") as hangar:
        await hangar.call(
            "hangar/notify_add",
            {"kind": "command", "command": str(cmd), "events": ["dependency.stranded"]},
        )
        ws = (await hangar.store.workspace_default()).id
        await hangar.events.publish(
            ws, TaskFinished(task_id="T1", result="failure", status="failed", ended_at=1)
        )
        await hangar.events.publish(
            ws,
            DependencyStranded(
                issue_id="I2", issue_title="Ship it", blocker_id="I1", standing="failed"
            ),
        )
        [doc] = await wait_for(lambda: lines(record), timeout=30)
    assert doc["event"] == "dependency.stranded"  # task.failed was not asked for
    assert doc["issue"] == {"id": "I2", "title": "Ship it"} and doc["blocker"] == {"id": "I1"}
    assert doc["state"] == "failed" and "stays blocked" in doc["text"]
