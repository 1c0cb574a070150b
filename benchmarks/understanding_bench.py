"""The understanding step alone: time per message, time to be ready, memory it adds.

Reads every corpus message (rules, then the model, then the language) one at a time, as a
webhook does, and reports the median and the 99th percentile. Start-up is measured in a
fresh process: importing scikit-learn and lingua, loading the cached model (trained first
if the corpus changed) and building the language detector. Memory is the resident set
size of that process before and after.

Usage: .venv/bin/python benchmarks/understanding_bench.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STARTUP = """
import json, sys, time
from pathlib import Path

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

sys.path.insert(0, {root!r})
from navigator.content import load
from navigator.screening import Screen
from navigator import understanding
root = Path({root!r}) / "messages"
screen = Screen(load(root))
before = rss_mib()
started = time.perf_counter()
reader = understanding.Understanding(root, screen, cache_dir=Path({cache!r}))
reader.warm()
ready = time.perf_counter() - started
print(json.dumps({{"ready_s": ready, "rss_before_mib": before, "rss_after_mib": rss_mib()}}))
"""


def startup(cache: str) -> dict:
    code = STARTUP.format(root=str(ROOT), cache=cache)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def per_message(cache: str, rounds: int) -> dict:
    from navigator.content import load
    from navigator.screening import Screen
    from navigator.understanding import Understanding, load_corpus

    root = ROOT / "messages"
    reader = Understanding(root, Screen(load(root)), cache_dir=Path(cache))
    reader.warm()
    texts = [e.text for e in load_corpus(root)]
    timings = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            reader.read(text)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "messages": len(timings),
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[int(len(timings) * 0.99) - 1],
        "max_ms": timings[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        first = startup(cache)  # trains and caches the model (a new corpus version)
        warm = startup(cache)  # what a web worker does at start-up with the cache present
        timing = per_message(cache, args.rounds)
    print(f"first start (trains the model): {first['ready_s']:.2f} s")
    print(f"start-up with the cached model: {warm['ready_s']:.2f} s")
    added = warm["rss_after_mib"] - warm["rss_before_mib"]
    print(f"memory added to the process: {added:.0f} MiB (RSS {warm['rss_after_mib']:.0f} MiB)")
    print(
        f"per message over {timing['messages']} readings: p50 {timing['p50_ms']:.2f} ms, "
        f"p99 {timing['p99_ms']:.2f} ms, max {timing['max_ms']:.2f} ms"
    )


if __name__ == "__main__":
    main()
