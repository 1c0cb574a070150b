"""The workup: a row per study linked to its appointment, structured receptor results,
notes and barriers. What a nurse navigator sees and records on the patient's pages."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from coordinator_support import make_coordinator, post_form, sign_in

from navigator.coordinator.workup import order_warnings, study_views
from navigator.extensions import db
from navigator.models import AuditEvent, Message
from navigator.patients.appointments import cancel, schedule
from navigator.patients.enrolment import NewPatient, enroll
from navigator.patients.workup_path import summarize
from navigator.patients.workups import (
    STUDY_KINDS,
    Barrier,
    CoordinatorNote,
    ReceptorResult,
    Study,
    Workup,
)


@pytest.fixture
def patient(app, client):
    make_coordinator()
    sign_in(client)
    made = enroll(NewPatient("Ana Ruiz", "+16175550143", "en", "America/New_York", "sms"))
    db.session.commit()
    return made


def study(kind) -> Study:
    return db.session.scalar(db.select(Study).filter_by(kind=kind))


def book(patient, kind, days=8):
    local = datetime.combine(date.today() + timedelta(days=days), datetime.min.time()).replace(
        hour=10
    )
    appointment = schedule(patient, kind, local, "America/New_York", "Main campus")
    db.session.commit()
    return appointment


def test_a_new_patient_has_a_workup_with_a_row_for_each_usual_study(patient):
    workup = db.session.scalar(db.select(Workup).filter_by(patient_id=patient.id))
    assert [s.kind for s in workup.studies] == list(STUDY_KINDS)
    assert {s.status for s in workup.studies} == {"to_order"}
    assert workup.step == "imaging"


def test_booking_a_biopsy_links_the_appointment_and_schedules_the_biopsy(patient):
    appointment = book(patient, "biopsy")
    biopsy = study("biopsy")
    assert biopsy.appointment_id == appointment.id and biopsy.status == "scheduled"
    assert biopsy.scheduled_on == date.today() + timedelta(days=8)
    assert study("ct").appointment_id is None


def test_cancelling_the_linked_appointment_puts_the_study_back_to_ordered(patient):
    appointment = book(patient, "bone-scan")
    cancel(appointment)
    db.session.commit()
    scan = study("bone-scan")
    assert scan.appointment_id is None and scan.status == "ordered"


def test_a_done_scan_still_shows_a_bone_scan_that_is_only_scheduled(app, client, patient):
    ct = study("ct")
    post_form(client, f"/studies/{ct.id}", {"status": "done", "done_on": "2026-11-20"})
    book(patient, "bone-scan")
    views = {v.study.kind: v for v in study_views(db.session.scalar(db.select(Workup)))}
    assert (views["ct"].status, views["ct"].on_date) == ("done", date(2026, 11, 20))
    assert views["bone-scan"].status == "scheduled"
    html = client.get(f"/patients/{patient.id}/workup").get_data(as_text=True)
    assert "Bone scan</th>\n    <td>Scheduled</td>" in html


def test_a_study_marked_done_without_its_date_is_refused_and_nothing_changes(app, client, patient):
    biopsy = study("biopsy")
    response = post_form(client, f"/studies/{biopsy.id}", {"status": "done", "done_on": ""})
    assert response.status_code == 422
    assert "needed for &#39;Done&#39;" in response.get_data(as_text=True)
    db.session.expire_all()
    assert study("biopsy").status == "to_order"


def test_a_study_change_is_audited_and_listed_in_its_history(app, client, patient):
    biopsy = study("biopsy")
    response = post_form(
        client, f"/studies/{biopsy.id}", {"status": "ordered", "ordered_on": "2026-11-21"}
    )
    assert response.status_code == 302
    row = db.session.scalar(db.select(AuditEvent).filter_by(entity="study"))
    assert row.entity_id == biopsy.id and "To be ordered to Ordered" in row.detail
    html = client.get(f"/patients/{patient.id}/workup").get_data(as_text=True)
    assert "To be ordered to Ordered" in html


def test_the_workup_moves_on_when_imaging_is_done_and_starts_the_biopsy_clock(app, client, patient):
    for kind in ("bone-scan", "pet-ct", "mri"):
        post_form(client, f"/studies/{study(kind).id}", {"status": "not_needed"})
    post_form(client, f"/studies/{study('ct').id}", {"status": "done", "done_on": "2026-11-20"})
    workup = db.session.scalar(db.select(Workup))
    db.session.refresh(workup)
    assert workup.step == "biopsy" and workup.step_since == date(2026, 11, 20)
    assert (workup.waiting_rule, workup.waiting_since) == ("biopsy_not_booked", date(2026, 11, 20))


def fact(kind, status, **dates):
    blank = dict.fromkeys(("ordered_on", "scheduled_on", "done_on", "result_on", "reviewed_on"))
    return SimpleNamespace(kind=kind, status=status, **{**blank, **dates})


def test_the_path_summary_names_the_step_and_the_milestone_dates():
    summary = summarize(
        [
            fact("ct", "done", done_on=date(2026, 1, 5)),
            fact("bone-scan", "not_needed"),
            fact("biopsy", "done", done_on=date(2026, 1, 12)),
            fact("receptors", "result_received", result_on=date(2026, 1, 20)),
            fact("genomic", "not_needed"),
            fact("planning", "to_order"),
            fact("treatment", "to_order"),
        ],
        date(2026, 1, 2),
    )
    assert summary.step == "planning" and summary.step_since == date(2026, 1, 20)
    assert summary.waiting_rule == "planning_not_booked"
    assert (summary.biopsy_on, summary.results_on, summary.treatment_on) == (
        date(2026, 1, 12),
        date(2026, 1, 20),
        None,
    )


def test_a_biopsy_dated_after_the_planning_visit_is_flagged(app, client, patient):
    post_form(
        client,
        f"/studies/{study('biopsy').id}",
        {"status": "scheduled", "scheduled_on": "2026-12-20"},
    )
    post_form(
        client,
        f"/studies/{study('planning').id}",
        {"status": "scheduled", "scheduled_on": "2026-12-10"},
    )
    workup = db.session.scalar(db.select(Workup))
    warnings = order_warnings(study_views(workup))
    assert warnings == [
        (
            "Biopsy (20 Dec 2026) is dated after treatment-planning visit (10 Dec 2026); "
            "biopsy usually comes first."
        )
    ]
    html = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Check these dates" in html


RESULTS = {
    "before_er": "positive",
    "before_pr": "positive",
    "before_her2": "0",
    "before_tested_on": "2019-03-02",
    "now_er": "negative",
    "now_pr": "positive",
    "now_her2": "positive",
    "now_tested_on": "2026-11-28",
    "biopsy_site": "Liver",
    "tissue_obtained": "yes",
}


def test_receptor_changes_since_the_first_cancer_are_said_plainly_and_never_texted(
    app, client, patient
):
    texts_before = db.session.scalar(db.select(db.func.count(Message.id)))
    response = post_form(client, f"/patients/{patient.id}/results", RESULTS)
    assert response.status_code == 302
    now = db.session.scalar(db.select(ReceptorResult).filter_by(timing="now"))
    assert (now.er, now.her2, now.biopsy_site, now.tissue_obtained) == (
        "negative",
        "positive",
        "Liver",
        True,
    )
    html = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "ER changed: positive before, negative now." in html
    assert "HER2 changed: 0 before, positive now." in html
    assert "PR changed" not in html
    assert db.session.scalar(db.select(db.func.count(Message.id))) == texts_before
    audit = db.session.scalar(db.select(AuditEvent).filter_by(action="update_results"))
    assert "negative" not in audit.detail  # the trail names fields, not results


def test_a_note_goes_on_the_timeline_and_is_never_sent(app, client, patient):
    texts_before = db.session.scalar(db.select(db.func.count(Message.id)))
    response = post_form(
        client,
        f"/patients/{patient.id}/notes",
        {"body": "Daughter drives her; call after 5 pm."},
        page=f"/patients/{patient.id}",
    )
    assert response.status_code == 302
    html = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Note by Nora Nurse (not sent)" in html and "call after 5 pm" in html
    assert db.session.scalar(db.select(db.func.count(Message.id))) == texts_before


def test_an_empty_note_is_refused_with_a_reason(app, client, patient):
    response = post_form(
        client, f"/patients/{patient.id}/notes", {"body": "  "}, page=f"/patients/{patient.id}"
    )
    assert response.status_code == 422
    assert "Write the note first." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(CoordinatorNote.id))) == 0


def test_a_barrier_is_raised_and_resolved_with_its_times(app, client, patient):
    page = f"/patients/{patient.id}"
    post_form(
        client,
        f"/patients/{patient.id}/barriers",
        {"kind": "transport", "detail": "Needs a ride to the 14 Dec biopsy"},
        page=page,
    )
    barrier = db.session.scalar(db.select(Barrier))
    assert barrier.kind == "transport" and barrier.raised_at and barrier.resolved_at is None
    post_form(client, f"/barriers/{barrier.id}/resolve", {}, page=page)
    db.session.refresh(barrier)
    assert barrier.resolved_at is not None
    html = client.get(page).get_data(as_text=True)
    assert "Barrier raised: Transport" in html and "Barrier resolved: Transport" in html


def test_a_barrier_outside_the_list_is_refused(app, client, patient):
    page = f"/patients/{patient.id}"
    response = post_form(client, f"/patients/{patient.id}/barriers", {"kind": "weather"}, page=page)
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count(Barrier.id))) == 0


def test_the_suspected_recurrence_date_can_be_given_at_enrolment(app, client):
    from test_coordinator_patients import VALID  # a complete enrolment form

    make_coordinator()
    sign_in(client)
    details = {**VALID, "phone": "(617) 555-0144", "suspected_on": "2026-11-02"}
    assert post_form(client, "/patients/new", details).status_code == 302
    workup = db.session.scalar(db.select(Workup))
    assert workup.suspected_on == date(2026, 11, 2) and workup.step == "imaging"


def test_the_suspected_date_and_owner_are_set_later_on_the_workup_page(app, client, patient):
    coordinator_id = db.session.scalar(db.select(AuditEvent.coordinator_id)) or 1
    response = post_form(
        client,
        f"/patients/{patient.id}/workup",
        {"suspected_on": "2026-10-30", "owner_id": str(coordinator_id)},
    )
    assert response.status_code == 302
    workup = db.session.scalar(db.select(Workup))
    db.session.refresh(workup)
    assert workup.suspected_on == date(2026, 10, 30) and workup.owner_id == coordinator_id


def test_moving_the_linked_appointment_moves_the_studys_date(patient):
    from navigator.patients.appointments import move

    appointment = book(patient, "biopsy", days=8)
    later = datetime.combine(date.today() + timedelta(days=12), datetime.min.time()).replace(
        hour=10
    )
    move(appointment, later)
    db.session.commit()
    assert study("biopsy").scheduled_on == date.today() + timedelta(days=12)
