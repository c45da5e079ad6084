"""Time and peak memory of each export format for the whole two-year history.

Each export runs as ``wellbeing export`` in a process of its own, exactly as a coordinator would
run it, so its peak resident memory (from ``wait4``) is the export's own and nothing else's.
The same for a command that only starts the app gives the floor every command pays.
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


def run(org: Organisation) -> str:
    command = str(Path(sys.executable).with_name("wellbeing"))
    env = dict(os.environ)
    env.update(WELLBEING_DATABASE_URL=org.url, WELLBEING_SECRET_KEY=common.SECRET)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="wellbeing-bench-export-") as folder:
        seconds, peak = _measure([command, "routes"], env)
        rows.append(["app start only (`wellbeing routes`)", seconds, peak, "", ""])
        for fmt in FORMATS:
            out = Path(folder) / f"all.{fmt}"
            seconds, peak = _measure([command, "export", "--format", fmt, "--out", str(out)], env)
            size = out.stat().st_size / 1e6
            rows.append([fmt.upper(), seconds, peak, size, "yes" if peak < TARGET_MB else "no"])
            out.unlink()
    return common.table(
        f"Exports of the whole organisation: {org.units} units, {org.waves} biweekly waves, "
        f"{org.cells_per_wave:,} cells a wave (SQLite, `wellbeing export`, one process each)",
        ["what", "seconds", "peak memory MB", "file MB", f"under {TARGET_MB} MB"],
        rows,
    )


def _measure(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and peak resident memory of one command run to its end."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(argv[1:3])} failed: {message}")
    return seconds, usage.ru_maxrss / 1024
