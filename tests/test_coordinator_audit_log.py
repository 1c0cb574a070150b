"""The audit log names people and patients, filters by who, patient, action and date, has
one row per change, and records who opened a patient's record."""

from __future__ import annotations

import html as markup
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from coordinator_support import make_coordinator, post_form, signed_in_nurse

from navigator.extensions import db
from navigator.models import Alert, AuditEvent, utcnow

nurse = pytest.fixture(signed_in_nurse, name="nurse")


def audit(client, query="") -> str:
    return markup.unescape(client.get("/audit" + query).get_data(as_text=True))


def entries(client, query="") -> str:
    """The rows of the log's table, without the filter form's lists."""
    return audit(client, query).split("<tbody>")[1].split("</tbody>")[0]


def test_opening_a_patients_record_is_in_the_log_but_not_on_their_timeline(
    app, client, nurse, new_patient
):
    patient = new_patient(name="Rosa Díaz")
    page = markup.unescape(client.get(f"/patients/{patient.id}").get_data(as_text=True))
    [view] = db.session.scalars(db.select(AuditEvent).filter_by(action="view_patient")).all()
    assert (view.coordinator_id, view.patient_id) == (nurse.id, patient.id)
    assert "opened the patient's record" not in page
    html = entries(client)
    assert "opened the patient's record" in html and "Rosa Díaz" in html
    assert "patient #" not in html


def test_the_log_filters_by_patient_person_action_and_date(app, client, nurse, new_patient):
    rosa = new_patient(name="Rosa Díaz")
    ana = new_patient(name="Ana Lopez")
    other = make_coordinator("sam@clinic.test", name="Sam Lee")
    alert = Alert(kind="callback", phone=rosa.phone, patient_id=rosa.id)
    db.session.add(alert)
    db.session.commit()
    post_form(client, f"/inbox/{alert.id}/done", {"outcome": "called_patient"}, page="/inbox")
    client.get(f"/patients/{ana.id}")
    db.session.add(
        AuditEvent(
            coordinator_id=other.id,
            action="edit",
            entity="patient",
            entity_id=ana.id,
            patient_id=ana.id,
            detail="changed name",
            created_at=utcnow() - timedelta(days=3),
        )
    )
    db.session.commit()
    by_patient = entries(client, f"?patient={rosa.id}")
    assert "closed an inbox item" in by_patient and "Ana Lopez" not in by_patient
    assert "Audit log: Rosa Díaz" in audit(client, f"?patient={rosa.id}")
    by_person = entries(client, f"?who={other.id}")
    assert "changed name" in by_person and "closed an inbox item" not in by_person
    by_action = entries(client, "?action=view_patient")
    assert "opened the patient's record" in by_action and "changed name" not in by_action
    today = datetime.now(ZoneInfo(nurse.timezone)).date().isoformat()  # the nurse's day
    recent = entries(client, f"?since={today}")
    assert "changed name" not in recent and "closed an inbox item" in recent
    assert "enter a date like" in audit(client, "?since=yesterday")


def test_closing_an_item_is_one_row_naming_the_patient(app, client, nurse, new_patient):
    patient = new_patient(name="Rosa Díaz")
    alert = Alert(kind="callback", phone=patient.phone, patient_id=patient.id)
    db.session.add(alert)
    db.session.commit()
    post_form(client, f"/inbox/{alert.id}/done", {"outcome": "called_patient"}, page="/inbox")
    rows = db.session.scalars(db.select(AuditEvent).filter_by(action="resolve_alert")).all()
    assert len(rows) == 1 and rows[0].patient_id == patient.id


def test_a_number_already_enrolled_is_named_by_the_patient_not_an_id(
    app, client, nurse, new_patient
):
    from test_coordinator_patients import VALID

    existing = new_patient(phone="+16175550143", name="Rosa Díaz")
    html = markup.unescape(post_form(client, "/patients/new", VALID).get_data(as_text=True))
    assert "already enrolled, as Rosa Díaz" in html and f"#{existing.id}" not in html
