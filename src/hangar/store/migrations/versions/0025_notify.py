"""Notifications: the channels a user added (``notify_channel``) and what was sent through
each (``notify_delivery``, the last few per channel, for ``hangar notify list``).

Channels are the user's, not a workspace's: one daemon tells one person about every
workspace. A webhook's secret is never stored here: ``secret_ref`` names its entry in the
secret store. Deliveries go with their channel (``ON DELETE CASCADE``).

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_channel",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("secret_ref", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_channel")),
        sa.CheckConstraint(
            "kind IN ('desktop','webhook','command')", name=op.f("ck_notify_channel_kind")
        ),
    )
    op.create_table(
        "notify_delivery",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("channel_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_delivery")),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notify_channel.id"],
            name=op.f("fk_notify_delivery_channel_id_notify_channel"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "status IN ('delivered','failed','dropped','coalesced')",
            name=op.f("ck_notify_delivery_status"),
        ),
    )
    op.create_index(
        "idx_notify_delivery_channel_created",
        "notify_delivery",
        ["channel_id", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("idx_notify_delivery_channel_created", table_name="notify_delivery")
    op.drop_table("notify_delivery")
    op.drop_table("notify_channel")
