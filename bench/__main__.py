"""`make bench`: speed and memory of sending, submitting, releasing, pages and exports, as tables.

Sizes follow the issues' targets and can be made smaller for a quick look with
``WELLBEING_BENCH_STAFF`` (mail and submissions, 5,000 unless set; the sustained load, 3,000
unless set), ``WELLBEING_BENCH_SECONDS`` (how long the sustained load runs, 60 unless set) and
``WELLBEING_BENCH_SCALE`` (a factor on the release organisation and the two-year history).
``python -m bench NAME...`` runs only some of mail, submissions, release, dashboards, exports,
load. Tables are also written to ``bench-results/``.
"""

from __future__ import annotations

import os
import sys
import time

from bench import common, dashboards, exports, history, load, mail, release, submissions


def main() -> int:
    staff = int(os.environ.get("WELLBEING_BENCH_STAFF", "5000"))
    load_staff = int(os.environ.get("WELLBEING_BENCH_STAFF", "3000"))
    seconds = float(os.environ.get("WELLBEING_BENCH_SECONDS", "60"))
    scale = float(os.environ.get("WELLBEING_BENCH_SCALE", "1"))
    kinds = ["sqlite", "postgresql"] if common.postgres_available() else ["sqlite"]
    if "postgresql" not in kinds:
        print("PostgreSQL is not reachable: measuring SQLite only.", file=sys.stderr)
    started = time.monotonic()
    wanted = set(sys.argv[1:]) or {
        "mail",
        "submissions",
        "release",
        "dashboards",
        "exports",
        "load",
    }
    tables = []
    if "mail" in wanted:
        tables.append(mail.run(staff))
    if "submissions" in wanted:
        tables.append(submissions.run(staff, kinds))
    if "release" in wanted:
        tables.append(release.run(scale))
    if wanted & {"dashboards", "exports"}:
        with history.organisation(scale) as org:
            if "dashboards" in wanted:
                tables.append(dashboards.run(org))
            if "exports" in wanted:
                tables.append(exports.run(org))
    if "load" in wanted:
        from tests.pg_instance import binaries

        if binaries() is None:
            print("PostgreSQL's initdb is not installed: no sustained load.", file=sys.stderr)
        else:
            tables.append(load.run(load_staff, seconds))
    common.RESULTS.mkdir(exist_ok=True)
    report = "\n".join(tables)
    (common.RESULTS / "latest.md").write_text(report, encoding="utf-8")
    print(report)
    print(f"(all measurements took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
