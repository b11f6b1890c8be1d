"""An index for an issue's thread: a page of comments, newest first from a cursor, is read
off the index instead of scanning every comment of every issue.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("idx_comment_issue_created", "comment", ["issue_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("idx_comment_issue_created", table_name="comment")
