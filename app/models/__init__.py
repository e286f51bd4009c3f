"""SQLAlchemy models (typed, SQLAlchemy 2.0 style)."""

from app.models.attempt import Attempt, Response
from app.models.bank import Bank, BankRelease, Question, QuestionVersion, QuestionVersionTag, ReleaseItem
from app.models.category_map import BankCategoryMap
from app.models.organization import (
    ApiToken,
    Cohort,
    CohortMember,
    Invitation,
    QuestionSet,
    QuestionSetAssignment,
)
from app.models.pathway import Certification, EvidenceFile, LearnerRecord, RecordEvent, TrainingSession
from app.models.progress import BankCalibration, Certificate, ReadinessSnapshot, ReviewCard
from app.models.user import Membership, Organization, User

__all__ = [
    "Certification",
    "EvidenceFile",
    "LearnerRecord",
    "RecordEvent",
    "TrainingSession",
    "ApiToken",
    "Cohort",
    "CohortMember",
    "Invitation",
    "QuestionSet",
    "QuestionSetAssignment",
    "Attempt",
    "Bank",
    "BankCalibration",
    "BankCategoryMap",
    "BankRelease",
    "Certificate",
    "Membership",
    "Organization",
    "Question",
    "QuestionVersion",
    "QuestionVersionTag",
    "ReadinessSnapshot",
    "ReleaseItem",
    "Response",
    "ReviewCard",
    "User",
]
