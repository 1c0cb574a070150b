"""Appointment reminders: when they go, what they say, how fast they leave, and sending them.

One module for each job, so a change to one does not mean reading the others:
``planning`` (when each reminder goes; replanning when an appointment changes),
``wording`` (the words of a reminder text or call, and the preparation text),
``pacing`` (the site's send rate), ``worker`` (claim, send and settle each due reminder
exactly once, and apply delivery reports to reminders), and ``keypad`` (the reminder
call's keys). Imports among them point one way: ``worker`` uses the other three,
``wording`` uses ``planning``. The worker process itself is ``navigator.scheduler``; the
reminder *call* webhook and replies to reminders are channels
(``navigator.channels.reminder_calls``, ``navigator.channels.reminder_replies``).

May import ``core``, the foundation modules and ``telephony``; must not import patients,
channels, feed, coordinator or cli (an appointment's change asks this package to replan,
never the other way round).
"""
