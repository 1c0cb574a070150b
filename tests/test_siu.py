"""Reading SIU messages: which field each fact comes from, as the interface spec says."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from feed_support import siu

from navigator.feed import siu as reader


def test_the_filler_id_is_the_appointments_key_else_the_placer_id():
    _, event = reader.read_event(siu(filler="FL9", placer="PL9"))
    assert event.external_id == "FL9"
    _, event = reader.read_event(siu(filler="", placer="PL9"))
    assert event.external_id == "PL9"


def test_a_message_with_neither_id_cannot_be_read():
    with pytest.raises(reader.Unreadable):
        reader.read_event(siu(filler="", placer=""))


def test_the_start_keeps_its_offset_or_has_none():
    _, event = reader.read_event(siu(start="20270115093000-0500"))
    assert event.start == reader.LocalTime(datetime(2027, 1, 15, 9, 30), timedelta(hours=-5))
    _, event = reader.read_event(siu(start="202701150930"))
    assert event.start == reader.LocalTime(datetime(2027, 1, 15, 9, 30), None)


def test_a_filler_status_overrides_the_trigger():
    _, event = reader.read_event(siu("S14", status="Cancelled"))
    assert event.action == "cancel"
    _, event = reader.read_event(siu("S14", status="Noshow"))
    assert event.action == "noshow"
    _, event = reader.read_event(siu("S14", status="Booked"))
    assert event.action == "modify"


def test_the_patient_is_read_from_pid_3_and_pid_7_and_the_rest_is_only_proposed():
    _, event = reader.read_event(siu())
    assert [(p.value, p.authority, p.id_type) for p in event.patient_ids] == [
        ("E1234567", "MAINHOSP", "MR"),
        ("555-44-3333", "SSA", "SS"),
    ]
    assert event.birth_date == date(1965, 4, 12)
    assert event.proposed == {"name": "Rosa Quintana", "phone": "6175550199", "language": "es"}


def test_only_the_accepted_types_and_versions_are_read():
    with pytest.raises(reader.Refused):
        reader.read_event(siu("S16"))
    with pytest.raises(reader.Refused):
        reader.read_event(siu(version="2.6"))


@pytest.mark.parametrize("value", ["2027-01-15", "20271315", "soon"])
def test_a_start_that_is_not_an_hl7_time_cannot_be_read(value):
    with pytest.raises(reader.Unreadable):
        reader.read_event(siu(start=value))


def test_a_sent_time_without_an_offset_is_the_sites_local_time():
    header = reader.read_header(siu(sent="20270704120000"), sent_zone="America/Chicago")
    assert reader.to_utc(header.message_time) == datetime(2027, 7, 4, 17, 0)
