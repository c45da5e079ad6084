"""The demo organisation: a made-up agency, its roster and three logins, built through the real services."""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from wellbeing.auth.models import Role, User
from wellbeing.auth.service import create_user
from wellbeing.extensions import db
from wellbeing.org import roster
from wellbeing.org.models import PATH_SEPARATOR, Person, Unit
from wellbeing.org.service import subtree_ids

AGENCY = "Riverside Family Services"
EMAIL_DOMAIN = "riverside.example"
# Shared by the three demo logins and printed on start-up: for the demo only, never a real deployment.
DEMO_PASSWORD = "demo-pulse-2026"  # noqa: S105 - a published demo credential, not a secret
# Fixed so every demo shows the same people.
NAME_SEED = 20260401

# (program, team, people, the time zone most of the team works in). Two teams are below the
# minimum group size of 5, so the demo shows small teams rolling up.
TEAMS: tuple[tuple[str, str, int, str], ...] = (
    ("Child Welfare", "Intake & Assessment", 22, "America/Chicago"),
    ("Child Welfare", "Ongoing Services", 18, "America/Chicago"),
    ("Child Welfare", "Foster Care & Kinship", 15, "America/Chicago"),
    ("Child Welfare", "Adoption", 4, "America/Chicago"),
    ("Home Visiting", "North", 12, "America/Chicago"),
    ("Home Visiting", "South", 9, "America/Chicago"),
    ("Home Visiting", "Nurse Home Visiting", 6, "America/Denver"),
    ("Home Visiting", "Infant Mental Health Consultation", 3, "America/Denver"),
    ("Early Care & Education", "Eastside Center", 25, "America/New_York"),
    ("Early Care & Education", "Westside Center", 14, "America/Chicago"),
    ("Early Care & Education", "Family Child Care Network", 11, "America/Los_Angeles"),
    ("Early Care & Education", "Inclusion Coaching", 16, "America/Chicago"),
)
TIME_ZONES = ("America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles")


@dataclass(frozen=True)
class DemoLogin:
    """A login the demo creates, with the words the start-up banner uses for it."""

    email: str
    role: Role
    unit_paths: tuple[str, ...]
    label: str


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin(f"admin@{EMAIL_DOMAIN}", Role.ADMIN, (), "administrator"),
    DemoLogin(f"coordinator@{EMAIL_DOMAIN}", Role.COORDINATOR, (), "wellness coordinator"),
    DemoLogin(
        f"lead.homevisiting@{EMAIL_DOMAIN}",
        Role.LEADER,
        (f"{AGENCY}/Home Visiting",),
        "leader of Home Visiting",
    ),
)


@dataclass(frozen=True)
class DemoSummary:
    """What the demo organisation holds, and whether it was made just now or found."""

    reused: bool
    agency: str
    programs: int
    teams: int
    people: int
    logins: tuple[DemoLogin, ...]
    password: str


ENGLISH_FIRST = (
    "Emma", "Olivia", "Ava", "Sophia", "Harper", "Evelyn", "Abigail", "Emily", "Grace", "Chloe",
    "Hannah", "Megan", "Rachel", "Laura", "Sarah", "Jessica", "Ashley", "Amanda", "Katie", "Liam",
    "Noah", "James", "Benjamin", "Lucas", "Henry", "Ethan", "Daniel", "Michael", "Matthew",
    "David", "Joseph", "Andrew", "Ryan", "Tyler", "Marcus", "Jamal", "Keisha", "Aaliyah",
    "Tanisha", "DeShawn", "Darnell", "Imani", "Priya", "Mei", "Nadia", "Brianna", "Tiffany",
    "Kevin", "Brandon", "Heather",
)  # fmt: skip
ENGLISH_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green",
    "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell",
    "Parker", "Evans", "Edwards", "Collins", "Stewart", "Murphy", "Cook", "Rogers", "Bell",
    "Bailey", "Cooper", "Reed", "Brooks", "Bennett", "Gray", "Hughes", "Price", "Patel",
    "Nguyen", "Kim", "Chen", "O'Brien",
)  # fmt: skip
SPANISH_FIRST = (
    "María", "José", "Juan", "Ana", "Luis", "Carmen", "Jorge", "Rosa", "Miguel", "Lucía",
    "Carlos", "Sofía", "Alejandro", "Valentina", "Diego", "Camila", "Javier", "Isabel", "Andrés",
    "Gabriela", "Fernando", "Daniela", "Ricardo", "Adriana", "Raúl", "Mariana", "Héctor",
    "Verónica", "Óscar", "Guadalupe", "Ramón", "Yesenia",
)  # fmt: skip
SPANISH_LAST = (
    "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez",
    "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Reyes", "Morales", "Cruz", "Ortiz",
    "Gutiérrez", "Chávez", "Ramos", "Ruiz", "Mendoza", "Álvarez", "Castillo", "Jiménez",
    "Vásquez", "Romero", "Herrera", "Medina", "Aguilar", "Vargas", "Castro", "Núñez", "Peña",
)  # fmt: skip


def seed_demo() -> DemoSummary:
    """Create the demo organisation and logins, or reuse them if the agency exists; the caller commits."""
    agency = _agency()
    reused = agency is not None
    if agency is None:
        _import_roster(roster_csv())
        agency = _agency()
        assert agency is not None  # noqa: S101 - the import above just created it
    for login in DEMO_LOGINS:
        if db.session.scalar(sa.select(User.id).where(User.email == login.email)) is None:
            create_user(login.email, login.role, DEMO_PASSWORD, list(login.unit_paths))
    return _summary(agency, reused)


def roster_csv() -> str:
    """The demo roster as the CSV file an HR system would export: same people every time."""
    rng = random.Random(NAME_SEED)  # noqa: S311 - made-up names, not security
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "unit", "name", "locale", "time_zone", "employee_id"])
    taken: set[str] = set()
    number = 1000
    for program, team, size, home_zone in TEAMS:
        for _ in range(size):
            number += 1
            name, locale = _person_name(rng)
            zone = home_zone if rng.random() < 0.85 else rng.choice(TIME_ZONES)
            unit = PATH_SEPARATOR.join((AGENCY, program, team))
            writer.writerow([_email(name, taken), unit, name, locale, zone, f"RFS-{number}"])
    return out.getvalue()


def _person_name(rng: random.Random) -> tuple[str, str]:
    """A name and a preferred language: a quarter prefer Spanish, some Spanish names prefer English."""
    draw = rng.random()
    if draw < 0.25:
        return f"{rng.choice(SPANISH_FIRST)} {rng.choice(SPANISH_LAST)}", "es"
    if draw < 0.40:
        return f"{rng.choice(SPANISH_FIRST)} {rng.choice(SPANISH_LAST)}", "en"
    return f"{rng.choice(ENGLISH_FIRST)} {rng.choice(ENGLISH_LAST)}", "en"


def _email(name: str, taken: set[str]) -> str:
    """first.last@ the demo domain, in plain ASCII, numbered when the name is already used."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    first, last = ascii_name.lower().split(" ", 1)
    local = ".".join("".join(c for c in part if c.isalnum()) for part in (first, last))
    candidate, n = local, 1
    while candidate in taken:
        n += 1
        candidate = f"{local}{n}"
    taken.add(candidate)
    return f"{candidate}@{EMAIL_DOMAIN}"


def _import_roster(text: str) -> None:
    check = roster.check_roster(text)
    if check.problems:
        raise RuntimeError("the demo roster is invalid: " + "; ".join(check.problems))
    roster.apply_roster(
        check.rows,
        deactivate_missing=False,
        default_time_zone=current_app.config.get("DEFAULT_TIME_ZONE", "UTC"),
    )


def _agency() -> Unit | None:
    return db.session.scalar(sa.select(Unit).where(Unit.path == AGENCY))


def _summary(agency: Unit, reused: bool) -> DemoSummary:
    ids = subtree_ids(agency)
    depths = list(db.session.scalars(sa.select(Unit.depth).where(Unit.id.in_(ids))))
    people = db.session.scalar(
        sa.select(sa.func.count(Person.id)).where(Person.unit_id.in_(ids), Person.active.is_(True))
    )
    return DemoSummary(
        reused=reused,
        agency=agency.path,
        programs=depths.count(agency.depth + 1),
        teams=depths.count(agency.depth + 2),
        people=people or 0,
        logins=DEMO_LOGINS,
        password=DEMO_PASSWORD,
    )
