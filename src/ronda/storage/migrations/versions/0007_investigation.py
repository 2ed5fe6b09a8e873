"""investigation: correlation runs, compliance decisions

Revision ID: 0007
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "correlation_runs",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.Column("requester", sa.String(length=100), nullable=False),
        sa.Column("requester_role", sa.String(length=16), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("algorithm", sa.String(length=64), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("incidents", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("persons_listed", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("correlation_runs") as batch:
        batch.create_index("ix_correlation_runs_created_s", ["created_s"], unique=False)
    op.create_table(
        "compliance_decisions",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("officer", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at_s", sa.Double(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("compliance_decisions") as batch:
        batch.create_index("ix_compliance_decisions_person_at", ["person_id", "at_s"], unique=False)


def downgrade() -> None:
    op.drop_table("compliance_decisions")
    op.drop_table("correlation_runs")
