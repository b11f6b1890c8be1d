"""Runs one claimed task: provision its directory and worktree, spawn the agent in its own
process group, stream the transcript, enforce the watchdogs, and finalize exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hangar.adapters import git, process
from hangar.core.durations import format_duration
from hangar.core.failures import FailureReason
from hangar.core.ids import short_id
from hangar.core.paths import HangarPaths
from hangar.core.result import TaskResult, clip_tail
from hangar.daemon.config import DEFAULT_INACTIVITY_MS, DEFAULT_MAX_RUNTIME_MS
from hangar.daemon.environment import AgentEnvError, AgentEnvironment
from hangar.daemon.events import EventBus
from hangar.daemon.lifecycle import Lifecycle
from hangar.daemon.providers import AgentConfig, Outcome, TranscriptParser, get_provider
from hangar.daemon.providers.base import (
    ENDED_GRACE_S,
    TRANSPORT_RETRY_LIMIT_S,
    parse_json_object,
)
from hangar.daemon.tasks.meta import write_meta
from hangar.daemon.tasks.retention import task_branch, tidy
from hangar.daemon.tasks.rowcache import RowCache
from hangar.daemon.tasks.skills import SkillsWritten, write_skills
from hangar.daemon.tasks.supervision import KillReason, Limits, Streams, Supervision
from hangar.daemon.tasks.transcript import TranscriptSink
from hangar.proto.events import TaskProgress
from hangar.proto.rows import AgentRow, IssueRow, TaskRow, TaskUsageRow
from hangar.store import Store

CONTENT_TAIL_CHARS = 8000


class ProvisionError(RuntimeError):
    """The task could not be set up (bad repo, missing CLI); it fails with spawn_error."""


def build_prompt(agent: AgentRow, issue: IssueRow | None, autopilot: str | None = None) -> str:
    """The agent's instructions, then the issue's title and description, or for a run of
    an autopilot in mode ``run`` (no issue) the autopilot's instructions."""
    parts = []
    if agent.instructions.strip():
        parts.append(agent.instructions.strip())
    if issue is None and autopilot is not None and autopilot.strip():
        parts.append(autopilot.strip())
    if issue is not None:
        parts.append(f"# {issue.title}")
        if issue.description and issue.description.strip():
            parts.append(issue.description.strip())
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class RunSettings:
    default_inactivity_ms: int = DEFAULT_INACTIVITY_MS
    default_max_runtime_ms: int = DEFAULT_MAX_RUNTIME_MS
    #: SIGTERM to SIGKILL when a run is stopped
    kill_grace_s: float = 3.0
    #: provisioning (worktree checkout, spawn) must finish within this
    setup_timeout_s: float = 600.0
    #: leave every ended run's worktree and branch in place (else only those holding work)
    keep_worktrees: bool = False
    #: a provider retrying its own transport this long without progress fails the run
    transport_retry_limit_s: float = TRANSPORT_RETRY_LIMIT_S
    #: an agent lingering this long after its terminal event is stopped
    ended_grace_s: float = ENDED_GRACE_S


@dataclass(frozen=True)
class RunnerDeps:
    """What every run needs from the daemon; the same for all runs of one daemon."""

    lifecycle: Lifecycle
    #: transcript, usage and session pins: a run's own data, not transitions
    store: Store
    events: EventBus
    rows: RowCache
    paths: HangarPaths
    #: the allowlist, the daemon's environment and the providers' stored keys
    environment: AgentEnvironment
    log: Any
    settings: RunSettings = field(default_factory=RunSettings)


class TaskRunner:
    def __init__(self, deps: RunnerDeps, task: TaskRow) -> None:
        self.deps = deps
        self.lifecycle = deps.lifecycle
        self.settings = deps.settings
        self.task = task
        self.log = deps.log.bind(task_id=task.id)
        self._proc: asyncio.subprocess.Process | None = None
        self._kill_reason: KillReason | None = None
        self._killed = asyncio.Event()
        self._pinned_session: str | None = None
        #: the run's own branch, once its worktree is made
        self._branch: str | None = None
        self._inactivity_ms = deps.settings.default_inactivity_ms
        self._parser: TranscriptParser | None = None
        self._killed_at: float | None = None
        #: the agent's skills as written for this run (none: nothing was)
        self._skills = SkillsWritten()

    # -- control -------------------------------------------------------------------------
    def kill(self, reason: KillReason) -> None:
        """Stop the run; the process group dies whole. Safe to call at any point."""
        if self._kill_reason is None:
            self._kill_reason = reason
            self._killed_at = time.monotonic()
        self._killed.set()

    # -- the run -------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._run()
        except Exception as exc:  # never let one task take the claim loop down
            self.log.exception("runner crashed", error=str(exc))
            if self._proc is not None and self._proc.returncode is None:
                with contextlib.suppress(Exception):  # never leave an agent unsupervised
                    await process.terminate_group(self._proc, grace_s=0.5)
            await self._finalize_failure(FailureReason.UNKNOWN, f"internal error: {exc}")

    async def _run(self) -> None:
        deps, task = self.deps, self.task
        agent = await deps.rows.agent(task.workspace_id, task.agent_id)
        workspace = await deps.rows.workspace(task.workspace_id)
        if agent is None or workspace is None:
            await self._finalize_failure(FailureReason.SPAWN_ERROR, "agent or workspace is gone")
            return
        issue = None
        if task.issue_id:
            issue = await deps.store.issue_get(task.workspace_id, task.issue_id)
        standing = None  # what a run-mode autopilot asks for: its task has no issue
        if issue is None and task.autopilot_run_id:
            owner = await deps.store.autopilots.owner_of_run(task.autopilot_run_id)
            standing = None if owner is None else owner[2]
        task_root = deps.paths.task_root(workspace.slug, short_id(task.id))
        try:
            workdir = await asyncio.wait_for(
                self._provision(task_root, agent, issue), self.settings.setup_timeout_s
            )
            provider = get_provider(agent.provider)
            config = AgentConfig(
                provider=agent.provider,
                command=agent.command,
                model=agent.model,
                extra_args=[],
                prompt=build_prompt(agent, issue, standing),
                task_root=str(task_root),
                workdir=str(workdir),
                add_dirs=[str(task_root)] if self._skills.root is not None else [],
            )
            launch = provider.launch(config)
        except TimeoutError:
            limit = format_duration(int(self.settings.setup_timeout_s * 1000))
            await self._finalize_failure(FailureReason.SPAWN_ERROR, f"setup took over {limit}")
            return
        except (ProvisionError, git.GitError, ValueError) as exc:
            await self._finalize_failure(FailureReason.SPAWN_ERROR, str(exc))
            return
        except OSError as exc:  # the skills could not be written
            await self._finalize_failure(FailureReason.SPAWN_ERROR, f"cannot write skills: {exc}")
            return
        if self._killed.is_set():  # cancelled while we were provisioning
            await self._finalize_killed(None, None)
            return
        try:
            env = await self._child_env(agent.provider, workspace.slug, launch.env)
        except AgentEnvError as exc:  # a refused allow file, an unreadable secret store
            await self._finalize_failure(FailureReason.SPAWN_ERROR, str(exc))
            return
        try:
            proc = await process.spawn(
                launch.argv, cwd=workdir, env=env, pipe_stdin=launch.stdin is not None
            )
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in argv or env
            exe = launch.argv[0] if launch.argv else "?"
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            await self._finalize_failure(
                FailureReason.SPAWN_ERROR, f"cannot start agent {exe!r}: {detail}"
            )
            return
        self._proc = proc
        started = await self.lifecycle.start(task, work_dir=str(workdir))
        if not started.wrote or started.task is None:  # cancelled meanwhile, or started elsewhere
            self.log.info("start refused; killing agent", found=str(started.found))
            await process.terminate_group(proc, grace_s=0.5)
            return
        if started.task.cancel_requested_at is not None:  # a cancel raced with the spawn
            self.kill(KillReason.CANCEL)
        write_meta(task_root, task.id, proc.pid, started.task.started_at or 0)
        self.log.info("task started", pid=proc.pid, argv0=launch.argv[0], workdir=str(workdir))
        await self._supervise(proc, provider.parser(agent.model), agent, launch.stdin, task_root)
        if self._branch is not None and not self.settings.keep_worktrees:
            await self._tidy(workdir, self._branch)

    async def _tidy(self, workdir: Path, branch: str) -> None:
        """The run has ended: drop its worktree and branch where that loses nothing."""
        try:
            done = await tidy(workdir, branch)
        except Exception as exc:  # best effort: `hangar task clean` can finish the job
            self.log.warning("worktree not tidied", error=str(exc))
            return
        if done.kept_anything:
            self.log.info("worktree kept", worktree=done.worktree, branch=done.branch)

    async def _provision(self, task_root: Path, agent: AgentRow, issue: IssueRow | None) -> Path:
        workdir = task_root / "workdir"
        (task_root / "logs").mkdir(parents=True, exist_ok=True)
        (task_root / "output").mkdir(parents=True, exist_ok=True)
        repo = (issue.repo_path if issue else None) or agent.repo_path
        if repo:
            top = await git.toplevel(Path(repo))
            if workdir.exists():
                raise ProvisionError(f"{workdir} already exists; refusing to reuse it")
            branch = task_branch(self.task.id)
            await git.add_worktree(top, workdir, branch)
            self._branch = branch
        else:
            workdir.mkdir(exist_ok=True)
        bundles = await self.deps.store.skills.for_agent(agent.workspace_id, agent.id)
        self._skills = await write_skills(
            bundles,
            provider=agent.provider,
            task_root=task_root,
            workdir=workdir,
            in_git=self._branch is not None,
            log=self.log,
        )
        return workdir

    async def _child_env(
        self, provider: str, workspace_slug: str, launch_env: Mapping[str, str]
    ) -> dict[str, str]:
        task = self.task
        daemon_vars = {
            "HANGAR_TASK_ID": task.id,
            "HANGAR_ISSUE_ID": task.issue_id or "",
            "HANGAR_WORKSPACE": workspace_slug,
            **self._skills.env,  # HANGAR_SKILLS_DIR, when skills were written
        }
        return await self.deps.environment.build(
            provider=provider, daemon_vars=daemon_vars, agent_env=launch_env
        )

    async def _supervise(
        self,
        proc: asyncio.subprocess.Process,
        parser: Any,
        agent: AgentRow,
        stdin_data: bytes | None,
        task_root: Path,
    ) -> None:
        task, deps = self.task, self.deps
        self._parser = parser
        self._inactivity_ms = agent.inactivity_timeout_ms or self.settings.default_inactivity_ms
        max_runtime_ms = agent.max_runtime_ms or self.settings.default_max_runtime_ms
        sink = TranscriptSink(
            task.id,
            deps.store.messages_append,
            lambda ev: deps.events.publish(task.workspace_id, ev),
            self.log,
        )

        async def on_tool_call(count: int, elapsed_ms: int) -> None:
            progress = TaskProgress(task_id=task.id, tool_calls=count, elapsed_ms=elapsed_ms)
            await deps.events.publish(task.workspace_id, progress)

        async def on_session(session_id: str) -> None:
            self._pinned_session = session_id  # a resumable run survives a crash
            await deps.store.task_pin_session(task.id, session_id)

        watch = Supervision(
            proc,
            parser,
            sink,
            raw_log=task_root / "logs" / f"{agent.provider}.jsonl",
            stdin_data=stdin_data,
            limits=Limits(
                inactivity_s=self._inactivity_ms / 1000,
                max_runtime_s=max_runtime_ms / 1000,
                kill_grace_s=self.settings.kill_grace_s,
                retry_limit_s=self.settings.transport_retry_limit_s,
                ended_grace_s=self.settings.ended_grace_s,
            ),
            on_tool_call=on_tool_call,
            on_session=on_session,
            log=self.log,
        )
        if not await watch.run(self._killed, self.kill):
            await self._finalize_killed(watch.exit_code, watch.streams)
            return
        outcome: Outcome = parser.finish(watch.exit_code, watch.streams.stderr_tail)
        await self._finalize_outcome(outcome, watch.streams)

    # -- finalize ------------------------------------------------------------------------
    async def _finalize_outcome(self, outcome: Outcome, streams: Streams) -> None:
        store, task = self.deps.store, self.task
        if outcome.usage:
            rows = [
                TaskUsageRow(
                    task_id=task.id,
                    model=u.model,
                    input_tokens=u.input_tokens,
                    output_tokens=u.output_tokens,
                    cache_read_tokens=u.cache_read_tokens,
                    cache_creation_tokens=u.cache_creation_tokens,
                    cost_usd=u.cost_usd,
                )
                for u in outcome.usage
            ]
            try:  # best effort: the run's result matters more than its bill
                await store.usage_set(task.id, rows)
            except Exception as exc:
                self.log.warning("usage not stored", error=str(exc))
        content = outcome.result_text or self._readable_content(streams)
        if not outcome.succeeded:
            content = _unless_repeated(content, outcome.error)
        result = TaskResult(
            content=content,
            exit_code=outcome.exit_code,
            pr_url=outcome.pr_url,
            error=outcome.error,
        ).to_dict()
        if outcome.succeeded:
            await self.lifecycle.complete(task, result=result, session_id=outcome.session_id)
            return
        reason = outcome.failure_reason or FailureReason.UNKNOWN
        # the closing error line, unless the stream already said it
        if (
            outcome.error
            and not outcome.error_in_transcript
            and outcome.error != streams.last_error
        ):
            await self._note_error(outcome.error)
        await self.lifecycle.fail(task, reason, result=result, session_id=outcome.session_id)

    def _readable_content(self, streams: Streams | None) -> str:
        """What the agent said, for a result without a final text: its last agent message,
        else the stdout tail without the provider's JSON event lines. Never raw JSONL."""
        said = self._parser.result_text if self._parser is not None else None
        if said:
            return said
        if streams is None:
            return ""
        kept = [
            line
            for line in streams.stdout_tail.splitlines()
            if parse_json_object(line) is None and line.strip()
        ]
        return clip_tail("\n".join(kept), CONTENT_TAIL_CHARS)

    async def _finalize_killed(self, exit_code: int | None, streams: Streams | None) -> None:
        reason = self._kill_reason
        if reason is KillReason.CANCEL:
            await self.lifecycle.finish_cancelled(self.task)
            return
        parser = self._parser
        if parser is not None and streams is not None and parser.ended:
            # its verdict was given before it was stopped (it lingered): that is the ending
            outcome = parser.finish(exit_code if exit_code is not None else -1, streams.stderr_tail)
            await self._finalize_outcome(outcome, streams)
            return
        if reason is KillReason.SHUTDOWN:
            fr, msg = FailureReason.RUNTIME_OFFLINE, "the daemon shut down during the run"
        elif reason is KillReason.TRANSPORT:
            trouble = parser.retrying if parser is not None else None
            stopped = self._killed_at or time.monotonic()
            waited = stopped - streams.last_output if streams is not None else 0.0
            fr, msg = (
                FailureReason.AGENT_ERROR,
                f"{trouble or 'the agent could not reach its API'}; gave up after "
                f"{format_duration(max(1, round(waited)) * 1000)} without progress",
            )
        elif reason is KillReason.INACTIVITY:
            limit = format_duration(self._inactivity_ms)
            fr, msg = FailureReason.TIMEOUT, f"no output for {limit}: inactivity timeout"
        else:
            fr, msg = FailureReason.TIMEOUT, "exceeded the agent's max runtime"
        content = self._readable_content(streams)
        result = TaskResult(content=content, exit_code=exit_code, error=msg).to_dict()
        await self._note_error(msg)
        await self.lifecycle.fail(self.task, fr, result=result, session_id=self._pinned_session)

    async def _finalize_failure(self, reason: FailureReason, message: str) -> None:
        self.log.warning("task failed before it ran", reason=str(reason), error=message)
        await self._note_error(message)
        result = TaskResult(content="", error=message).to_dict()
        await self.lifecycle.fail(self.task, reason, result=result)

    async def _note_error(self, message: str) -> None:
        """The error line of the transcript: best effort, the finalize matters more."""
        try:
            await self.deps.store.messages_append(self.task.id, [("error", message)])
        except Exception as exc:
            self.log.warning("error message not stored", error=str(exc))


def _unless_repeated(content: str, error: str | None) -> str:
    """A failed run's content, unless the error already ends with it or quotes it whole (as
    ``hint (text)`` or ``exited with code 1: text``): it would be shown twice."""
    text = content.strip()
    if not (text and error):
        return content
    repeated = error == text or error.endswith(f": {text}") or f"({text})" in error
    return "" if repeated else content
