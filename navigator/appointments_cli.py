"""Placeholder: appointments, reminders and outbox commands arrive with the reminders issue."""


def init_app(app) -> None:
    return None
