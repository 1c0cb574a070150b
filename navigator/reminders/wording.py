"""Wording appointment reminders: what a reminder text and a reminder call say.

The date and time on the site's clock come from ``timefmt``; this module gives the text of
each kind of reminder fitted to one GSM-7 segment (``sms_text``), the lines a reminder call
reads (``voice_lines``), and how to get ready for a test (``prep_text``), named only to a
patient who chose detailed reminders (``reminder_prep``).

Kept apart from planning and sending because the words change for reasons of their own
(content, languages, the privacy of a shared phone), and because replies to reminders,
reminder calls, change notices and the coordinator's inbox need them without the worker.
The words themselves live in ``messages/``; this module fills them in. It never sends,
plans or commits.
"""

from __future__ import annotations

from .. import timefmt
from ..catalog import catalog, site_values
from ..core import gsm
from ..models import Appointment, Reminder
from .planning import carries_prep

SEGMENT = 160  # a reminder text fits one GSM-7 segment


def _values(appointment: Appointment, language: str) -> dict[str, str]:
    """The site's values, the place, and the ``{date}``/``{time}`` on the site's clock."""
    moment = timefmt.date_and_time(appointment.starts_at, appointment.timezone, language)
    return {**site_values(), "place": appointment.location, **moment}


def sms_key(reminder: Reminder) -> str:
    """The content key of a reminder's text."""
    appointment = reminder.appointment
    if reminder.role == "caregiver":
        return "reminders.sms.caregiver"
    if reminder.role == "prep":
        return "reminders.sms.prep"
    if appointment.patient.detailed_texts:
        return f"reminders.sms.detailed.{appointment.kind}"
    return "reminders.sms.default"


def language_for(reminder: Reminder) -> str:
    return reminder.appointment.patient.language or "en"


def sms_text(reminder: Reminder) -> str:
    """The words of a reminder text, in the patient's language.

    What coordinators typed (place, name, preparation notes) is made safe for the language
    (gsm.py), and a place too long for one 160-character segment is shortened: the date,
    time and reply words always stay whole.
    """
    appointment = reminder.appointment
    language = language_for(reminder)
    values = _values(appointment, language)
    first_name = appointment.patient.name.split()[0] if appointment.patient.name else ""
    values["name"] = gsm.shorten(gsm.for_language(first_name, language), 20, language)
    key = sms_key(reminder)
    if reminder.role == "prep":
        values["prep"] = gsm.for_language(reminder_prep(appointment, language), language)
        return catalog().render(key, language, **values)
    place = gsm.for_language(appointment.location, language)
    room = SEGMENT - gsm.size(catalog().render(key, language, **{**values, "place": ""}), language)
    return catalog().render(
        key, language, **{**values, "place": gsm.shorten(place, room, language)}
    )


def voice_lines(reminder: Reminder) -> list[str]:
    """What a reminder call says, sentence by sentence, before the keypad menu.

    Whoever answers hears it, so the test and how to get ready for it are said only to a
    patient who chose detailed reminders; the others hear how to ask for them.
    """
    appointment = reminder.appointment
    language = language_for(reminder)
    values = _values(appointment, language)
    text = catalog()
    key = (
        "reminders.voice.detailed." + appointment.kind
        if appointment.patient.detailed_texts
        else "reminders.voice.default"
    )
    lines = [
        text.render("reminders.voice.intro", language, **values),
        text.render(key, language, **values),
    ]
    if carries_prep(reminder):
        if appointment.patient.detailed_texts:
            prep = prep_text(appointment, language)
            lines.append(text.render("reminders.voice.prep", language, prep=prep))
        else:
            lines.append(text.render("reminders.voice.prep_private", language, **values))
    return lines


def reminder_prep(appointment: Appointment, language: str) -> str:
    """The preparation a day-before text carries, private unless the patient chose detail.

    A phone is often seen or shared by others. How to get ready for a test names the test
    and often a part of the body (a breast form, a biopsy site), and a site's own notes may
    too: so a patient who did not choose detailed texts gets only the way to ask for the
    details (reply NEXT, answered to their phone alone, or call the care team).
    """
    if appointment.patient.detailed_texts:
        return prep_text(appointment, language)
    return catalog().render("reminders.prep.private", language, **site_values())


def prep_text(appointment: Appointment, language: str) -> str:
    """How to get ready: the site's own notes when present, else the generic safe prep.

    The generic wording (messages/<lang>/reminders.yaml ``prep.<kind>``) never tells anyone
    to stop or change a medicine.
    """
    if appointment.prep_notes:
        return appointment.prep_notes
    return catalog().render(f"reminders.prep.{appointment.kind}", language)
