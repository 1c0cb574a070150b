"""Twilio plumbing used by everything above it: the only code that talks to Twilio.

Owns sending texts and placing calls (``outbound``), the webhook signature check and
TwiML answers (``twiml``), delivery reports' state (``delivery``) and the local spool
that keeps a patient's words when the database cannot (``spool``).

May import ``core`` and the foundation modules (config, models, ...); must not import
reminders, patients, channels, feed, coordinator or cli: it knows messages and calls,
not what they are about.
"""
