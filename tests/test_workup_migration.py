"""Moving today's workup tracker (one row per stage) into a row per study keeps what
coordinators recorded: statuses, dates, booked appointments and notes."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_migrate import upgrade

from navigator.extensions import db


def test_old_workup_stages_become_studies_linked_to_appointments_and_notes(app_with, tmp_path):
    old = app_with(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with old.app_context():
        upgrade(revision="d5f7b9c1e324")
        run = db.session.execute
        run(
            sa.text(
                "INSERT INTO patients (id, phone, name, language, timezone, channel, quiet_start,"
                " quiet_end, detailed_texts, created_at) VALUES (1, '+16175550143', 'Ana',"
                " 'en', 'America/New_York', 'sms', '21:00', '08:00', 0, '2026-11-01 10:00')"
            )
        )
        run(
            sa.text(
                "INSERT INTO appointments (id, patient_id, kind, starts_at, timezone, location,"
                " status, created_at, updated_at) VALUES (7, 1, 'bone-scan',"
                " '2026-12-14 15:00:00', 'America/New_York', 'Radiology', 'scheduled',"
                " '2026-11-01 10:00', '2026-11-01 10:00')"
            )
        )
        for stage, status, on_date, note in (
            ("imaging", "scheduled", None, "bone scan first"),
            ("biopsy", "done", "2026-11-20", None),
            ("results", "done", "2026-11-28", None),
        ):
            run(
                sa.text(
                    "INSERT INTO workup_stages (patient_id, stage, status, on_date, note,"
                    " updated_at) VALUES (1, :stage, :status, :on_date, :note, '2026-11-01')"
                ),
                {"stage": stage, "status": status, "on_date": on_date, "note": note},
            )
        db.session.commit()
        upgrade()
        studies = {
            kind: (status, appointment_id, scheduled_on, done_on, result_on)
            for kind, status, appointment_id, scheduled_on, done_on, result_on in run(
                sa.text(
                    "SELECT kind, status, appointment_id, scheduled_on, done_on, result_on"
                    " FROM workup_studies"
                )
            )
        }
        notes = run(sa.text("SELECT body FROM coordinator_notes")).scalars().all()
        step = run(sa.text("SELECT step FROM workups")).scalar_one()
        db.session.remove()
    assert len(studies) == 9
    assert studies["bone-scan"] == ("scheduled", 7, "2026-12-14", None, None)
    assert studies["ct"][0] == "not_needed"  # the bone scan was the imaging booked
    assert studies["biopsy"] == ("done", None, None, "2026-11-20", None)
    assert studies["receptors"][0] == "result_received"
    assert studies["receptors"][4] == date(2026, 11, 28).isoformat()
    assert studies["planning"][0] == "to_order"
    assert notes == ["From the old workup tracker (Imaging): bone scan first"]
    assert step == "imaging"  # the bone scan is still to come
