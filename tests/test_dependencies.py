"""The lock files hold every pinned requirement, at its pinned version, with hashes.

A dependency added to requirements*.txt without running ``scripts/lock`` fails here, before
``scripts/setup`` (which installs only from the locks, with ``--require-hashes``) would.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;#]+)", re.MULTILINE)


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw.split("[")[0]).lower()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
        match = PIN.match(line)
        if match:
            found[_name(match.group(1))] = match.group(2)
    return found


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) from a pip-compile --generate-hashes file."""
    entries = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", path.read_text()):
        match = PIN.match(block)
        if match:
            entries[_name(match.group(1))] = (match.group(2), block.count("--hash=sha256:"))
    return entries


@pytest.mark.parametrize(
    "requirements,lock",
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_every_pinned_requirement_is_locked_at_its_version_with_hashes(requirements, lock):
    wanted = pins(ROOT / requirements)
    have = locked(ROOT / lock)
    missing = {name: version for name, version in wanted.items() if name not in have}
    assert not missing, f"run scripts/lock: {sorted(missing)} not in {lock}"
    differ = {n: (v, have[n][0]) for n, v in wanted.items() if have[n][0] != v}
    assert not differ, f"run scripts/lock: pinned vs locked {differ}"
    unhashed = sorted(name for name, (_, hashes) in have.items() if hashes == 0)
    assert not unhashed, f"locked without hashes: {unhashed}"
    assert len(have) > len(wanted)  # the transitive dependencies are locked too
