"""The understanding step alone: time per message, time to be ready, memory it adds.

Reads every corpus message (rules, then the model, then the language) one at a time, as a
webhook does, and reports the median and the 99th percentile, in elapsed time and in CPU
time (the CPU time of the reading thread barely moves when other processes load the
machine; elapsed time does). The first round reads each message for the first time; the
later ones find the words' look-ups remembered, as a web worker does after its first
hours. Start-up is measured in a fresh process, as a web worker starts (wsgi.py): load the
cached model (trained first if the corpus changed), read one message with it, and load
the quick (low-accuracy) language detector; then, as the first message whose language the
quick one is unsure of does, the high-accuracy detector. Memory is the resident set size
of that process before, when ready, and after the high-accuracy detector.

Usage: .venv/bin/python benchmarks/understanding_bench.py [--rounds 3] [--cache DIR]
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
from navigator.core.content import load
from navigator.core.screening import Screen
from navigator.core import understanding
root = Path({root!r}) / "messages"
screen = Screen(load(root))
before = rss_mib()
started, cpu = time.perf_counter(), time.process_time()
reader = understanding.Understanding(root, screen, cache_dir=Path({cache!r}))
reader.warm(quick=True)
ready, ready_cpu = time.perf_counter() - started, time.process_time() - cpu
model_rss = rss_mib()
understanding.detect_language("ok")  # unsure to the quick detector: loads the accurate one
print(json.dumps({{
    "ready_s": ready,
    "ready_cpu_s": ready_cpu,
    "detector_s": time.perf_counter() - started,
    "detector_cpu_s": time.process_time() - cpu,
    "rss_before_mib": before,
    "rss_model_mib": model_rss,
    "rss_after_mib": rss_mib(),
}}))
"""


def startup(cache: str) -> dict:
    code = STARTUP.format(root=str(ROOT), cache=cache)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def percentiles(values: list[float]) -> dict:
    values = sorted(values)
    return {
        "p50": statistics.median(values),
        "p99": values[int(len(values) * 0.99) - 1],
        "max": values[-1],
    }


def per_message(cache: str, rounds: int) -> list[dict]:
    """Each round's elapsed and CPU milliseconds per message."""
    from navigator.core.content import load
    from navigator.core.screening import Screen
    from navigator.core.understanding import Understanding, load_corpus

    root = ROOT / "messages"
    reader = Understanding(root, Screen(load(root)), cache_dir=Path(cache))
    reader.warm()
    texts = [e.text for e in load_corpus(root)]
    results = []
    for _ in range(rounds):
        wall, cpu = [], []
        for text in texts:
            started, used = time.perf_counter_ns(), time.thread_time_ns()
            reader.read(text)
            cpu.append((time.thread_time_ns() - used) / 1e6)
            wall.append((time.perf_counter_ns() - started) / 1e6)
        results.append({"messages": len(texts), "wall": percentiles(wall), "cpu": percentiles(cpu)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", help="a model cache to reuse (skips the first, training, start)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        cache = args.cache or scratch
        if not args.cache:
            first = startup(cache)  # trains and caches the model (a new corpus version)
            print(f"first start (trains the model): {first['detector_s']:.2f} s")
        warm = startup(cache)  # what a web worker does at start-up with the cache present
        rounds = per_message(cache, args.rounds)
    print(
        f"start-up with the cached model: model ready in {warm['ready_s']:.2f} s "
        f"(CPU {warm['ready_cpu_s']:.2f} s) with the quick language detector; the "
        f"high-accuracy detector, loaded by the first message that needs it, at "
        f"{warm['detector_s']:.2f} s (CPU {warm['detector_cpu_s']:.2f} s)"
    )
    model = warm["rss_model_mib"] - warm["rss_before_mib"]
    added = warm["rss_after_mib"] - warm["rss_before_mib"]
    print(
        f"memory added to the process: {model:.0f} MiB when ready (model and quick detector), "
        f"{added:.0f} MiB with the high-accuracy detector (RSS {warm['rss_after_mib']:.0f} MiB)"
    )
    for number, timing in enumerate(rounds, 1):
        wall, cpu = timing["wall"], timing["cpu"]
        print(
            f"round {number}, {timing['messages']} messages: elapsed p50 {wall['p50']:.2f} ms, "
            f"p99 {wall['p99']:.2f} ms, max {wall['max']:.2f} ms; CPU p50 {cpu['p50']:.2f} ms, "
            f"p99 {cpu['p99']:.2f} ms, max {cpu['max']:.2f} ms"
        )


if __name__ == "__main__":
    main()
