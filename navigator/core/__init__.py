"""The pure conversation core: what the navigator says and understands, with no I/O.

Owns the conversation engine (``engine``), the menus, warning-sign screening, free-text
understanding, keywords, the glossary, word matching, the message catalogue's loading and
rendering (``content``), GSM-7 text and phone-number and name folding.

Must not import Flask, SQLAlchemy, Twilio or any other ``navigator`` package: it is tested
and benchmarked without an app, a database or a network.
"""
