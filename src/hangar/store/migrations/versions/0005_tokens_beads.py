"""Auth tokens (pat, daemon_token) and the placeholder beads_mapping (rebuilt in 0007).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pat",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("sha256_token", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pat")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_pat_user_id_user")),
        sa.UniqueConstraint("sha256_token", name=op.f("uq_pat_sha256_token")),
    )
    op.create_table(
        "daemon_token",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("sha256_token", sa.Text(), nullable=False),
        sa.Column("runtime_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daemon_token")),
        sa.ForeignKeyConstraint(
            ["runtime_id"],
            ["agent_runtime.id"],
            name=op.f("fk_daemon_token_runtime_id_agent_runtime"),
        ),
        sa.UniqueConstraint("sha256_token", name=op.f("uq_daemon_token_sha256_token")),
    )
    op.create_table(
        "beads_mapping",
        sa.Column("hangar_id", sa.Text(), nullable=False),
        sa.Column("bd_id", sa.Text(), nullable=False),
        sa.Column("hangar_kind", sa.Text(), nullable=False),
        sa.Column("bd_kind", sa.Text(), nullable=False),
        sa.Column("last_synced", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hangar_id", "bd_id", name=op.f("pk_beads_mapping")),
        sa.CheckConstraint(
            "hangar_kind IN ('issue','task')", name=op.f("ck_beads_mapping_hangar_kind")
        ),
    )


def downgrade() -> None:
    op.drop_table("beads_mapping")
    op.drop_table("daemon_token")
    op.drop_table("pat")
