"""Placeholder: the coordinator web app arrives with its issue."""


def init_app(app) -> None:
    return None
