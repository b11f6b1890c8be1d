"""Issue dependencies: ``issue_id`` waits for ``blocker_id``, both in ``workspace_id``.

The edge goes with its dependent (``ON DELETE CASCADE`` on ``issue_id``); ``blocker_id`` has
no foreign key on purpose, so a blocker that is deleted leaves its dependents blocked
("blocked: <id> deleted") instead of silently releasing them. The index on ``blocker_id``
finds a finished blocker's dependents.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issue_dependency",
        sa.Column("issue_id", sa.Text(), nullable=False),
        sa.Column("blocker_id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("issue_id", "blocker_id", name=op.f("pk_issue_dependency")),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issue.id"],
            name=op.f("fk_issue_dependency_issue_id_issue"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_issue_dependency_workspace_id_workspace"),
        ),
        sa.CheckConstraint("issue_id <> blocker_id", name=op.f("ck_issue_dependency_not_self")),
    )
    op.create_index("idx_issue_dependency_blocker", "issue_dependency", ["blocker_id"])


def downgrade() -> None:
    op.drop_index("idx_issue_dependency_blocker", table_name="issue_dependency")
    op.drop_table("issue_dependency")
