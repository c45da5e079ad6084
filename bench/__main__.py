"""`make bench`: speed and memory of sending, submitting and releasing, printed as tables.

Sizes follow the issues' targets and can be made smaller for a quick look with
``WELLBEING_BENCH_STAFF`` (mail and submissions) and ``WELLBEING_BENCH_SCALE`` (a factor on the
release organisation). Tables are also written to ``bench-results/``.
"""

from __future__ import annotations

import os
import sys
import time

from bench import common, mail, release, submissions


def main() -> int:
    staff = int(os.environ.get("WELLBEING_BENCH_STAFF", "5000"))
    scale = float(os.environ.get("WELLBEING_BENCH_SCALE", "1"))
    kinds = ["sqlite", "postgresql"] if common.postgres_available() else ["sqlite"]
    if "postgresql" not in kinds:
        print("PostgreSQL is not reachable: measuring SQLite only.", file=sys.stderr)
    started = time.monotonic()
    tables = [
        mail.run(staff),
        submissions.run(staff, kinds),
        release.run(scale),
    ]
    common.RESULTS.mkdir(exist_ok=True)
    report = "\n".join(tables)
    (common.RESULTS / "latest.md").write_text(report, encoding="utf-8")
    print(report)
    print(f"(all measurements took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
