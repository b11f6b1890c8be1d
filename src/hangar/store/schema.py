"""The schema as it stands after the last migration. A test checks the two never drift.

Times are epoch-ms in BIGINT columns (INTEGER affinity on SQLite; PostgreSQL's INTEGER is
32-bit and would overflow). Foreign keys document intent: SQLite leaves them unenforced
(docs/schema.md#conventions), PostgreSQL enforces them. The unique indexes are the real guards.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

TASK_STATUSES = ("queued", "dispatched", "running", "done", "failed", "cancelled")
MESSAGE_KINDS = ("agent", "thinking", "tool_call", "tool_result", "error")
ISSUE_STATES = ("open", "in_progress", "done", "cancelled")
PENDING_PREDICATE = "issue_id IS NOT NULL AND status IN ('queued','dispatched')"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


# --- tenancy (0001) ---------------------------------------------------------------------

workspace = Table(
    "workspace",
    metadata,
    Column("id", Text, primary_key=True),
    Column("slug", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("slug"),
)

user = Table(
    "user",
    metadata,
    Column("id", Text, primary_key=True),
    Column("email", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("email"),
)

member = Table(
    "member",
    metadata,
    Column("workspace_id", Text, ForeignKey("workspace.id"), nullable=False),
    Column("user_id", Text, ForeignKey("user.id"), nullable=False),
    Column("role", Text, nullable=False),
    PrimaryKeyConstraint("workspace_id", "user_id"),
    CheckConstraint(_in("role", ("owner", "admin", "member")), name="role"),
)

# --- actors and skills (0002, 0006, 0008, 0014, 0021) -----------------------------------

agent_runtime = Table(
    "agent_runtime",
    metadata,
    Column("id", Text, primary_key=True),
    Column("workspace_id", Text, ForeignKey("workspace.id"), nullable=False),
    Column("daemon_id", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("runtime_mode", Text, nullable=False),
    Column("last_seen_at", BigInteger),
    Column("status", Text, nullable=False, server_default="offline"),
    CheckConstraint(_in("runtime_mode", ("local", "cloud")), name="runtime_mode"),
    Index(
        "idx_agent_runtime_workspace_daemon_provider",
        "workspace_id",
        "daemon_id",
        "provider",
        unique=True,
    ),
)

agent = Table(
    "agent",
    metadata,
    Column("id", Text, primary_key=True),
    Column("workspace_id", Text, ForeignKey("workspace.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("runtime_id", Text, ForeignKey("agent_runtime.id"), nullable=False),
    Column("instructions", Text),
    Column("visibility", Text, nullable=False),
    Column("owner_id", Text, ForeignKey("user.id"), nullable=False),
    Column("max_concurrent_tasks", Integer, nullable=False, server_default="1"),
    Column("provider", Text, nullable=False, server_default="command"),
    Column("command", Text),  # JSON argv list
    Column("model", Text),
    Column("repo_path", Text),
    Column("max_runtime_ms", BigInteger),
    Column("inactivity_timeout_ms", BigInteger),
    Column("created_at", BigInteger, nullable=False, server_default="0"),
    CheckConstraint(_in("visibility", ("workspace", "private")), name="visibility"),
    Index("idx_agent_workspace_name", "workspace_id", "name", unique=True),
)

skill = Table(
    "skill",
    metadata,
    Column("id", Text, primary_key=True),
    Column("workspace_id", Text, ForeignKey("workspace.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("content", Text),  # the Markdown of SKILL.md after its front matter
    # the rest of the front matter, where it came from, and when (0021)
    Column("license", Text),
    Column("compatibility", Text),
    Column("meta", Text),  # JSON string map: the front matter's `metadata`
    Column("allowed_tools", Text),
    Column("digest", Text),  # sha256 over the files' paths, modes and contents
    Column("source", Text),
    Column("created_at", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", BigInteger, nullable=False, server_default="0"),
    Index("idx_skill_workspace_name", "workspace_id", "name", unique=True),
)

SKILL_FILE_ENCODINGS = ("utf-8", "base64")

skill_file = Table(
    "skill_file",
    metadata,
    Column("skill_id", Text, ForeignKey("skill.id"), nullable=False),
    Column("path", Text, nullable=False),
    Column("content", Text),
    # how `content` holds the bytes: as text, or base64 for files that are not UTF-8 (0021)
    Column("encoding", Text, nullable=False, server_default="utf-8"),
    Column("executable", Boolean, nullable=False, server_default=false()),
    Column("size", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("skill_id", "path"),
    CheckConstraint(_in("encoding", SKILL_FILE_ENCODINGS), name="encoding"),
)

agent_skill = Table(
    "agent_skill",
    metadata,
    Column("agent_id", Text, ForeignKey("agent.id"), nullable=False),
    Column("skill_id", Text, ForeignKey("skill.id"), nullable=False),
    PrimaryKeyConstraint("agent_id", "skill_id"),
    Index("idx_agent_skill_skill", "skill_id"),  # 0021
)

# --- work (0003, 0014, 0023, 0024) --------------------------------------------------------

issue = Table(
    "issue",
    metadata,
    Column("id", Text, primary_key=True),
    Column("workspace_id", Text, ForeignKey("workspace.id"), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text),
    Column("state", Text, nullable=False, server_default="open"),
    Column("assignee_type", Text),
    Column("assignee_id", Text),
    Column("creator_type", Text, nullable=False),
    Column("creator_id", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("repo_path", Text),
    CheckConstraint(_in("assignee_type", ("member", "agent")), name="assignee_type"),
    CheckConstraint(_in("creator_type", ("member", "agent")), name="creator_type"),
    CheckConstraint("priority BETWEEN 0 AND 3", name="priority"),
    Index("idx_issue_workspace_state", "workspace_id", "state"),
    Index("idx_issue_workspace_created", "workspace_id", "created_at", "id"),  # 0019
)

comment = Table(
    "comment",
    metadata,
    Column("id", Text, primary_key=True),
    Column("issue_id", Text, ForeignKey("issue.id", ondelete="CASCADE"), nullable=False),
    Column("author_type", Text, nullable=False),
    Column("author_id", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint(_in("author_type", ("member", "agent")), name="author_type"),
    Index("idx_comment_issue_created", "issue_id", "created_at", "id"),  # 0023: a thread's pages
)

#: 0024: ``issue_id`` waits for ``blocker_id``. No foreign key on ``blocker_id``: a deleted
#: blocker leaves its dependents blocked instead of releasing them (core/dependencies.py).
issue_dependency = Table(
    "issue_dependency",
    metadata,
    Column("issue_id", Text, ForeignKey("issue.id", ondelete="CASCADE"), nullable=False),
    Column("blocker_id", Text, nullable=False),
    Column("workspace_id", Text, ForeignKey("workspace.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("issue_id", "blocker_id"),
    CheckConstraint("issue_id <> blocker_id", name="not_self"),
    Index("idx_issue_dependency_blocker", "blocker_id"),
)

# --- the queue (0004, 0006, 0010, 0012, 0013) -------------------------------------------

agent_task_queue = Table(
    "agent_task_queue",
    metadata,
    Column("id", Text, primary_key=True),
    Column("workspace_id", Text, ForeignKey("workspace.id"), nullable=False),
    Column("runtime_id", Text, ForeignKey("agent_runtime.id"), nullable=False),
    Column("agent_id", Text, ForeignKey("agent.id"), nullable=False),
    Column("issue_id", Text, ForeignKey("issue.id")),
    Column("status", Text, nullable=False, server_default="queued"),
    Column("result", Text),  # JSON object
    Column("session_id", Text),
    Column("work_dir", Text),
    Column("attempt", Integer, nullable=False, server_default="1"),
    Column("max_attempts", Integer, nullable=False, server_default="2"),
    Column("parent_task_id", Text, ForeignKey("agent_task_queue.id")),
    Column("failure_reason", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("started_at", BigInteger),
    Column("finished_at", BigInteger),
    Column("dispatched_at", BigInteger),
    Column("autopilot_run_id", Text, ForeignKey("autopilot_run.id")),
    Column("priority", Integer, nullable=False, server_default="0"),
    #: set by a cancel of a dispatched or running task; the daemon running it finalizes (0017)
    Column("cancel_requested_at", BigInteger),
    CheckConstraint(_in("status", TASK_STATUSES), name="status"),
    Index(
        "idx_one_pending_task_per_issue_agent",
        "issue_id",
        "agent_id",
        unique=True,
        sqlite_where=text(PENDING_PREDICATE),
        postgresql_where=text(PENDING_PREDICATE),
    ),
    Index("idx_agent_task_queue_claim", "status", "priority", "created_at", "id"),
    Index("idx_agent_task_queue_agent_status", "agent_id", "status"),
    Index("idx_agent_task_queue_workspace_status", "workspace_id", "status"),
    Index("idx_agent_task_queue_workspace_created", "workspace_id", "created_at", "id"),  # 0019
)

# --- auth and beads (0005, 0007, 0011, 0022) --------------------------------------------

TOKEN_SCOPES = ("read", "write", "admin")

pat = Table(
    "pat",
    metadata,
    Column("id", Text, primary_key=True),
    Column("user_id", Text, ForeignKey("user.id"), nullable=False),
    Column("sha256_token", Text, nullable=False),  # the plaintext is never stored
    Column("scope", Text, nullable=False),  # NOT NULL and the CHECK since 0022
    Column("created_at", BigInteger, nullable=False),
    Column("last_used", BigInteger),  # touched at most once a minute
    # what it is for, when it stops working, when it was revoked (0022)
    Column("name", Text, nullable=False, server_default=""),
    Column("expires_at", BigInteger),
    Column("revoked_at", BigInteger),
    UniqueConstraint("sha256_token"),
    CheckConstraint(_in("scope", TOKEN_SCOPES), name="scope"),
)

daemon_token = Table(
    "daemon_token",
    metadata,
    Column("id", Text, primary_key=True),
    Column("sha256_token", Text, nullable=False),
    Column("runtime_id", Text, ForeignKey("agent_runtime.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("sha256_token"),
)

beads_mapping = Table(
    "beads_mapping",
    metadata,
    Column("hangar_id", Text, primary_key=True),
    Column("bd_id", Text, nullable=False),
    Column("hangar_kind", Text, nullable=False),
    Column("bd_kind", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("last_synced", Text, nullable=False),  # ISO-8601 UTC, second precision
    UniqueConstraint("bd_id"),
    CheckConstraint(_in("hangar_kind", ("issue", "task")), name="hangar_kind"),
    CheckConstraint(_in("bd_kind", ("issue", "task")), name="bd_kind"),
    CheckConstraint(_in("source", ("hangar", "swarm")), name="source"),
    Index("idx_beads_mapping_last_synced", "last_synced"),
)

daemon_socket_token = Table(
    "daemon_socket_token",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("sha256_token", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="singleton"),
)

# --- autopilots (0009, 0020) ------------------------------------------------------------

autopilot = Table(
    "autopilot",
    metadata,
    Column("id", Text, primary_key=True),
    Column("workspace_id", Text, ForeignKey("workspace.id"), nullable=False),
    Column("agent_id", Text, ForeignKey("agent.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("instructions", Text),
    Column("cron_expr", Text, nullable=False),
    Column("max_concurrent_runs", Integer, nullable=False, server_default="1"),
    Column("next_tick_at", BigInteger),
    Column("enabled", Integer, nullable=False, server_default="1"),
    Column("created_at", BigInteger, nullable=False),
    Column("timezone", Text, nullable=False, server_default="UTC"),
    Column("mode", Text, nullable=False, server_default="run"),
    Column("disabled_reason", Text),
    Column("updated_at", BigInteger),
    Column("deleted_at", BigInteger),
    CheckConstraint("enabled IN (0, 1)", name="enabled"),
    CheckConstraint(_in("mode", ("issue", "run")), name="mode"),
    # a deleted autopilot keeps its row (its runs point at it) but frees its name
    Index(
        "idx_autopilot_workspace_name",
        "workspace_id",
        "name",
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index(
        "idx_autopilot_next_tick",
        "workspace_id",
        "next_tick_at",
        sqlite_where=text("enabled = 1"),
        postgresql_where=text("enabled = 1"),
    ),
)

autopilot_run = Table(
    "autopilot_run",
    metadata,
    Column("id", Text, primary_key=True),
    Column("autopilot_id", Text, ForeignKey("autopilot.id"), nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("completed_at", BigInteger),
    Column("status", Text, nullable=False, server_default="running"),
    Column("planned_at", BigInteger),
    Column("trigger", Text, nullable=False, server_default="schedule"),
    Column("issue_id", Text),
    CheckConstraint(_in("status", ("running", "completed", "failed", "cancelled")), name="status"),
    CheckConstraint(_in("trigger", ("schedule", "manual")), name="trigger"),
    # the idempotency key of a fire: two schedulers cannot both insert the same planned run
    Index("idx_autopilot_run_planned", "autopilot_id", "planned_at", unique=True),
)
Index(
    "idx_autopilot_run_autopilot_started",
    autopilot_run.c.autopilot_id,
    autopilot_run.c.started_at.desc(),
)

# --- settings and transcript (0014, 0015) -----------------------------------------------

setting = Table(
    "setting",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

task_message = Table(
    "task_message",
    metadata,
    Column("task_id", Text, ForeignKey("agent_task_queue.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("task_id", "seq"),
    CheckConstraint(_in("kind", MESSAGE_KINDS), name="kind"),
)

task_usage = Table(
    "task_usage",
    metadata,
    Column("task_id", Text, ForeignKey("agent_task_queue.id"), nullable=False),
    Column("model", Text, nullable=False),
    Column("input_tokens", BigInteger, nullable=False, server_default="0"),
    Column("output_tokens", BigInteger, nullable=False, server_default="0"),
    Column("cache_read_tokens", BigInteger, nullable=False, server_default="0"),
    Column("cache_creation_tokens", BigInteger, nullable=False, server_default="0"),
    Column("cost_usd", Double),
    PrimaryKeyConstraint("task_id", "model"),
)

#: creating: reserved while create runs (boot recovery undoes what a crash left behind);
#: resuming: a cap slot held while resume relaunches (boot recovery makes it orphaned)
SESSION_STATUSES = ("creating", "resuming", "active", "archived", "orphaned")

agent_session = Table(
    "agent_session",
    metadata,
    Column("id", Text, primary_key=True),
    Column("workspace_id", Text, ForeignKey("workspace.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("repo_path", Text, nullable=False),
    Column("worktree_path", Text, nullable=False),
    Column("branch", Text, nullable=False),
    #: the session created the branch, so deleting the session may delete it
    Column("owns_branch", Boolean, nullable=False, server_default=false()),
    Column("base_branch", Text),
    Column("tmux_session", Text, nullable=False),
    #: the agent's pane (%N): targets stay exact even after a person splits the window
    Column("pane_id", Text),
    Column("command", Text, nullable=False),  # JSON argv
    #: claude | codex | gemini when said (or the command's first word names it)
    Column("agent", Text),
    Column("agent_session_id", Text),
    Column("meta", Text, nullable=False),  # JSON string map
    Column("idle_threshold_ms", BigInteger, nullable=False),
    # idle tracking: hash of the last sampled screen and when it last changed
    Column("last_hash", Text),
    Column("last_changed_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("archived_at", BigInteger),
    UniqueConstraint("workspace_id", "name"),
    UniqueConstraint("tmux_session"),
    UniqueConstraint("worktree_path"),
    CheckConstraint(_in("status", SESSION_STATUSES), name="status"),
)

# --- notifications (0025): the user's channels and what went through them ---------------

NOTIFY_CHANNEL_KINDS = ("desktop", "webhook", "command")
NOTIFY_DELIVERY_STATUSES = ("delivered", "failed", "dropped", "coalesced")

notify_channel = Table(
    "notify_channel",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    #: the webhook's URL, or the command's argv as JSON; empty for desktop
    Column("target", Text, nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event kinds
    #: the webhook secret's name in the secret store (never the secret itself)
    Column("secret_ref", Text),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint(_in("kind", NOTIFY_CHANNEL_KINDS), name="kind"),
)

notify_delivery = Table(
    "notify_delivery",
    metadata,
    Column("id", Text, primary_key=True),
    Column("channel_id", Text, ForeignKey("notify_channel.id", ondelete="CASCADE"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint(_in("status", NOTIFY_DELIVERY_STATUSES), name="status"),
    Index("idx_notify_delivery_channel_created", "channel_id", "created_at", "id"),
)

CONTRACT_TABLES = (
    "workspace",
    "user",
    "member",
    "agent_runtime",
    "agent",
    "skill",
    "skill_file",
    "agent_skill",
    "issue",
    "comment",
    "agent_task_queue",
    "pat",
    "daemon_token",
    "beads_mapping",
    "autopilot",
    "autopilot_run",
)
POST_V1_TABLES = (
    "daemon_socket_token",
    "setting",
    "task_message",
    "task_usage",
    "agent_session",
    "issue_dependency",
    "notify_channel",
    "notify_delivery",
)
