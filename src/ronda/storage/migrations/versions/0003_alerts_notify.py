"""alerts: notification outbox, contacts and consent, timers, protocol steps, pursuits (issue 7)

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notify_contacts",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.Column("updated_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notify_contacts_person_id", "notify_contacts", ["person_id"])
    op.create_table(
        "notify_consents",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("contact_id", BIGID, sa.ForeignKey("notify_contacts.id"), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notify_consents_contact_id", "notify_consents", ["contact_id"])
    op.create_table(
        "notify_case_contacts",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("police_contact_id", BIGID, sa.ForeignKey("notify_contacts.id"), nullable=True),
        sa.Column("officer_contact_id", BIGID, sa.ForeignKey("notify_contacts.id"), nullable=True),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("updated_s", sa.Double(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "notify_outbox",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("alert_id", BIGID, nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("contact_id", BIGID, nullable=True),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_s", sa.Double(), nullable=False),
        sa.Column("lease_until_s", sa.Double(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.Column("sent_s", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_notify_outbox_alert_id", "notify_outbox", ["alert_id"])
    op.create_index("ix_notify_outbox_due", "notify_outbox", ["status", "next_attempt_s"])
    op.create_table(
        "alert_timers",
        sa.Column("alert_id", BIGID, sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("target_s", sa.Double(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("due_s", sa.Double(), nullable=True),
        sa.Column("acknowledged_s", sa.Double(), nullable=True),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.Column("updated_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("alert_id"),
    )
    op.create_index("ix_alert_timers_due_s", "alert_timers", ["due_s"])
    op.create_table(
        "alert_steps",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("alert_id", BIGID, sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_steps_alert_id", "alert_steps", ["alert_id"])
    op.create_table(
        "pursuits",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("episode_id", BIGID, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("normal_interval_s", sa.Integer(), nullable=False),
        sa.Column("started_s", sa.Double(), nullable=False),
        sa.Column("ended_s", sa.Double(), nullable=True),
        sa.Column("start_command", BIGID, nullable=True),
        sa.Column("end_command", BIGID, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("episode_id", "device_id", name="uq_pursuits_episode_device"),
    )
    op.create_index("ix_pursuits_episode_id", "pursuits", ["episode_id"])
    op.create_table(
        "device_commands",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=True),
        sa.Column("match_key", sa.String(length=64), nullable=True),
        sa.Column("sent_s", sa.Double(), nullable=True),
        sa.Column("answered_s", sa.Double(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_device_commands_device_status", "device_commands", ["device_id", "status"])


def downgrade() -> None:
    for index, table in [
        ("ix_device_commands_device_status", "device_commands"),
        ("ix_pursuits_episode_id", "pursuits"),
        ("ix_alert_steps_alert_id", "alert_steps"),
        ("ix_alert_timers_due_s", "alert_timers"),
        ("ix_notify_outbox_due", "notify_outbox"),
        ("ix_notify_outbox_alert_id", "notify_outbox"),
        ("ix_notify_consents_contact_id", "notify_consents"),
        ("ix_notify_contacts_person_id", "notify_contacts"),
    ]:
        op.drop_index(index, table_name=table)
    for table in [
        "device_commands",
        "pursuits",
        "alert_steps",
        "alert_timers",
        "notify_outbox",
        "notify_case_contacts",
        "notify_consents",
        "notify_contacts",
    ]:
        op.drop_table(table)
