"""Time and peak memory of each export format for the whole two-year history.

Each export runs as ``wellbeing export`` in a process of its own, exactly as a coordinator would
run it. Its peak resident memory is the kernel's high-water mark for that program (``VmHWM``,
which starts afresh when the program is loaded, unlike ``ru_maxrss``, which would still count
the bench process it was forked from), read as the program exits. The same for a command that
only starts the app gives the floor every command pays.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common
from bench.history import Organisation

FORMATS = ("csv", "xlsx", "pdf")
TARGET_MB = 200


# Runs the command line in this interpreter and writes its memory high-water mark on exit.
PEAK = """
import atexit, os, sys

def _peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(os.environ["WELLBEING_BENCH_PEAK_FILE"], "w") as out:
                    out.write(line.split()[1])

atexit.register(_peak)
from wellbeing.cli import main
sys.argv = ["wellbeing", *sys.argv[1:]]
sys.exit(main())
"""


def run(org: Organisation) -> str:
    env = dict(os.environ)
    env.update(WELLBEING_DATABASE_URL=org.url, WELLBEING_SECRET_KEY=common.SECRET)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="wellbeing-bench-export-") as folder:
        seconds, peak = _measure(["routes"], env, folder)
        rows.append(["app start only (`wellbeing routes`)", seconds, peak, "", ""])
        for fmt in FORMATS:
            out = Path(folder) / f"all.{fmt}"
            seconds, peak = _measure(["export", "--format", fmt, "--out", str(out)], env, folder)
            size = out.stat().st_size / 1e6
            rows.append([fmt.upper(), seconds, peak, size, "yes" if peak < TARGET_MB else "no"])
            out.unlink()
    return common.table(
        f"Exports of the whole organisation: {org.units} units, {org.waves} biweekly waves, "
        f"{org.cells_per_wave:,} cells a wave (SQLite, `wellbeing export`, one process each)",
        ["what", "seconds", "peak memory MB", "file MB", f"under {TARGET_MB} MB"],
        rows,
    )


def _measure(argv: list[str], env: dict[str, str], folder: str) -> tuple[float, float]:
    """Wall time and peak resident memory (MB) of one command run to its end."""
    peak_file = Path(folder) / "peak"
    env = {**env, "WELLBEING_BENCH_PEAK_FILE": str(peak_file)}
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.run(
            [sys.executable, "-c", PEAK, *argv],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            check=False,
        )
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {message}")
    return seconds, int(peak_file.read_text()) / 1024
