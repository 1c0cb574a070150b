"""Appointment reminders: planning them, wording them, pacing and sending them, and
understanding a patient's reply to one.

Owns the reminder worker's jobs (``worker``) and replies to reminders (``replies``).
The worker process itself is ``navigator.scheduler``; the reminder *call* webhook is a
channel (``navigator.channels.reminder_calls``).

May import ``core``, the foundation modules and ``telephony``; must not import patients,
channels, feed, coordinator or cli (an appointment's change asks this package to replan,
never the other way round).
"""
