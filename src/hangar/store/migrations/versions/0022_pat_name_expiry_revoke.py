"""Personal tokens get a name, an expiry and a revocation time; their scope is one of
read, write, admin (docs/wire-protocol.md#scopes).

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nothing wrote pat before this revision; a row that did gets the least power
    op.execute(
        "UPDATE pat SET scope = 'read' WHERE scope IS NULL OR scope NOT IN ('read','write','admin')"
    )
    # The CHECK and NOT NULL make SQLite copy the table (batch mode); elsewhere it is ALTERs.
    with op.batch_alter_table("pat") as batch:
        batch.add_column(sa.Column("name", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("expires_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.BigInteger(), nullable=True))
        batch.alter_column("scope", existing_type=sa.Text(), nullable=False)
        batch.create_check_constraint(op.f("ck_pat_scope"), "scope IN ('read','write','admin')")


def downgrade() -> None:
    with op.batch_alter_table("pat") as batch:
        batch.drop_constraint(op.f("ck_pat_scope"), type_="check")
        batch.alter_column("scope", existing_type=sa.Text(), nullable=True)
        for name in ("revoked_at", "expires_at", "name"):
            batch.drop_column(name)
