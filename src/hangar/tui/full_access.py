"""The full-access warning in the TUI: when the app has queued work for an agent (an issue
assigned, a session, an autopilot, an agent from a template), a notice that agents run with
full access to the user's files and the network, once before the first run ever and once
per provider. The acknowledgements are the CLI's (``<home>/state.toml``), so a warning seen
in one is not shown again in the other (docs/agents.md#the-full-access-warning).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol

from hangar.adapters import acks
from hangar.core import full_access
from hangar.core.provider_keys import PROVIDER_KEYS
from hangar.proto import api, calls, methods

if TYPE_CHECKING:
    from hangar.tui.host import Host

    class HangarApp(Host, Protocol):
        """The app as this notice sees it (not ``tui.app``, which imports this module)."""

        def run_worker(self, work: Any, *, group: str = ...) -> Any: ...
        def notify(
            self,
            message: str,
            *,
            title: str = ...,
            severity: Literal["information", "warning", "error"] = ...,
            timeout: float | None = ...,
            markup: bool = ...,
        ) -> None: ...


__all__ = ["FullAccessNotice"]

TITLE = "Agents run with full access"
_PROVIDERS = (*PROVIDER_KEYS, "command")
#: methods after which an agent will run (``issue_update`` only when it assigns)
_WORK = frozenset(
    {
        methods.ISSUE_CREATE,
        methods.ISSUE_UPDATE,
        methods.SESSION_CREATE,
        methods.AUTOPILOT_CREATE,
        methods.TEMPLATE_USE,
    }
)


class FullAccessNotice:
    def __init__(self, app: HangarApp) -> None:
        self.app = app

    def after(self, method: str, params: Any, result: Any) -> None:
        """Called with every answered intent; cheap unless work was queued and a warning
        is still due (one small file read)."""
        if method not in _WORK:
            return
        have = acks.acknowledged(self.app.paths)
        if not any(full_access.due(have, p) for p in _PROVIDERS):
            return
        self.app.run_worker(self._check(method, params, result), group="full-access")

    async def _check(self, method: str, params: Any, result: Any) -> None:
        queued, provider = await self._provider(method, params, result)
        if not queued:
            return
        text = acks.take(self.app.paths, provider)
        if text is not None:
            self.app.notify(text, title=TITLE, severity="warning", timeout=30)

    async def _provider(self, method: str, params: Any, result: Any) -> tuple[bool, str | None]:
        """Whether an agent will run, and its provider (None when it cannot be told)."""
        if method == methods.SESSION_CREATE:
            return True, getattr(result, "agent", None)
        if method == methods.TEMPLATE_USE:
            return True, str(result.agent.provider)
        agent_id: str | None = None
        if method == methods.ISSUE_CREATE:
            task = getattr(result, "task", None)
            agent_id = task.agent_id if task is not None else None
        elif method == methods.AUTOPILOT_CREATE:
            agent_id = getattr(result, "agent_id", None)
        elif method == methods.ISSUE_UPDATE:
            assignee = getattr(result, "assignee", None) or ""
            if getattr(params, "assign", None) and assignee.startswith("agent:"):
                agent_id = assignee.removeprefix("agent:")
        if agent_id is None:
            return False, None
        workspace = getattr(params, "workspace_id", None)
        try:
            row = await self.app.link.request(
                calls.AGENT_GET, api.AgentGetParams(workspace_id=workspace, agent=agent_id)
            )
        except Exception:  # the work is queued: say the warning without the provider
            return True, None
        return True, row.provider
