"""distributed mode: partition checkpoints

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partition_checkpoints",
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("last_stream_seq", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.Column("worker_id", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("stream", "partition"),
    )


def downgrade() -> None:
    op.drop_table("partition_checkpoints")
