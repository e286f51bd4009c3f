"""GIFT, Moodle XML, QTI 2.1/3.0 and Aiken import; GIFT, Moodle XML and QTI export (framework-free).

``parse_gift`` / ``parse_moodle_xml`` / ``parse_aiken`` turn a file into a ``ConversionResult`` for a target
bank's domain and tag vocabularies: the scenarios built from every valid single-answer multiple-choice question, the
questions that cannot be represented (``Skipped``, with their line and reason; never silently dropped), and
the problems to fix (``quizbank.errors.Problem`` with file and line). A result with problems must not be
imported. Inputs larger than ``MAX_IMPORT_BYTES`` raise ``ConversionError``.

``to_gift`` / ``to_moodle_xml`` write a whole bank with enough metadata that parsing the output rebuilds
every question with the same content hash. The mapping rules are in each module's docstring and in
quizbank/FORMAT.md. ``quizbank.formats`` is the registry that names, detects, parses and dumps every format.
"""

from quizbank.converters.aiken import parse_aiken
from quizbank.converters.common import MAX_IMPORT_BYTES, ConversionError, ConversionResult, Skipped
from quizbank.converters.gift import parse_gift, to_gift
from quizbank.converters.moodle_xml import parse_moodle_xml, to_moodle_xml
from quizbank.converters.qti import parse_qti, to_qti21, to_qti30

__all__ = [
    "MAX_IMPORT_BYTES",
    "ConversionError",
    "ConversionResult",
    "Skipped",
    "parse_aiken",
    "parse_gift",
    "parse_moodle_xml",
    "parse_qti",
    "to_gift",
    "to_moodle_xml",
    "to_qti21",
    "to_qti30",
]
