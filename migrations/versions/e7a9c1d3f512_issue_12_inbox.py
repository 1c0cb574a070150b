"""issue 12, the inbox: owners and outcomes of inbox items, who sent a text from the app,
the phone a coordinator's calls ring first,
the patient an audit row concerns, patients' names folded for search

Revision ID: e7a9c1d3f512
Revises: e9a1c3d5f709
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "e7a9c1d3f512"
down_revision = "e9a1c3d5f709"
branch_labels = None
depends_on = None


def _fold(text):
    """navigator.name_search.fold as it was when this migration was written."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def upgrade():
    with op.batch_alter_table("patients") as batch:
        batch.add_column(
            sa.Column("search_name", sa.String(length=120), nullable=False, server_default="")
        )
        batch.create_index("ix_patients_search_name", ["search_name"])
    patients = sa.table("patients", sa.column("id"), sa.column("name"), sa.column("search_name"))
    connection = op.get_bind()
    for row in connection.execute(sa.select(patients.c.id, patients.c.name)).all():
        connection.execute(
            patients.update()
            .where(patients.c.id == row.id)
            .values(search_name=_fold(row.name)[:120])
        )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("owned_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("outcome_note", sa.String(length=500), nullable=True))
        batch.create_foreign_key("fk_alerts_owner_id", "coordinators", ["owner_id"], ["id"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("coordinator_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_messages_coordinator_id", "coordinators", ["coordinator_id"], ["id"]
        )
    with op.batch_alter_table("coordinators") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("patient_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_audit_events_patient_id", "patients", ["patient_id"], ["id"]
        )
        batch.create_index("ix_audit_events_patient_id", ["patient_id"])
    # Rows filed under a patient name that patient, so the log can be filtered by them.
    op.execute(
        "UPDATE audit_events SET patient_id = entity_id WHERE entity = 'patient' "
        "AND entity_id IN (SELECT id FROM patients)"
    )


def downgrade():
    with op.batch_alter_table("patients") as batch:
        batch.drop_index("ix_patients_search_name")
        batch.drop_column("search_name")
    with op.batch_alter_table("coordinators") as batch:
        batch.drop_column("phone")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index("ix_audit_events_patient_id")
        batch.drop_constraint("fk_audit_events_patient_id", type_="foreignkey")
        batch.drop_column("patient_id")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("fk_messages_coordinator_id", type_="foreignkey")
        batch.drop_column("coordinator_id")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("fk_alerts_owner_id", type_="foreignkey")
        batch.drop_column("outcome_note")
        batch.drop_column("outcome")
        batch.drop_column("owned_at")
        batch.drop_column("owner_id")
