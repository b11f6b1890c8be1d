"""One skill per (workspace, name): the importer's upsert target.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("idx_skill_workspace_name", "skill", ["workspace_id", "name"], unique=True)


def downgrade() -> None:
    op.drop_index("idx_skill_workspace_name", table_name="skill")
