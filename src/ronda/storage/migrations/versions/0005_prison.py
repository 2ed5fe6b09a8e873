"""prison: facilities, sightings, movements, episode details, headcounts (issue 10)

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(length=64)


def upgrade() -> None:
    op.create_table(
        "prison_facilities",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.Column("updated_s", sa.Double(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "prison_sightings",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("facility_id", ID, nullable=False),
        sa.Column("device_id", ID, nullable=False),
        sa.Column("reader_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("time_s", sa.Double(), nullable=False),
        sa.Column("received_s", sa.Double(), nullable=False),
        sa.Column("rssi_dbm", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "facility_id", "device_id", "reader_id", "time_s", "kind", name="uq_prison_sightings_key"
        ),
    )
    op.create_index("ix_prison_sightings_facility_time", "prison_sightings", ["facility_id", "time_s"])
    op.create_table(
        "prison_movements",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("facility_id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("band_id", ID, nullable=False),
        sa.Column("from_zone", ID, nullable=True),
        sa.Column("to_zone", ID, nullable=False),
        sa.Column("at_s", sa.Double(), nullable=False),
        sa.Column("by", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("facility_id", "band_id", "at_s", "to_zone", name="uq_prison_movements_key"),
    )
    op.create_index("ix_prison_movements_person_at", "prison_movements", ["facility_id", "person_id", "at_s"])
    op.create_table(
        "prison_episode_details",
        sa.Column("episode_id", BIGID, nullable=False),
        sa.Column("facility_id", ID, nullable=False),
        sa.Column("zone_id", ID, nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"]),
        sa.PrimaryKeyConstraint("episode_id"),
    )
    op.create_index("ix_prison_episode_details_facility_id", "prison_episode_details", ["facility_id"])
    op.create_table(
        "prison_headcounts",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("facility_id", ID, nullable=False),
        sa.Column("at_s", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("discrepancies", sa.Integer(), nullable=False),
        sa.Column("created_s", sa.Double(), nullable=False),
        sa.Column("closed_s", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("facility_id", "at_s", "kind", name="uq_prison_headcounts_at"),
    )
    op.create_index("ix_prison_headcounts_facility_at", "prison_headcounts", ["facility_id", "at_s"])
    op.create_table(
        "prison_reconciliations",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("headcount_id", BIGID, nullable=False),
        sa.Column("inmate_id", ID, nullable=False),
        sa.Column("resolution", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("officer", sa.String(length=100), nullable=False),
        sa.Column("at_s", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["headcount_id"], ["prison_headcounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_prison_reconciliations_headcount_id", "prison_reconciliations", ["headcount_id"])


def downgrade() -> None:
    op.drop_table("prison_reconciliations")
    op.drop_table("prison_headcounts")
    op.drop_table("prison_episode_details")
    op.drop_table("prison_movements")
    op.drop_table("prison_sightings")
    op.drop_table("prison_facilities")
