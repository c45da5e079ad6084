"""Comments in a release: grouped so no small group's comments stand alone, masked, tagged.

Each comment is released in exactly one group: the lowest unit on its path up the hierarchy
where the comments not yet released below, pooled, come from enough respondents and enough
commenters. Comments that never reach such a group are withheld. Because a comment appears in
one group only, no difference between two views singles out a small team's comments.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from wellbeing.bank.schema import Topic
from wellbeing.org.models import Unit

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)(\+?\d[\d\s().-]{6,}\d)(?!\w)")
_CASE = re.compile(
    r"(?i)\b(case|record|file|client|id|#)\s*(no\.?|number|#)?\s*[:#]?\s*[A-Z]*\d[\w-]{2,}"
)
_LONG_NUMBER = re.compile(r"\b\d{4,}\b")


@dataclass
class CommentGroup:
    """The comments released together at one unit."""

    unit_id: int
    respondents: int
    raw: list[str] = field(default_factory=list)
    comments: list[tuple[str, list[str]]] = field(default_factory=list)


def group_comments(
    units: list[Unit],
    respondents_by_unit: dict[int, int],
    comments: Iterable[tuple[int, str]],
    *,
    min_respondents: int,
    min_commenters: int,
) -> list[CommentGroup]:
    """Pool comments upwards from each unit until a pool qualifies; release it there."""
    by_unit: dict[int, list[str]] = defaultdict(list)
    for unit_id, body in comments:
        by_unit[unit_id].append(body)
    children: dict[int | None, list[Unit]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id].append(unit)
    released: list[CommentGroup] = []

    def walk(unit: Unit) -> tuple[int, list[str]]:
        pool_people = respondents_by_unit.get(unit.id, 0)
        pool_comments = list(by_unit.get(unit.id, []))
        for child in children.get(unit.id, []):
            people, bodies = walk(child)
            pool_people += people
            pool_comments += bodies
        if (
            pool_comments
            and pool_people >= min_respondents
            and len(pool_comments) >= min_commenters
        ):
            released.append(CommentGroup(unit.id, pool_people, raw=pool_comments))
            return 0, []
        return pool_people, pool_comments

    for root in children.get(None, []):
        walk(root)
    return released


def mask_comment(body: str, names: set[str]) -> str:
    """The comment with emails, phone numbers, case or record numbers and roster names masked."""
    text = _EMAIL.sub("[email]", body)
    text = _CASE.sub("[case number]", text)
    text = _PHONE.sub("[phone]", text)
    text = _LONG_NUMBER.sub("[number]", text)
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?i)\b{re.escape(name)}\b", "[name]", text)
    return text


def tag_topics(body: str, topics: Iterable[Topic]) -> list[str]:
    """The lexicon topics a comment mentions, in English or Spanish."""
    lowered = body.lower()
    found = []
    for topic in topics:
        terms = [*topic.terms.get("en", []), *topic.terms.get("es", [])]
        if any(re.search(rf"\b{re.escape(term.lower())}", lowered) for term in terms):
            found.append(topic.id)
    return found
