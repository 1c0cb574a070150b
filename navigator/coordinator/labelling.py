"""The messages the navigator did not understand, for coordinators to label.

Each row is an inbound message read with low confidence (or not at all) and the intent
the navigator guessed. A coordinator picks the right intent; ``flask understanding export``
then writes the labelled messages for the team to review before anything joins the
corpus. Nothing retrains on patients' words by itself.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..audit.records import record
from ..catalog import catalog
from ..core.engine import engine_for
from ..extensions import db
from ..models import Message, MessageReading, utcnow
from .blueprint import bp
from .forms import ConfirmForm

PAGE_SIZE = 50


def labels() -> list[str]:
    """Every label the model knows (intents, warning signs, near misses)."""
    return sorted(engine_for(catalog()).understanding.model.labels)


@bp.get("/understanding")
def not_understood():
    """Messages still to label, newest first, with the navigator's guess."""
    rows = db.session.execute(
        db.select(MessageReading, Message)
        .join(Message, Message.id == MessageReading.message_id)
        .where(MessageReading.label.is_(None))
        .order_by(MessageReading.created_at.desc(), MessageReading.id.desc())
        .limit(PAGE_SIZE)
    ).all()
    return render_template(
        "coordinator/understanding.html", rows=rows, labels=labels(), form=ConfirmForm()
    )


@bp.post("/understanding/<int:reading_id>/label")
def label_message(reading_id: int):
    """Record the intent a coordinator says the message had.

    :raise 400: no CSRF token, or a label the model does not know.
    """
    form = ConfirmForm()
    chosen = request.form.get("label", "")
    if not form.validate_on_submit() or chosen not in labels():
        abort(400)
    reading = db.get_or_404(MessageReading, reading_id)
    reading.label = chosen
    reading.labelled_by_id = current_user.id
    reading.labelled_at = utcnow()
    record("label_message", "message", reading.message_id, chosen)
    db.session.commit()
    flash(f"Labelled as {chosen.replace('_', ' ')}.", "success")
    return redirect(url_for("coordinator.not_understood"))
