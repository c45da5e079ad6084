"""Every model, imported in one place so migrations and ``create_all`` see the whole schema."""

from wellbeing.actions.models import Action, ActionStatus
from wellbeing.auth.models import AccessRecord, ApiToken, Role, User, user_unit
from wellbeing.org.models import Person, Unit
from wellbeing.pulse.models import (
    DeliveryStatus,
    Invitation,
    InvitationToken,
    PulseProgram,
    Wave,
    WaveStatus,
    program_unit,
)
from wellbeing.releases.models import CellScope, Release, ReleaseCell, ReleasedComment
from wellbeing.responses.models import Answer, Choice, Comment, Response, Submission

__all__ = [
    "AccessRecord",
    "Action",
    "ActionStatus",
    "Answer",
    "ApiToken",
    "CellScope",
    "Choice",
    "Comment",
    "DeliveryStatus",
    "Invitation",
    "InvitationToken",
    "Person",
    "PulseProgram",
    "Release",
    "ReleaseCell",
    "ReleasedComment",
    "Response",
    "Role",
    "Submission",
    "Unit",
    "User",
    "Wave",
    "WaveStatus",
    "program_unit",
    "user_unit",
]
