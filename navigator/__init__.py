"""The recurrence navigator: an SMS and voice guide through the workup after breast
cancer comes back, and a small web app for the nurse navigators who run it.

The package is layered (docs/architecture.md, enforced by tests/test_layers.py); each
sub-package's docstring says what it owns and what it must not import. ``navigator.app``
builds the Flask app; this file imports nothing, so loading one pure module (say
``navigator.core.matching``) never loads Flask, the database or Twilio.
"""
