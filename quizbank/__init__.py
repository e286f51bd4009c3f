"""Framework-free question bank: format, validation, hashing, versioning and converters.

Nothing here imports Flask. The web app and the CLI both build on these functions.
"""

from quizbank.errors import BankError, Problem
from quizbank.hashing import content_hash, question_content
from quizbank.loader import load_bank
from quizbank.model import Bank, Option, Question, Scenario, Track

BUNDLED_BANKS = __path__[0] + "/banks"

__all__ = [
    "BUNDLED_BANKS",
    "Bank",
    "BankError",
    "Option",
    "Problem",
    "Question",
    "Scenario",
    "Track",
    "content_hash",
    "load_bank",
    "question_content",
]
