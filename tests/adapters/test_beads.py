"""The bd adapter against the fake bd (tests/fixtures/fake_bd.py): argv and environment, both
JSON shapes, ``show``'s list, errors from stderr, and a bd that is missing, failing, printing
garbage or hanging — each one clear ``BdError``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from hangar.adapters.beads import Bd, BdError, bd_environment, parse_answer
from tests.adapters.helpers import eventually
from tests.beadskit import FakeBeads, fake_beads


@pytest.fixture
def fake(tmp_path: Path) -> FakeBeads:
    return fake_beads(tmp_path)


def client(fake: FakeBeads, timeout: float = 20.0) -> Bd:
    return Bd(str(fake.bin), fake.root, parent_env=dict(os.environ), timeout=timeout)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def test_create_list_show_close_round_trip(fake: FakeBeads) -> None:
    bd = client(fake)
    made = await bd.create(
        "-starts with a dash",
        description="-also a dash\nand two lines",
        labels=["hangar-v1", "x"],
        external_ref="hangar:01ABC",
        priority=0,
    )
    assert (made.title, made.status, made.priority) == ("-starts with a dash", "open", 0)
    assert made.description == "-also a dash\nand two lines"
    assert made.labels == ("hangar-v1", "x") and made.external_ref == "hangar:01ABC"
    assert made.updated_at and not made.closed

    other = await bd.create("untagged")
    assert [i.id for i in await bd.list_issues(labels=["hangar-v1"])] == [made.id]
    assert {i.id for i in await bd.list_issues()} == {made.id, other.id}

    shown = await bd.show(made.id)  # bd answers a list: one issue comes back
    assert shown == made

    closed = await bd.close(made.id, "done in Hangar")
    assert closed.closed and closed.close_reason == "done in Hangar"
    # closed issues are listed (--all), and every call had --json, the envelope and the dir
    assert [i.closed for i in await bd.list_issues(labels=["hangar-v1"])] == [True]
    calls = fake.calls()
    assert [c["argv"][0] for c in calls] == [
        "version", "create", "create", "list", "list", "show", "close", "list",
    ]  # fmt: skip
    for c in calls:
        assert c["argv"][1] == "--json"
        assert c["env"] == {"BEADS_DIR": str(fake.root), "BD_JSON_ENVELOPE": "1"}
        assert Path(c["cwd"]) == fake.root
    assert calls[3]["argv"] == ["list", "--json", "-n", "0", "--all", "--label", "hangar-v1"]
    assert calls[1]["argv"][-2:] == ["--", "-starts with a dash"]
    assert bd.version == "0.49.0"


async def test_an_older_bd_without_the_envelope_is_read_as_well(fake: FakeBeads) -> None:
    fake.misbehave("no-envelope")
    bd = client(fake)
    made = await bd.create("bare shapes")
    assert (await bd.show(made.id)).id == made.id
    assert [i.id for i in await bd.list_issues()] == [made.id]


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        ('{"schema_version":1,"data":{"id":"bd-1"}}', {"id": "bd-1"}),
        ('{"schema_version":1,"data":[{"id":"bd-1"}]}', [{"id": "bd-1"}]),
        ('{"schema_version":1,"id":"bd-1"}', {"id": "bd-1"}),  # injected, dropped
        ('[{"id":"bd-1"}]', [{"id": "bd-1"}]),  # arrays are bare
        ("[]", []),
        ('Note: auto-import skipped\n{"schema_version":1,"data":[]}', []),  # chatter first
    ],
)
def test_both_shapes_are_parsed(stdout: str, expected: object) -> None:
    assert parse_answer(stdout, "list") == expected


@pytest.mark.parametrize(
    ("stdout", "code", "says"),
    [
        ("", "garbage", "printed nothing"),
        ("panic: runtime error\x00 {{{", "garbage", "not JSON"),
        ('"a string"', "garbage", "not JSON"),
        ('{"schema_version":1,"error":"no db","code":"no_db"}', "no_db", "failed: no db"),
    ],
)
def test_what_is_not_an_answer_is_a_clear_error(stdout: str, code: str, says: str) -> None:
    with pytest.raises(BdError) as caught:
        parse_answer(stdout, "list")
    assert caught.value.code == code and says in caught.value.message
    assert "\x00" not in caught.value.message


async def test_show_of_a_missing_issue_is_not_found_with_bds_message(fake: FakeBeads) -> None:
    with pytest.raises(BdError) as caught:
        await client(fake).show("bd-404")
    assert caught.value.not_found
    assert caught.value.message == 'bd show failed: no issue found matching "bd-404" (not_found)'


@pytest.mark.parametrize(
    ("kind", "code", "says"),
    [
        ("fail", "exit", "bd list failed (exit 1): Error: database is locked"),
        ("fail-json", "internal", "bd list failed: storage is read-only (internal)"),
        ("garbage", "garbage", "bd list answered panic: runtime error\\0 {{{ not json, not JSON"),
    ],
)
async def test_a_failing_bd_is_one_error_with_its_message(
    fake: FakeBeads, kind: str, code: str, says: str
) -> None:
    fake.misbehave(kind, "list")
    bd = client(fake)
    with pytest.raises(BdError) as caught:
        await bd.list_issues()
    assert (caught.value.code, caught.value.message) == (code, says)
    fake.misbehave(None)
    assert await bd.list_issues() == []  # the next call is fine


async def test_garbage_from_bd_version_fails_the_probe(fake: FakeBeads) -> None:
    fake.misbehave("garbage")
    with pytest.raises(BdError) as caught:
        await client(fake).list_issues()
    assert caught.value.verb == "version" and caught.value.code == "garbage"
    assert fake.verbs() == ["version"]  # nothing else was tried


async def test_the_version_is_probed_once(fake: FakeBeads) -> None:
    bd = client(fake)
    await asyncio.gather(bd.list_issues(), bd.list_issues(), bd.create("x"))
    assert fake.verbs().count("version") == 1


async def test_a_missing_bd_is_a_clear_error(tmp_path: Path) -> None:
    bd = Bd(str(tmp_path / "nowhere" / "bd"), tmp_path)
    with pytest.raises(BdError) as caught:
        await bd.list_issues()
    assert caught.value.code == "missing"
    assert caught.value.message == f"bd not found: {tmp_path / 'nowhere' / 'bd'}"


async def test_a_missing_beads_directory_is_a_clear_error(fake: FakeBeads, tmp_path: Path) -> None:
    bd = Bd(str(fake.bin), tmp_path / "gone")
    with pytest.raises(BdError, match=r"beads directory .*gone does not exist"):
        await bd.list_issues()


async def test_a_hanging_bd_is_killed_at_the_timeout(fake: FakeBeads) -> None:
    bd = client(fake, timeout=20)
    await bd.probe()
    fake.misbehave("hang", "list")
    bd.timeout = 0.5
    with pytest.raises(BdError) as caught:
        await bd.list_issues()
    assert caught.value.code == "timeout"
    assert caught.value.message == "bd list did not answer within 0.5s and was killed"
    pid = int((fake.root / "fake-bd.pid").read_text())
    await eventually(lambda: not pid_alive(pid))


async def test_a_cancelled_call_kills_bd(fake: FakeBeads) -> None:
    bd = client(fake)
    await bd.probe()
    fake.misbehave("hang", "list")
    call = asyncio.create_task(bd.list_issues())
    await eventually(lambda: (fake.root / "fake-bd.pid").exists())
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    pid = int((fake.root / "fake-bd.pid").read_text())
    await eventually(lambda: not pid_alive(pid))


async def test_calls_run_one_at_a_time(fake: FakeBeads, monkeypatch: pytest.MonkeyPatch) -> None:
    bd = client(fake)
    running, most = 0, 0
    real = Bd._run

    async def counted(self: Bd, argv: list[str], verb: str) -> tuple[str, str, int]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            return await real(self, argv, verb)
        finally:
            running -= 1

    monkeypatch.setattr(Bd, "_run", counted)
    await asyncio.gather(*(bd.create(f"t{n}") for n in range(4)), bd.list_issues())
    assert most == 1
    assert len(await bd.list_issues()) == 4


def test_bd_gets_its_settings_and_never_the_agents_keys(tmp_path: Path) -> None:
    env = bd_environment(
        {
            "PATH": "/bin",
            "HOME": "/home/u",
            "LC_ALL": "C.UTF-8",
            "BD_ACTOR": "me",
            "BEADS_DIR": "/elsewhere",
            "ANTHROPIC_API_KEY": "sk-secret",
            "HANGAR_DATABASE_URL": "postgresql://u:pw@h/db",
        },
        tmp_path,
    )
    assert env == {
        "PATH": "/bin",
        "HOME": "/home/u",
        "LC_ALL": "C.UTF-8",
        "BD_ACTOR": "me",
        "BEADS_DIR": str(tmp_path),
        "BD_JSON_ENVELOPE": "1",
    }
