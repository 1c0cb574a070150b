"""What coordinators type, as patients receive it: plain characters, one segment, whole words."""

from __future__ import annotations

from datetime import datetime

import pytest
from readability import is_gsm7

from navigator.core import gsm
from navigator.extensions import db
from navigator.models import Message
from navigator.patients import appointments
from navigator.reminders import worker

NOW = datetime(2026, 2, 1, 15, 0)
THREE_DAYS_BEFORE = datetime(2026, 2, 9, 19, 0)  # 14:00 in New York
DAY_BEFORE = datetime(2026, 2, 11, 19, 5)  # the 1d reminder and, a minute on, its prep


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("Mercy\u2019s \u201cEast\u201d wing", 'Mercy\'s "East" wing'),
        ("Annex B \u2013 2nd floor \u2014 Suite 4", "Annex B - 2nd floor - Suite 4"),
        ("Cl\u00ednica San Jos\u00e9", "Clinica San José"),  # é is GSM-7; í is not
        ("Fran\u00e7oise Pe\u00f1a", "Francoise Peña"),
        ("Room 5 \U0001f3e5 floor 2 \U0001f44d\U0001f3fd", "Room 5 floor 2"),
        ("Lobby\u00a0A, wait\u2026", "Lobby A, wait..."),
        ("2nd floor \U0001f3e5.", "2nd floor."),
        ("\ufeffZero\u200bwidth", "Zerowidth"),
    ],
)
def test_english_texts_get_the_nearest_gsm7_characters(typed, sent):
    assert gsm.to_gsm7(typed) == sent
    assert is_gsm7(gsm.to_gsm7(typed))


def test_spanish_keeps_its_accents_and_loses_only_emoji():
    typed = "Cl\u00ednica San Jos\u00e9 \u2013 \u00bfd\u00f3nde? \U0001f3e5"
    assert gsm.for_language(typed, "es") == "Clínica San José - ¿dónde?"


def test_characters_from_the_extension_table_cost_two_septets():
    assert gsm.septets("Suite [4]") == 11
    assert gsm.size("Suite [4]", "es") == 9


@pytest.mark.parametrize(
    ("value", "room", "shortened"),
    [
        ("Mercy Imaging, 2100 Main St, Building C", 30, "Mercy Imaging, 2100 Main St"),
        ("Mercy Hospital Outpatient Imaging Center", 30, "Mercy Hospital Outpatient..."),
        ("Mercy", 30, "Mercy"),
        ("Supercalifragilisticexpialidocious", 10, "Superca..."),
    ],
)
def test_a_value_is_shortened_at_a_comma_then_a_word(value, room, shortened):
    assert gsm.shorten(value, room) == shortened
    assert len(gsm.shorten(value, room)) <= room


def test_a_long_text_is_split_between_words_into_messages_that_fit():
    text = " ".join(f"word{n}" for n in range(200))
    parts = gsm.split(text, 320)
    assert all(len(part) <= 320 for part in parts) and len(parts) == 5
    assert " ".join(parts) == text  # nothing lost, no word cut


def test_a_paragraph_break_is_the_preferred_place_to_split():
    first, second = "a " * 100, "b " * 100
    assert gsm.split(first.strip() + "\n\n" + second.strip(), 320) == [
        first.strip(),
        second.strip(),
    ]


def test_only_a_word_longer_than_a_message_is_cut_inside():
    assert gsm.split("x" * 700, 320) == ["x" * 320, "x" * 320, "x" * 60]


# -- reminders carrying what a coordinator typed ----------------------------------------------


def sent_reminder(patient, location: str, at=THREE_DAYS_BEFORE, prep: str | None = None) -> str:
    appointment = appointments.schedule(
        patient,
        "ct",
        datetime(2026, 2, 12, 14, 0),
        "America/New_York",
        "Mercy Imaging",
        prep,
        now=NOW,
    )
    appointment.location = location  # as stored before locations had a length limit
    db.session.commit()
    worker.send_due(at, "w")
    return [m.body for m in db.session.scalars(db.select(Message).order_by(Message.id))]


def test_a_long_location_is_shortened_so_the_reminder_fits_one_segment(new_patient):
    location = "Mercy Hospital Outpatient Imaging Center, 2100 Main Street, Building C, Suite 300"
    [body] = sent_reminder(new_patient(), location)
    assert len(body) <= 160 and is_gsm7(body)
    assert body.startswith("Hope Clinic Navigator: Visit Thu Feb 12 at 2:00 PM, Mercy Hospital")
    assert body.endswith(". Reply C to confirm, R for a new time. STOP to opt out.")


def test_accents_and_curly_quotes_in_the_location_keep_an_english_reminder_gsm7(new_patient):
    [body] = sent_reminder(new_patient(), "Cl\u00ednica San Jos\u00e9 \u2013 St. Mary\u2019s wing")
    assert is_gsm7(body) and len(body) <= 160
    assert "Clinica San José - St. Mary's wing." in body


def test_a_spanish_reminder_keeps_the_accents_and_fits_160(new_patient):
    location = "Clínica San José, Avenida de los Insurgentes Sur 1234, Edificio B, piso 3"
    [body] = sent_reminder(new_patient(language="es"), location)
    assert len(body) <= 160 and "Clínica San José" in body
    assert body.endswith("Responda C para confirmar, R para otra hora. STOP para salir.")


def test_the_day_before_preparation_from_the_site_is_plain_gsm7_in_english(new_patient):
    bodies = sent_reminder(
        new_patient(detailed_texts=True),
        "Mercy Imaging",
        at=DAY_BEFORE,
        prep="Don\u2019t eat for 6 hours \u2014 water is OK \U0001f4a7",
    )
    assert bodies[1] == (
        "Hope Clinic Navigator: To get ready for your visit Thu Feb 12: "
        "Don't eat for 6 hours - water is OK"
    )
    assert all(is_gsm7(body) for body in bodies)


def test_a_caregivers_copy_names_the_patient_in_gsm7(new_patient):
    patient = new_patient(name="Zo\u00eb Garc\u00eda", caregivers=[("+16175550177", "reminders")])
    bodies = sent_reminder(patient, "Mercy Imaging")
    [copy] = [body for body in bodies if body.startswith("Hope Clinic Navigator: For ")]
    assert copy.startswith("Hope Clinic Navigator: For Zoe: visit Thu Feb 12")
    assert is_gsm7(copy) and len(copy) <= 160


# -- segments in the encoding a text really needs ---------------------------------------------


def test_spanish_with_only_the_accents_gsm7_has_stays_gsm7():
    assert gsm.encoding("¿Señal? Él está") == "UCS-2"  # á is not in GSM-7
    assert gsm.encoding("¿Emergencia? Llame al 911. Señora, él") == "GSM-7"


@pytest.mark.parametrize(
    "text,count",
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # two septets each
        ("á" * 70, 1),
        ("á" * 71, 2),
        ("á" * 134, 2),
        ("á" * 135, 3),
    ],
)
def test_a_text_is_counted_in_segments_of_its_own_encoding(text, count):
    assert gsm.segments(text) == count
