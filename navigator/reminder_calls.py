"""Placeholder: TwiML for reminder calls arrives with the reminders issue."""

from flask import Blueprint

bp = Blueprint("reminder_calls", __name__, url_prefix="/twilio/reminder-call")
