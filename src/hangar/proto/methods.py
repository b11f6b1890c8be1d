"""Method names: the one place both ends of the socket spell them. ``proto.calls`` gives
each method its params and result type; a test keeps the two in step."""

from __future__ import annotations

__all__ = [
    "AGENTS_LIST",
    "AGENT_CREATE",
    "AGENT_GET",
    "AUTH_HELLO",
    "AUTOPILOTS_LIST",
    "AUTOPILOT_CREATE",
    "AUTOPILOT_DELETE",
    "AUTOPILOT_GET",
    "AUTOPILOT_RUN",
    "AUTOPILOT_RUNS",
    "AUTOPILOT_UPDATE",
    "BEADS_RECONCILE",
    "COMMENTS_LIST",
    "COMMENT_ADD",
    "CONFIG_SET",
    "CONFIG_SHOW",
    "CRON_PREVIEW",
    "DAEMON_HEALTH",
    "DAEMON_SHUTDOWN",
    "ENV_ALLOW_ADD",
    "ENV_ALLOW_LIST",
    "ENV_ALLOW_REMOVE",
    "EVENT",
    "HEALTH",
    "ISSUES_LIST",
    "ISSUE_BLOCK",
    "ISSUE_CREATE",
    "ISSUE_GET",
    "ISSUE_UNBLOCK",
    "ISSUE_UPDATE",
    "NOTIFICATIONS",
    "NOTIFY_ADD",
    "NOTIFY_LIST",
    "NOTIFY_REMOVE",
    "NOTIFY_TEST",
    "PING",
    "SECRETS_LIST",
    "SECRET_DELETE",
    "SECRET_SET",
    "SESSION_ARCHIVE",
    "SESSION_ATTACH_HINT",
    "SESSION_CREATE",
    "SESSION_DELETE",
    "SESSION_GET",
    "SESSION_IDLE",
    "SESSION_LIST",
    "SESSION_READ",
    "SESSION_RESUME",
    "SESSION_SEND",
    "SESSION_WAIT_IDLE",
    "SKILLS_LIST",
    "SKILLS_SYNC",
    "SKILL_ATTACH",
    "SKILL_DETACH",
    "SKILL_GET",
    "SKILL_REMOVE",
    "TASKS_LIST",
    "TASK_CANCEL",
    "TASK_CLEAN",
    "TASK_GET",
    "TASK_MESSAGES",
    "TASK_RETRY",
    "TASK_TRANSITION",
    "TEMPLATES_LIST",
    "TEMPLATE_GET",
    "TEMPLATE_USE",
    "TOKENS_LIST",
    "TOKEN_CREATE",
    "TOKEN_REVOKE",
    "WORKSPACE_CREATE",
    "WORKSPACE_LIST",
    "WORKSPACE_RENAME",
    "WORKSPACE_SUBSCRIBE",
    "WORKSPACE_USE",
]

# transport
AUTH_HELLO = "auth/hello"
PING = "ping"
WORKSPACE_LIST = "workspace/list"
WORKSPACE_SUBSCRIBE = "workspace/subscribe"
WORKSPACE_CREATE = "workspace/create"
WORKSPACE_USE = "workspace/use"
WORKSPACE_RENAME = "workspace/rename"
DAEMON_SHUTDOWN = "daemon/shutdown"

# snapshots and commands
ISSUES_LIST = "hangar/issues_list"
ISSUE_GET = "hangar/issue_get"
ISSUE_CREATE = "hangar/issue_create"
ISSUE_UPDATE = "hangar/issue_update"
ISSUE_BLOCK = "hangar/issue_block"  # an issue waits for another (docs/lifecycle.md#dependencies)
ISSUE_UNBLOCK = "hangar/issue_unblock"
AGENTS_LIST = "hangar/agents_list"
AGENT_GET = "hangar/agent_get"
AGENT_CREATE = "hangar/agent_create"
TASKS_LIST = "hangar/tasks_list"
TASK_GET = "hangar/task_get"
TASK_TRANSITION = "hangar/task_transition"
TASK_CANCEL = "hangar/task_cancel"
TASK_RETRY = "hangar/task_retry"
TASK_MESSAGES = "hangar/task_messages"
TASK_CLEAN = "hangar/task_clean"
HEALTH = "hangar/health"
DAEMON_HEALTH = "hangar/daemon_health"

# interactive sessions (tmux + worktree)
SESSION_CREATE = "hangar/session_create"
SESSION_LIST = "hangar/session_list"
SESSION_GET = "hangar/session_get"
SESSION_SEND = "hangar/session_send"
SESSION_READ = "hangar/session_read"
SESSION_IDLE = "hangar/session_idle"
SESSION_WAIT_IDLE = "hangar/session_wait_idle"
SESSION_ATTACH_HINT = "hangar/session_attach_hint"
SESSION_ARCHIVE = "hangar/session_archive"
SESSION_DELETE = "hangar/session_delete"
SESSION_RESUME = "hangar/session_resume"

# autopilots (cron schedules that file work)
AUTOPILOTS_LIST = "hangar/autopilots_list"
AUTOPILOT_GET = "hangar/autopilot_get"
AUTOPILOT_CREATE = "hangar/autopilot_create"
AUTOPILOT_UPDATE = "hangar/autopilot_update"
AUTOPILOT_DELETE = "hangar/autopilot_delete"
AUTOPILOT_RUN = "hangar/autopilot_run"
AUTOPILOT_RUNS = "hangar/autopilot_runs"
CRON_PREVIEW = "hangar/cron_preview"

# skills (Agent Skills synced into a workspace, attached to agents) and agent templates
SKILLS_SYNC = "hangar/skills_sync"
SKILLS_LIST = "hangar/skills_list"
SKILL_GET = "hangar/skill_get"
SKILL_ATTACH = "hangar/skill_attach"
SKILL_DETACH = "hangar/skill_detach"
SKILL_REMOVE = "hangar/skill_remove"
TEMPLATES_LIST = "hangar/templates_list"
TEMPLATE_GET = "hangar/template_get"
TEMPLATE_USE = "hangar/template_use"

# personal tokens (ainb_…) with a scope (docs/wire-protocol.md#tokens)
TOKEN_CREATE = "hangar/token_create"
TOKENS_LIST = "hangar/tokens_list"
TOKEN_REVOKE = "hangar/token_revoke"

# an issue's thread (docs/lifecycle.md#comments)
COMMENT_ADD = "hangar/comment_add"
COMMENTS_LIST = "hangar/comments_list"

# secrets (agents' API keys) and settings (env allowlist, config.toml); all need admin
SECRETS_LIST = "hangar/secrets_list"
SECRET_SET = "hangar/secret_set"
SECRET_DELETE = "hangar/secret_delete"
ENV_ALLOW_LIST = "hangar/env_allow_list"
ENV_ALLOW_ADD = "hangar/env_allow_add"
ENV_ALLOW_REMOVE = "hangar/env_allow_remove"
CONFIG_SHOW = "hangar/config_show"
CONFIG_SET = "hangar/config_set"

# notification channels: desktop, webhook, command (docs/notifications.md)
NOTIFY_ADD = "hangar/notify_add"
NOTIFY_LIST = "hangar/notify_list"
NOTIFY_REMOVE = "hangar/notify_remove"
NOTIFY_TEST = "hangar/notify_test"

# beads sync: mirror issues to a bd tracker (docs/beads.md)
BEADS_RECONCILE = "hangar/beads_reconcile"

# server → client notification
EVENT = "hangar/event"

#: the names above that are notifications, not methods (they have no result)
NOTIFICATIONS = frozenset({EVENT})
