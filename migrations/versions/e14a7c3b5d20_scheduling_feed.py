"""scheduling feed (issue 14): patient MRN, raw feed messages, feed appointments, mappings

Revision ID: e14a7c3b5d20
Revises: e13b7c9d1f42
"""

import sqlalchemy as sa
from alembic import op

revision = "e14a7c3b5d20"
down_revision = "e13b7c9d1f42"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("mrn", sa.String(40), nullable=True))
        batch.add_column(sa.Column("mrn_authority", sa.String(60), nullable=True))
        batch.create_unique_constraint("uq_patients_mrn", ["mrn_authority", "mrn"])

    op.create_table(
        "feed_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("sending_app", sa.String(180), nullable=False),
        sa.Column("sending_facility", sa.String(180), nullable=False),
        sa.Column("control_id", sa.String(199), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("message_type", sa.String(20), nullable=False),
        sa.Column("version", sa.String(10), nullable=False),
        sa.Column("message_time", sa.DateTime(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("ack_code", sa.String(2), nullable=True),
        sa.Column("problem", sa.String(40), nullable=True),
        sa.Column("detail", sa.String(300), nullable=False),
        sa.Column("external_id", sa.String(80), nullable=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id"), nullable=True),
        sa.Column(
            "appointment_id", sa.Integer(), sa.ForeignKey("appointments.id"), nullable=True
        ),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("purged_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column(
            "resolved_by_id", sa.Integer(), sa.ForeignKey("coordinators.id"), nullable=True
        ),
        sa.UniqueConstraint(
            "sending_app",
            "sending_facility",
            "control_id",
            "content_hash",
            name="uq_feed_messages_key",
        ),
    )
    op.create_index("ix_feed_messages_status", "feed_messages", ["status", "received_at"])
    op.create_index("ix_feed_messages_patient_id", "feed_messages", ["patient_id"])

    op.create_table(
        "feed_appointments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(80), nullable=False),
        sa.Column(
            "appointment_id", sa.Integer(), sa.ForeignKey("appointments.id"), nullable=True
        ),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("message_time", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_feed_appointments_source_id"),
    )

    op.create_table(
        "service_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(80), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("description", sa.String(120), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "site_locations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(80), nullable=False, unique=True),
        sa.Column("address", sa.String(60), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("prep_note", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade():
    op.drop_table("site_locations")
    op.drop_table("service_codes")
    op.drop_table("feed_appointments")
    op.drop_index("ix_feed_messages_patient_id", "feed_messages")
    op.drop_index("ix_feed_messages_status", "feed_messages")
    op.drop_table("feed_messages")
    with op.batch_alter_table("patients") as batch:
        batch.drop_constraint("uq_patients_mrn", type_="unique")
        batch.drop_column("mrn_authority")
        batch.drop_column("mrn")
