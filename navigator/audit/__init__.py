"""The audit service: who did what to whose record, kept for the care team.

Owns writing audit events (``records``). The audit *page* is in the coordinator app.
May import the foundation modules only, so that the command-line tools and the feed can
record without loading the web app.
"""
