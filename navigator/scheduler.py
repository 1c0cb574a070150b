"""The reminder worker process (placeholder until reminders land)."""

import sys


def main() -> None:
    sys.stderr.write("navigator worker: reminders are not built yet; nothing to run.\n")
    raise SystemExit(1)


if __name__ == "__main__":
    main()
