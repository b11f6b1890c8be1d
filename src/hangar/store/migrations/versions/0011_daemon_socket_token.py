"""The daemon socket token's digest: a single row (id = 1).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daemon_socket_token",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sha256_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daemon_socket_token")),
        sa.CheckConstraint("id = 1", name=op.f("ck_daemon_socket_token_singleton")),
    )


def downgrade() -> None:
    op.drop_table("daemon_socket_token")
