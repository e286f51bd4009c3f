"""SQLAlchemy models (typed, SQLAlchemy 2.0 style)."""

from app.models.attempt import Attempt, Response
from app.models.bank import Bank, BankRelease, Question, QuestionVersion, QuestionVersionTag, ReleaseItem
from app.models.user import Membership, Organization, User

__all__ = [
    "Attempt",
    "Bank",
    "BankRelease",
    "Membership",
    "Organization",
    "Question",
    "QuestionVersion",
    "QuestionVersionTag",
    "ReleaseItem",
    "Response",
    "User",
]
