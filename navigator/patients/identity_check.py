"""The lock on the phone identity check: five wrong tries in a row and the number is locked.

Caller ID can be faked. Without a lock, someone using a patient's number could call
again and again until a four-digit PIN came up. So each try is counted (on the number's
contact row, across calls) before anything is compared, in one UPDATE that refuses once
the count reaches ``TRIES``: calls made at the same moment share the same five tries.
A right answer sets the count back to 0. Once locked, nothing is compared, not even a
right PIN; the coordinators get one alert, and only a coordinator lifts the lock.

This module never sees, stores or logs the digits a caller keyed in.
"""

from __future__ import annotations

import logging

from sqlalchemy import update

from .. import alerts
from ..extensions import db
from ..models import Contact, Patient

log = logging.getLogger(__name__)

#: Wrong tries in a row, across calls, that lock the check for a number.
TRIES = 5
ALERT_KIND = "identity_locked"


def locked(contact: Contact | None) -> bool:
    """True when this number may not try the check again until a coordinator allows it."""
    return contact is not None and (contact.failed_checks or 0) >= TRIES


def claim_try(contact: Contact) -> bool:
    """Count one more try before the answer is compared, and commit it.

    Returns False, counting nothing, when the number is locked. Counting first means a
    call that hangs up, or fails, after the compare has still used its try.
    """
    counted = db.session.scalar(
        update(Contact)
        .where(Contact.id == contact.id, Contact.failed_checks < TRIES)
        .values(failed_checks=Contact.failed_checks + 1)
        .returning(Contact.failed_checks)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()  # also reloads ``contact`` with the new count
    return counted is not None


def passed(contact: Contact) -> None:
    """A right answer: the wrong tries before it no longer count."""
    contact.failed_checks = 0


def failed(contact: Contact, patient: Patient | None) -> None:
    """A wrong answer (already counted by ``claim_try``): the try that locks raises the alert.

    Exactly one alert per lock, since a locked number cannot claim another try.
    """
    if contact.failed_checks != TRIES:
        return
    log.info("phone identity check locked for contact %s", contact.id)
    if patient is not None:
        alerts.raise_alert(
            ALERT_KIND,
            contact,
            patient,
            detail=(
                f"The phone check was locked after {TRIES} wrong tries in a row. Call the "
                "patient to make sure it was them, then allow the phone check again on "
                "their page."
            ),
        )


def unlock(contact: Contact) -> bool:
    """Allow the check again (a coordinator's decision). False if it was not locked."""
    if not locked(contact):
        return False
    contact.failed_checks = 0
    return True
