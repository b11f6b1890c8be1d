"""`hangar mcp --help`: how to configure it and register it with Claude Code."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from hangar.cli.main import hangar
from hangar.mcp.tools import TOOL_NAMES


def test_help_documents_config_env_and_mcp_json() -> None:
    res = CliRunner().invoke(hangar, ["mcp", "--help"])
    assert res.exit_code == 0
    for needle in [
        "--config",
        "HARNESS_REPO_PATH",
        "HANGAR_REPO_PATH",
        "maxWorkspaces",
        ".mcp.json",
    ]:
        assert needle in res.output
    snippet = re.search(r"^    \{$.*?^    \}$", res.output, re.S | re.M)
    assert snippet is not None
    entry = json.loads(snippet.group(0))["mcpServers"]["hangar"]
    assert entry["command"] == "hangar" and entry["args"][0] == "mcp"
    listed = set(re.findall(r"\b(?:workspace|hangar)_[a-z_]+\b", res.output))
    assert listed == set(TOOL_NAMES)  # every tool the server registers, and no other


def test_listed_under_hangar() -> None:
    assert "mcp" in CliRunner().invoke(hangar, ["--help"]).output
