"""Work items: issue and comment, with polymorphic (type, id) actor pairs.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issue",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), server_default="open", nullable=False),
        sa.Column("assignee_type", sa.Text(), nullable=True),
        sa.Column("assignee_id", sa.Text(), nullable=True),
        sa.Column("creator_type", sa.Text(), nullable=False),
        sa.Column("creator_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_issue_workspace_id_workspace")
        ),
        sa.CheckConstraint(
            "assignee_type IN ('member','agent')", name=op.f("ck_issue_assignee_type")
        ),
        sa.CheckConstraint(
            "creator_type IN ('member','agent')", name=op.f("ck_issue_creator_type")
        ),
    )
    op.create_index("idx_issue_workspace_state", "issue", ["workspace_id", "state"])
    op.create_table(
        "comment",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("issue_id", sa.Text(), nullable=False),
        sa.Column("author_type", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment")),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issue.id"],
            name=op.f("fk_comment_issue_id_issue"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "author_type IN ('member','agent')", name=op.f("ck_comment_author_type")
        ),
    )


def downgrade() -> None:
    op.drop_table("comment")
    op.drop_index("idx_issue_workspace_state", table_name="issue")
    op.drop_table("issue")
