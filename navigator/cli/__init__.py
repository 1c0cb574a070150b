"""The ``flask`` command-line tools: patients, appointments, the understanding model and
coordinator accounts.

May import any layer below, and ``coordinator`` for its account rules; must not be
imported by anything but the app factory (``navigator.app``).
"""
