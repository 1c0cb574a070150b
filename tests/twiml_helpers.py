"""Reading TwiML responses the way Twilio would: parsed XML, not string matching."""

from __future__ import annotations

import xml.etree.ElementTree as ET


def parse(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag == "Response"
    return root


def texts_of(data: bytes) -> list[str]:
    """The bodies of every <Message> in a messaging response."""
    return [(m.text or "").strip() for m in parse(data).iter("Message")]


def spoken(data: bytes) -> str:
    """Everything a caller hears (<Say> and its <prosody>), in order, as one string."""
    parts = []
    for say in parse(data).iter("Say"):
        parts.append("".join(say.itertext()).strip())
    return " ".join(parts)


def gather(data: bytes) -> ET.Element | None:
    return parse(data).find("Gather")


def redirect(data: bytes) -> str | None:
    element = parse(data).find("Redirect")
    return element.text if element is not None else None


def dial(data: bytes) -> ET.Element | None:
    return parse(data).find("Dial")
