"""Leaders' pages: overview, unit trends, heatmap, equity and participation, all from releases."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from wellbeing.auth.access import AccessDenied, login_required
from wellbeing.auth.access_log import log_views
from wellbeing.bank import current_bank
from wellbeing.practices import charts as practice_charts
from wellbeing.practices import service as practices
from wellbeing.releases.suppression import HIDDEN_REASON
from wellbeing.reports import charts, service

bp = Blueprint("reports", __name__, url_prefix="/results")
_ANY_UNIT = 987654321
log_views(bp, "page")


def _program() -> str | None:
    key = request.args.get("program")
    return key[:64] if key else None


def _wave() -> int | None:
    return request.args.get("wave", type=int)


def _render(template: str, **context: Any) -> str:
    names = {d.id: d.name.get("en") for d in service.report_measures()}
    return render_template(template, hidden_reason=HIDDEN_REASON, measure_names=names, **context)


@bp.errorhandler(service.NotInScope)
@bp.errorhandler(AccessDenied)
def not_in_scope(exc: Exception) -> ResponseReturnValue:
    """Outside one's scope and non-existent look the same."""
    return render_template("errors/not_found.html"), 404


@bp.get("/")
@login_required
def overview() -> ResponseReturnValue:
    report = service.overview(current_user, _program())
    essentials = {d.id for d in service.report_measures() if d.kind == "essential"}
    figures = {
        s.unit.id: charts.overview_figure(
            [t for t in s.trends if t.metric == "index" and t.measure in essentials and t.has_data]
        )
        for s in report.summaries
    }
    return _render("reports/overview.html", report=report, figures=figures)


@bp.get("/units/<int:unit_id>")
@login_required
def unit(unit_id: int) -> ResponseReturnValue:
    report = service.unit_report(
        current_user,
        unit_id,
        program_key=_program(),
        wave_id=_wave(),
        suggest_below=float(current_app.config["SUGGEST_BELOW"]),
    )
    figures = {
        (t.measure, t.metric): charts.trend_figure(t, report.milestones)
        for t in report.trends
        if t.has_data
    }
    participation = (
        charts.trend_figure(report.participation)
        if report.participation is not None and report.participation.has_data
        else None
    )
    practice_series = practices.practice_series(current_user, report.unit)
    return _render(
        "reports/unit.html",
        report=report,
        practice_unit=report.unit,
        practice_series=practice_series,
        practice_figures=practice_charts.indicator_figures(practice_series),
        figures=figures,
        participation_figure=participation,
        distribution_figure=charts.distribution_figure(report.items),
        themes_figure=charts.themes_figure(report.themes) if report.themes else None,
    )


@bp.get("/heatmap")
@login_required
def heatmap() -> ResponseReturnValue:
    report = service.heatmap(current_user, program_key=_program(), wave_id=_wave())
    key = report.program.key if report.program else None
    # One URL built and the unit's id put in: a heatmap links to hundreds of units.
    pattern = url_for("reports.unit", unit_id=_ANY_UNIT, program=key)
    urls = {
        row.unit.id: pattern.replace(str(_ANY_UNIT), str(row.unit.id), 1) for row in report.rows
    }
    figure = charts.heatmap_figure(report, urls) if report.rows and report.measures else None
    return _render("reports/heatmap.html", report=report, figure=figure, urls=urls)


@bp.get("/equity")
@login_required
def equity() -> ResponseReturnValue:
    report = service.equity(current_user, program_key=_program(), wave_id=_wave())
    measures = [(d.id, d.name.get("en")) for d in report.measures]
    figures = {
        (u.unit.id, c.cut.id): charts.equity_figure(
            measures, [(g.label, g.cells) for g in c.groups]
        )
        for u in report.units
        for c in u.cuts
        if not c.all_hidden
    }
    return _render("reports/equity.html", report=report, figures=figures)


@bp.get("/participation")
@login_required
def participation() -> ResponseReturnValue:
    report = service.participation(current_user, program_key=_program())
    return _render("reports/participation.html", report=report)


@bp.app_template_filter()
def humanize_cut(cut_id: str) -> str:
    cut = current_bank().cuts.get(cut_id)
    return cut.question.get("en") if cut else cut_id
