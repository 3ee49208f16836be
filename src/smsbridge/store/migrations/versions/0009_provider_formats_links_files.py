"""Provider payload formats for webhooks and callbacks, tracked links, attachments

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("callback_format", sa.String(length=16), nullable=True))
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column(
                "format", sa.String(length=16), server_default=sa.text("'smsbridge'"),
                nullable=False,
            )
        )  # fmt: skip
        batch.add_column(sa.Column("method", sa.String(length=8), nullable=True))
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("format", sa.String(length=16), nullable=True))
    op.create_table(
        "tracked_links",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("clicks", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_click_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_tracked_links_message_id", "tracked_links", ["message_id"])
    op.create_table(
        "attachments",
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("password_hash", sa.String(length=128), nullable=True),
        sa.Column("valid_until", sa.BigInteger(), nullable=False),
        sa.Column("downloads", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_attachments_account_id", "attachments", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_attachments_account_id", table_name="attachments")
    op.drop_table("attachments")
    op.drop_index("ix_tracked_links_message_id", table_name="tracked_links")
    op.drop_table("tracked_links")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("format")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("method")
        batch.drop_column("format")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("callback_format")
