"""Reading SIU messages: which field each fact comes from, as the interface spec says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

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


@pytest.mark.parametrize("field", ["tq1", "sch", "ais", "ail"])
def test_the_start_is_read_from_tq1_7_or_sch_11_4_or_ais_4_or_ail_6(field):
    version = "2.3" if field == "sch" else "2.5.1"
    _, event = reader.read_event(siu(version=version, start="20270115093000", start_in=field))
    assert event.start == reader.LocalTime(datetime(2027, 1, 15, 9, 30), None)


def test_tq1_7_comes_before_the_resources_start():
    raw = siu(start="20270115093000").replace(b"|20270115093000\rPID", b"|20270116080000\rPID")
    _, event = reader.read_event(raw)
    assert event.start.wall == datetime(2027, 1, 16, 8, 0)  # TQ1-7, not AIS-4


def test_a_message_without_any_start_is_read_with_none():
    _, event = reader.read_event(siu(start="", start_in="tq1"))
    assert event.start is None


@pytest.mark.parametrize("where", ["ais", "sch8", "sch7"])
def test_the_service_code_is_ais_3_else_sch_8_else_sch_7(where):
    _, event = reader.read_event(siu(service="CTCAP", service_in=where))
    assert event.service_code == "CTCAP"


def test_the_resources_service_code_comes_before_the_appointments():
    raw = siu(service="CTCAP").replace(b"||CTCAP^CT chest abdomen pelvis|||", b"||SCHCODE|||", 1)
    _, event = reader.read_event(raw)
    assert event.service_code == "CTCAP"


@pytest.mark.parametrize("where", ["ail", "pv1"])
def test_the_location_is_ail_3_else_pv1_3(where):
    _, event = reader.read_event(siu(location="RAD1", location_in=where))
    assert event.location_code == "RAD1"


@pytest.mark.parametrize("version", reader.VERSIONS)
def test_every_version_from_2_3_to_2_5_1_is_read(version):
    header, event = reader.read_event(siu(version=version, start="20270115093000-0500"))
    assert header.version == version
    assert event.start.aware() == datetime(2027, 1, 15, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("trigger", "action"),
    [
        ("S12", "book"),
        ("S13", "reschedule"),
        ("S14", "modify"),
        ("S15", "cancel"),
        ("S17", "delete"),
        ("S26", "noshow"),
    ],
)
def test_each_accepted_trigger_means_one_change(trigger, action):
    _, event = reader.read_event(siu(trigger))
    assert event.action == action
