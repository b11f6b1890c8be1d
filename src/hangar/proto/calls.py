"""Every method of the daemon socket as one typed descriptor: its name, params and result.

A client call takes a descriptor and a params struct and returns the result type, so the
name, the params and the answer cannot drift apart at a call site:

    detail = client.request(calls.TASK_GET, api.TaskIdParams(task_id=task_id))
    detail.task.status  # TaskDetail → TaskRow → str, as the type checker sees it

``BY_METHOD`` indexes them by name; a test checks that every method of ``proto.methods`` has
exactly one descriptor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Generic, TypeVar

import msgspec

from hangar.proto import api, methods
from hangar.proto import auth as au
from hangar.proto import autopilots as ap
from hangar.proto import beads as bd
from hangar.proto import comments as cm
from hangar.proto import dependencies as dp
from hangar.proto import notify as nt
from hangar.proto import settings as st
from hangar.proto import skills as sk
from hangar.proto.rows import AgentRow, IssueRow, SessionRow, TaskRow, WorkspaceRow

__all__ = ["ALL", "BY_METHOD", "Call"]

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Call(Generic[P, R]):
    """One method: ``method`` takes a ``params`` struct and answers a ``result`` struct."""

    method: str
    params: type[P]
    result: type[R]

    def decode_result(self, raw: Any) -> R:
        """The decoded JSON ``result`` as its type; ``msgspec.ValidationError`` if it does
        not fit (a daemon of another version, say)."""
        return msgspec.convert(raw, self.result)


# transport
AUTH_HELLO: Final = Call(methods.AUTH_HELLO, api.AuthHelloParams, au.HelloResult)
PING: Final = Call(methods.PING, api.Empty, api.Ack)
WORKSPACE_LIST: Final = Call(methods.WORKSPACE_LIST, api.Empty, api.WorkspacesResult)
WORKSPACE_SUBSCRIBE: Final = Call(
    methods.WORKSPACE_SUBSCRIBE, api.WorkspaceScoped, api.SubscribeResult
)
WORKSPACE_CREATE: Final = Call(methods.WORKSPACE_CREATE, api.WorkspaceCreateParams, WorkspaceRow)
WORKSPACE_USE: Final = Call(methods.WORKSPACE_USE, api.WorkspaceUseParams, WorkspaceRow)
WORKSPACE_RENAME: Final = Call(methods.WORKSPACE_RENAME, api.WorkspaceRenameParams, WorkspaceRow)
DAEMON_SHUTDOWN: Final = Call(methods.DAEMON_SHUTDOWN, api.Empty, api.Ack)

# snapshots and commands
ISSUES_LIST: Final = Call(methods.ISSUES_LIST, api.IssuesListParams, api.IssuesListResult)
ISSUE_GET: Final = Call(methods.ISSUE_GET, api.IssueGetParams, api.IssueDetail)
ISSUE_CREATE: Final = Call(methods.ISSUE_CREATE, api.IssueCreateParams, api.IssueCreateResult)
ISSUE_UPDATE: Final = Call(methods.ISSUE_UPDATE, api.IssueUpdateParams, IssueRow)
ISSUE_BLOCK: Final = Call(methods.ISSUE_BLOCK, dp.IssueBlockParams, dp.IssueBlockResult)
ISSUE_UNBLOCK: Final = Call(methods.ISSUE_UNBLOCK, dp.IssueBlockParams, dp.IssueBlockResult)
AGENTS_LIST: Final = Call(methods.AGENTS_LIST, api.WorkspaceScoped, api.AgentsListResult)
AGENT_GET: Final = Call(methods.AGENT_GET, api.AgentGetParams, AgentRow)
AGENT_CREATE: Final = Call(methods.AGENT_CREATE, api.AgentCreateParams, AgentRow)
TASKS_LIST: Final = Call(methods.TASKS_LIST, api.TasksListParams, api.TasksListResult)
TASK_GET: Final = Call(methods.TASK_GET, api.TaskIdParams, api.TaskDetail)
TASK_TRANSITION: Final = Call(methods.TASK_TRANSITION, api.TaskTransitionParams, api.Ack)
TASK_CANCEL: Final = Call(methods.TASK_CANCEL, api.TaskIdParams, TaskRow)
TASK_RETRY: Final = Call(methods.TASK_RETRY, api.TaskIdParams, TaskRow)
TASK_MESSAGES: Final = Call(methods.TASK_MESSAGES, api.TaskMessagesParams, api.TaskMessagesResult)
TASK_CLEAN: Final = Call(methods.TASK_CLEAN, api.TaskCleanParams, api.TaskCleanResult)
HEALTH: Final = Call(methods.HEALTH, api.Empty, api.HealthSnapshot)
DAEMON_HEALTH: Final = Call(methods.DAEMON_HEALTH, api.WorkspaceScoped, api.DaemonHealthSnapshot)

# interactive sessions (tmux + worktree)
SESSION_CREATE: Final = Call(methods.SESSION_CREATE, api.SessionCreateParams, SessionRow)
SESSION_LIST: Final = Call(methods.SESSION_LIST, api.SessionListParams, api.SessionListResult)
SESSION_GET: Final = Call(methods.SESSION_GET, api.SessionRef, SessionRow)
SESSION_SEND: Final = Call(methods.SESSION_SEND, api.SessionSendParams, api.SessionSendResult)
SESSION_READ: Final = Call(methods.SESSION_READ, api.SessionReadParams, api.SessionReadResult)
SESSION_IDLE: Final = Call(methods.SESSION_IDLE, api.SessionIdleParams, api.SessionIdleResult)
SESSION_WAIT_IDLE: Final = Call(
    methods.SESSION_WAIT_IDLE, api.SessionWaitIdleParams, api.SessionWaitIdleResult
)
SESSION_ATTACH_HINT: Final = Call(
    methods.SESSION_ATTACH_HINT, api.SessionRef, api.SessionAttachHint
)
SESSION_ARCHIVE: Final = Call(methods.SESSION_ARCHIVE, api.SessionArchiveParams, SessionRow)
SESSION_DELETE: Final = Call(
    methods.SESSION_DELETE, api.SessionDeleteParams, api.SessionDeleteResult
)
SESSION_RESUME: Final = Call(methods.SESSION_RESUME, api.SessionResumeParams, SessionRow)

# autopilots
AUTOPILOTS_LIST: Final = Call(methods.AUTOPILOTS_LIST, api.WorkspaceScoped, ap.AutopilotsListResult)
AUTOPILOT_GET: Final = Call(methods.AUTOPILOT_GET, ap.AutopilotRef, ap.AutopilotDetail)
AUTOPILOT_CREATE: Final = Call(methods.AUTOPILOT_CREATE, ap.AutopilotCreateParams, ap.AutopilotRow)
AUTOPILOT_UPDATE: Final = Call(methods.AUTOPILOT_UPDATE, ap.AutopilotUpdateParams, ap.AutopilotRow)
AUTOPILOT_DELETE: Final = Call(methods.AUTOPILOT_DELETE, ap.AutopilotRef, ap.AutopilotDeleteResult)
AUTOPILOT_RUN: Final = Call(methods.AUTOPILOT_RUN, ap.AutopilotRef, ap.AutopilotRunResult)
AUTOPILOT_RUNS: Final = Call(methods.AUTOPILOT_RUNS, ap.AutopilotRunsParams, ap.AutopilotRunsResult)
CRON_PREVIEW: Final = Call(methods.CRON_PREVIEW, ap.CronPreviewParams, ap.CronPreviewResult)

# skills and templates
SKILLS_SYNC: Final = Call(methods.SKILLS_SYNC, sk.SkillsSyncParams, sk.SkillsSyncResult)
SKILLS_LIST: Final = Call(methods.SKILLS_LIST, sk.SkillsListParams, sk.SkillsListResult)
SKILL_GET: Final = Call(methods.SKILL_GET, sk.SkillGetParams, sk.SkillDetail)
SKILL_ATTACH: Final = Call(methods.SKILL_ATTACH, sk.SkillAttachParams, sk.SkillAttachResult)
SKILL_DETACH: Final = Call(methods.SKILL_DETACH, sk.SkillAttachParams, sk.SkillAttachResult)
SKILL_REMOVE: Final = Call(methods.SKILL_REMOVE, sk.SkillRef, sk.SkillRemoveResult)
TEMPLATES_LIST: Final = Call(methods.TEMPLATES_LIST, api.Empty, sk.TemplatesListResult)
TEMPLATE_GET: Final = Call(methods.TEMPLATE_GET, sk.TemplateGetParams, sk.TemplateRow)
TEMPLATE_USE: Final = Call(methods.TEMPLATE_USE, sk.TemplateUseParams, sk.TemplateUseResult)

# personal tokens
TOKEN_CREATE: Final = Call(methods.TOKEN_CREATE, au.TokenCreateParams, au.TokenCreateResult)
TOKENS_LIST: Final = Call(methods.TOKENS_LIST, api.Empty, au.TokensListResult)
TOKEN_REVOKE: Final = Call(methods.TOKEN_REVOKE, au.TokenRevokeParams, au.TokenRow)

# an issue's thread
COMMENT_ADD: Final = Call(methods.COMMENT_ADD, cm.CommentAddParams, cm.CommentRow)
COMMENTS_LIST: Final = Call(methods.COMMENTS_LIST, cm.CommentsListParams, cm.CommentsListResult)

# secrets and settings (admin)
SECRETS_LIST: Final = Call(methods.SECRETS_LIST, api.Empty, st.SecretsListResult)
SECRET_SET: Final = Call(methods.SECRET_SET, st.SecretSetParams, st.SecretSetResult)
SECRET_DELETE: Final = Call(methods.SECRET_DELETE, st.SecretNameParams, st.SecretDeleteResult)
ENV_ALLOW_LIST: Final = Call(methods.ENV_ALLOW_LIST, api.Empty, st.EnvAllowResult)
ENV_ALLOW_ADD: Final = Call(methods.ENV_ALLOW_ADD, st.EnvAllowKeyParams, st.EnvAllowResult)
ENV_ALLOW_REMOVE: Final = Call(methods.ENV_ALLOW_REMOVE, st.EnvAllowKeyParams, st.EnvAllowResult)
CONFIG_SHOW: Final = Call(methods.CONFIG_SHOW, api.Empty, st.ConfigShowResult)
CONFIG_SET: Final = Call(methods.CONFIG_SET, st.ConfigSetParams, st.Setting)

# notification channels
NOTIFY_ADD: Final = Call(methods.NOTIFY_ADD, nt.NotifyAddParams, nt.NotifyChannelRow)
NOTIFY_LIST: Final = Call(methods.NOTIFY_LIST, api.Empty, nt.NotifyListResult)
NOTIFY_REMOVE: Final = Call(methods.NOTIFY_REMOVE, nt.NotifyRef, nt.NotifyRemoveResult)
NOTIFY_TEST: Final = Call(methods.NOTIFY_TEST, nt.NotifyRef, nt.NotifyTestResult)

# beads sync
BEADS_RECONCILE: Final = Call(
    methods.BEADS_RECONCILE, bd.BeadsReconcileParams, bd.BeadsReconcileResult
)

#: every descriptor above, in the order of ``proto.methods``
ALL: Final[tuple[Call[Any, Any], ...]] = (
    AUTH_HELLO,
    PING,
    WORKSPACE_LIST,
    WORKSPACE_SUBSCRIBE,
    WORKSPACE_CREATE,
    WORKSPACE_USE,
    WORKSPACE_RENAME,
    DAEMON_SHUTDOWN,
    ISSUES_LIST,
    ISSUE_GET,
    ISSUE_CREATE,
    ISSUE_UPDATE,
    ISSUE_BLOCK,
    ISSUE_UNBLOCK,
    AGENTS_LIST,
    AGENT_GET,
    AGENT_CREATE,
    TASKS_LIST,
    TASK_GET,
    TASK_TRANSITION,
    TASK_CANCEL,
    TASK_RETRY,
    TASK_MESSAGES,
    TASK_CLEAN,
    HEALTH,
    DAEMON_HEALTH,
    SESSION_CREATE,
    SESSION_LIST,
    SESSION_GET,
    SESSION_SEND,
    SESSION_READ,
    SESSION_IDLE,
    SESSION_WAIT_IDLE,
    SESSION_ATTACH_HINT,
    SESSION_ARCHIVE,
    SESSION_DELETE,
    SESSION_RESUME,
    AUTOPILOTS_LIST,
    AUTOPILOT_GET,
    AUTOPILOT_CREATE,
    AUTOPILOT_UPDATE,
    AUTOPILOT_DELETE,
    AUTOPILOT_RUN,
    AUTOPILOT_RUNS,
    CRON_PREVIEW,
    SKILLS_SYNC,
    SKILLS_LIST,
    SKILL_GET,
    SKILL_ATTACH,
    SKILL_DETACH,
    SKILL_REMOVE,
    TEMPLATES_LIST,
    TEMPLATE_GET,
    TEMPLATE_USE,
    TOKEN_CREATE,
    TOKENS_LIST,
    TOKEN_REVOKE,
    COMMENT_ADD,
    COMMENTS_LIST,
    SECRETS_LIST,
    SECRET_SET,
    SECRET_DELETE,
    ENV_ALLOW_LIST,
    ENV_ALLOW_ADD,
    ENV_ALLOW_REMOVE,
    CONFIG_SHOW,
    CONFIG_SET,
    NOTIFY_ADD,
    NOTIFY_LIST,
    NOTIFY_REMOVE,
    NOTIFY_TEST,
    BEADS_RECONCILE,
)

BY_METHOD: Final[Mapping[str, Call[Any, Any]]] = MappingProxyType({c.method: c for c in ALL})
