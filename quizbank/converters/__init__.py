"""GIFT and Moodle XML import and export for quiz banks (framework-free).

``parse_gift`` / ``parse_moodle_xml`` turn a file into a ``ConversionResult`` for a target bank's domain and
tag vocabularies: the scenarios built from every valid single-answer multiple-choice question, the
questions that cannot be represented (``Skipped``, with their line and reason; never silently dropped), and
the problems to fix (``quizbank.errors.Problem`` with file and line). A result with problems must not be
imported. Inputs larger than ``MAX_IMPORT_BYTES`` raise ``ConversionError``.

``to_gift`` / ``to_moodle_xml`` write a whole bank with enough metadata that parsing the output rebuilds
every question with the same content hash. The mapping rules are in each module's docstring and in
quizbank/FORMAT.md.
"""

from quizbank.converters.common import MAX_IMPORT_BYTES, ConversionError, ConversionResult, Skipped
from quizbank.converters.gift import parse_gift, to_gift
from quizbank.converters.moodle_xml import parse_moodle_xml, to_moodle_xml

__all__ = [
    "MAX_IMPORT_BYTES",
    "ConversionError",
    "ConversionResult",
    "Skipped",
    "parse_gift",
    "parse_moodle_xml",
    "to_gift",
    "to_moodle_xml",
]
