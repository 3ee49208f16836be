"""Credits: balances, price lists, the ledger, prices of messages and recipients.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:01:02.606026
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
        "ledger",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_account", ["account_id", "id"], unique=False)

    op.create_table(
        "prices",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("prefix", sa.String(length=15), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "prefix"),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("balance", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("prepaid", sa.Boolean(), server_default=sa.text("(false)"), nullable=False)
        )
        batch_op.add_column(sa.Column("price_default", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "price_high_surcharge", sa.BigInteger(), server_default=sa.text("0"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "refund_policy", sa.String(length=16), server_default="unsent", nullable=False
            )
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("price", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )

    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("price", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.drop_column("price")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("price")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("refund_policy")
        batch_op.drop_column("price_high_surcharge")
        batch_op.drop_column("price_default")
        batch_op.drop_column("prepaid")
        batch_op.drop_column("balance")

    op.drop_table("prices")
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_account")

    op.drop_table("ledger")
