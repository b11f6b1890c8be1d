"""Rebuild beads_mapping: 1:1 on each side, a source discriminant, ISO-8601 last_synced.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The placeholder never held rows (only the later sync loop writes it), so drop it.
    op.drop_table("beads_mapping")
    op.create_table(
        "beads_mapping",
        sa.Column("hangar_id", sa.Text(), nullable=False),
        sa.Column("bd_id", sa.Text(), nullable=False),
        sa.Column("hangar_kind", sa.Text(), nullable=False),
        sa.Column("bd_kind", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("last_synced", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("hangar_id", name=op.f("pk_beads_mapping")),
        sa.UniqueConstraint("bd_id", name=op.f("uq_beads_mapping_bd_id")),
        sa.CheckConstraint(
            "hangar_kind IN ('issue','task')", name=op.f("ck_beads_mapping_hangar_kind")
        ),
        sa.CheckConstraint("bd_kind IN ('issue','task')", name=op.f("ck_beads_mapping_bd_kind")),
        sa.CheckConstraint("source IN ('hangar','swarm')", name=op.f("ck_beads_mapping_source")),
    )
    op.create_index("idx_beads_mapping_last_synced", "beads_mapping", ["last_synced"])


def downgrade() -> None:
    op.drop_index("idx_beads_mapping_last_synced", table_name="beads_mapping")
    op.drop_table("beads_mapping")
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
