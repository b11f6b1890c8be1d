"""Skills keep their whole front matter, where and when they were synced, and a digest (so
a sync that changes nothing writes nothing); their files keep their size, their executable
bit and binary contents (base64).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_SKILL_COLUMNS = (
    "license",
    "compatibility",
    "meta",
    "allowed_tools",
    "digest",
    "source",
    "created_at",
    "updated_at",
)


def upgrade() -> None:
    # Plain ADD COLUMNs: no table copy needed, even on SQLite.
    for column in (
        sa.Column("license", sa.Text(), nullable=True),
        sa.Column("compatibility", sa.Text(), nullable=True),
        sa.Column("meta", sa.Text(), nullable=True),  # JSON string map
        sa.Column("allowed_tools", sa.Text(), nullable=True),
        sa.Column("digest", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.BigInteger(), server_default="0", nullable=False),
    ):
        op.add_column("skill", column)
    # The CHECK makes SQLite copy the table (batch mode); elsewhere it is an ALTER.
    with op.batch_alter_table("skill_file") as batch:
        batch.add_column(sa.Column("encoding", sa.Text(), server_default="utf-8", nullable=False))
        batch.add_column(
            sa.Column("executable", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("size", sa.BigInteger(), server_default="0", nullable=False))
        batch.create_check_constraint(
            op.f("ck_skill_file_encoding"), "encoding IN ('utf-8', 'base64')"
        )
    op.create_index("idx_agent_skill_skill", "agent_skill", ["skill_id"])


def downgrade() -> None:
    op.drop_index("idx_agent_skill_skill", table_name="agent_skill")
    with op.batch_alter_table("skill_file") as batch:
        batch.drop_constraint(op.f("ck_skill_file_encoding"), type_="check")
        for name in ("size", "executable", "encoding"):
            batch.drop_column(name)
    with op.batch_alter_table("skill") as batch:
        for name in reversed(_SKILL_COLUMNS):
            batch.drop_column(name)
