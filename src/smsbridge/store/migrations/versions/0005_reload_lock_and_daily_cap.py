"""Reload lock window and daily cap per recipient number, per account.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 04:21:28.722495
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reload_window", sa.Integer(), server_default=sa.text("(180)"), nullable=False
            )
        )
        batch_op.add_column(sa.Column("daily_cap", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("daily_cap")
        batch_op.drop_column("reload_window")
