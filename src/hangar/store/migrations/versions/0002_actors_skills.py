"""Actors and skills: agent_runtime, agent, skill, skill_file, agent_skill.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_runtime",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("daemon_id", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("runtime_mode", sa.Text(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), server_default="offline", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_runtime")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_agent_runtime_workspace_id_workspace"),
        ),
        sa.CheckConstraint(
            "runtime_mode IN ('local','cloud')", name=op.f("ck_agent_runtime_runtime_mode")
        ),
    )
    op.create_index(
        "idx_agent_runtime_workspace_daemon_provider",
        "agent_runtime",
        ["workspace_id", "daemon_id", "provider"],
        unique=True,
    )
    op.create_table(
        "agent",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("runtime_id", sa.Text(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("visibility", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_agent_workspace_id_workspace")
        ),
        sa.ForeignKeyConstraint(
            ["runtime_id"], ["agent_runtime.id"], name=op.f("fk_agent_runtime_id_agent_runtime")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], name=op.f("fk_agent_owner_id_user")),
        sa.CheckConstraint(
            "visibility IN ('workspace','private')", name=op.f("ck_agent_visibility")
        ),
    )
    op.create_table(
        "skill",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skill")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_skill_workspace_id_workspace")
        ),
    )
    op.create_table(
        "skill_file",
        sa.Column("skill_id", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("skill_id", "path", name=op.f("pk_skill_file")),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skill.id"], name=op.f("fk_skill_file_skill_id_skill")
        ),
    )
    op.create_table(
        "agent_skill",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("skill_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "skill_id", name=op.f("pk_agent_skill")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_agent_skill_agent_id_agent")
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skill.id"], name=op.f("fk_agent_skill_skill_id_skill")
        ),
    )


def downgrade() -> None:
    op.drop_table("agent_skill")
    op.drop_table("skill_file")
    op.drop_table("skill")
    op.drop_table("agent")
    op.drop_index("idx_agent_runtime_workspace_daemon_provider", table_name="agent_runtime")
    op.drop_table("agent_runtime")
