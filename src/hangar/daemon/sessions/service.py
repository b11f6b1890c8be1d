"""Interactive sessions: a git worktree opened in its own tmux session running an agent CLI.

:class:`SessionService` is the one object the RPC layer and the composition root hold;
it wires the parts and forwards each verb to the part that owns it:

- :mod:`.operations` — create, list, archive, delete, resume;
- :mod:`.provisioning` — reserve, worktree, trust, tmux launch, launch probe, undo;
- :mod:`.launch` — the pane's first program: enters the worktree, becomes the agent with
  exactly the environment the policy gives it;
- :mod:`.reconcile` — rows made to agree with tmux (boot, before a list);
- :mod:`.screens` — pane sampling and idleness (idle, wait_idle, the background watch);
- :mod:`.terminal` — send, read, attach hint;
- :mod:`.stopping` — ending an agent and what it left running;
- :mod:`.access` — rows, locks, and tmux calls that orphan a vanished session.

The daemon is the only writer: rows live in the store, tmux and git are driven through
small adapters (argv lists, asyncio subprocesses). Parameter ranges are checked once, by
the constraints of the param structs in :mod:`hangar.proto.api`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec

from hangar.core.clock import Clock
from hangar.core.env_policy import EnvPolicy
from hangar.daemon.config import DEFAULT_LAUNCH_PROBE_MS
from hangar.daemon.environment import AgentEnvironment
from hangar.daemon.events import EventBus
from hangar.daemon.sessions.access import Log, SessionAccess
from hangar.daemon.sessions.operations import SessionOperations
from hangar.daemon.sessions.provisioning import Provisioner
from hangar.daemon.sessions.reconcile import Reconciler
from hangar.daemon.sessions.screens import WATCH_INTERVAL_S, ScreenWatcher
from hangar.daemon.sessions.stopping import AgentStopper
from hangar.daemon.sessions.terminal import SessionTerminal
from hangar.daemon.sessions.tmux import Tmux
from hangar.proto import api
from hangar.proto.rows import SessionRow

if TYPE_CHECKING:
    from hangar.store import Store

DEFAULT_PREFIX = "harness-"


class SessionService:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        log: Log,
        parent_env: Mapping[str, str],
        tmux: Tmux,
        env_policy: EnvPolicy | None = None,
        environment: AgentEnvironment | None = None,
        prefix: str = DEFAULT_PREFIX,
        launch_probe_s: float = DEFAULT_LAUNCH_PROBE_MS / 1000,
        events: EventBus | None = None,
    ) -> None:
        """``prefix`` names the tmux sessions of creates that name none; it must pass the
        same constraint as a caller's (``ValueError`` otherwise: a configuration error).

        ``env_policy`` is the daemon's environment policy, the one tasks get: each agent's
        environment is ``apply_policy(env_policy, parent_env, …)`` plus the session's own
        variables (``None``: the default allowlist, still with the deny family).
        ``environment``, when given, is the daemon's own builder (its allowlist as the file
        says now, the providers' stored keys), and ``env_policy`` is unused.

        ``events``: told when a session starts to wait for input, exits or is orphaned
        (``SessionStateChanged``, for notifications)."""
        try:
            msgspec.convert(prefix, api.SessionPrefix)
        except msgspec.ValidationError:
            raise ValueError(
                f"session prefix {prefix!r} may hold only up to 30 lowercase letters, "
                "digits, hyphens"
            ) from None
        self.tmux = tmux
        self.prefix = prefix
        access = SessionAccess(store=store, tmux=tmux, log=log, events=events)
        self._screens = ScreenWatcher(access=access, store=store, clock=clock, tmux=tmux, log=log)
        self._terminal = SessionTerminal(
            access=access, screens=self._screens, tmux=tmux, clock=clock, log=log
        )
        self._reconciler = Reconciler(access=access, store=store, tmux=tmux, log=log, prefix=prefix)
        self._access = access
        self._operations = SessionOperations(
            access=access,
            provisioner=Provisioner(
                access=access,
                store=store,
                tmux=tmux,
                log=log,
                parent_env=parent_env,
                environment=environment
                or AgentEnvironment(parent_env=parent_env, policy=env_policy),
                launch_probe_s=launch_probe_s,
            ),
            reconciler=self._reconciler,
            screens=self._screens,
            stopper=AgentStopper(access=access, tmux=tmux, log=log),
            terminal=self._terminal,
            store=store,
            clock=clock,
            log=log,
            prefix=prefix,
        )

    async def create(self, workspace_id: str, p: api.SessionCreateParams) -> SessionRow:
        return await self._operations.create(workspace_id, p)

    async def list(self, workspace_id: str, p: api.SessionListParams) -> api.SessionListResult:
        return await self._operations.list(workspace_id, p)

    async def get(self, workspace_id: str, ref: str) -> SessionRow:
        return await self._access.get(workspace_id, ref)

    async def send(self, workspace_id: str, ref: str, text: str, *, press_enter: bool) -> None:
        await self._terminal.send(workspace_id, ref, text, press_enter=press_enter)

    async def read(self, workspace_id: str, p: api.SessionReadParams) -> api.SessionReadResult:
        return await self._terminal.read(workspace_id, p)

    async def idle(
        self, workspace_id: str, ref: str, threshold_ms: int | None
    ) -> api.SessionIdleResult:
        return await self._screens.idle(workspace_id, ref, threshold_ms)

    async def wait_idle(
        self, workspace_id: str, p: api.SessionWaitIdleParams
    ) -> api.SessionWaitIdleResult:
        return await self._screens.wait_idle(workspace_id, p)

    async def attach_hint(self, workspace_id: str, ref: str) -> api.SessionAttachHint:
        return await self._terminal.attach_hint(workspace_id, ref)

    async def archive(self, workspace_id: str, ref: str, *, force: bool) -> SessionRow:
        return await self._operations.archive(workspace_id, ref, force=force)

    async def delete(
        self, workspace_id: str, ref: str, *, confirm: bool, force: bool
    ) -> api.SessionDeleteResult:
        return await self._operations.delete(workspace_id, ref, confirm=confirm, force=force)

    async def resume(
        self, workspace_id: str, ref: str, *, max_sessions: int | None = None
    ) -> SessionRow:
        return await self._operations.resume(workspace_id, ref, max_sessions=max_sessions)

    async def reconcile(self) -> None:
        """Boot: make the rows agree with tmux (see :meth:`Reconciler.at_boot`)."""
        await self._reconciler.at_boot()

    async def watch(self, interval_s: float = WATCH_INTERVAL_S) -> None:
        """Sample every active session's screen in the background, forever."""
        await self._screens.watch(interval_s)
