"""Answering a pulse: an emailed link exchanged for a visit, the form, and sealed answers.

The link's token is looked up once, by ``exchange_link``, and swapped for the invitation's id
in the session, so no later request, page, form field or log line carries it. Following a
link never records anything (email security scanners follow links); only a POST of the form
does, through ``wellbeing.responses.service``, which keeps what was answered apart from who
was asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from wellbeing import privacy
from wellbeing.actions import follow_up
from wellbeing.actions import service as actions
from wellbeing.actions.service import Done
from wellbeing.bank import QuestionBank, current_bank
from wellbeing.bank.schema import Cut, Item, SupportContact
from wellbeing.extensions import db
from wellbeing.pulse.models import Invitation, InvitationToken, WaveStatus
from wellbeing.pulse.tokens import looks_like_token, token_hash
from wellbeing.responses import service as responses
from wellbeing.responses.models import COMMENT_MAX_CHARS
from wellbeing.survey.language import DEFAULT_LANGUAGE, known_language
from wellbeing.types import utcnow

# An honest pace on a phone, opening the page included: ten questions take about two minutes.
SECONDS_PER_QUESTION = 12
ANSWER_PREFIX = "answer-"
ABOUT_PREFIX = "about-"
COMMENT_FIELD = "comment"


class SurveyUnavailable(Exception):
    """The person cannot answer now; ``language`` is theirs when their invitation is known."""

    def __init__(self, language: str | None = None) -> None:
        super().__init__(type(self).__name__)
        self.language = language


class LinkNotFound(SurveyUnavailable):
    """No invitation matches: a cut-off, mistyped or made-up link, or no link followed."""


class SurveyClosed(SurveyUnavailable):
    """The link has expired or its pulse has closed."""


class AnswersAlreadyIn(SurveyUnavailable):
    """This invitation has been answered; each takes one set of answers."""


class AnswersNotAccepted(ValueError):
    """The form cannot be accepted as sent; the message tells the person what to change."""


@dataclass(frozen=True)
class Visit:
    """A followed link: whose invitation, in which language, and a one-tap first answer."""

    invitation_id: int
    language: str
    first_answer: str | None = None


def language_of(invitation: Invitation) -> str:
    """The invitation's language if the survey speaks it, else the default."""
    return known_language(invitation.locale.split("-")[0].lower()) or DEFAULT_LANGUAGE


def exchange_link(
    token: str, first_answer: str | None = None, now: datetime | None = None
) -> Visit:
    """The visit an emailed link opens; writes nothing, so scanners following links are harmless.

    A one-tap ``first_answer`` that is not an option of the first question is dropped, not
    refused: the link itself is still good.
    """
    if not looks_like_token(token):
        raise LinkNotFound()
    link = db.session.get(InvitationToken, token_hash(token))
    if link is None:
        raise LinkNotFound()
    now = now or utcnow()
    invitation = _open_invitation(link.invitation_id, now)
    if link.expires_at <= now:
        raise SurveyClosed(language_of(invitation))
    return Visit(invitation.id, language_of(invitation), _one_tap(invitation, first_answer))


def _open_invitation(invitation_id: int, now: datetime) -> Invitation:
    """The invitation, if it can still be answered; raises the reason it cannot."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise LinkNotFound()
    language = language_of(invitation)
    if invitation.responded:
        raise AnswersAlreadyIn(language)
    wave = invitation.wave
    if wave.status is not WaveStatus.OPEN or wave.closes_at <= now:
        raise SurveyClosed(language)
    return invitation


def _one_tap(invitation: Invitation, value: str | None) -> str | None:
    bank = follow_up.bank_for(invitation.wave, invitation.unit_id)
    items = _items(bank, invitation)
    if value is None or not items:
        return None
    allowed = [str(v) for v in bank.scale_of(items[0].id).values] + list(responses.OPT_OUTS)
    return value if value in allowed else None


def _items(bank: QuestionBank, invitation: Invitation) -> list[Item]:
    return [bank.items[i] for i in invitation.wave.item_ids if i in bank.items]


def question_count(invitation: Invitation) -> int:
    """How many questions this person is asked: follow-ups count only in their own unit."""
    return len(_items(follow_up.bank_for(invitation.wave, invitation.unit_id), invitation))


def estimated_minutes(question_count: int) -> int:
    """The honest time a survey of this many questions takes, in whole minutes."""
    return max(1, round(question_count * SECONDS_PER_QUESTION / 60))


# ---------------------------------------------------------------- the form


@dataclass(frozen=True)
class Option:
    """One radio button: the value sent and the words shown."""

    value: str
    label: str


@dataclass(frozen=True)
class Question:
    """One radio group on the form, with the answer values that open the support resources."""

    field: str
    text: str
    options: list[Option]
    opt_outs: list[Option]
    support_values: list[str]


@dataclass(frozen=True)
class PrivacyPromise:
    """The live thresholds the form explains in plain words."""

    group_size: int
    comment_respondents: int
    comment_commenters: int
    about_you_group_size: int


@dataclass(frozen=True)
class SurveyForm:
    """Everything the form page shows, with the answers to keep checked."""

    questions: list[Question]
    about_you: list[Question]
    minutes: int
    comment_max: int
    promise: PrivacyPromise
    chosen: dict[str, str]
    comment: str
    one_tap_label: str | None


def privacy_promise() -> PrivacyPromise:
    """The thresholds in force now, so the explanation can never drift from the rules."""
    return PrivacyPromise(
        group_size=privacy.min_group_size(),
        comment_respondents=privacy.COMMENT_MIN_RESPONDENTS,
        comment_commenters=privacy.COMMENT_MIN_COMMENTERS,
        about_you_group_size=privacy.CUT_MIN_GROUP_SIZE,
    )


def survey_form(
    visit: Visit,
    language: str,
    sent: MultiDict[str, str] | None = None,
    now: datetime | None = None,
) -> SurveyForm:
    """The form for the visit's invitation in ``language``, keeping ``sent`` answers if given."""
    invitation = _open_invitation(visit.invitation_id, now or utcnow())
    bank = follow_up.bank_for(invitation.wave, invitation.unit_id)
    questions = [_question(bank, item, language) for item in _items(bank, invitation)]
    about_you = [_about_question(cut, language) for cut in bank.cuts.values()]
    one_tap_label = None
    if sent is not None:
        chosen = {
            key: sent.get(key, "")
            for key in sent
            if key.startswith(ANSWER_PREFIX) or key.startswith(ABOUT_PREFIX)
        }
        comment = _comment(sent)
    else:
        chosen, comment = {}, ""
        if visit.first_answer is not None and questions:
            first = questions[0]
            one_tap_label = next(
                (o.label for o in first.options + first.opt_outs if o.value == visit.first_answer),
                None,
            )
            if one_tap_label is not None:
                chosen[first.field] = visit.first_answer
    return SurveyForm(
        questions=questions,
        about_you=about_you,
        minutes=estimated_minutes(len(questions)),
        comment_max=COMMENT_MAX_CHARS,
        promise=privacy_promise(),
        chosen=chosen,
        comment=comment,
        one_tap_label=one_tap_label,
    )


def support_values(bank: QuestionBank, item: Item) -> list[int]:
    """Answer values of ``item`` that open the support resources on the thank-you page."""
    values: set[int] = set()
    for rule in bank.support.show_when:
        if rule.domain == item.domain and rule.scale == item.scale:
            values.update(rule.values)
    return sorted(values)


def _question(bank: QuestionBank, item: Item, language: str) -> Question:
    scale = bank.scales[item.scale]
    return Question(
        field=ANSWER_PREFIX + item.id,
        text=item.text.get(language),
        options=[Option(str(o.value), o.label.get(language)) for o in scale.options],
        opt_outs=[
            Option("na", str(gettext("Not applicable"))),
            Option("pns", str(gettext("Prefer not to say"))),
        ],
        support_values=[str(v) for v in support_values(bank, item)],
    )


def _about_question(cut: Cut, language: str) -> Question:
    # Every cut carries its own "prefer not to say" option (the bank checks it).
    return Question(
        field=ABOUT_PREFIX + cut.id,
        text=cut.question.get(language),
        options=[Option(o.value, o.label.get(language)) for o in cut.options],
        opt_outs=[],
        support_values=[],
    )


# ---------------------------------------------------------------- sending


def send_answers(
    invitation_id: int, form: MultiDict[str, str], now: datetime | None = None
) -> None:
    """Check the posted form and seal its answers into the buffer, once per invitation."""
    invitation = _open_invitation(invitation_id, now or utcnow())
    language = language_of(invitation)
    bank = follow_up.bank_for(invitation.wave, invitation.unit_id)
    answers, about_you = _radio_answers(form, invitation, bank)
    comment = _comment(form)
    try:
        checked = responses.check_answers(invitation.wave, answers, comment, about_you, bank)
        responses.submit(invitation.id, checked)
    except responses.AlreadyAnswered as exc:
        raise AnswersAlreadyIn(language) from exc
    except responses.WaveClosed as exc:
        raise SurveyClosed(language) from exc
    except responses.SubmissionError as exc:
        raise AnswersNotAccepted(_what_to_change(answers, comment)) from exc


def _radio_answers(
    form: MultiDict[str, str], invitation: Invitation, bank: QuestionBank
) -> tuple[dict[str, str], dict[str, str]]:
    """Item and about-you answers by id; the checks of their values are the responses service's."""
    answers: dict[str, str] = {}
    about_you: dict[str, str] = {}
    for key in form:
        if key.startswith(ANSWER_PREFIX):
            target, name = answers, key.removeprefix(ANSWER_PREFIX)
        elif key.startswith(ABOUT_PREFIX):
            target, name = about_you, key.removeprefix(ABOUT_PREFIX)
        else:
            continue
        values = form.getlist(key)
        # A radio group sends one value; an item the bank no longer has cannot be scored.
        if len(values) != 1 or (name in invitation.wave.item_ids and name not in bank.items):
            raise AnswersNotAccepted(_not_an_option())
        target[name] = values[0]
    return answers, about_you


def _comment(form: Mapping[str, str]) -> str:
    # Browsers count a line break as one character against maxlength but send it as CRLF.
    return form.get(COMMENT_FIELD, "").replace("\r\n", "\n").replace("\r", "\n")


def _not_an_option() -> str:
    return str(
        gettext("One of the answers is not one of the options shown. Please choose again and send.")
    )


def _what_to_change(answers: Mapping[str, str], comment: str) -> str:
    """Words for the person, picked by what they can change (the rules are the service's)."""
    if len(comment.strip()) > COMMENT_MAX_CHARS:
        return str(
            gettext(
                "Your comment is longer than %(max)d characters. Please shorten it and send again.",
                max=COMMENT_MAX_CHARS,
            )
        )
    if not any(value.strip() for value in answers.values()) and not comment.strip():
        return str(gettext("Please answer at least one question, or write a comment, then send."))
    return _not_an_option()


# ---------------------------------------------------------------- support


@dataclass(frozen=True)
class ContactLink:
    """A tappable way to reach a service."""

    href: str
    label: str


@dataclass(frozen=True)
class SupportService:
    """A support resource in one language."""

    id: str
    name: str
    description: str
    contacts: list[ContactLink]


def support_resources(language: str) -> list[SupportService]:
    """The organisation's support resources from ``surveys/support.yaml``, in ``language``."""
    return [
        SupportService(
            id=r.id,
            name=r.name.get(language),
            description=r.description.get(language),
            contacts=[ContactLink(_href(c, language), c.label.get(language)) for c in r.contacts],
        )
        for r in current_bank().support.resources
    ]


def _href(contact: SupportContact, language: str) -> str:
    if contact.kind == "web":
        return contact.address
    number = contact.address.replace(" ", "")
    if contact.kind == "call":
        return f"tel:{number}"
    # "?&body=" is the form both Android and iOS messaging apps read.
    body = f"?&body={quote(contact.message.get(language))}" if contact.message else ""
    return f"sms:{number}{body}"


def you_said_we_did(invitation_id: object, language: str) -> list[Done]:
    """What the organisation did since this person's last pulse, for the thank-you page."""
    if not isinstance(invitation_id, int):
        return []
    invitation = db.session.get(Invitation, invitation_id)
    return actions.for_invitation(invitation, language) if invitation is not None else []
