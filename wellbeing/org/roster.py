"""Roster import: read a staff CSV, check every row, then write all of it or none of it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import available_timezones

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from wellbeing.extensions import db
from wellbeing.org.models import LOCALES, Person, Unit
from wellbeing.org.service import UnitPathError, ensure_unit, join_path, split_path

REQUIRED_COLUMNS = ("email", "unit")
OPTIONAL_COLUMNS = ("name", "locale", "time_zone", "employee_id")
MAX_FIELD_CHARS = 1000
# Columns stored as they are read may be no longer than the roster's columns hold.
_FIELD_LIMITS = {
    name: Person.__table__.c[name].type.length for name in ("email", "name", "employee_id")
}


class RosterFileError(ValueError):
    """The file as a whole cannot be read as a roster; the message says what to fix."""


@dataclass(frozen=True)
class RosterRow:
    """One valid row, normalised."""

    line: int
    email: str
    unit_path: str
    name: str | None
    locale: str | None
    time_zone: str | None
    employee_id: str | None


@dataclass
class RosterCheck:
    """The outcome of reading a file: valid rows, and every problem with its line number."""

    rows: list[RosterRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


@dataclass
class ImportSummary:
    """What an import changed (or, in a dry run, would change)."""

    created: int = 0
    updated: int = 0
    moved: int = 0
    reactivated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    skipped: int = 0
    units_created: int = 0

    def lines(self) -> list[str]:
        return [
            f"{self.created} added",
            f"{self.updated} updated ({self.moved} moved to another unit)",
            f"{self.reactivated} reactivated",
            f"{self.deactivated} marked inactive",
            f"{self.unchanged} unchanged",
            f"{self.skipped} invalid rows skipped",
            f"{self.units_created} new units",
        ]


def decode(data: bytes) -> str:
    """UTF-8 text with or without a byte-order mark."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterFileError(
            f"the file is not UTF-8 text (byte {exc.start} cannot be read); "
            "save it from your spreadsheet as 'CSV UTF-8'"
        ) from exc
    if "\x00" in text:
        # UTF-16 without a byte-order mark reads as UTF-8 with a NUL after every letter.
        raise RosterFileError(
            f"the file holds a null byte (byte {data.index(0)}), so it is not UTF-8 text; "
            "save it from your spreadsheet as 'CSV UTF-8'"
        )
    return text


def _delimiter(header_line: str) -> str:
    """Comma or semicolon, whichever separates the header."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _time_zones() -> set[str]:
    return available_timezones()


def check_roster(text: str, progress: Callable[[int], None] | None = None) -> RosterCheck:
    """Read and validate every row; nothing is written."""
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise RosterFileError("the file is empty; the first line must name the columns")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    header = [h.strip().lower().replace(" ", "_") for h in next(_records(reader), [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise RosterFileError(
            f"the file has no {missing[0]!r} column; the first line must name the columns "
            f"(required: {', '.join(REQUIRED_COLUMNS)}; optional: {', '.join(OPTIONAL_COLUMNS)})"
        )
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    if duplicated:
        raise RosterFileError(f"the column {duplicated[0]!r} appears more than once")
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    result = RosterCheck(ignored_columns=[h for h in header if h and h not in known])
    zones = _time_zones()
    seen_email: dict[str, int] = {}
    seen_employee: dict[str, int] = {}

    line = reader.line_num
    for record in _records(reader):
        start, line = line + 1, reader.line_num
        if progress:
            progress(1)
        if not any(cell.strip() for cell in record):
            continue
        values = {h: (record[i].strip() if i < len(record) else "") for i, h in enumerate(header)}
        problem = _check_row(start, values, zones, seen_email, seen_employee, result)
        if problem:
            result.problems.append(f"line {start}: {problem}")
    return result


def _records(reader: Any) -> Iterator[list[str]]:
    """The reader's records; a line the csv module cannot split is a problem with the file."""
    while True:
        try:
            record: list[str] = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise RosterFileError(
                f"line {reader.line_num + 1} cannot be read as CSV: {exc}"
            ) from exc
        yield record


def _check_row(
    line: int,
    values: dict[str, str],
    zones: set[str],
    seen_email: dict[str, int],
    seen_employee: dict[str, int],
    result: RosterCheck,
) -> str | None:
    """The first problem with a row, or None after adding it to ``result.rows``."""
    for column, value in values.items():
        limit = _FIELD_LIMITS.get(column, MAX_FIELD_CHARS)
        if len(value) > limit:
            return f"{column} is longer than {limit} characters"
    raw_email = values["email"]
    if not raw_email:
        return "email is empty"
    try:
        email = validate_email(raw_email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return f"email {raw_email!r} is not a valid address"
    if email in seen_email:
        return f"email {email} also appears on line {seen_email[email]}"
    seen_email[email] = line
    if not values["unit"]:
        return "unit is empty"
    try:
        unit_path = join_path(split_path(values["unit"]))
    except UnitPathError as exc:
        return f"unit {values['unit']!r}: {exc}"
    locale = values.get("locale", "").lower().replace("_", "-") or None
    if locale is not None:
        locale = locale.split("-", 1)[0]
        if locale not in LOCALES:
            return f"locale {values['locale']!r} is not supported (use {' or '.join(LOCALES)})"
    time_zone = values.get("time_zone") or None
    if time_zone is not None and time_zone not in zones:
        return f"time zone {time_zone!r} is unknown (use a name such as America/Chicago)"
    employee_id = values.get("employee_id") or None
    if employee_id is not None:
        if employee_id in seen_employee:
            return f"employee id {employee_id!r} also appears on line {seen_employee[employee_id]}"
        seen_employee[employee_id] = line
    result.rows.append(
        RosterRow(
            line, email, unit_path, values.get("name") or None, locale, time_zone, employee_id
        )
    )
    return None


def apply_roster(
    rows: Iterable[RosterRow],
    *,
    deactivate_missing: bool,
    default_time_zone: str = "UTC",
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Create, update, move and (optionally) deactivate people; the caller commits."""
    summary = ImportSummary()
    people = list(db.session.scalars(sa.select(Person)))
    by_email = {p.email: p for p in people}
    by_employee = {p.employee_id: p for p in people if p.employee_id}
    units_before = _unit_count()
    present: set[int] = set()

    rows = list(rows)
    conflicts = _employee_conflicts(rows, by_email, by_employee)
    if conflicts:
        raise RosterFileError("; ".join(conflicts))

    for row in rows:
        if progress:
            progress(1)
        person = by_employee.get(row.employee_id or "") or by_email.get(row.email)
        unit = ensure_unit(row.unit_path)
        if person is None:
            person = Person(
                email=row.email,
                name=row.name,
                unit=unit,
                locale=row.locale or "en",
                time_zone=row.time_zone or default_time_zone,
                employee_id=row.employee_id,
                active=True,
            )
            db.session.add(person)
            summary.created += 1
        else:
            changed = False
            if person.unit_id != unit.id:
                person.unit = unit
                summary.moved += 1
                changed = True
            updates = {
                "email": row.email,
                "name": row.name or person.name,
                "locale": row.locale or person.locale,
                "time_zone": row.time_zone or person.time_zone,
                "employee_id": row.employee_id or person.employee_id,
            }
            for attr, value in updates.items():
                if getattr(person, attr) != value:
                    setattr(person, attr, value)
                    changed = True
            if not person.active:
                person.active = True
                summary.reactivated += 1
            elif changed:
                summary.updated += 1
            else:
                summary.unchanged += 1
            present.add(person.id)
    db.session.flush()

    if deactivate_missing:
        for person in people:
            if person.active and person.id not in present:
                person.active = False
                summary.deactivated += 1
        db.session.flush()
    summary.units_created = _unit_count() - units_before
    return summary


def _employee_conflicts(
    rows: list[RosterRow], by_email: dict[str, Person], by_employee: dict[str, Person]
) -> list[str]:
    """Rows whose employee id belongs to one person and email to another."""
    problems = []
    for row in rows:
        owner = by_employee.get(row.employee_id or "")
        other = by_email.get(row.email)
        if owner is not None and other is not None and owner.id != other.id:
            problems.append(
                f"line {row.line}: employee id {row.employee_id!r} belongs to another "
                f"person than {row.email}"
            )
    return problems


def _unit_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Unit.id))) or 0
