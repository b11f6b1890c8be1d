"""The agent a session says it runs (claude, codex, gemini), for commands that wrap it.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # rows made before have none: the daemon judges them by their command, as it did
    op.add_column("agent_session", sa.Column("agent", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("agent_session") as batch:
        batch.drop_column("agent")
