"""Generated bad input at the survey, the login form and the roster import: never a 500, a clear
4xx or error, and either the whole valid change written or nothing at all.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from tests import factories, web
from tests import survey_helpers as s
from tests.test_login import csrf_token
from wellbeing.auth.models import Role
from wellbeing.bank import current_bank
from wellbeing.extensions import db, limiter
from wellbeing.org.models import Person, Unit
from wellbeing.pulse.models import Invitation, InvitationToken, Wave
from wellbeing.responses.models import COMMENT_MAX_CHARS, Submission


def _browser(app: Flask) -> FlaskClient:
    """A new browser. The test's app context outlives requests: drop the last one's CSRF token."""
    g.pop("csrf_token", None)
    return app.test_client()


FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# ---------------------------------------------------------------- the survey

OPT_OUTS = ("na", "pns")
ODD_VALUES = ["", " 3 ", "0", "6", "-1", "--3", "3.0", "²", "٣", "３", "NA", "pns ", "1,2", "a\x00"]


def _written(invitation_id: int) -> tuple[int, bool]:
    """What a submission writes: the buffered row and the invitation marked answered."""
    buffered = db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) or 0
    answered = db.session.scalar(
        sa.select(Invitation.responded).where(Invitation.id == invitation_id)
    )
    return int(buffered), bool(answered)


def _unanswer(invitation_id: int) -> None:
    """Put the invitation back as it was before it was answered, for the next example."""
    db.session.execute(sa.delete(Submission))
    db.session.execute(
        sa.update(Invitation).where(Invitation.id == invitation_id).values(responded=False)
    )
    db.session.commit()


def _answer_texts(wave: Wave) -> dict[str, list[str]]:
    bank = current_bank()
    return {i: [str(v) for v in bank.scale_of(i).values] for i in wave.item_ids if i in bank.items}


def forms(wave: Wave) -> st.SearchStrategy[MultiDict[str, str]]:
    """Posted forms: real and made-up questions, odd values, doubled fields, huge comments."""
    answers = _answer_texts(wave)
    cut_options = {c.id: [o.value for o in c.options] for c in current_bank().cuts.values()}
    value = st.one_of(
        st.sampled_from(sorted({v for vs in answers.values() for v in vs})),
        st.sampled_from(OPT_OUTS),
        st.sampled_from(ODD_VALUES),
        st.text(max_size=12),
    )
    field = st.one_of(
        st.sampled_from([f"answer-{i}" for i in wave.item_ids]),
        st.sampled_from([f"about-{c}" for c in cut_options] + ["answer-nope", "about-shoe_size"]),
        st.text(max_size=12).map(lambda t: "answer-" + t),
    )
    about = st.one_of(
        st.sampled_from([v for vs in cut_options.values() for v in vs]), st.text(max_size=8)
    )
    comment = st.one_of(
        st.none(),
        st.text(max_size=60),
        st.integers(COMMENT_MAX_CHARS - 3, COMMENT_MAX_CHARS + 3).map(lambda n: "é" * n),
        st.integers(990, 1010).map(lambda n: "line\r\n" * n),
        st.just("z" * 300_000),
    )
    pairs = st.lists(st.tuples(field, st.one_of(value, about)), max_size=12)
    return st.builds(_form, pairs, comment)


def _form(pairs: list[tuple[str, str]], comment: str | None) -> MultiDict[str, str]:
    form: MultiDict[str, str] = MultiDict(pairs)
    if comment is not None:
        form.add("comment", comment)
    return form


def _acceptable(form: MultiDict[str, str], wave: Wave) -> bool:
    """The survey's rules, written out plainly: does this form hold one valid set of answers?"""
    answers = _answer_texts(wave)
    cuts = {c.id: {o.value for o in c.options} for c in current_bank().cuts.values()}
    if any("\x00" in k or "\x00" in v for k, v in form.items(multi=True)):
        return False
    answered = False
    for key in form:
        values = form.getlist(key)
        if key.startswith("answer-") or key.startswith("about-"):
            if len(values) != 1:
                return False
            chosen = values[0].strip()
        if key.startswith("answer-"):
            item = key.removeprefix("answer-")
            if item not in answers:
                return False
            if chosen in OPT_OUTS or chosen in answers[item]:
                answered = True
            elif chosen:
                return False
        elif key.startswith("about-"):
            cut = key.removeprefix("about-")
            if chosen and (cut not in cuts or chosen not in cuts[cut]):
                return False
    comment = form.get("comment", "").replace("\r\n", "\n").strip()
    return len(comment) <= COMMENT_MAX_CHARS and (answered or bool(comment))


PROBLEMS = (
    "One of the answers is not one of the options shown",
    "Your comment is longer than",
    "Please answer at least one question",
    "Your answers were not sent",
    "That was too much to send",
    "null character",
)


@pytest.fixture
def open_survey(app: Flask) -> tuple[Wave, Invitation]:
    wave = s.open_wave(6)
    invitation = s.invitations(wave)[0]
    db.session.commit()  # into the test's transaction: refused posts roll back only themselves
    return wave, invitation


def test_any_posted_form_is_stored_whole_or_refused_with_a_reason(
    app: Flask, open_survey: tuple[Wave, Invitation]
) -> None:
    wave, invitation = open_survey
    outcomes: set[int] = set()

    @FUZZ
    @given(form=forms(wave), csrf=st.sampled_from(["sent", "sent", "sent", "missing", "forged"]))
    def post(form: MultiDict[str, str], csrf: str) -> None:
        limiter.reset()
        client = _browser(app)
        assert client.get(f"/s/{s.link_token(invitation)}").status_code == 303
        page = client.get("/survey").get_data(as_text=True)
        if csrf != "missing":
            form.setlist("csrf_token", [s.csrf_token(page) if csrf == "sent" else "forged"])
        before = _written(invitation.id)
        response = client.post("/survey", data=form)
        outcomes.add(response.status_code)
        after = _written(invitation.id)
        if csrf == "sent" and _acceptable(form, wave):
            assert response.status_code == 303, (list(form.items(multi=True)), response.status_code)
            assert after == (before[0] + 1, True)
            replay = client.post("/survey", data=form)  # the same form, sent again
            assert replay.status_code == 409
            assert _written(invitation.id) == after
            _unanswer(invitation.id)
        else:
            assert response.status_code in (400, 413, 422), response.status_code
            assert any(p in response.get_data(as_text=True) for p in PROBLEMS)
            assert after == before

    post()
    assert {303, 400, 422} <= outcomes


def _tampered(token: str) -> st.SearchStrategy[str]:
    url_safe = st.sampled_from("ABCxyz019-_")
    return st.one_of(
        st.integers(0, len(token) - 1).flatmap(
            lambda i: url_safe.filter(lambda c: c != token[i]).map(
                lambda c: token[:i] + c + token[i + 1 :]
            )
        ),
        st.integers(0, len(token) - 1).map(lambda i: token[:i]),
        st.text(url_safe, max_size=3).map(lambda t: token + t),
        st.text(max_size=70).filter(lambda t: "/" not in t and "?" not in t and "#" not in t),
    )


def test_a_tampered_link_or_session_opens_nothing_and_writes_nothing(
    app: Flask, open_survey: tuple[Wave, Invitation]
) -> None:
    wave, invitation = open_survey
    token = s.link_token(invitation)
    db.session.commit()

    @FUZZ
    @given(
        link=_tampered(token),
        cookie=st.text(
            st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=';,\\"'),
            max_size=80,
        ),
    )
    def follow(link: str, cookie: str) -> None:
        assume(link != token)
        limiter.reset()
        client = _browser(app)
        response = client.get("/s/" + link)
        assert response.status_code in (400, 404), (link, response.status_code)
        client.set_cookie("session", cookie)
        page = client.get("/survey")
        assert page.status_code == 404
        sent = client.post("/survey", data={f"answer-{wave.item_ids[0]}": "3"})
        assert sent.status_code in (400, 404)
        assert _written(invitation.id) == (0, False)

    follow()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InvitationToken)) == 1


# ---------------------------------------------------------------- signing in

ADMIN = "admin@example.org"
LOGIN_LIMIT = 2
emails = st.one_of(
    st.sampled_from(
        [
            ADMIN,
            " Admin@Example.ORG ",
            "ADMIN@EXAMPLE.ORG",
            "admin@example.org\u200b",
            "ａｄｍｉｎ@example.org",
            "admin@example.org\x00",
        ]
    ),
    st.emails().map(str),
    st.text(max_size=40),
    st.just("a" * 400 + "@example.org"),
)
passwords = st.one_of(
    st.just(factories.PASSWORD),
    st.just(factories.PASSWORD.upper()),
    st.text(max_size=40),
    st.just("p" * 1100),
)
forwarded = st.one_of(st.none(), st.sampled_from(["10.0.0.9", "203.0.113.7, 10.0.0.1", "::1"]))


def test_sign_in_with_anything_never_fails_and_never_outruns_the_limit(app: Flask) -> None:
    """Any email, password and forwarded address; once the failures are spent, only 429."""
    factories.user(ADMIN)
    db.session.commit()
    # The rule is the same at any budget; a small one keeps the password hashing short.
    app.config["LOGIN_RATE_LIMIT"] = f"{LOGIN_LIMIT} per minute"
    outcomes: set[int] = set()

    @settings(FUZZ, max_examples=6)
    @given(
        attempts=st.lists(st.tuples(emails, passwords, forwarded), min_size=1, max_size=5),
        last=st.tuples(emails, forwarded),
    )
    def sign_in(attempts: list[tuple[str, str, str | None]], last: tuple[str, str | None]) -> None:
        limiter.reset()
        client = _browser(app)
        failures = 0

        def attempt(email: str, password: str, via: str | None) -> int:
            headers = {"X-Forwarded-For": via} if via else {}
            data = {"email": email, "password": password, "csrf_token": csrf_token(client)}
            response = client.post("/login", data=data, headers=headers)
            outcomes.add(response.status_code)
            if response.status_code == 401:
                assert "do not match an active account" in response.get_data(as_text=True)
            return response.status_code

        for email, password, via in attempts:
            status = attempt(email, password, via)
            if failures >= LOGIN_LIMIT:
                # A form refused unread (400) checks no password either.
                assert status in (400, 429), (email, password, via, status)
                continue
            assert status in (302, 400, 401), (email, status)
            if status == 302:
                assert email.strip().lower() == ADMIN and password == factories.PASSWORD
                client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
            failures += status == 401
        while failures < LOGIN_LIMIT:
            assert attempt(ADMIN, "a wrong password", None) == 401
            failures += 1
        # Spent: another address in a header, another spelling of the email, the right
        # password, none of it gets another try before the window passes.
        assert attempt(last[0], factories.PASSWORD, last[1]) in (400, 429)
        assert attempt(ADMIN, factories.PASSWORD, last[1]) == 429

    sign_in()
    assert {302, 400, 401, 429} <= outcomes


# ---------------------------------------------------------------- the roster import

AGENCY = "Riverside Family Services"
COLUMNS = [
    "email",
    "unit",
    "name",
    "locale",
    "time_zone",
    "employee_id",
    "Email",
    "UNIT",
    "Time Zone",
    "notes",
    "",
]
CELLS = {
    "email": [
        "a@example.org",
        "A@Example.org ",
        "b@example.org",
        "c@example.org",
        "ü@example.org",
        "not an email",
        "",
        "x@exa mple.org",
    ],
    "unit": [
        f"{AGENCY}/North",
        f"{AGENCY}/South/",
        f"{AGENCY}//North",
        "/",
        "",
        f"{AGENCY}/" + "n" * 201,
        "/".join(["u" * 150] * 7),
    ],
    "name": ["Ana Ruiz", "", "n" * 201, "Zoë\tO'Brien"],
    "locale": ["en", "es-MX", "ES", "fr", ""],
    "time_zone": ["America/Chicago", "UTC", "Mars/Olympus", ""],
    "employee_id": ["E1", "E2", "E1 ", "e" * 65, ""],
}
cell = st.one_of(
    st.sampled_from([v for vs in CELLS.values() for v in vs]),
    st.text(max_size=20),
)


def _csv_text(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


files = st.one_of(
    st.builds(
        _encode,
        st.builds(
            _csv_text,
            st.lists(st.sampled_from(COLUMNS), max_size=7),
            st.lists(st.lists(cell, max_size=8), max_size=8),
            st.sampled_from([",", ";"]),
        ),
        st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1"]),
    ),
    st.binary(max_size=200),
    st.just(b'email,unit\n"a@example.org,Agency/North\nb@example.org,Agency/South\n'),
)
flags = st.lists(
    st.sampled_from(["--dry-run", "--skip-invalid", "--deactivate-missing"]), unique=True
)


def _roster() -> tuple[list[tuple[object, ...]], int]:
    """Every person's stored fields, and how many units there are."""
    people = db.session.execute(
        sa.select(
            Person.email,
            Person.name,
            Person.unit_id,
            Person.locale,
            Person.time_zone,
            Person.employee_id,
            Person.active,
        ).order_by(Person.email)
    ).tuples()
    units = db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) or 0
    return [tuple(p) for p in people], int(units)


def _count(output: str, what: str) -> int:
    found = re.search(rf"(\d+) {what}", output)
    assert found, output
    return int(found.group(1))


def test_any_roster_file_is_imported_whole_or_refused_with_a_reason(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    factories.person("a@example.org", f"{AGENCY}/North", employee_id="E2")
    factories.person("d@example.org", f"{AGENCY}/South", employee_id="E1")
    db.session.commit()
    path = tmp_path / "roster.csv"
    outcomes: set[int] = set()

    @FUZZ
    @given(data=files, options=flags)
    def import_file(data: bytes, options: list[str]) -> None:
        path.write_bytes(data)
        before = _roster()
        result = runner.invoke(args=["roster", "import", str(path), *options])
        after = _roster()
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        outcomes.add(result.exit_code)
        if result.exit_code != 0:
            assert result.exit_code == 1 and "nothing was imported" in result.output.lower()
            assert after == before
        elif "--dry-run" in options:
            assert "Dry run: nothing was written" in result.output
            assert after == before
        else:
            assert "Imported" in result.output
            assert len(after[0]) == len(before[0]) + _count(result.output, "added")
            assert after[1] == before[1] + _count(result.output, "new units")

    import_file()
    assert outcomes == {0, 1}


# ---------------------------------------------------------------- what fuzzing found


@pytest.mark.parametrize("value", ["²", "--3", "٣", "３", "+3", "03"])
def test_an_answer_that_only_looks_like_a_number_writes_nothing(
    app: Flask, open_survey: tuple[Wave, Invitation], value: str
) -> None:
    """A superscript two passed str.isdigit() and then failed int(): a 500."""
    wave, invitation = open_survey
    client = _browser(app)
    assert client.get(f"/s/{s.link_token(invitation)}").status_code == 303
    page = client.get("/survey").get_data(as_text=True)
    data = {f"answer-{wave.item_ids[0]}": value, "csrf_token": s.csrf_token(page)}
    response = client.post("/survey", data=data)
    assert response.status_code == 422
    assert PROBLEMS[0] in response.get_data(as_text=True)
    assert _written(invitation.id) == (0, False)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # Longer than the roster's columns: PostgreSQL refused the insert with a traceback.
        (f"email,unit,name\na@example.org,{AGENCY}/North,{'n' * 201}\n", "name is longer than 200"),
        (
            f"email,unit,employee_id\na@example.org,{AGENCY}/North,{'e' * 65}\n",
            "employee_id is longer than 64",
        ),
        (
            f"email,unit\na@example.org,{'/'.join(['u' * 150] * 7)}\n",
            "unit is longer than 1000",
        ),
        # Past the csv module's field limit: csv.Error escaped as a traceback.
        (
            f"email,unit,name\na@example.org,{AGENCY}/North,{'x' * 140_000}\n",
            "cannot be read as CSV",
        ),
        # UTF-16 without a byte-order mark reads as UTF-8 with a NUL after every letter.
        ("email,unit\na@example.org,North\n".encode("utf-16-le"), "null byte"),
    ],
)
def test_a_roster_the_database_could_not_hold_is_refused_whole(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, data: str | bytes, message: str
) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    before = _roster()
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 1 and result.exception is not None
    assert isinstance(result.exception, SystemExit)
    assert message in result.output and "nothing was imported" in result.output.lower()
    assert _roster() == before


# ---------------------------------------------------------------- ids and pages in addresses

ID_PAGES = [
    "/admin/access-log?page={}",
    "/actions/?unit={}",
    "/actions/concepts?unit={}",
    "/actions/new?unit={}",
    "/actions/new?cell={}",
    "/results/?wave={}",
    "/results/heatmap?wave={}",
    "/results/export/csv?unit={}",
    "/results/export/csv?wave={}",
]


def test_any_number_in_an_address_is_a_page_or_a_clear_refusal(client: FlaskClient) -> None:
    web.sign_in(client, "admin@example.org", Role.ADMIN)

    @settings(max_examples=80, deadline=None)
    @given(
        path=st.sampled_from(ID_PAGES),
        value=st.one_of(
            st.integers(min_value=-(2**70), max_value=2**70).map(str),
            st.sampled_from(["0", "-1", "2147483648", "99999999999999999999", "1e9", "abc", ""]),
        ),
    )
    def visit(path: str, value: str) -> None:
        answer = client.get(path.format(value))
        assert answer.status_code in {200, 400, 404}, (path, value, answer.status_code)

    visit()
