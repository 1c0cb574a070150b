"""patient events: the timeline's append-only record

Opt-outs, opt-ins, confirmations and reschedule requests, one row each time. Existing databases get one event per fact they still hold, so nothing disappears from a
timeline: each contact's latest opt-out and opt-in, each confirmed appointment (at its last
change), and each reschedule request (from its inbox item, which outlives a moved
appointment). Backfilled events have no channel.

Revision ID: c4e6a8b0d213
Revises: a1d3e5f7b902
"""

import sqlalchemy as sa
from alembic import op

revision = "c4e6a8b0d213"
down_revision = "a1d3e5f7b902"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "patient_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=12), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("patient_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_events_phone"), ["phone"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_patient_events_patient_id"), ["patient_id"], unique=False
        )
    _backfill()


def _backfill():
    for column, kind in (("opted_out_at", "opted_out"), ("opted_in_at", "opted_in")):
        op.execute(
            f"""
            INSERT INTO patient_events (phone, patient_id, kind, created_at)
            SELECT c.phone, p.id, '{kind}', c.{column}
              FROM contacts c LEFT JOIN patients p ON p.phone = c.phone
             WHERE c.{column} IS NOT NULL
            """
        )
    op.execute(
        """
        INSERT INTO patient_events (phone, patient_id, kind, appointment_id, created_at)
        SELECT p.phone, p.id, 'confirmed', a.id, a.updated_at
          FROM appointments a JOIN patients p ON p.id = a.patient_id
         WHERE a.status = 'confirmed'
        """
    )
    op.execute(
        """
        INSERT INTO patient_events (phone, patient_id, kind, appointment_id, created_at)
        SELECT al.phone, al.patient_id, 'reschedule_requested', al.appointment_id, al.created_at
          FROM alerts al
         WHERE al.kind = 'reschedule'
        """
    )


def downgrade():
    with op.batch_alter_table("patient_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_events_patient_id"))
        batch_op.drop_index(batch_op.f("ix_patient_events_phone"))
    op.drop_table("patient_events")
