"""A durable local spool: what a patient sent while the database could not take it.

When a webhook cannot store a text or a call step (the database is down, hung or failing),
it appends the step here as one JSON line, flushed and fsync'd to disk *before* Twilio gets
its answer, so a crash a moment later still keeps it. When the database is back, ``drain``
hands each kept step to a handler (``durable_inbound.replay``), which stores, screens and
alerts it once (by its Twilio SID), and forgets it only when the handler succeeded.

The spool holds patient words on the app's own disk: the folder and files are readable by
the app's user only (0700/0600), and a drained file is deleted. Several web processes and
the worker may share the folder: an append takes a short exclusive lock; a drain takes the
whole file away under that lock (a rename), so writers never wait for a slow drain, and a
second lock lets one drain run at a time.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

SPOOL = "inbound.jsonl"
DRAINING = "draining.jsonl"
#: A step that failed this many drains stays in the spool but is reported each time.
NOISY_AFTER = 3


class Spool:
    """The spool in ``folder`` (made, private, on first use)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._kept_files = tuple(os.path.join(self.folder, name) for name in (SPOOL, DRAINING))

    def _ready(self) -> Path:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.folder

    @contextmanager
    def _lock(self, name: str, blocking: bool = True):
        with open(self._ready() / name, "a") as handle:
            flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
            try:
                fcntl.flock(handle, flags)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def keep(self, step: dict) -> None:
        """Append one step and make sure it is on the disk before returning.

        :raise OSError: the disk refused it (the caller still answers the patient).
        """
        line = (json.dumps(step, ensure_ascii=False, sort_keys=True) + "\n").encode()
        with self._lock("append.lock"):
            descriptor = os.open(
                self._ready() / SPOOL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600
            )
            try:
                os.write(descriptor, line)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)

    def waiting(self) -> bool:
        """True when something is kept (a cheap check: a stat a file, no lock; every
        webhook that reached the database asks, see durable_inbound.drain_soon)."""
        for path in self._kept_files:
            try:
                if os.stat(path).st_size > 0:
                    return True
            except FileNotFoundError:
                continue
        return False

    def steps(self) -> list[dict]:
        """Everything kept, oldest first (for tests and the command line)."""
        kept = []
        for name in (DRAINING, SPOOL):
            path = self.folder / name
            if path.exists():
                kept.extend(_read(path))
        return kept

    def drain(self, handle: Callable[[dict], None]) -> tuple[int, int]:
        """Give each kept step to ``handle``; return (done, still kept).

        A step whose handler raised is kept for the next drain, with its count of tries.
        Only one drain runs at a time; a second one returns (0, 0) at once.
        """
        with self._lock("drain.lock", blocking=False) as mine:
            if not mine:
                return 0, 0
            draining = self.folder / DRAINING
            if not draining.exists():  # a drain that died part way left its file: redo it
                with self._lock("append.lock"):
                    if not (self.folder / SPOOL).exists():
                        return 0, 0
                    os.replace(self.folder / SPOOL, draining)
            done, failed = 0, []
            for step in _read(draining):
                try:
                    handle(step)
                    done += 1
                except Exception as exc:  # noqa: BLE001 - one bad step must not stop the rest
                    step["tries"] = step.get("tries", 0) + 1
                    failed.append(step)
                    level = logging.ERROR if step["tries"] >= NOISY_AFTER else logging.WARNING
                    log.log(
                        level,
                        "spooled %s %s not stored yet (try %d): %s",
                        step.get("kind"),
                        step.get("sid"),
                        step["tries"],
                        type(exc).__name__,
                    )
            for step in failed:
                self.keep(step)
            draining.unlink()
            return done, len(failed)


def _read(path: Path) -> list[dict]:
    steps = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                steps.append(json.loads(line))
            except json.JSONDecodeError:
                # Only a line cut short by a crash mid-write can be broken; it was never
                # acknowledged to Twilio (fsync comes before the answer), so Twilio retries it.
                log.warning("a spooled line was cut short and is skipped")
    return steps
