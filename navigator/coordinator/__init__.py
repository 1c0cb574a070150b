"""The coordinator web app: the nurse navigators' side of the navigator.

One blueprint, ``bp`` (``blueprint.py``), mounted at ``/``; each view module adds its
routes to it and is imported here. Every change a coordinator makes writes an audit row
(``navigator.audit``). The views are split by idea: auth, patients, appointments, inbox,
tryit, the audit log, the feed, the workup.

May import every layer below (channels, feed, patients, reminders, telephony, audit,
foundation, core); must not import ``cli`` or ``navigator.app``. Must not log patient data:
log ids only.
"""

from . import (  # noqa: F401  (each view module adds its routes to bp)
    account,
    appointment_pages,
    audit_log,
    auth,
    barriers,
    feed_pages,
    inbox,
    labelling,
    measure_pages,
    patient_contact,
    patient_pages,
    phone_change,
    phone_check,
    preferences,
    results,
    sessions,
    sign_in_limit,
    tryit,
    worklist,
    workup,
)
from .blueprint import bp, init_app  # noqa: F401  (the factory's entry)
