"""The scheduling feed: HL7 SIU messages from the hospital (parsing in ``siu``, the MLLP
``listener``, ``intake`` that keeps and dispatches them, ``apply`` that turns an event
into an appointment change) and the CSV appointment import.

May import the layers below (patients, reminders, telephony, audit, foundation, core);
must not import channels, coordinator or cli. ``python -m navigator.feed`` runs the
listener (the Procfile's ``hl7:`` line).
"""
