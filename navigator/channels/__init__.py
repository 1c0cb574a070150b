"""The ways a patient reaches the navigator and back: the SMS and voice webhooks, the
reminder, confirmation and coordinator call webhooks, the durable inbound path, the
stored turn of a conversation, and the outcomes that carry out a conversation's decisions.

May import every layer below (core, foundation, audit, telephony, reminders, patients);
must not import feed, coordinator or cli.
"""
