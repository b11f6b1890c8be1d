"""``hangar mcp --token``: an orchestrating agent given a read token sees, but a tool that
changes anything is refused with the scope it needs, and nothing is written."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mcp.harness import McpProcess, Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(Path(tempfile.mkdtemp(prefix="hg", dir="/tmp")))
    box.make_repo()
    try:
        yield box
    finally:
        box.teardown()
        shutil.rmtree(box.root, ignore_errors=True)


def _token(box: Sandbox, scope: str) -> str:
    made = box.hangar(
        "auth", "token", "create", "--name", f"mcp {scope}", "--scope", scope, "--json"
    )
    assert made.returncode == 0, made.stderr
    plaintext = json.loads(made.stdout)["plaintext"]
    assert isinstance(plaintext, str)
    return plaintext


def test_a_read_token_lists_but_cannot_file_an_issue(sandbox: Sandbox) -> None:
    read = _token(sandbox, "read")
    config = sandbox.config("ro")
    server = McpProcess(sandbox.env(), ["--config", str(config), "--token", read], cwd=sandbox.root)
    try:
        assert server.ok("hangar_issue_list") == []
        refused = server.error("hangar_issue_create", {"title": "not allowed"})
        assert refused.endswith(
            "forbidden: this token's scope is read; hangar/issue_create needs write"
        )
        assert server.ok("hangar_issue_list") == []  # nothing was filed, the server serves on
    finally:
        server.close()
    listed = sandbox.hangar("issue", "list", "--json")
    assert json.loads(listed.stdout) == []


def test_hangar_token_in_the_environment_works_too(sandbox: Sandbox) -> None:
    write = _token(sandbox, "write")
    server = sandbox.server(sandbox.config("rw"), HANGAR_TOKEN=write)
    try:
        made = server.ok(
            "hangar_issue_create", {"title": "allowed", "repo_path": str(sandbox.repo)}
        )
        assert made["issue"]["title"] == "allowed"
    finally:
        server.close()
    garbage = sandbox.server(sandbox.config("bad"), HANGAR_TOKEN="ainb_garbage")
    try:
        said = garbage.error("hangar_issue_list")
        assert "unauthorized: " in said and "$HANGAR_TOKEN" in said
    finally:
        garbage.close()
