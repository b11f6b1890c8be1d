"""The ``hangar_autopilot_*``, ``hangar_skill_*`` and ``hangar_template_*`` tools
(docs/sessions.md#mcp-server, docs/autopilots.md): an orchestrating agent schedules recurring
work for Hangar's agents, gives agents skills, and makes agents from the curated templates.

As in ``tools``: each tool checks only its own inputs, calls one daemon method and reshapes the
answer; a daemon refusal comes back as a tool error carrying the daemon's message.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Awaitable, Callable
from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import Field

from hangar.adapters.repos import enclosing_repository
from hangar.mcp import shapes
from hangar.mcp.backend import Backend
from hangar.mcp.common import OptStr, blank, ok, or_default, word
from hangar.mcp.config import McpConfig
from hangar.proto import api, calls
from hangar.proto import autopilots as ap
from hangar.proto import skills as sk

__all__ = ["AUTOPILOT_TOOL_NAMES", "ToolFn", "autopilot_tools"]

AUTOPILOT_TOOL_NAMES = (
    "hangar_autopilot_list",
    "hangar_autopilot_create",
    "hangar_autopilot_show",
    "hangar_autopilot_run",
    "hangar_skill_list",
    "hangar_skill_attach",
    "hangar_skill_detach",
    "hangar_template_list",
    "hangar_template_use",
)

MODES: tuple[ap.AutopilotMode, ...] = ("run", "issue")
PROVIDERS: tuple[sk.TemplateProvider, ...] = ("claude", "codex", "gemini", "command")
DEFAULT_ZONE = "UTC"

CRON_HELP = (
    'Standard 5-field cron "min hour day-of-month month day-of-week" ("0 3 * * *": 03:00 every '
    'day; "*/15 9-17 * * 1-5": every 15 minutes in office hours on weekdays) or 6 fields with '
    'seconds first ("*/30 * * * * *": every 30 seconds). Evaluated like Debian cron in timezone.'
)

AutopilotArg = Annotated[str, Field(description="Autopilot name or id.")]
AgentName = Annotated[str, Field(description="Agent name or id.")]
SkillName = Annotated[str, Field(description="Skill name or id (see hangar_skill_list).")]

ToolFn = Callable[..., Awaitable[CallToolResult]]


def autopilot_tools(config: McpConfig, backend: Backend) -> tuple[ToolFn, ...]:
    """The tool functions, in the order of ``AUTOPILOT_TOOL_NAMES``; ``tools`` registers them."""

    async def hangar_autopilot_list() -> CallToolResult:
        """List the workspace's autopilots (recurring schedules that hand instructions to an
        agent): each row with cron_expr, timezone, agent_name, mode, enabled, unfinished_runs,
        max_concurrent_runs, and next_fire (ISO 8601 in its zone; null while disabled). Use it
        before creating one, to avoid a duplicate name or schedule."""
        res = await backend.request(calls.AUTOPILOTS_LIST, api.WorkspaceScoped())
        return ok([shapes.autopilot(row) for row in res.autopilots])

    async def hangar_autopilot_create(
        name: Annotated[str, Field(description="Unique in the workspace, 1-64 chars.")],
        agent: Annotated[str, Field(description="The agent that does the work (name or id).")],
        cron: Annotated[str, Field(description=CRON_HELP)],
        instructions: Annotated[
            str,
            Field(
                description="What the agent is asked to do at each fire: the task's prompt "
                "(mode run) or the filed issue's description (mode issue)."
            ),
        ],
        timezone: Annotated[
            str,
            Field(description='IANA time zone the schedule is read in, e.g. "Europe/Berlin".'),
        ] = DEFAULT_ZONE,
        max_concurrent_runs: Annotated[
            int,
            Field(
                description="A fire is skipped while this many of its runs are unfinished "
                "(1-100; 0: the default)."
            ),
        ] = 1,
        mode: Annotated[
            str,
            Field(
                description='"run" (default): each fire queues a task for the agent; "issue": '
                "each fire files an issue assigned to the agent (visible in hangar_issue_list)."
            ),
        ] = "run",
    ) -> CallToolResult:
        """Schedule recurring work: at every fire of the cron schedule, the agent gets the
        instructions. Use it when work should happen on a schedule (nightly dependency updates,
        a weekly report); for one-off work file an issue (hangar_issue_create) instead. An
        invalid expression or zone is refused with the reason. Returns the autopilot, with
        next_fire."""
        params = ap.AutopilotCreateParams(
            name=name,
            agent=agent,
            cron=cron,
            instructions=instructions,
            timezone=timezone.strip() or DEFAULT_ZONE,
            max_concurrent_runs=or_default("max_concurrent_runs", max_concurrent_runs, 1),
            mode=word("mode", mode, MODES, "run"),
        )
        return ok(shapes.autopilot(await backend.request(calls.AUTOPILOT_CREATE, params)))

    async def hangar_autopilot_show(autopilot: AutopilotArg) -> CallToolResult:
        """One autopilot: {autopilot, upcoming, recent_runs}. upcoming: its next 5 fire times
        as ISO 8601 in its own zone (empty while disabled); recent_runs: newest first, each
        with status (running, completed, failed, cancelled), trigger and task_id. Use it to
        check a schedule means what you meant, or how past runs went."""
        res = await backend.request(calls.AUTOPILOT_GET, ap.AutopilotRef(autopilot=autopilot))
        return ok(shapes.autopilot_detail(res))

    async def hangar_autopilot_run(autopilot: AutopilotArg) -> CallToolResult:
        """Fire an autopilot now, through the same path as its schedule. Returns {status:
        "running", run, task_id, issue_id} (follow the task with hangar_task_show), or {status:
        "skipped", reason} when max_concurrent_runs of its runs are still unfinished: not an
        error, try again once they finish."""
        res = await backend.request(calls.AUTOPILOT_RUN, ap.AutopilotRef(autopilot=autopilot))
        return ok(res)

    async def hangar_skill_list(
        agent: Annotated[
            OptStr, Field(description="Only the skills attached to this agent (name or id).")
        ] = None,
    ) -> CallToolResult:
        """List the workspace's skills (Agent Skills: instructions and files an agent loads
        when relevant), ordered by name: [{name, description, used, …}] (used: how many
        agents have it). Use it to find a skill to attach, or what an agent has."""
        params = sk.SkillsListParams(agent=blank(agent))
        return ok((await backend.request(calls.SKILLS_LIST, params)).skills)

    async def hangar_skill_attach(skill: SkillName, agent: AgentName) -> CallToolResult:
        """Give an agent a skill: its next tasks find it where their CLI loads skills.
        Returns {skill, agent, changed} (changed false: it already had it)."""
        params = sk.SkillAttachParams(skill=skill, agent=agent)
        return ok(await backend.request(calls.SKILL_ATTACH, params))

    async def hangar_skill_detach(skill: SkillName, agent: AgentName) -> CallToolResult:
        """Take a skill away from an agent (the skill stays in the workspace). Returns
        {skill, agent, changed} (changed false: it did not have it)."""
        params = sk.SkillAttachParams(skill=skill, agent=agent)
        return ok(await backend.request(calls.SKILL_DETACH, params))

    async def hangar_template_list() -> CallToolResult:
        """The curated agent templates (code-reviewer, bug-fixer, planner, …): [{name,
        description, purpose, instructions, skills}]. Use one with hangar_template_use to get
        a ready agent instead of writing its instructions yourself."""
        return ok((await backend.request(calls.TEMPLATES_LIST, api.Empty())).templates)

    async def hangar_template_use(
        name: Annotated[str, Field(description="Template name (see hangar_template_list).")],
        agent_name: Annotated[
            OptStr, Field(description="The new agent's name (default: the template's).")
        ] = None,
        provider: Annotated[
            str, Field(description='"claude" (default), "codex", "gemini" or "command".')
        ] = "claude",
        command: Annotated[
            OptStr,
            Field(
                description="Shell-quoted argv: the CLI to run instead of the provider's "
                "default executable (required for provider command)."
            ),
        ] = None,
        model: Annotated[OptStr, Field(description="Model the agent asks for.")] = None,
        repo_path: Annotated[
            OptStr,
            Field(description="The agent's default repository (default: the server's)."),
        ] = None,
    ) -> CallToolResult:
        """Create an agent from a template, with the template's instructions and its skills
        attached, in one step (the bundled skills are imported if the workspace lacks them).
        Returns {agent, skills, imported}. Then assign it work with hangar_issue_create or
        hangar_autopilot_create."""
        argv: list[str] | None = None
        if command:
            try:
                argv = shlex.split(command)
            except ValueError as exc:
                raise ToolError(f"invalid_params: command: {exc}") from None
        repo = os.path.abspath(repo_path) if repo_path else enclosing_repository(config.repo_path)
        params = sk.TemplateUseParams(
            name=name,
            agent_name=blank(agent_name),
            provider=word("provider", provider, PROVIDERS, "claude"),
            command=argv,
            model=blank(model),
            repo_path=str(repo) if repo else None,
        )
        return ok(await backend.request(calls.TEMPLATE_USE, params))

    return (
        hangar_autopilot_list,
        hangar_autopilot_create,
        hangar_autopilot_show,
        hangar_autopilot_run,
        hangar_skill_list,
        hangar_skill_attach,
        hangar_skill_detach,
        hangar_template_list,
        hangar_template_use,
    )
