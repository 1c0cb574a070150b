"""The reminder call's keypad: which key does what, and the words that offer the keys.

Both come from messages/ (``reminder_keypad.yaml`` for the keys, checked by content.py;
``reminders.voice.keys`` for the words), so the call offers exactly the keys it obeys and a
key can be changed without touching Python. Read by the reminder call (reminder_calls.py)
and by the outbox page, which shows what a kept call would say.
"""

from __future__ import annotations

from ..catalog import catalog

#: What the conversation's reading of a caller's words stands for, as a key would
#: (``conversation.Effect('appointment_reply', detail)``).
SPOKEN = {"confirm": "confirm", "reschedule": "new_time"}


def action_for(key: str) -> str | None:
    """What pressing ``key`` does (confirm, new_time, repeat, person), or None."""
    return catalog().reminder_keys.get((key or "").strip()[:1])


def menu(language: str) -> str:
    """The keys offered, one sentence each, in the order messages/ lists them."""
    content = catalog()
    return " ".join(
        content.render(f"reminders.voice.keys.{action}", language, digit=key)
        for key, action in content.reminder_keys.items()
    )
