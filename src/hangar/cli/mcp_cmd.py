"""hangar mcp [--config PATH] [--token TOKEN]"""

from __future__ import annotations

import importlib

import click

MCP_HELP = """Serve the workspace MCP tools over stdio (for Claude Code and other orchestrators).

Each workspace is a git worktree opened in a named tmux session running an agent; tools:
workspace_list, workspace_create, workspace_archive, workspace_delete, workspace_send,
workspace_read, workspace_idle, workspace_wait_idle, workspace_attach_hint,
workspace_resume, plus hangar_issue_create, hangar_issue_list, hangar_issue_update,
hangar_issue_comment, hangar_issue_block, hangar_issue_unblock (work that waits for other
work), hangar_task_list, hangar_task_show; for scheduling work,
hangar_autopilot_list, hangar_autopilot_create, hangar_autopilot_show, hangar_autopilot_run,
hangar_skill_list, hangar_skill_attach, hangar_skill_detach, hangar_template_list,
hangar_template_use. The server talks
to the Hangar daemon (starting it if needed); stdout carries only the protocol.

\b
Configuration: a JSON file (--config) with these keys, each overridden by its environment
variables (HANGAR_* wins over the older HARNESS_* name):
  repoPath         HANGAR_REPO_PATH / HARNESS_REPO_PATH        (default: current directory)
  worktreeRoot     HANGAR_WORKTREE_ROOT / HARNESS_WORKTREE_ROOT (default: <repo>/../worktrees)
  claudeCmd        HANGAR_CLAUDE_CMD / HARNESS_CLAUDE_CMD      (default: claude)
  idleThresholdMs  HANGAR_IDLE_THRESHOLD_MS / HARNESS_...      (default: 5000, > 0)
  sessionPrefix    HANGAR_SESSION_PREFIX / HARNESS_...         (default: harness-)
  maxWorkspaces    HANGAR_MAX_WORKSPACES / HARNESS_...         (default: 10, 1-50)
  workspace        HANGAR_WORKSPACE    Hangar tenant slug      (default: the daemon's default)
  storePath        accepted and ignored: sessions live in the daemon's store
The daemon's home is AINB_HANGAR_HOME (default ~/.ainb/hangar).
A personal token (--token or HANGAR_TOKEN, from `hangar auth token create`) gives the
orchestrator only that token's scope: with a read token, tools that change anything fail.

\b
`hangar mcp --print-config` prints the entry below for the current repository, with
absolute paths, ready to paste. By hand, Claude Code (.mcp.json in your project):
  {
    "mcpServers": {
      "hangar": {
        "command": "hangar",
        "args": ["mcp", "--config", "/home/alice/.config/hangar/config.json"],
        "env": {"HANGAR_REPO_PATH": "/home/alice/myproject"}
      }
    }
  }
"""


@click.command(help=MCP_HELP, context_settings={"max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="JSON config file (keys above); environment variables override it.",
)
@click.option(
    "--print-config",
    is_flag=True,
    help="Print a .mcp.json entry for this repository with absolute paths, and exit.",
)
@click.option(
    "--repo",
    metavar="PATH",
    help="With --print-config: the repository the server works in (default: this one).",
)
@click.option(
    "--token",
    metavar="TOKEN",
    help="A personal token (ainb_…): the tools get its scope (default: $HANGAR_TOKEN, else "
    "full power). Prefer HANGAR_TOKEN in the entry's env: argv is visible to other processes.",
)
@click.pass_context
def mcp(
    ctx: click.Context,
    config_path: str | None,
    print_config: bool,
    repo: str | None,
    token: str | None,
) -> None:
    if print_config:
        click.echo(registration(config_path, repo))
        return
    # hangar.cli and hangar.mcp are independent front ends (import-linter): hand over by
    # module name, as the lazy command table does, and keep `hangar --help` fast.
    server = importlib.import_module("hangar.mcp.server")
    ctx.exit(server.main(config_path, token=token))


def registration(config_path: str | None, repo: str | None) -> str:
    """A ``.mcp.json`` that works as pasted: the absolute path of this very ``hangar`` (an
    orchestrator's PATH may not have it), the repository's top level, the daemon's home."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from hangar.cli.errors import CliError
    from hangar.core.paths import HangarPaths

    here = Path(repo or os.getcwd()).expanduser().resolve()
    found = subprocess.run(
        ["git", "-C", str(here), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        raise CliError(f"{here} is not in a git repository: pass --repo PATH")
    script = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "hangar" else None
    command = str(script) if script and script.exists() else shutil.which("hangar")
    if command is None:  # not installed: run this interpreter's module
        args = ["-m", "hangar.cli", "mcp"]
        command = sys.executable
    else:
        args = ["mcp"]
    if config_path:
        args += ["--config", str(Path(config_path).expanduser().resolve())]
    env = {
        "HANGAR_REPO_PATH": found.stdout.strip(),
        "AINB_HANGAR_HOME": str(HangarPaths.from_env().root),
    }
    entry = {"command": command, "args": args, "env": env}
    return json.dumps({"mcpServers": {"hangar": entry}}, indent=2)
