"""``workspace/rename`` through the real routes: the slug rules of create, a taken slug, and
the workspace found under its new slug with all it holds."""

from __future__ import annotations

import pytest

from hangar.proto import jsonrpc as rpc
from hangar.proto import methods
from hangar.testing import InProcessDaemon

pytestmark = pytest.mark.usefixtures("migrated")


async def test_rename_keeps_the_workspace_and_its_rows(hangar: InProcessDaemon) -> None:
    ws = await hangar.call(methods.WORKSPACE_CREATE, {"slug": "team"})
    issue = (await hangar.call(methods.ISSUE_CREATE, {"title": "t", "workspace_id": "team"}))[
        "issue"
    ]

    row = await hangar.call(methods.WORKSPACE_RENAME, {"workspace_id": "team", "slug": "crew"})

    assert (row["id"], row["slug"], row["name"]) == (ws["id"], "crew", "crew")
    got = await hangar.call(methods.ISSUE_GET, {"issue_id": issue["id"], "workspace_id": "crew"})
    assert got["issue"]["id"] == issue["id"]
    err = await hangar_refused(hangar, methods.ISSUES_LIST, {"workspace_id": "team"})
    assert err.code == rpc.NOT_FOUND


async def hangar_refused(
    hangar: InProcessDaemon, method: str, params: dict[str, str]
) -> rpc.RpcError:
    with pytest.raises(rpc.RpcError) as caught:
        await hangar.call(method, params)
    return caught.value


@pytest.mark.parametrize(
    ("slug", "code", "needle"),
    [
        ("Bad Slug", rpc.INVALID_PARAMS, "invalid slug"),
        ("-x", rpc.INVALID_PARAMS, "invalid slug"),
        ("default", rpc.CONFLICT, "already exists"),
    ],
)
async def test_bad_or_taken_slugs_are_refused(
    hangar: InProcessDaemon, slug: str, code: int, needle: str
) -> None:
    await hangar.call(methods.WORKSPACE_LIST)  # the default workspace exists
    await hangar.call(methods.WORKSPACE_CREATE, {"slug": "team"})
    err = await hangar_refused(
        hangar, methods.WORKSPACE_RENAME, {"workspace_id": "team", "slug": slug}
    )
    assert err.code == code and needle in err.message
    slugs = [w["slug"] for w in (await hangar.call(methods.WORKSPACE_LIST))["workspaces"]]
    assert sorted(slugs) == ["default", "team"]


async def test_an_unknown_workspace_is_not_found(hangar: InProcessDaemon) -> None:
    err = await hangar_refused(
        hangar, methods.WORKSPACE_RENAME, {"workspace_id": "nope", "slug": "x"}
    )
    assert err.code == rpc.NOT_FOUND


async def test_the_default_moves_with_use(hangar: InProcessDaemon) -> None:
    await hangar.call(methods.WORKSPACE_CREATE, {"slug": "team"})
    row = await hangar.call(methods.WORKSPACE_USE, {"workspace_id": "team"})
    assert row["is_default"]
    renamed = await hangar.call(methods.WORKSPACE_RENAME, {"workspace_id": "team", "slug": "crew"})
    assert renamed["is_default"]
