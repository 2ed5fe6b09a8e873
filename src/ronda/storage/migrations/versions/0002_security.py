"""security: agencies, users, sessions, audit chain, legal holds; agency and officer on persons

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    agencies = op.create_table(
        "agencies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(agencies, [{"id": "main", "name": "Main agency", "created_s": time.time()}])
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until_s", sa.Double(), nullable=True),
        sa.Column("last_login_s", sa.Double(), nullable=True),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.Column("password_changed_s", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_index("ix_users_agency_id", "users", ["agency_id"])
    op.create_table(
        "user_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.Column("last_seen_s", sa.Double(), nullable=False),
        sa.Column("expires_s", sa.Double(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("ended_s", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", BIGID, autoincrement=False, nullable=False),
        sa.Column("at_s", sa.Double(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=500), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_audit_log_person_at", "audit_log", ["person", "at_s"])
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor", "at_s"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", BIGID, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    op.create_table(
        "legal_holds",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("start_s", sa.Double(), nullable=False),
        sa.Column("end_s", sa.Double(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("released_s", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_legal_holds_person_id", "legal_holds", ["person_id"])
    # Existing rows belong to the default agency; plain columns (no table
    # rebuild on SQLite, where persons is referenced by many tables).
    for table in ("persons", "devices", "zones"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("agency_id", sa.String(length=64), server_default="main", nullable=False)
            )
            batch.create_index(f"ix_{table}_agency_id", ["agency_id"])
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("officer_id", sa.String(length=64), nullable=True))
        batch.create_index("ix_persons_officer_id", ["officer_id"])


def downgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.drop_index("ix_persons_officer_id")
        batch.drop_column("officer_id")
    for table in ("persons", "devices", "zones"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_agency_id")
            batch.drop_column("agency_id")
    for table in ("legal_holds", "audit_head", "audit_log", "user_sessions", "users", "agencies"):
        op.drop_table(table)
