"""The reminder worker isolates failures: bounded, checked in-doubt lookups, and one bad row
never stops the others (nor puts database DETAIL text in the logs)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from test_worker import NOW, reminder_rows, seed

from navigator.extensions import db
from navigator.models import Message, Reminder
from navigator.reminders import wording, worker
from navigator.telephony import outbound

LATER = NOW + worker.LEASE + timedelta(minutes=1)


def dead_worker_left(count: int, reached_twilio: int) -> list[Message]:
    """A killed worker's batch: ``count`` sends written down, the first ``reached_twilio`` of
    them taken by Twilio, none with its SID recorded."""
    ids = worker.claim_due(NOW, "dead-worker")
    assert len(ids) == count
    messages = []
    for reminder_id in ids:
        reminder = db.session.get(Reminder, reminder_id)
        messages.append(
            outbound.prepare_sms(
                reminder.recipient_phone, wording.sms_text(reminder), reminder_id=reminder_id
            )
        )
    db.session.commit()
    for message in messages[:reached_twilio]:
        outbound.request_twilio("sms", message.phone, message.body)
    return messages


def test_an_in_doubt_lookup_never_adopts_a_text_sent_to_someone_else(app, fake_twilio):
    """Two patients with the same reminder words: Twilio took the first one's text only.
    Even when Twilio's list answers with other numbers' texts, the second is sent."""
    fake_twilio.list_ignores_to = True
    first, second = seed(2, NOW)
    dead_worker_left(2, reached_twilio=1)
    assert worker.send_due(LATER, "rescuer") == {"recovered": 1, "sent": 1}
    assert sorted(r.to for r in fake_twilio.accepted()) == [first, second]


def test_in_doubt_lookups_are_bounded_per_tick_and_the_rest_wait_for_the_next(app, fake_twilio):
    seed(worker.IN_DOUBT_LOOKUPS_PER_TICK + 5, NOW)
    dead_worker_left(worker.IN_DOUBT_LOOKUPS_PER_TICK + 5, reached_twilio=0)
    asked_before = fake_twilio.list_requests
    first = worker.send_due(LATER, "rescuer")
    assert fake_twilio.list_requests - asked_before == worker.IN_DOUBT_LOOKUPS_PER_TICK
    assert first == {"sent": worker.IN_DOUBT_LOOKUPS_PER_TICK, "in_doubt": 5}
    assert worker.send_due(LATER + timedelta(seconds=30), "rescuer") == {"sent": 5}
    assert len(fake_twilio.accepted()) == worker.IN_DOUBT_LOOKUPS_PER_TICK + 5


@pytest.fixture
def one_bad_message(app):
    """A database that refuses every change to one message row, quoting it in DETAIL."""

    def make(message_id: int):
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"""CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                      IF OLD.id = {int(message_id)} THEN
                        RAISE EXCEPTION 'refused' USING ERRCODE = '23514',
                          DETAIL = 'Failing row contains (Maria Lopez, chest pain).';
                      END IF;
                      RETURN NEW;
                    END $$"""
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse_row BEFORE UPDATE ON messages "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_row()"
                )
            )

    yield make
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER IF EXISTS refuse_row ON messages"))
        conn.execute(sa.text("DROP FUNCTION IF EXISTS refuse_row()"))


@pytest.mark.postgres_only
def test_one_bad_in_doubt_row_never_stops_the_others_nor_logs_database_detail(
    app, fake_twilio, one_bad_message, written_logs
):
    seed(3, NOW)
    bad, *_ = dead_worker_left(3, reached_twilio=3)
    one_bad_message(bad.id)
    assert worker.send_due(LATER, "rescuer") == {"recovered": 2, "in_doubt": 1}
    rows = reminder_rows()
    assert [r.status for r in rows[1:]] == ["sent", "sent"]
    assert rows[0].lease_until == LATER + worker.BAD_ROW_PAUSE
    logged = written_logs.getvalue()
    assert f"reminder={rows[0].id} in doubt could not be settled" in logged
    assert "Maria" not in logged and "chest" not in logged and "Failing row" not in logged
    assert len(fake_twilio.accepted()) == 3  # nothing sent twice
