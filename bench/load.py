"""Sustained load: every member of staff follows their emailed link and answers, for a minute.

An organisation of ``WELLBEING_BENCH_STAFF`` people (3,000 unless set) lives on a PostgreSQL
server of the bench's own; gunicorn serves the app. Browsers, as threads in a few client
processes, each take the next unused link and do what a person's browser does: follow the link
(GET, 303), load the form (GET), post the answers with the form's CSRF token (POST, 303) and load
the thank-you page (GET). They go on as fast as the answers come back for
``WELLBEING_BENCH_SECONDS`` (60 unless set); a visit under way at the end is finished.

A link can be answered once, and a minute at full speed uses up more than 3,000 links, so the
organisation has several programs open at once, each with an open wave covering everyone: each
person holds one link per open wave, and the links are used wave after wave, as if everyone
worked through the pulses in their inbox in turn. ``WELLBEING_BENCH_LOAD_WAVES`` sets how many
(enough for the whole run unless set; the table says so if the links ran out first).

The run is repeated on a fresh server that is crashed (stopped without a checkpoint) and started
again half-way through. A browser shown the retry page (503 with Retry-After), or whose
connection failed, reloads after a short wait, as a person would. Afterwards the bench checks in
the database that every submission acknowledged with a success response is stored, and raises
if any is missing.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from bench import common

CORES = os.cpu_count() or 1
WORKERS = 2 * CORES + 1  # sync workers: a few more than cores, as each waits on the database
PROCESSES = CORES  # client processes, so no one interpreter lock limits the browsers
BROWSERS = 2 * WORKERS  # concurrent browsers in all: every worker busy, little queueing
TIMEOUT = 30  # seconds a browser waits for an answer
RELOAD_AFTER = 1.0  # seconds a person waits on the retry page before trying again
GIVE_UP = 120.0  # seconds after which a person stops reloading
DOWN_SECONDS = 1.0  # how long the crashed server stays down before it is started again
STEPS = {
    "link": "link: GET /s/<token> → 303",
    "form": "form: GET /survey → 200",
    "answers": "answers: POST /survey → 303",
    "thanks": "thanks: GET /survey/thanks → 200",
}


@dataclass
class Seen:
    """What one browser thread, then one client process, saw."""

    requests: list[tuple[str, str, float, float]] = field(default_factory=list)
    visits: list[float] = field(default_factory=list)  # seconds per completed visit
    acknowledged: list[str] = field(default_factory=list)  # tokens whose answers were taken
    already_in: list[str] = field(default_factory=list)  # 409 on a re-sent post
    abandoned: int = 0
    retries: int = 0
    outages: list[float] = field(default_factory=list)  # first failure to success, per step
    unused: int = 0  # links left when the time was up
    cpu_seconds: float = 0.0
    busiest: float = 0.0  # the busiest client process's share of one core (its GIL's limit)

    def add(self, other: Seen) -> None:
        self.requests += other.requests
        self.visits += other.visits
        self.acknowledged += other.acknowledged
        self.already_in += other.already_in
        self.abandoned += other.abandoned
        self.retries += other.retries
        self.outages += other.outages
        self.unused += other.unused
        self.cpu_seconds += other.cpu_seconds
        self.busiest = max(self.busiest, other.busiest)


def run(staff: int, seconds: float) -> str:
    waves = int(os.environ.get("WELLBEING_BENCH_LOAD_WAVES", "0")) or None
    steady = _run_once(staff, seconds, waves, restart=False)
    restarted = _run_once(staff, seconds, waves, restart=True)
    report = _tables(staff, seconds, steady, restarted)
    missing = restarted.missing + steady.missing
    if missing:
        print(report)
        raise RuntimeError(f"{missing} acknowledged submissions are not in the database")
    return report


@dataclass
class Result:
    """One run: what the browsers saw, what the database holds, what the server logged."""

    seen: Seen
    duration: float
    waves: int
    links: int
    stored: int
    answer_sets: int
    missing: int
    log: collections.Counter[str]
    cpu: dict[str, float]
    down: tuple[float, float] | None


def _run_once(staff: int, seconds: float, waves: int | None, restart: bool) -> Result:
    with common.private_postgres() as server:
        waves = waves or _waves_needed(staff, seconds)
        links = _organisation(server.url, staff, waves)
        log = Path(tempfile.mkstemp(prefix="wellbeing-load-", suffix=".log")[1])
        masters: list[int] = []
        with common.gunicorn(server.url, workers=WORKERS, log=log, pids=masters) as base:
            _settle(masters[0], server)
            seen, duration, cpu, down = _drive(base, list(links), seconds, server, masters, restart)
        stored, answer_sets, missing = _check(server.url, links, seen.acknowledged)
    text = log.read_text(encoding="utf-8", errors="replace")
    log.unlink()
    common.RESULTS.mkdir(exist_ok=True)  # kept for reading the tracebacks behind any 500
    name = "load-restart-gunicorn.log" if restart else "load-steady-gunicorn.log"
    (common.RESULTS / name).write_text(text, encoding="utf-8")
    counts = _log_counts(text)
    return Result(
        seen, duration, waves, len(links), stored, answer_sets, missing, counts, cpu, down
    )


def _waves_needed(staff: int, seconds: float) -> int:
    """Enough links for the run at a rate well above what this machine can reach."""
    ceiling = 60 * CORES  # visits per second; the table says so should the links run out
    return max(2, math.ceil(ceiling * seconds / staff))


def _organisation(url: str, staff: int, waves: int) -> dict[str, int]:
    """The staff, ``waves`` open programs over all of them, and every link: token → invitation."""
    from wellbeing import create_app
    from wellbeing.extensions import db

    app = create_app(common.bench_config(url))
    links: dict[str, int] = {}
    with app.app_context():
        common.import_roster(common.roster_csv(staff, teams=60))
        for number in range(waves):
            links |= common.link_tokens(common.open_wave_now(f"load-{number}"))
        db.engine.dispose()
    return links


def _drive(
    base: str,
    tokens: list[str],
    seconds: float,
    server: Any,
    masters: list[int],
    restart: bool,
) -> tuple[Seen, float, dict[str, float], tuple[float, float] | None]:
    """Browsers in client processes until the time is up; crash the database half-way if asked."""
    start_at = time.monotonic() + 5  # the client processes start and import first
    until = start_at + seconds
    share = math.ceil(BROWSERS / PROCESSES)
    with ProcessPoolExecutor(PROCESSES, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_client, base, tokens[n::PROCESSES], share, start_at, until)
            for n in range(PROCESSES)
        ]
        time.sleep(max(0.0, start_at - time.monotonic()))
        before = _cpu(masters[0], server)
        down = None
        crashed = 0.0  # CPU seconds the crashed server had used during the run
        if restart:
            time.sleep(max(0.0, start_at + seconds / 2 - time.monotonic()))
            crashed = _cpu(masters[0], server)["postgres"] - before["postgres"]
            stopped = time.monotonic()
            server.crash_and_restart(DOWN_SECONDS)
            down = (stopped - start_at, time.monotonic() - start_at)
            before["postgres"] = -crashed  # the new server starts from nothing
        seen = Seen()
        for future in futures:
            seen.add(future.result())
    finished = max((s + t for _, _, s, t in seen.requests), default=start_at)
    after = _cpu(masters[0], server)
    duration = finished - start_at
    cpu = {name: (after[name] - before[name]) / duration for name in after}
    cpu["browsers"] = seen.cpu_seconds / duration
    cpu["others"] = cpu["machine"] - cpu["gunicorn"] - cpu["postgres"] - cpu["browsers"]
    return seen, duration, cpu, down


def _settle(master: int, server: Any) -> None:
    """Wait until every worker has built its app: gunicorn's processes fall quiet."""
    deadline = time.monotonic() + 180
    last = _cpu(master, server)["gunicorn"]
    while time.monotonic() < deadline:
        time.sleep(1)
        now = _cpu(master, server)["gunicorn"]
        if now - last < 0.05:
            return
        last = now


def _client(base: str, tokens: list[str], browsers: int, start_at: float, until: float) -> Seen:
    """One client process: ``browsers`` threads sharing its links."""
    work = collections.deque(tokens)
    seen = [Seen() for _ in range(browsers)]
    threads = [threading.Thread(target=_browse, args=(base, work, until, mine)) for mine in seen]
    time.sleep(max(0.0, start_at - time.monotonic()))
    cpu = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    used = time.process_time() - cpu
    total = Seen(unused=len(work), cpu_seconds=used, busiest=used / (time.monotonic() - start_at))
    for mine in seen:
        total.add(mine)
    return total


def _browse(base: str, work: collections.deque[str], until: float, seen: Seen) -> None:
    while time.monotonic() < until:
        try:
            token = work.popleft()
        except IndexError:
            return
        _visit(base, token, seen)


def _visit(base: str, token: str, seen: Seen) -> None:
    """One person's browser: link, form, answers, thank-you page."""
    started = time.monotonic()
    with requests.Session() as browser:
        link = _step(
            seen,
            "link",
            lambda: browser.get(f"{base}/s/{token}", allow_redirects=False, timeout=TIMEOUT),
            303,
        )
        if link is None:
            return
        page = _step(seen, "form", lambda: browser.get(f"{base}/survey", timeout=TIMEOUT), 200)
        if page is None:
            return
        data = common.form_answers(page.text)
        sent = _step(
            seen,
            "answers",
            lambda: browser.post(
                f"{base}/survey", data=data, allow_redirects=False, timeout=TIMEOUT
            ),
            303,
            again=409,
        )
        if sent is None:
            return
        if sent.status_code == 303:
            seen.acknowledged.append(token)
        else:
            seen.already_in.append(token)
        thanks = _step(
            seen, "thanks", lambda: browser.get(f"{base}/survey/thanks", timeout=TIMEOUT), 200
        )
        if thanks is None:
            return
    seen.visits.append(time.monotonic() - started)


def _step(
    seen: Seen,
    step: str,
    send: Callable[[], requests.Response],
    expected: int,
    again: int | None = None,
) -> requests.Response | None:
    """Send until the expected answer, reloading after a retry page or a failed connection.

    ``again`` is an answer accepted only on a retry: a re-sent post may find its answers in.
    """
    first_failure: float | None = None
    while True:
        sent_at = time.monotonic()
        response: requests.Response | None = None
        try:
            response = send()
            kind = _kind(response, expected)
            if first_failure is not None and response.status_code == again:
                kind = "already in"
        except requests.RequestException:
            kind = "connection"
        seen.requests.append((step, kind, sent_at, time.monotonic() - sent_at))
        if response is not None and kind in ("ok", "already in"):
            if first_failure is not None:
                seen.outages.append(time.monotonic() - first_failure)
            return response
        if kind in ("retry page", "connection"):
            first_failure = first_failure or sent_at
            if time.monotonic() - first_failure < GIVE_UP:
                seen.retries += 1
                time.sleep(RELOAD_AFTER)
                continue
        seen.abandoned += 1
        return None


def _kind(response: requests.Response, expected: int) -> str:
    status = response.status_code
    if status == expected:
        return "ok"
    if status == 503 and "Retry-After" in response.headers:
        return "retry page"
    if status >= 500:
        return f"{status}"
    if status >= 400:
        return f"{status}"
    return f"unexpected {status}"


def _cpu(master: int, server: Any) -> dict[str, float]:
    """CPU seconds used so far by gunicorn's and PostgreSQL's process trees, and by all."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        used[pid] = sum(int(f) for f in fields[11:15]) / tick  # utime stime cutime cstime

    def tree(root: int) -> float:
        total, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            total += used.get(pid, 0.0)
            stack += [child for child, parent in parents.items() if parent == pid]
        return total

    cpu = {"gunicorn": tree(master), "postgres": 0.0}
    with contextlib.suppress(OSError, ValueError, IndexError):  # between crash and start
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
        cpu["postgres"] = tree(postmaster)
    # The whole machine: user, nice, system, irq and softirq time of every core.
    times = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    cpu["machine"] = (sum(times[0:3]) + times[5] + times[6]) / tick
    return cpu


def _check(url: str, links: dict[str, int], acknowledged: list[str]) -> tuple[int, int, int]:
    """Answered invitations, sealed answer sets (the waves are still open, so the answers are
    in the buffer), and acknowledged submissions whose invitation is not marked answered."""
    from wellbeing import create_app
    from wellbeing.extensions import db
    from wellbeing.pulse.models import Invitation
    from wellbeing.responses.models import Submission

    app = create_app(common.bench_config(url))
    with app.app_context():
        responded = set(db.session.scalars(sa.select(Invitation.id).where(Invitation.responded)))
        answer_sets = db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) or 0
        db.engine.dispose()
    missing = {links[token] for token in acknowledged} - responded
    return len(responded), int(answer_sets), len(missing)


# The last line of a traceback: a dotted exception name, or a builtin one, then its message.
_EXCEPTION = re.compile(r"^([A-Za-z_]\w*(?:\.\w+)+|[A-Z]\w*(?:Error|Exception))(?::|$)")


def _log_counts(text: str) -> collections.Counter[str]:
    """Exception types and worker trouble in gunicorn's log."""
    counts: collections.Counter[str] = collections.Counter()
    for line in text.splitlines():
        if found := _EXCEPTION.match(line.strip()):
            counts[found.group(1)] += 1
        elif "WORKER TIMEOUT" in line:
            counts["gunicorn worker timeout"] += 1
        elif "commit failed" in line:
            counts["commit failed (logged by the app)"] += 1
        elif "Exception on " in line:
            where = line.split("Exception on ", 1)[1].strip()
            counts[f"unhandled exception on {where} (logged by Flask)"] += 1
    return counts


def _tables(staff: int, seconds: float, steady: Result, restarted: Result) -> str:
    runs = [("steady", steady), ("database restarted", restarted)]
    rows: list[list[object]] = []
    for name, result in runs:
        by_step: dict[str, list[float]] = collections.defaultdict(list)
        for step, kind, _, took in result.seen.requests:
            if kind == "ok":
                by_step[step].append(took)
        every = [took for samples in by_step.values() for took in samples]
        for step, label in [*STEPS.items(), ("all", "every successful request")]:
            samples = every if step == "all" else by_step[step]
            rows.append([name, label, *_rate(samples, result.duration)])
        rows.append(
            [name, "whole visit (the four requests)", *_rate(result.seen.visits, result.duration)]
        )
    first = steady
    latency = common.table(
        f"Sustained load: {staff:,} staff × {first.waves} open pulses "
        f"({first.links:,} single-use links), gunicorn {WORKERS} sync workers, "
        f"{BROWSERS} browsers in {PROCESSES} client processes, {seconds:.0f} s on {CORES} cores",
        ["run", "request", "count", "per second", "p50 ms", "p99 ms (target < 200)"],
        rows,
    )
    measures: list[tuple[str, Callable[[Result], object]]] = [
        ("duration, s", lambda r: r.duration),
        ("requests answered", lambda r: len(r.seen.requests)),
        ("submissions acknowledged (303)", lambda r: len(r.seen.acknowledged)),
        ("submissions per second", lambda r: len(r.seen.acknowledged) / r.duration),
        ("errors: 5xx other than the retry page", lambda r: _errors(r, lambda k: k[0] == "5")),
        ("errors: 503 retry pages", lambda r: _errors(r, lambda k: k == "retry page")),
        (
            "errors: connection failed or timed out",
            lambda r: _errors(r, lambda k: k == "connection"),
        ),
        ("errors: 4xx", lambda r: _errors(r, lambda k: k[0] == "4")),
        ("errors: other unexpected answers", lambda r: _errors(r, lambda k: k[0] == "u")),
        ("reloads after a retry page or failed connection", lambda r: r.seen.retries),
        ("visits given up", lambda r: r.seen.abandoned),
        ("longest outage a browser saw, s", lambda r: max(r.seen.outages, default=0.0)),
        ("re-sent answers found already in (409)", lambda r: len(r.seen.already_in)),
        ("answered invitations in the database", lambda r: r.stored),
        ("sealed answer sets in the database", lambda r: r.answer_sets),
        ("acknowledged but not in the database", lambda r: r.missing),
        ("links left unused at the end", lambda r: r.seen.unused),
        ("server CPU per visit (gunicorn + PostgreSQL), ms", _cpu_per_visit),
        ("CPU cores used: browsers", lambda r: r.cpu.get("browsers", 0.0)),
        ("busiest client process, share of one core", lambda r: r.seen.busiest),
        ("CPU cores used: gunicorn", lambda r: r.cpu.get("gunicorn", 0.0)),
        ("CPU cores used: PostgreSQL", lambda r: r.cpu.get("postgres", 0.0)),
        ("CPU cores used: everything else on the machine", lambda r: r.cpu.get("others", 0.0)),
    ]
    integrity = common.table(
        "Sustained load: errors and what the database holds afterwards",
        ["measure", *(name for name, _ in runs)],
        [[label, *(value(result) for _, result in runs)] for label, value in measures],
    )
    notes = [
        "Latencies are per successful request as the browser timed it (connect to last byte); "
        "a whole visit includes any waits on the retry page.",
        "The machine is shared: 'everything else on the machine' is CPU the bench did not use; "
        f"with all {CORES} cores free, the server CPU per visit bounds the rate at about "
        f"{CORES} × 1000 / that many visits per second.",
        f"In the restart run the database was down from {restarted.down[0]:.1f} s to "
        f"{restarted.down[1]:.1f} s (crash, {DOWN_SECONDS:.0f} s pause, start); browsers reload "
        f"{RELOAD_AFTER:.0f} s after a retry page or failed connection."
        if restarted.down
        else "",
    ]
    for name, result in runs:
        failed = collections.Counter(
            f"{step} {kind}" for step, kind, _, _ in result.seen.requests if kind != "ok"
        )
        listed = ", ".join(f"{what} × {n}" for what, n in sorted(failed.items())) or "none"
        notes.append(f"Answers other than the expected one, {name}: {listed}.")
    for name, result in runs:
        logged = ", ".join(f"{kind} × {n}" for kind, n in result.log.most_common()) or "nothing"
        notes.append(f"gunicorn's log, {name} (kept in bench-results/): {logged}.")
    notes += [_targets(name, result, restart=result is restarted) for name, result in runs]
    for name, result in runs:
        if result.seen.unused == 0:
            notes.append(f"The links ran out before the time was up in the {name} run.")
    return latency + "\n" + integrity + "\n" + "\n".join(f"- {n}" for n in notes if n) + "\n"


def _targets(name: str, result: Result, restart: bool) -> str:
    """The issue's targets against what was measured."""
    if restart:
        five_hundreds = _errors(result, lambda k: k[0] == "5")
        lost = "met" if not result.missing else f"NOT met ({result.missing} lost)"
        clean = "met" if not five_hundreds else f"NOT met ({five_hundreds})"
        return f"Targets, {name}: nothing acknowledged lost: {lost}; no 500s: {clean}."
    errors = _errors(result, lambda k: True)
    p99 = common.Latencies(
        [took for _, kind, _, took in result.seen.requests if kind == "ok"] or [0.0]
    ).percentile(99)
    zero = "met" if not errors else f"NOT met ({errors})"
    fast = "met" if p99 < 200 else f"NOT met ({p99:,.0f} ms)"
    return f"Targets, {name}: zero errors: {zero}; p99 under 200 ms per request: {fast}."


def _cpu_per_visit(result: Result) -> object:
    visits = len(result.seen.acknowledged)
    server = result.cpu.get("gunicorn", 0.0) + result.cpu.get("postgres", 0.0)
    return 1000 * server * result.duration / visits if visits else ""


def _rate(samples: list[float], duration: float) -> list[object]:
    if not samples:
        return [0, 0.0, "", ""]
    latencies = common.Latencies(samples)
    return [len(samples), len(samples) / duration, latencies.p50, latencies.percentile(99)]


def _errors(result: Result, which: Callable[[str], bool]) -> int:
    return sum(1 for _, kind, _, _ in result.seen.requests if kind != "ok" and which(kind))
