"""The scheduling feed's pages: what waits for a coordinator, the mapping tables, the import.

- ``/feed``: messages that could not be applied (an unmatched patient, a date of birth
  that differs, an unknown code or location, an unclear local time, a reused control id)
  and the latest messages. "Apply again" replays the stored message once the cause is
  fixed; "Nothing to do" closes the item. Names, numbers and languages in a message are
  shown as proposals beside what the patient confirmed, also for messages that were
  applied ("Seen" closes those); nothing here applies them.
- ``/feed/mappings``: service codes to kinds, location codes to address, zone and
  preparation note. Everyone may read them; only an admin may change them; every change
  is audited.
- ``/feed/import``: a CSV of appointments, previewed, then applied in one transaction.
"""

from __future__ import annotations

import base64
import binascii

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..audit.records import record
from ..extensions import db
from ..feed import csv_import as appointment_import
from ..feed import intake as feed_intake
from ..feed import siu
from ..feed.apply import PROBLEMS, differing_details
from ..models import (
    APPOINTMENT_KINDS,
    KIND_LABELS,
    FeedMessage,
    Patient,
    ServiceCode,
    SiteLocation,
    utcnow,
)
from ..patients.appointments import LOCATION_MAX, PREP_MAX
from ..patients.enrolment import EnrollmentError, check_timezone
from .blueprint import bp
from .forms import TIMEZONES, ConfirmForm, options

RECENT = 50


class ServiceCodeForm(FlaskForm):
    code = StringField("Service code (AIS-3 or SCH-8)", [DataRequired(), Length(max=80)])
    kind = SelectField(
        "Kind", choices=options((k, KIND_LABELS.get(k, k)) for k in APPOINTMENT_KINDS)
    )
    description = StringField("Description", [Optional(), Length(max=120)])


class LocationForm(FlaskForm):
    code = StringField("Location code (AIL-3)", [DataRequired(), Length(max=80)])
    address = StringField(
        "Where, as patients are told it", [DataRequired(), Length(max=LOCATION_MAX)]
    )
    timezone = SelectField("Time zone", choices=options(TIMEZONES))
    prep_note = StringField("Preparation note", [Optional(), Length(max=PREP_MAX)])

    def validate_timezone(self, field):
        try:
            check_timezone(field.data)
        except EnrollmentError as exc:
            raise ValueError(str(exc)) from None


class ImportForm(FlaskForm):
    file = FileField("CSV file")


def _proposals(message: FeedMessage, patient: Patient | None) -> list[tuple[str, str, str]]:
    """(what, in the message, on file) for each demographic the message states differently."""
    if message.raw is None or message.source != "hl7":
        return []
    try:
        _, event = siu.read_event(message.raw, current_app.config["HL7_ENCODING"])
    except (siu.Unreadable, siu.Refused):
        return []
    return differing_details(event.proposed, patient)


def waiting(limit: int | None = None) -> list[tuple[FeedMessage, Patient | None]]:
    """The messages the feed left for a person, oldest first, each with the patient it
    matched (None when none did); the first ``limit`` when given (the inbox shows a few)."""
    return db.session.execute(
        db.select(FeedMessage, Patient)
        .outerjoin(Patient, Patient.id == FeedMessage.patient_id)
        .where(FeedMessage.status == "needs_review")
        .order_by(FeedMessage.received_at, FeedMessage.id)
        .limit(limit)
    ).all()


def differing(limit: int = RECENT) -> list[tuple[FeedMessage, Patient]]:
    """Applied messages whose name, number or language differs from the patient's on
    file, not yet seen by a coordinator, newest first (raw bytes still kept)."""
    return db.session.execute(
        db.select(FeedMessage, Patient)
        .join(Patient, Patient.id == FeedMessage.patient_id)
        .where(FeedMessage.problem == "details_differ", FeedMessage.raw.is_not(None))
        .order_by(FeedMessage.received_at.desc(), FeedMessage.id.desc())
        .limit(limit)
    ).all()


def waiting_count() -> int:
    """How many messages wait for a person (the status index answers it)."""
    return db.session.scalar(
        db.select(db.func.count(FeedMessage.id)).where(FeedMessage.status == "needs_review")
    )


@bp.get("/feed")
def feed():
    """What the feed left for a person, oldest first, and the latest messages."""
    recent = db.session.scalars(
        db.select(FeedMessage).order_by(FeedMessage.id.desc()).limit(RECENT)
    ).all()
    return render_template(
        "coordinator/feed.html",
        waiting=[(m, p, _proposals(m, p)) for m, p in waiting()],
        differing=[(m, p, _proposals(m, p)) for m, p in differing()],
        recent=recent,
        problems=PROBLEMS,
        form=ConfirmForm(),
    )


def _waiting(message_id: int) -> FeedMessage:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    message = db.get_or_404(FeedMessage, message_id)
    if message.status != "needs_review":
        flash("That item was already dealt with.", "info")
    return message


@bp.post("/feed/<int:message_id>/replay")
def feed_replay(message_id: int):
    """Apply the stored message again, after the cause was fixed."""
    message = _waiting(message_id)
    if message.status == "needs_review":
        try:
            feed_intake.replay(message, current_user.id)
        except (ValueError, siu.Unreadable, siu.Refused) as exc:
            db.session.rollback()
            flash(f"It cannot be applied: {exc}.", "error")
            return redirect(url_for("coordinator.feed"))
        record("feed_replay", "feed_message", message.id, message.status)
        db.session.commit()
        if message.status == "needs_review":
            flash(f"Still not applied: {message.detail}.", "warning")
        else:
            flash(f"Applied: {message.detail}.", "success")
    return redirect(url_for("coordinator.feed"))


@bp.post("/feed/<int:message_id>/dismiss")
def feed_dismiss(message_id: int):
    """Close the item without applying the message (it stays stored, and audited)."""
    message = _waiting(message_id)
    if message.status == "needs_review":
        message.status = "dismissed"
        message.resolved_at = utcnow()
        message.resolved_by_id = current_user.id
        record("feed_dismiss", "feed_message", message.id, message.problem or "")
        db.session.commit()
        flash("Closed: nothing will be applied from that message.", "success")
    return redirect(url_for("coordinator.feed"))


@bp.post("/feed/<int:message_id>/seen")
def feed_seen(message_id: int):
    """Close the proposals of an applied message: the coordinator has seen what the
    hospital's record says (and changed the patient's details, or not, themselves)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    message = db.get_or_404(FeedMessage, message_id)
    if message.problem == "details_differ":
        message.problem = "details_seen"
        record("feed_details_seen", "feed_message", message.id, "", patient_id=message.patient_id)
        db.session.commit()
        flash("Marked as seen: nothing on file was changed.", "success")
    return redirect(url_for("coordinator.feed"))


@bp.get("/feed/mappings")
def feed_mappings():
    return _mappings_page(ServiceCodeForm(prefix="service"), LocationForm(prefix="location"))


def _mappings_page(service_form, location_form, status: int = 200):
    services = db.session.scalars(db.select(ServiceCode).order_by(ServiceCode.code)).all()
    locations = db.session.scalars(db.select(SiteLocation).order_by(SiteLocation.code)).all()
    return render_template(
        "coordinator/feed_mappings.html",
        services=services,
        locations=locations,
        service_form=service_form,
        location_form=location_form,
        kind_labels=KIND_LABELS,
        form=ConfirmForm(),
    ), status


def _admin_only() -> None:
    if not current_user.is_admin:
        abort(403)


def _save_mapping(model, form, fields: tuple[str, ...], entity: str):
    """Add a code, or change the one with that code; audited with the fields changed."""
    code = form.code.data.strip()
    row = db.session.scalar(db.select(model).where(model.code == code))
    action = "update" if row else "create"
    row = row or model(code=code)
    changed = []
    for name in fields:
        value = (getattr(form, name).data or "").strip() or None
        if name != "prep_note":
            value = value or ""
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.append(name)
    db.session.add(row)
    db.session.flush()
    record(f"{action}_{entity}", entity, row.id, f"{code}: {', '.join(changed) or 'no change'}")
    db.session.commit()
    flash(f"Saved {code}.", "success")


@bp.post("/feed/mappings/services")
def feed_service_save():
    _admin_only()
    form = ServiceCodeForm(prefix="service")
    if not form.validate_on_submit():
        return _mappings_page(form, LocationForm(prefix="location"), 400)
    _save_mapping(ServiceCode, form, ("kind", "description"), "service_code")
    return redirect(url_for("coordinator.feed_mappings"))


@bp.post("/feed/mappings/locations")
def feed_location_save():
    _admin_only()
    form = LocationForm(prefix="location")
    if not form.validate_on_submit():
        return _mappings_page(ServiceCodeForm(prefix="service"), form, 400)
    _save_mapping(SiteLocation, form, ("address", "timezone", "prep_note"), "site_location")
    return redirect(url_for("coordinator.feed_mappings"))


@bp.post("/feed/mappings/<string:table>/<int:row_id>/delete")
def feed_mapping_delete(table: str, row_id: int):
    """Remove a code; appointments already made keep what it meant when they were made."""
    _admin_only()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    model, entity = {
        "services": (ServiceCode, "service_code"),
        "locations": (SiteLocation, "site_location"),
    }.get(table, (None, None))
    if model is None:
        abort(404)
    row = db.get_or_404(model, row_id)
    record(f"delete_{entity}", entity, row.id, row.code)
    db.session.delete(row)
    db.session.commit()
    flash(f"Removed {row.code}.", "success")
    return redirect(url_for("coordinator.feed_mappings"))


@bp.get("/feed/import/template.csv")
def feed_import_template():
    return Response(
        appointment_import.template(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="appointments-template.csv"'},
    )


def _uploaded(form: ImportForm) -> bytes | None:
    """The file's bytes: from the upload (preview) or from the hidden copy (apply)."""
    if form.file.data:
        return form.file.data.read(appointment_import.MAX_ROWS * 400)
    try:
        return base64.b64decode(request.form.get("content", ""), validate=True) or None
    except (binascii.Error, ValueError):
        return None


@bp.route("/feed/import", methods=["GET", "POST"])
def feed_import():
    """Upload, preview what will change and what cannot be matched, then apply."""
    form = ImportForm()
    if request.method == "GET":
        return render_template("coordinator/feed_import.html", form=form, results=None)
    if not form.validate_on_submit():
        abort(400)
    data = _uploaded(form)
    if not data:
        flash("Choose a CSV file first.", "error")
        return render_template("coordinator/feed_import.html", form=form, results=None), 400
    try:
        rows = appointment_import.read_rows(data)
    except appointment_import.ImportFileError as exc:
        flash(f"The file cannot be imported: {exc}.", "error")
        return render_template("coordinator/feed_import.html", form=form, results=None), 400
    applying = request.form.get("step") == "apply"
    if not applying:
        results = appointment_import.preview(rows)
    else:
        results = appointment_import.apply_rows(rows)
        applied = sum(r.status == "applied" for r in results)
        record("import_appointments", "feed_import", None, f"{len(rows)} rows, {applied} applied")
        db.session.commit()
        flash(f"Imported: {applied} of {len(rows)} rows applied.", "success")
    return render_template(
        "coordinator/feed_import.html",
        form=form,
        results=results,
        applied=applying,
        content=base64.b64encode(data).decode(),
    )
