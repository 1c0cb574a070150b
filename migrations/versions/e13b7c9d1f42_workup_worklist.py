"""workup worklist: a workup per patient, a row per study, receptor results, notes, barriers

Today's workup tracker (one row per stage: imaging, biopsy, results, planning) moves into
the new tables: every patient gets a workup (no suspected-recurrence date: it was never
recorded) with a row for each usual study. Each imaging kind with an appointment keeps
that appointment; the single imaging row's status goes to the kinds that were booked, or
to the CT row when none was. Results go to receptor and genomic testing. Each stage's free
note becomes a coordinator note on the timeline, so no words are lost. Then the old
table is dropped (a downgrade brings it back empty).

Revision ID: e13b7c9d1f42
Revises: d5f7b9c1e324
"""

from datetime import UTC, date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "e13b7c9d1f42"
down_revision = "d5f7b9c1e324"
branch_labels = None
depends_on = None

KINDS = ("ct", "bone-scan", "pet-ct", "mri", "biopsy", "receptors", "genomic", "planning", "treatment")
IMAGING = ("ct", "bone-scan", "pet-ct", "mri")
APPOINTMENT_KIND = {k: k for k in IMAGING} | {"biopsy": "biopsy", "planning": "visit"}
STAGE_OF = {k: "imaging" for k in IMAGING} | {
    "biopsy": "biopsy",
    "receptors": "results",
    "genomic": "results",
    "planning": "planning",
}
STAGE_LABELS = {
    "imaging": "Imaging",
    "biopsy": "Biopsy",
    "results": "Receptor and genomic results",
    "planning": "Treatment-planning visit",
}


def upgrade():
    op.create_table(
        "workups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("suspected_on", sa.Date(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_reason", sa.String(length=200), nullable=True),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("step_since", sa.Date(), nullable=True),
        sa.Column("waiting_rule", sa.String(length=40), nullable=True),
        sa.Column("waiting_since", sa.Date(), nullable=True),
        sa.Column("biopsy_on", sa.Date(), nullable=True),
        sa.Column("results_on", sa.Date(), nullable=True),
        sa.Column("treatment_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["coordinators.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id"),
    )
    with op.batch_alter_table("workups", schema=None) as batch_op:
        batch_op.create_index("ix_workups_open_step", ["closed_at", "step", "step_since"])
        batch_op.create_index("ix_workups_waiting", ["waiting_rule", "waiting_since"])
        batch_op.create_index("ix_workups_suspected_on", ["suspected_on"])
        batch_op.create_index(batch_op.f("ix_workups_owner_id"), ["owner_id"])
    op.create_table(
        "workup_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workup_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("ordered_on", sa.Date(), nullable=True),
        sa.Column("scheduled_on", sa.Date(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("result_on", sa.Date(), nullable=True),
        sa.Column("reviewed_on", sa.Date(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"]),
        sa.ForeignKeyConstraint(["updated_by_id"], ["coordinators.id"]),
        sa.ForeignKeyConstraint(["workup_id"], ["workups.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("workup_studies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workup_studies_workup_id"), ["workup_id"])
    op.create_table(
        "receptor_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("timing", sa.String(length=6), nullable=False),
        sa.Column("er", sa.String(length=10), nullable=True),
        sa.Column("pr", sa.String(length=10), nullable=True),
        sa.Column("her2", sa.String(length=10), nullable=True),
        sa.Column("biopsy_site", sa.String(length=120), nullable=True),
        sa.Column("tissue_obtained", sa.Boolean(), nullable=True),
        sa.Column("tested_on", sa.Date(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["updated_by_id"], ["coordinators.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id", "timing", name="uq_receptor_results_patient_timing"),
    )
    op.create_table(
        "coordinator_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["coordinator_id"], ["coordinators.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("coordinator_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coordinator_notes_patient_id"), ["patient_id"])
    op.create_table(
        "barriers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["raised_by_id"], ["coordinators.id"]),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["coordinators.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("barriers", schema=None) as batch_op:
        batch_op.create_index("ix_barriers_open", ["patient_id", "resolved_at"])
    # Speeds the worklist's next-appointment and the patient page; search by language.
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index("ix_appointments_patient_starts", ["patient_id", "starts_at"])
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_open_patient", ["patient_id", "resolved_at"])
        batch_op.create_index("ix_alerts_resolved_at", ["resolved_at"])
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index("ix_patients_name", ["name"])
    _move_workup_stages()
    with op.batch_alter_table("workup_stages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workup_stages_patient_id"))
    op.drop_table("workup_stages")


def _move_workup_stages():
    """Every patient gets a workup; the old stages become studies and notes."""
    from navigator.patients.workup_path import summarize  # pure: studies in, summary out

    conn = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    stages = {}
    for row in conn.execute(
        sa.text("SELECT patient_id, stage, status, on_date, note, updated_by_id FROM workup_stages")
    ).mappings():
        stages.setdefault(row["patient_id"], {})[row["stage"]] = row
    appointments = {}
    for row in conn.execute(
        sa.text(
            "SELECT id, patient_id, kind, starts_at, timezone, status FROM appointments "
            "WHERE status != 'cancelled' ORDER BY starts_at, id"
        )
    ).mappings():
        appointments.setdefault(row["patient_id"], []).append(row)
    for (patient_id,) in conn.execute(sa.text("SELECT id FROM patients ORDER BY id")).all():
        mine = stages.get(patient_id, {})
        booked = appointments.get(patient_id, [])
        studies = [_study(kind, mine, booked) for kind in KINDS]
        summary = summarize([SimpleNamespace(**s) for s in studies], None)
        workup_id = conn.execute(
            sa.text(
                "INSERT INTO workups (patient_id, step, step_since, waiting_rule, waiting_since,"
                " biopsy_on, results_on, treatment_on, created_at, updated_at) VALUES (:p, :step,"
                " :step_since, :waiting_rule, :waiting_since, :biopsy_on, :results_on,"
                " :treatment_on, :now, :now) RETURNING id"
            ),
            {"p": patient_id, "now": now, **vars(summary)},
        ).scalar_one()
        for position, study in enumerate(studies):
            conn.execute(
                sa.text(
                    "INSERT INTO workup_studies (workup_id, kind, position, status, scheduled_on,"
                    " done_on, result_on, appointment_id, updated_at) VALUES (:w, :kind, :pos,"
                    " :status, :scheduled_on, :done_on, :result_on, :appointment_id, :now)"
                ),
                {"w": workup_id, "pos": position, "now": now, **study},
            )
        for stage, row in mine.items():
            if row["note"]:
                conn.execute(
                    sa.text(
                        "INSERT INTO coordinator_notes (patient_id, coordinator_id, body,"
                        " created_at) VALUES (:p, :c, :body, :now)"
                    ),
                    {
                        "p": patient_id,
                        "c": row["updated_by_id"],
                        "body": f"From the old workup tracker ({STAGE_LABELS[stage]}): {row['note']}",
                        "now": now,
                    },
                )


def _day(value):
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date.fromisoformat(str(value)[:10])


def _study(kind, stages, booked) -> dict:
    """One study's row from the old stage it belonged to and the patient's appointments."""
    stage = stages.get(STAGE_OF.get(kind, ""))
    old = stage["status"] if stage else "not_started"
    on_date = _day(stage["on_date"]) if stage else None
    study = {
        "kind": kind,
        "status": "to_order",
        "scheduled_on": None,
        "done_on": None,
        "result_on": None,
        "appointment_id": None,
    }
    appointment = next((a for a in booked if a["kind"] == APPOINTMENT_KIND.get(kind)), None)
    if kind in IMAGING and appointment is None and any(a["kind"] in IMAGING for a in booked):
        study["status"] = "not_needed"  # another scan was the imaging that was booked
        return study
    if kind in IMAGING and kind != "ct" and appointment is None:
        return study
    if appointment is not None:
        starts = _starts(appointment)
        study["appointment_id"] = appointment["id"]
        study["scheduled_on"] = starts.astimezone(ZoneInfo(appointment["timezone"])).date()
    if old == "not_needed":
        study["status"] = "not_needed"
    elif old == "done":
        if kind in ("receptors", "genomic"):
            study["status"], study["result_on"] = "result_received", on_date
        elif kind != "treatment":
            study["status"] = "done"
            study["done_on"] = on_date or study["scheduled_on"]
    elif old == "scheduled" or appointment is not None:
        study["status"] = "scheduled"
        if study["scheduled_on"] is None:
            study["scheduled_on"] = on_date
    return study


def _starts(appointment):
    value = appointment["starts_at"]
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value.replace(tzinfo=ZoneInfo("UTC"))


def downgrade():
    op.create_table(
        "workup_stages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["updated_by_id"], ["coordinators.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id", "stage", name="uq_workup_stages_patient_stage"),
    )
    with op.batch_alter_table("workup_stages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workup_stages_patient_id"), ["patient_id"])
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_name")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_resolved_at")
        batch_op.drop_index("ix_alerts_open_patient")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_patient_starts")
    for table in ("barriers", "coordinator_notes", "receptor_results", "workup_studies", "workups"):
        op.drop_table(table)
