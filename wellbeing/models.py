"""Every model, imported in one place so migrations and ``create_all`` see the whole schema."""

from wellbeing.actions.models import Action, ActionEntry, ActionStatus, FollowUp
from wellbeing.auth.models import AccessRecord, ApiToken, Role, User, user_unit
from wellbeing.org.models import Person, Unit
from wellbeing.practices.models import (
    ChecklistRating,
    PracticeAssessment,
    PracticeRating,
    PracticeRecord,
)
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
from wellbeing.retention.models import RetentionRun, RunTrigger, WaveDeletion

__all__ = [
    "AccessRecord",
    "Action",
    "ActionEntry",
    "ActionStatus",
    "Answer",
    "ApiToken",
    "CellScope",
    "ChecklistRating",
    "Choice",
    "Comment",
    "DeliveryStatus",
    "FollowUp",
    "Invitation",
    "InvitationToken",
    "Person",
    "PracticeAssessment",
    "PracticeRating",
    "PracticeRecord",
    "PulseProgram",
    "Release",
    "ReleaseCell",
    "ReleasedComment",
    "Response",
    "RetentionRun",
    "Role",
    "RunTrigger",
    "Submission",
    "Unit",
    "User",
    "Wave",
    "WaveDeletion",
    "WaveStatus",
    "program_unit",
    "user_unit",
]
