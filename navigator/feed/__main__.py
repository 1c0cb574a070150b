"""``python -m navigator.feed``: the HL7 listener as a process of its own (the Procfile's
``hl7:`` line). An entry point: it builds the app, so it sits above every layer."""

import asyncio

from ..app import create_app
from .listener import serve


def main() -> None:
    asyncio.run(serve(create_app({"DATABASE_PRE_PING": False})))


if __name__ == "__main__":
    main()
