"""Interactive agent sessions: a git worktree in its own tmux session, one row each.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_session",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("repo_path", sa.Text(), nullable=False),
        sa.Column("worktree_path", sa.Text(), nullable=False),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("owns_branch", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("base_branch", sa.Text(), nullable=True),
        sa.Column("tmux_session", sa.Text(), nullable=False),
        sa.Column("pane_id", sa.Text(), nullable=True),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("agent_session_id", sa.Text(), nullable=True),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("idle_threshold_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.Text(), nullable=True),
        sa.Column("last_changed_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("archived_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_session")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_agent_session_workspace_id_workspace"),
        ),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_agent_session_workspace_id_name")
        ),
        # tmux names and worktree paths are global: two rows must never share one
        sa.UniqueConstraint("tmux_session", name=op.f("uq_agent_session_tmux_session")),
        sa.UniqueConstraint("worktree_path", name=op.f("uq_agent_session_worktree_path")),
        sa.CheckConstraint(
            "status IN ('creating','resuming','active','archived','orphaned')",
            name=op.f("ck_agent_session_status"),
        ),
    )


def downgrade() -> None:
    op.drop_table("agent_session")
