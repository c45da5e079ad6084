"""The plain-language note on method and privacy that travels with every workbook and report."""

from __future__ import annotations

from wellbeing.releases.service import latest_release
from wellbeing.releases.suppression import HIDDEN_REASON
from wellbeing.reports.service import WaveInfo


def minimum_group_size(wave: WaveInfo) -> int:
    release = latest_release(wave.id)
    return release.min_group_size if release is not None else 5


def method_note(wave: WaveInfo) -> list[tuple[str, str]]:
    """Headed paragraphs: how the numbers were made and what was kept back, and why."""
    k = minimum_group_size(wave)
    return [
        (
            "Where these numbers come from",
            "Staff answered a short anonymous pulse survey by a personal link. The link is used "
            "once and then forgotten: the stored answers carry no name, email or link, so no "
            "one, including the people who run this system, can tell who gave which answer. "
            "Every number here was taken from the published results of each closed wave; "
            "nothing was recomputed from answers for this report.",
        ),
        (
            "What an index is",
            "Each of the five essentials for workplace wellbeing, and each field measure, is "
            "reported as an index from 0 to 100: every person's answers to that area's "
            "questions are placed on the same 0-100 line, turned so that higher is always "
            "better, and averaged. For burnout and secondary traumatic stress the report also "
            "gives the share of staff whose answers point to a problem.",
        ),
        (
            "The ranges",
            "The range shown after a number (for example 62 (55-69)) is its 95% interval: with "
            "the number of people who answered, the true figure for the group is very likely "
            "inside it. Small groups have wide ranges; read them with care.",
        ),
        (
            "Changes",
            "A change from the previous wave is called up or down only when the interval of "
            "the difference leaves out zero. Anything else is written as within normal "
            "variation: pulse results move a little from wave to wave by chance alone. Over "
            "ten or more waves, the trend charts also apply run-chart rules (a long run on one "
            "side of the median, or too few crossings of it) to spot a real shift.",
        ),
        (
            "What is kept back, and why",
            f"No result is shown for a group of fewer than {k} people, and comparisons by "
            "role, tenure or language need at least 10 in each group. Where one group's "
            "numbers could be worked out by subtracting others (a team from its program, the "
            "same team a joiner or leaver apart from last wave), more is hidden until that is "
            "impossible. Every hidden figure is marked the same way however few people it "
            f"covers: \u201c{HIDDEN_REASON}\u201d Participation is given in bands, not exact "
            "counts.",
        ),
        (
            "Comments",
            "Written comments appear only for groups of at least 10 respondents with at least "
            "3 people commenting, after names, numbers and other identifying details are "
            "masked. Themes count the released comments that touch each topic.",
        ),
        (
            "Passing this on",
            "This file holds exactly what its reader was allowed to see on screen. It can be "
            "shared as it is; please do not try to combine it with other sources to learn "
            "about individuals.",
        ),
    ]
