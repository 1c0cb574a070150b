"""Patients and what is known about them: enrolment with consent, practice patients,
appointments, change notices, the identity check, the workup, its path and its measures.

May import ``core``, the foundation modules, ``telephony`` and ``reminders`` (scheduling
or moving an appointment replans its reminders); must not import channels, feed,
coordinator or cli.
"""
