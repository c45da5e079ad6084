"""Retention: raw answers of old released waves are deleted; releases and every result stay.

Histories are built through the real services, then aged by moving every wave's dates back
so that some closed more than the retention period ago.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests import pulse_helpers as h
from tests import release_helpers as rh
from tests import report_helpers as reports_h
from tests import web
from tests.factories import PASSWORD
from wellbeing import config as settings
from wellbeing import create_app
from wellbeing.config import ConfigError
from wellbeing.extensions import db
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import PulseProgram, Wave, WaveStatus
from wellbeing.releases import gate
from wellbeing.releases import service as releases
from wellbeing.releases.models import Release, ReleaseCell, ReleasedComment
from wellbeing.responses import service as answers
from wellbeing.responses.service import RawCounts
from wellbeing.retention import service as retention
from wellbeing.retention.models import RetentionRun, RunTrigger, WaveDeletion
from wellbeing.scheduler import jobs
from wellbeing.types import utcnow

DAYS = 400


# ---------------------------------------------------------------- helpers


def on_time(waves: list[Wave]) -> None:
    """Give closed waves the close the scheduler gives them: at the end of their window."""
    for wave in waves:
        if wave.closed_at is not None:
            wave.closed_at = wave.closes_at
    db.session.flush()


def age(days: float) -> None:
    """Move every wave's dates back by ``days``, as if it all happened that much earlier."""
    shift = timedelta(days=days)
    for wave in db.session.scalars(sa.select(Wave)):
        wave.opens_at -= shift
        wave.closes_at -= shift
        wave.scheduled_for -= shift
        if wave.closed_at is not None:
            wave.closed_at -= shift
    db.session.flush()


def age_past(due: list[Wave], kept: list[Wave] | None = None) -> None:
    """Age every wave so that ``due`` closed more than the period ago and ``kept`` less."""
    on_time([*due, *(kept or [])])
    cutoff = utcnow() - timedelta(days=DAYS)
    last_due = max(retention.closed_at(w) for w in due)
    first_kept = min(retention.closed_at(w) for w in kept) if kept else last_due + timedelta(2)
    middle = last_due + (first_kept - last_due) / 2
    age((middle - cutoff) / timedelta(days=1))


def raw(wave: Wave) -> RawCounts:
    return answers.raw_counts(wave.id)


def small_program(people: int = 6, waves: int = 2, release: bool = True) -> list[Wave]:
    """A six-person team answering ``waves`` biweekly waves, each released unless told not to."""
    h.staff("North", people)
    program = h.program()
    made = []
    for index in range(waves):
        wave = rh.run_wave(program, rh.steady(), seed=index, now=h.NOW + timedelta(days=14 * index))
        if release:
            releases.compute_release(wave)
        made.append(wave)
    on_time(made)
    return made


def run(runner: FlaskCliRunner, *args: str) -> tuple[int, str]:
    db.session.commit()  # what the test built, as a real database would hold it
    result = runner.invoke(args=["retention", *args])
    return result.exit_code, result.output


def sign_in(client: FlaskClient, email: str) -> None:
    token = web.csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


CSRF = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+(")|(name="csrf-token" content=")[^"]+(")')


def _normalised(html: str) -> str:
    return CSRF.sub(lambda m: "".join(g for g in m.groups() if g and "csrf" in g) + '"', html)


def everything_shown(
    client: FlaskClient, runner: FlaskCliRunner, history: reports_h.History, token: str
) -> dict[str, Any]:
    """Every page, API answer, CSV export and gate read of the history, as the admin gets them."""
    waves = [w.id for w in history.waves]
    units = [history.unit(p).id for p in ("", "Child Welfare", "Home Visiting", *reports_h.TEAMS)]
    pages = ["/results/", "/results/heatmap", "/results/equity", "/results/participation"]
    for wave_id in waves:
        pages += [f"/results/heatmap?wave={wave_id}", f"/results/equity?wave={wave_id}"]
        pages += [f"/results/participation?wave={wave_id}"]
        pages += [f"/results/units/{unit_id}?wave={wave_id}" for unit_id in units]
    api = ["/api/v1/", "/api/v1/programs", "/api/v1/units", "/api/v1/waves", "/api/v1/heatmap"]
    api += [f"/api/v1/waves?program={history.program.key}"]
    for wave_id in waves:
        api += [f"/api/v1/waves/{wave_id}/cells", f"/api/v1/waves/{wave_id}/comments"]
        api += [f"/api/v1/heatmap?wave={wave_id}"]
    api += [f"/api/v1/units/{unit_id}/trends" for unit_id in units]
    shown: dict[str, Any] = {}
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        shown[path] = _normalised(response.get_data(as_text=True))
    auth = {"Authorization": f"Bearer {token}"}
    for path in api:
        response = client.get(path, headers=auth)
        assert response.status_code == 200, path
        shown[path] = response.json
    with client.get("/results/export/csv") as response:
        assert response.status_code == 200
        shown["csv"] = response.get_data()
    shown["gate"] = gate.released_history(history.admin, wave_ids=waves)
    shown["comments"] = [gate.released_comments(history.admin, wave_id=w) for w in waves]
    shown["releases"] = [
        (r.id, r.wave_id, r.version, r.min_group_size, r.computed_at, r.audit)
        for r in db.session.scalars(sa.select(Release).order_by(Release.id))
    ]
    shown["stored"] = [
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (ReleaseCell, ReleasedComment)
    ]
    return shown


def issue_token(runner: FlaskCliRunner, email: str) -> str:
    result = runner.invoke(args=["users", "token", email, "--label", "BI"])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[1].strip()


# ---------------------------------------------------------------- the setting


def test_the_retention_period_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["RETENTION_DAYS"] == DAYS
    for given, days in (("90", 90), ("off", 0), ("0", 0), (" OFF ", 0)):
        monkeypatch.setattr(
            settings, "environment", lambda g=given: {"WELLBEING_RETENTION_DAYS": g}
        )
        app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
        assert app.config["RETENTION_DAYS"] == days
    for nonsense in ("-1", "36501", "a year", "1.5"):
        monkeypatch.setattr(
            settings, "environment", lambda n=nonsense: {"WELLBEING_RETENTION_DAYS": n}
        )
        with pytest.raises(ConfigError, match="WELLBEING_RETENTION_DAYS="):
            create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


# ---------------------------------------------------------------- what is deleted, what stays


def test_raw_answers_go_and_every_result_reads_the_same(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    history = reports_h.build_history()
    old, recent = history.waves[:2], history.waves[2:]
    age_past(old, recent)
    held = {w.id: raw(w) for w in history.waves}
    assert all(held[w.id].responses and held[w.id].answers for w in history.waves)
    assert held[old[0].id].comments  # North's comments
    token = issue_token(runner, history.admin.email)
    sign_in(client, history.admin.email)
    before = everything_shown(client, runner, history, token)

    code, output = run(runner, "run")

    assert code == 0, output
    for wave in old:
        assert raw(wave) == RawCounts()
        deletion = retention.deletion_of(wave.id)
        assert deletion is not None
        assert (
            RawCounts(deletion.responses, deletion.answers, deletion.comments, deletion.submissions)
            == held[wave.id]
        )
    for wave in recent:
        assert raw(wave) == held[wave.id]
        assert retention.deletion_of(wave.id) is None
    assert everything_shown(client, runner, history, token) == before


def test_unreleased_waves_and_waves_their_successor_needs_are_kept(
    app: Flask, runner: FlaskCliRunner
) -> None:
    first, second = small_program(waves=2, release=False)
    releases.compute_release(first)  # the second closed, but its release never happened
    age_past([first, second])
    held = raw(first), raw(second)

    code, output = run(runner, "run")

    assert code == 0, output
    assert (raw(first), raw(second)) == held
    assert f"wave {first.id} (standard #1, closed {retention.closed_at(first).date()})" in output
    assert f"its program's next wave {second.id} is not released yet" in output
    assert f"wave {second.id} (standard #2" in output
    assert "it has no release yet" in output and "deleting its answers would lose them" in output
    assert f"wellbeing release compute {second.id}" in output
    assert "deleted the raw answers of 0 wave(s)" in output and "2 kept" in output

    # Released at last, the second wave still keeps its answers while the third is open.
    releases.compute_release(second)
    third = pulse.open_wave(first.program, utcnow() - timedelta(days=DAYS + 10))
    code, output = run(runner, "run")
    assert code == 0, output
    assert raw(first) == RawCounts() and raw(second) == held[1]
    assert f"its program's next wave {third.id} is not released yet" in output
    assert f"wave {third.id} (standard #3" in output and "it is still open" in output
    runs = list(db.session.scalars(sa.select(RetentionRun).order_by(RetentionRun.id)))
    assert [(r.waves_deleted, r.waves_kept, r.waves_failed) for r in runs] == [(0, 2, 0), (1, 2, 0)]


def test_a_dry_run_deletes_nothing_and_says_what_a_run_would(
    app: Flask, runner: FlaskCliRunner
) -> None:
    waves = small_program(waves=2)
    age_past(waves)
    held = [raw(w) for w in waves]

    code, output = run(runner, "run", "--dry-run")

    assert code == 0, output
    assert [raw(w) for w in waves] == held
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RetentionRun)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WaveDeletion)) == 0
    assert output.startswith("Dry run: the raw answers of released waves closed before ")
    for wave, counts in zip(waves, held, strict=True):
        assert (
            f"wave {wave.id} (standard #{wave.sequence}, closed "
            f"{retention.closed_at(wave).date()}): would delete {counts.responses} responses, "
            f"{counts.answers} answers, {counts.comments} comments, 0 buffered submissions"
        ) in output
    assert "Dry run: nothing was deleted. A run would delete the raw answers of 2 wave(s)" in output


def test_run_reports_each_wave_then_has_nothing_left_and_status_shows_the_history(
    app: Flask, runner: FlaskCliRunner
) -> None:
    waves = small_program(waves=3)
    age_past(waves[:2], waves[2:])
    held = [raw(w) for w in waves]

    code, output = run(runner, "status")
    assert code == 0, output
    assert "Retention period: 400 days (WELLBEING_RETENTION_DAYS)" in output
    assert "Due now (2 wave(s)" in output
    assert f"wave {waves[0].id} (standard #1" in output
    due_day = (retention.closed_at(waves[2]) + timedelta(days=DAYS)).date()
    assert f"Next due: wave {waves[2].id} (standard #3" in output and f"on {due_day}" in output
    assert "No retention run yet." in output

    code, output = run(runner, "run")
    assert code == 0, output
    assert output.startswith("Deleting the raw answers of released waves closed before ")
    for wave, counts in zip(waves[:2], held[:2], strict=True):
        assert f"wave {wave.id} (standard #{wave.sequence}" in output
        assert f"deleted {counts.responses} responses, {counts.answers} answers" in output
    assert f"wave {waves[2].id}" not in output
    total = held[0].responses + held[1].responses
    assert f"deleted the raw answers of 2 wave(s) ({total} responses" in output
    assert "Releases and results are unchanged." in output

    code, again = run(runner, "run")
    assert code == 0, again
    assert "Nothing to delete" in again
    assert raw(waves[2]) == held[2]

    code, output = run(runner, "status")
    assert code == 0, output
    assert "Due now: nothing." in output
    assert f"Deleted so far: the raw answers of 2 wave(s) ({total} responses" in output
    first_run, second_run = db.session.scalars(sa.select(RetentionRun).order_by(RetentionRun.id))
    assert f"run {first_run.id}: " in output and "from the command line" in output
    assert "2 wave(s) deleted, 0 kept" in output
    assert f"run {second_run.id}: " in output and "0 wave(s) deleted" in output
    assert first_run.trigger is RunTrigger.COMMAND and first_run.finished_at is not None
    assert f"    wave {waves[0].id}: {held[0].responses} responses" in output


def test_a_deleted_wave_is_never_recomputed_and_release_show_says_so(
    app: Flask, runner: FlaskCliRunner
) -> None:
    waves = small_program(waves=1)
    age_past(waves)
    assert run(runner, "run")[0] == 0

    result = runner.invoke(args=["release", "compute", str(waves[0].id), "--recompute"])
    assert result.exit_code == 1
    assert "were deleted on" in result.output and "can no longer be recomputed" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Release)) == 1
    shown = runner.invoke(args=["release", "show", str(waves[0].id)])
    assert shown.exit_code == 0, shown.output
    assert "raw answers deleted on" in shown.output


def test_each_wave_is_deleted_whole_or_not_at_all(
    app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    waves = small_program(waves=3)
    age_past(waves)
    held = [raw(w) for w in waves]
    real = answers.delete_raw_answers

    def fails_half_way(wave_id: int) -> RawCounts:
        deleted = real(wave_id)  # everything is gone inside the transaction…
        if wave_id == waves[1].id:
            raise sa.exc.OperationalError("DELETE", {}, RuntimeError("disk full"))
        return deleted

    monkeypatch.setattr(answers, "delete_raw_answers", fails_half_way)
    code, output = run(runner, "run")

    assert code == 1
    assert f"wave {waves[1].id} (standard #2" in output and "FAILED" in output
    assert "1 wave(s) could not be deleted and keep all their raw answers" in output
    assert raw(waves[0]) == RawCounts() and raw(waves[2]) == RawCounts()
    assert raw(waves[1]) == held[1]  # …and all of it is back
    assert retention.deletion_of(waves[1].id) is None
    (record,) = db.session.scalars(sa.select(RetentionRun))
    assert (record.waves_deleted, record.waves_failed) == (2, 1)

    monkeypatch.setattr(answers, "delete_raw_answers", real)
    code, output = run(runner, "run")
    assert code == 0, output
    assert raw(waves[1]) == RawCounts()


def test_retention_off_keeps_everything(app: Flask, runner: FlaskCliRunner) -> None:
    waves = small_program(waves=1)
    age_past(waves)
    held = raw(waves[0])
    app.config["RETENTION_DAYS"] = 0
    for command in ("run", "status"):
        code, output = run(runner, command)
        assert code == 0, output
        assert "Retention is off (WELLBEING_RETENTION_DAYS=0)" in output
    jobs.apply_retention()
    assert raw(waves[0]) == held
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RetentionRun)) == 0


# ---------------------------------------------------------------- the scheduler


def test_the_scheduler_runs_retention_daily_and_repeating_it_changes_nothing(
    app: Flask,
) -> None:
    (spec,) = [s for s in jobs.JOBS if s.id == "apply_retention"]
    assert spec.run is jobs.apply_retention and spec.every == timedelta(days=1)
    first, second = small_program(waves=2)
    held = raw(first), raw(second)
    # A day after the first wave's period ends, and before the second's.
    now = retention.closed_at(first) + timedelta(days=DAYS, hours=1)

    jobs.apply_retention(now=now - timedelta(days=2))
    assert (raw(first), raw(second)) == held

    jobs.apply_retention(now=now)
    jobs.apply_retention(now=now + timedelta(hours=1))

    assert raw(first) == RawCounts() and raw(second) == held[1]
    runs = list(db.session.scalars(sa.select(RetentionRun).order_by(RetentionRun.id)))
    assert [r.trigger for r in runs] == [RunTrigger.SCHEDULER] * 3
    assert [r.waves_deleted for r in runs] == [0, 1, 0]
    assert all(r.finished_at is not None and r.retention_days == DAYS for r in runs)
    assert runs[1].cutoff == now - timedelta(days=DAYS)
    (deletion,) = db.session.scalars(sa.select(WaveDeletion))
    assert (deletion.wave_id, deletion.run_id, deletion.responses) == (
        first.id,
        runs[1].id,
        held[0].responses,
    )


# ---------------------------------------------------------------- later releases


def test_a_later_release_still_hides_a_joiner_after_the_earlier_answers_are_gone(
    app: Flask,
) -> None:
    """The joiner check compares respondent counts with the previous wave's, kept or deleted."""
    h.staff("North", 10)
    program: PulseProgram = h.program()
    first = rh.run_wave(program, rh.steady(), now=h.NOW)
    releases.compute_release(first)
    h.staff("North", 1, start=10)  # one person joins, and answers
    second = rh.run_wave(program, rh.steady(), seed=2, now=h.NOW + timedelta(days=14))
    before = releases.compute_release(second).audit["cross_wave_hidden"]
    assert before  # North (and everything above it) differs from last wave by one person
    on_time([first, second])

    now: datetime = retention.closed_at(first) + timedelta(days=DAYS + 1)
    report = retention.run_retention(now=now)
    assert [w.wave_id for w in report.having(retention.Outcome.DELETED)] == [first.id]
    assert raw(first) == RawCounts()

    again = releases.compute_release(second, recompute=True)
    assert again.version == 2 and second.status is WaveStatus.RELEASED
    assert again.audit["cross_wave_hidden"] == before


# ---------------------------------------------------------------- two runs at once


def test_two_runs_at_once_delete_each_wave_once(
    committed_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with committed_app.app_context():
        (wave,) = small_program(waves=1)
        age_past([wave])
        wave_id, held = wave.id, raw(wave)
        db.session.commit()
    real = answers.delete_raw_answers
    deleting, go_on = threading.Event(), threading.Event()

    def slow(wave_id: int) -> RawCounts:
        deleted = real(wave_id)
        if threading.current_thread().name == "first":
            deleting.set()
            assert go_on.wait(20)
        return deleted

    monkeypatch.setattr(answers, "delete_raw_answers", slow)
    reports: dict[str, retention.RetentionReport] = {}

    def run_in_thread() -> None:
        with committed_app.app_context():
            try:
                reports[threading.current_thread().name] = retention.run_retention()
            finally:
                db.session.remove()

    first = threading.Thread(target=run_in_thread, name="first")
    second = threading.Thread(target=run_in_thread, name="second")
    first.start()
    assert deleting.wait(20)
    second.start()  # waits for the first's transaction, then finds the wave done
    time.sleep(0.5)
    go_on.set()
    first.join(30)
    second.join(30)

    assert [w.outcome for w in reports["first"].waves] == [retention.Outcome.DELETED]
    assert not reports["second"].having(retention.Outcome.DELETED, retention.Outcome.FAILED)
    with committed_app.app_context():
        (deletion,) = db.session.scalars(sa.select(WaveDeletion))
        assert (deletion.wave_id, deletion.responses) == (wave_id, held.responses)
        assert answers.raw_counts(wave_id) == RawCounts()
