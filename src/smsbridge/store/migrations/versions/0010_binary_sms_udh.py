"""Binary SMS: a message's own user data header; what the accepting door keeps

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("udh", sa.String(length=280), nullable=True))
        batch.add_column(sa.Column("door_data", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("door_data")
        batch.drop_column("udh")
