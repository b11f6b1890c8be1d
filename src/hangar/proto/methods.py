"""Method names: the one place both ends of the socket spell them."""

from __future__ import annotations

# transport
AUTH_HELLO = "auth/hello"
PING = "ping"
WORKSPACE_LIST = "workspace/list"
WORKSPACE_SUBSCRIBE = "workspace/subscribe"
WORKSPACE_CREATE = "workspace/create"
WORKSPACE_USE = "workspace/use"
DAEMON_SHUTDOWN = "daemon/shutdown"

# snapshots and commands
ISSUES_LIST = "hangar/issues_list"
ISSUE_GET = "hangar/issue_get"
ISSUE_CREATE = "hangar/issue_create"
ISSUE_UPDATE = "hangar/issue_update"
AGENTS_LIST = "hangar/agents_list"
AGENT_GET = "hangar/agent_get"
AGENT_CREATE = "hangar/agent_create"
TASKS_LIST = "hangar/tasks_list"
TASK_GET = "hangar/task_get"
TASK_TRANSITION = "hangar/task_transition"
TASK_CANCEL = "hangar/task_cancel"
TASK_RETRY = "hangar/task_retry"
TASK_MESSAGES = "hangar/task_messages"
HEALTH = "hangar/health"
DAEMON_HEALTH = "hangar/daemon_health"

# server → client notification
EVENT = "hangar/event"

ALL_METHODS = frozenset(
    {
        AUTH_HELLO,
        PING,
        WORKSPACE_LIST,
        WORKSPACE_SUBSCRIBE,
        WORKSPACE_CREATE,
        WORKSPACE_USE,
        DAEMON_SHUTDOWN,
        ISSUES_LIST,
        ISSUE_GET,
        ISSUE_CREATE,
        ISSUE_UPDATE,
        AGENTS_LIST,
        AGENT_GET,
        AGENT_CREATE,
        TASKS_LIST,
        TASK_GET,
        TASK_TRANSITION,
        TASK_CANCEL,
        TASK_RETRY,
        TASK_MESSAGES,
        HEALTH,
        DAEMON_HEALTH,
    }
)
