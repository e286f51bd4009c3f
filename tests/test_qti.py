"""IMS QTI 2.1 and 3.0 packages: hand-written fixtures in tests/data/converters/qti, safety, structure, round trips."""

from __future__ import annotations

import dataclasses
import io
import re
import stat
import zipfile
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring

import quizbank
from quizbank import formats
from quizbank.converters import ConversionError, ConversionResult, qti
from quizbank.converters.qti import parse_qti, sniff_qti, to_qti21, to_qti30
from quizbank.diff import bank_hashes
from tests.conftest import BUNDLED_BANK, MINI_BANK

DATA = Path(__file__).parent / "data" / "converters" / "qti"
MINI = quizbank.load_bank(MINI_BANK)
VOCABULARY = {"domains": MINI.domains, "tags": MINI.tags}  # advocacy, ethics; stigma, boundaries, housing
EXPORTS = {"qti21": to_qti21, "qti30": to_qti30}
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def zip_folder(folder: Path) -> bytes:
    """A fixture folder as a content package (entries named relative to the folder)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def zip_entries(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def package(name: str) -> ConversionResult:
    return parse_qti(zip_folder(DATA / name), source=f"{name}.zip", **VOCABULARY)


def single(name: str) -> ConversionResult:
    return parse_qti((DATA / name).read_bytes(), source=name, **VOCABULARY)


def line_of(relative: str, needle: str) -> int:
    """The 1-based line of the fixture file that contains needle; it must be the only one."""
    lines = (DATA / relative).read_text(encoding="utf-8").splitlines()
    found = [n for n, line in enumerate(lines, 1) if needle in line]
    assert len(found) == 1, f"{needle!r} should occur on exactly one line of {relative}"
    return found[0]


def questions(result: ConversionResult) -> dict[str, tuple[quizbank.Scenario, quizbank.Question]]:
    return {q.id: (s, q) for s in result.scenarios for q in s.questions}


def problems(result: ConversionResult) -> list[str]:
    return [str(p) for p in result.problems]


# QTI 2.1 package import ------------------------------------------------------------------------------------


def test_qti21_item_with_prompt_and_modal_feedback():
    scenario, question = questions(package("package21"))["lease-refusal"]
    assert scenario.text == (
        "Sam is refused a lease after mentioning a past hospital stay.\n\n"
        'The agent says the flat & its garden are "for quiet tenants".\nSam is upset.'
    )
    assert question.stem == "What is the best first action?"
    assert [o.correct for o in question.options] == [False, True, False, False]
    assert [o.rationale for o in question.options] == [
        "Doing it for him.",  # the showHide="hide" feedback for ChoiceA is not its rationale
        "Keeps Sam in charge.",
        "Legal advice is outside scope.",
        "Escalates without consent.",
    ]


def test_qti21_lom_metadata_gives_domain_tags_and_difficulty():
    scenario, question = questions(package("package21"))["lease-refusal"]
    assert scenario.domain == "advocacy"  # taxon entry "Advocacy" (display name); "Peer work" is ignored
    assert scenario.tags == ("stigma",)  # keyword "Stigma"; the keyword outside the vocabulary is ignored
    assert question.difficulty == "hard"  # LOM "difficult"
    assert scenario.id == "lease-refusal-scenario"


def test_qti21_feedback_inline_is_the_rationale_and_the_last_paragraph_is_the_stem():
    scenario, question = questions(package("package21"))["a-small-gift"]  # identifier Q_0042 is not kebab
    assert scenario.text == "A peer you support offers you concert tickets as thanks."
    assert question.stem == "What should you do?"
    assert [o.text for o in question.options] == [
        "Accept them",
        "Thank them and decline",
        "Accept and tell your supervisor later",
    ]
    assert question.options[1].correct and question.options[1].rationale == "Keeps the boundary kindly."
    assert (scenario.domain, scenario.tags) == ("ethics", ("boundaries",))  # taxon ids
    assert question.difficulty == "medium"


def test_qti21_multiple_response_and_other_interactions_are_skipped_with_file_and_reason():
    skipped = {(s.kind, s.title, s.reason) for s in package("package21").skipped}
    assert skipped == {
        (
            "choiceInteraction (multiple response)",
            "Select all recovery supports (items/select-all.xml)",
            "multiple response: not supported yet",
        ),
        (
            "textEntryInteraction",
            "Fill in the word (items/fill-in.xml)",
            "textEntryInteraction is not supported (only choiceInteraction)",
        ),
    }
    assert all(s.line == 2 for s in package("package21").skipped)  # the <assessmentItem> start tag


def test_qti21_problems_name_the_file_in_the_package_and_its_line():
    found = problems(package("package21"))
    manifest = f"package21.zip/imsmanifest.xml:{line_of('package21/imsmanifest.xml', 'RES-missing')}"
    choice_b = line_of("package21/items/no-feedback.xml", 'identifier="B"')
    assert f"{manifest}: resource 'RES-missing': items/missing.xml is not in the package" in found
    assert any(p.startswith(f"package21.zip/items/no-feedback.xml:{choice_b}: ") for p in found)
    assert any(p.startswith("package21.zip/items/no-feedback.xml:2: no domain") for p in found)
    assert len(found) == 3  # the webcontent resource (a stylesheet) is not an item


# QTI 3.0 package import ------------------------------------------------------------------------------------


def test_qti30_names_content_body_and_round_trip_metadata():
    result = package("package30")
    scenario, question = questions(result)["eth-disclosure-q1"]  # LOM identifier, catalog quizbank
    assert scenario.id == "eth-disclosure"  # LOM relation ispartof, catalog quizbank-scenario
    assert (scenario.domain, scenario.tags, scenario.competencies) == ("ethics", ("boundaries",), ("c01",))
    assert question.difficulty == "easy"  # "very easy"
    assert scenario.text == "In a group, a member asks whether you have ever relapsed."
    assert question.stem == "Which response best fits the purpose of self-disclosure?"
    assert question.options[1].correct
    assert question.options[1].rationale == "Brief and purposeful.\n\nIt serves the member."
    assert [(s.title, s.reason) for s in result.skipped] == [
        ("Pick two (items/pick-two.xml)", "multiple response: not supported yet")
    ]
    assert result.problems == ()


def test_a_lone_item_file_is_read_but_has_no_domain_without_a_manifest():
    result = single("item21.xml")
    assert problems(result) == [
        "item21.xml:3: no domain: the question is in no category naming a bank domain (advocacy, ethics)"
    ]
    rich = parse_qti((DATA / "item21.xml").read_bytes(), source="item21.xml", domains={"x": "X"}, tags={})
    assert rich.problems  # still no domain: a lone item carries no classification


def test_a_lone_item_with_a_domain_vocabulary_match_is_imported(tmp_path):
    manifest = (DATA / "package21" / "imsmanifest.xml").read_text(encoding="utf-8")
    resource = manifest.split('<resource identifier="RES-gift"')[1].split("</resource>")[0]
    data = zip_entries(
        {
            "imsmanifest.xml": manifest.split("<resources>")[0]
            + f'<resources><resource identifier="RES-gift"{resource}</resource></resources></manifest>',
            "items/gift.xml": (DATA / "item21.xml").read_bytes(),
        }
    )
    result = parse_qti(data, source="p.zip", **VOCABULARY)
    scenario, question = questions(result)["alone"]
    assert (scenario.text, question.stem, scenario.domain) == ("", "Which phrase is person-first?", "ethics")
    assert [o.rationale for o in question.options] == ["Person first.", "A label.", "A label."]


def item(body: str, *, declaration: str = "", feedback: str = "", namespace: str = qti.QTI21_NS) -> bytes:
    """A QTI 2.1 item around an itemBody, for the small cases below."""
    declaration = declaration or (
        '<responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">'
        "<correctResponse><value>A</value></correctResponse></responseDeclaration>"
    )
    return (
        f'<assessmentItem xmlns="{namespace}" identifier="x" title="X" adaptive="false" timeDependent="false">\n'
        f"{declaration}\n<itemBody>\n{body}\n</itemBody>\n{feedback}\n</assessmentItem>\n"
    ).encode()


CHOICES = (
    '<simpleChoice identifier="A">a<feedbackInline outcomeIdentifier="F" identifier="A">ra</feedbackInline>'
    "</simpleChoice>\n"
    '<simpleChoice identifier="B">b<feedbackInline outcomeIdentifier="F" identifier="B">rb</feedbackInline>'
    "</simpleChoice>\n"
    '<simpleChoice identifier="C">c<feedbackInline outcomeIdentifier="F" identifier="C">rc</feedbackInline>'
    "</simpleChoice>"
)
INTERACTION = (
    f'<choiceInteraction responseIdentifier="RESPONSE" maxChoices="1"><prompt>Q?</prompt>{CHOICES}</choiceInteraction>'
)


def parse_item(data: bytes) -> ConversionResult:
    return parse_qti(data, source="i.xml", domains={"d": "D"}, tags={})


@pytest.mark.parametrize(
    ("body", "declaration", "expected"),
    [
        (INTERACTION + "<p>After.</p>", "", "text after the interaction cannot be kept"),
        (INTERACTION + INTERACTION, "", "2 interactions (choiceInteraction); only one choiceInteraction"),
        ("<p>No interaction.</p>", "", "the item body has no interaction to answer"),
        (
            INTERACTION,
            '<responseDeclaration identifier="RESPONSE" cardinality="ordered" baseType="identifier"/>',
            "multiple response: not supported yet",
        ),
        (INTERACTION.replace('maxChoices="1"', 'maxChoices="0"'), "", "multiple response: not supported yet"),
    ],
)
def test_items_that_cannot_be_kept_are_skipped_with_a_reason(body, declaration, expected):
    result = parse_item(item(body, declaration=declaration))
    assert [s.reason for s in result.skipped] == [expected]
    assert result.scenarios == ()


@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        (
            '<responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">'
            "<correctResponse><value>Z</value></correctResponse></responseDeclaration>",
            "i.xml:4: correctResponse names 'Z', which is not a choice",
        ),
        (
            '<responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">'
            "<correctResponse><value>A</value><value>B</value></correctResponse></responseDeclaration>",
            "i.xml:4: correctResponse of a single response holds 2 values",
        ),
        (
            '<responseDeclaration identifier="OTHER" cardinality="single" baseType="identifier"/>',
            "i.xml:4: no responseDeclaration for response 'RESPONSE'",
        ),
    ],
)
def test_key_problems_point_at_the_interaction(declaration, expected):
    assert problems(parse_item(item(INTERACTION, declaration=declaration))) == [expected]


def test_an_item_without_a_key_is_a_problem_with_a_hint():
    declaration = '<responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier"/>'
    (found,) = problems(parse_item(item(INTERACTION, declaration=declaration)))
    assert found.startswith("i.xml:1: ") and "correctResponse" in found


def test_media_and_feedback_not_tied_to_a_choice_are_noted():
    body = '<p>See <img src="chart.png" alt="chart"/>.</p>' + INTERACTION
    feedback = (
        '<modalFeedback outcomeIdentifier="FEEDBACK" identifier="correct" showHide="show">Well done.</modalFeedback>'
    )
    result = parse_item(item(body, feedback=feedback))
    assert [message for _, _, message in result.notes] == [
        "image 'chart.png' is not kept",
        "modal feedback 'correct' is not tied to one choice: not kept",
    ]


def test_an_item_outside_the_qti_namespaces_or_not_an_item_is_a_problem():
    assert problems(parse_item(item(INTERACTION, namespace="urn:other"))) == [
        f"i.xml:1: unknown namespace 'urn:other': expected QTI 2.1 ({qti.QTI21_NS}) or 3.0 ({qti.QTI30_NS})"
    ]
    assert problems(parse_item(b"<quiz/>")) == ["i.xml:1: expected a QTI assessmentItem, found <quiz>"]
    assert problems(parse_item(b"<assessmentItem>"))[0].startswith("i.xml:1: invalid XML: ")


# Safety ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["xxe_item.xml", "laughs_item.xml"])
def test_dtds_and_entities_are_refused_as_unsafe_xml(name):
    (found,) = single(name).problems
    assert (found.path, found.line) == (name, 2)
    assert found.message.startswith("unsafe XML: DTDForbidden")


def test_an_unsafe_manifest_or_item_inside_a_package_is_refused():
    xxe = (DATA / "xxe_item.xml").read_bytes()
    assert problems(parse_qti(zip_entries({"imsmanifest.xml": xxe}), source="p.zip", **VOCABULARY))[0].startswith(
        "p.zip/imsmanifest.xml:2: unsafe XML"
    )
    manifest = (DATA / "package30" / "imsmanifest.xml").read_bytes()
    data = zip_entries({"imsmanifest.xml": manifest, "items/disclosure.xml": xxe, "items/pick-two.xml": xxe})
    found = problems(parse_qti(data, source="p.zip", **VOCABULARY))
    assert [p.split(": ")[0] for p in found] == ["p.zip/items/disclosure.xml:2", "p.zip/items/pick-two.xml:2"]


@pytest.mark.parametrize(
    "name", ["../evil.xml", "/etc/evil.xml", "items/../../evil.xml", "items\\..\\evil.xml", "C:/evil.xml"]
)
def test_zip_entries_outside_the_package_are_refused(name):
    data = zip_entries({"imsmanifest.xml": (DATA / "package30" / "imsmanifest.xml").read_bytes(), name: b"x"})
    result = parse_qti(data, source="p.zip", **VOCABULARY)
    assert problems(result) == [f"p.zip:1: zip entry {name!r} points outside the package"]
    assert result.scenarios == ()


def test_a_manifest_href_outside_the_package_is_refused():
    manifest = (DATA / "package30" / "imsmanifest.xml").read_text(encoding="utf-8")
    manifest = manifest.replace('href="items/disclosure.xml"', 'href="../disclosure.xml"', 1)
    found = problems(parse_qti(zip_entries({"imsmanifest.xml": manifest}), source="p.zip", **VOCABULARY))
    assert any("href '../disclosure.xml' does not name a file in the package" in p for p in found)


def test_symbolic_links_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("items/link.xml")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    assert problems(parse_qti(buffer.getvalue(), source="p.zip", **VOCABULARY)) == [
        "p.zip:1: zip entry 'items/link.xml' is a symbolic link; links are refused"
    ]


def test_entry_count_and_unpacked_size_are_capped(monkeypatch):
    monkeypatch.setattr(qti, "MAX_ZIP_FILES", 2)
    data = zip_entries({"a.xml": "a", "b.xml": "b", "c.xml": "c"})
    assert problems(parse_qti(data, source="p.zip", **VOCABULARY)) == [
        "p.zip:1: the zip holds 3 entries; the limit is 2"
    ]
    monkeypatch.setattr(qti, "MAX_ZIP_FILES", 100)
    monkeypatch.setattr(qti, "MAX_UNZIPPED_BYTES", 1000)
    bomb = zip_entries({"imsmanifest.xml": b"<manifest/>" + b" " * 5000})
    assert problems(parse_qti(bomb, source="p.zip", **VOCABULARY)) == [
        "p.zip:1: the zip unpacks to 5011 bytes; the limit is 1000"
    ]


def test_an_entry_larger_than_the_file_limit_is_not_read_past_it(monkeypatch):
    monkeypatch.setattr(qti, "MAX_IMPORT_BYTES", 100)
    data = zip_entries({"imsmanifest.xml": b"<manifest/>" + b" " * 200})
    assert problems(parse_qti(data, source="p.zip", **VOCABULARY)) == [
        "p.zip/imsmanifest.xml:1: file is larger than 100 bytes"
    ]


def test_packages_without_a_manifest_or_items_are_problems():
    assert problems(parse_qti(zip_entries({"items/a.xml": "<x/>"}), source="p.zip", **VOCABULARY)) == [
        "p.zip:1: no imsmanifest.xml: a QTI package lists its items there"
    ]
    empty = zip_entries({"imsmanifest.xml": f'<manifest xmlns="{qti.CP11_NS}"><resources/></manifest>'})
    assert problems(parse_qti(empty, source="p.zip", **VOCABULARY)) == [
        "p.zip/imsmanifest.xml:1: the manifest lists no QTI items (resources of type imsqti_item_xmlv2p... or "
        "imsqti_item_xmlv3p0...)"
    ]


def test_inputs_over_the_size_limit_raise_a_conversion_error():
    with pytest.raises(ConversionError):
        parse_qti(b" " * (qti.MAX_IMPORT_BYTES + 1), source="big.zip", **VOCABULARY)


# Sniffing and the format registry -----------------------------------------------------------------------------


def test_sniffing_tells_the_versions_apart_and_ignores_other_files():
    assert sniff_qti(zip_folder(DATA / "package21")) == "qti21"
    assert sniff_qti(zip_folder(DATA / "package30")) == "qti30"
    assert sniff_qti((DATA / "item21.xml").read_bytes()) == "qti21"
    assert sniff_qti((DATA / "package30" / "items" / "disclosure.xml").read_bytes()) == "qti30"
    assert sniff_qti(formats.dump_bank_zip(MINI)) is None
    assert sniff_qti(b"<quiz></quiz>") is None
    assert sniff_qti(b"PK\x03\x04 broken") is None


def test_the_registry_detects_and_round_trips_both_versions():
    for name, export in EXPORTS.items():
        fmt = formats.by_name(name)
        data = fmt.dump(MINI)
        assert data == export(MINI)
        assert formats.detect(fmt.filename("mini-1.0.0"), data) is fmt
        result = fmt.parse(data, source="x.zip", domains=MINI.domains, tags=MINI.tags)
        assert bank_hashes(dataclasses.replace(MINI, scenarios=result.scenarios)) == bank_hashes(MINI)
    assert formats.detect("bank.zip", formats.dump_bank_zip(MINI)).name == "yaml-zip"


# Export structure (what QTI 2.1 and 3.0 require of an item and a package) ------------------------------------


@dataclasses.dataclass
class Names:
    """The element and attribute names of one QTI version, in the version's namespace."""

    ns: str
    v3: bool

    def __call__(self, name: str) -> str:
        if self.v3 and name not in ("p", "br"):
            name = "qti-" + re.sub(r"([A-Z])", lambda m: "-" + m.group(1).lower(), name)
        return f"{{{self.ns}}}{name}"

    def attr(self, name: str) -> str:
        return re.sub(r"([A-Z])", lambda m: "-" + m.group(1).lower(), name) if self.v3 else name


ORDER = ["responseDeclaration", "outcomeDeclaration", "itemBody", "responseProcessing", "modalFeedback"]


def check_item(root: Element, n: Names, question: quizbank.Question) -> None:
    """The structure QTI requires of a single-choice item with per-choice modal feedback."""
    assert root.tag == n("assessmentItem")
    assert NCNAME.match(root.get("identifier")) and root.get("title") is not None
    assert root.get(n.attr("timeDependent")) == "false"
    kinds = [ORDER.index(next(k for k in ORDER if child.tag == n(k))) for child in root]
    assert kinds == sorted(kinds), "children out of the order the schema requires"
    (declaration,) = root.findall(n("responseDeclaration"))
    assert (declaration.get("identifier"), declaration.get("cardinality")) == ("RESPONSE", "single")
    assert declaration.get(n.attr("baseType")) == "identifier"
    (value,) = declaration.findall(f"{n('correctResponse')}/{n('value')}")
    outcomes = {o.get("identifier"): o.get(n.attr("baseType")) for o in root.findall(n("outcomeDeclaration"))}
    assert outcomes == {"SCORE": "float", "FEEDBACK": "identifier"}
    body = root.find(n("itemBody"))
    (interaction,) = body.findall(n("choiceInteraction"))
    assert interaction.get(n.attr("responseIdentifier")) == "RESPONSE"
    assert interaction.get(n.attr("maxChoices")) == "1"
    assert interaction[0].tag == n("prompt")
    choices = [c.get("identifier") for c in interaction.findall(n("simpleChoice"))]
    assert len(choices) == len(question.options) == len(set(choices)) and all(NCNAME.match(c) for c in choices)
    assert value.text == choices[question.correct_index]
    declared = {"RESPONSE", *outcomes}
    assert not declared & set(choices)
    used = {v.get("identifier") for tag in ("variable", "correct", "setOutcomeValue") for v in root.iter(n(tag))}
    assert used <= declared
    feedback = root.findall(n("modalFeedback"))
    assert [f.get("identifier") for f in feedback] == choices
    for element in feedback:
        assert element.get(n.attr("outcomeIdentifier")) == "FEEDBACK"
        assert element.get(n.attr("showHide")) == "show"
        if n.v3:  # QTI 3.0 wraps the content in qti-content-body; 2.1 holds flow content directly
            assert [child.tag for child in element] == [n("contentBody")]
        else:
            assert all(child.tag == n("br") for child in element)
    block_level = {n("p"), n("choiceInteraction")}
    assert all(child.tag in block_level for child in body)


def check_package(data: bytes, bank: quizbank.Bank, version: str) -> None:
    v3 = version == "qti30"
    n = Names(qti.QTI30_NS if v3 else qti.QTI21_NS, v3)
    cp = qti.CP_QTI30_NS if v3 else qti.CP11_NS
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = fromstring(archive.read("imsmanifest.xml"))
    assert manifest.tag == f"{{{cp}}}manifest" and NCNAME.match(manifest.get("identifier"))
    assert [c.tag for c in manifest] == [f"{{{cp}}}{t}" for t in ("metadata", "organizations", "resources")]
    resources = manifest.findall(f"{{{cp}}}resources/{{{cp}}}resource")
    assert len(resources) == bank.question_count
    assert len({r.get("identifier") for r in resources}) == len(resources)
    by_id = {q.id: q for _, q in bank.questions()}
    for resource in resources:
        assert NCNAME.match(resource.get("identifier"))
        assert resource.get("type") == ("imsqti_item_xmlv3p0" if v3 else "imsqti_item_xmlv2p1")
        assert [f.get("href") for f in resource.findall(f"{{{cp}}}file")] == [resource.get("href")]
        assert resource.find(f"{{{cp}}}metadata/{{{qti.LOM_NS}}}lom") is not None
        root = fromstring(archive.read(resource.get("href")))
        check_item(root, n, by_id[resource.get("identifier").removeprefix("RES-")])
    assert sorted(archive.namelist()) == sorted(["imsmanifest.xml", *(r.get("href") for r in resources)])


@pytest.mark.parametrize("version", EXPORTS)
def test_exports_have_the_structure_qti_requires(version):
    check_package(EXPORTS[version](MINI), MINI, version)
    tricky = dataclasses.replace(MINI, scenarios=(TRICKY, NO_SCENARIO))
    check_package(EXPORTS[version](tricky), tricky, version)


def test_exports_are_deterministic_and_carry_lom_metadata():
    assert to_qti21(MINI) == to_qti21(MINI)
    manifest = zipfile.ZipFile(io.BytesIO(to_qti21(MINI))).read("imsmanifest.xml").decode()
    for needle in (
        "<imsmd:entry>adv-one-q1</imsmd:entry>",
        "<imsmd:catalog>quizbank-scenario</imsmd:catalog><imsmd:entry>adv-one</imsmd:entry>",
        "<imsmd:keyword><imsmd:string>housing</imsmd:string></imsmd:keyword>",
        "<imsmd:value>discipline</imsmd:value>",
        "<imsmd:id>c01</imsmd:id>",
    ):
        assert needle in manifest


def test_an_item_identifier_is_always_a_valid_qti_identifier():
    assert qti.item_identifier("adv-one-q1") == "adv-one-q1"
    assert qti.item_identifier("2024-q1") == "q-2024-q1"


# Round trips ---------------------------------------------------------------------------------------------------


def round_trip(bank: quizbank.Bank, version: str) -> tuple[quizbank.Bank, ConversionResult]:
    result = parse_qti(EXPORTS[version](bank), source=f"export.{version}.zip", domains=bank.domains, tags=bank.tags)
    return dataclasses.replace(bank, scenarios=result.scenarios), result


@pytest.mark.parametrize("version", EXPORTS)
@pytest.mark.parametrize("path", [MINI_BANK, BUNDLED_BANK], ids=["mini", "bundled"])
def test_round_trip_keeps_every_content_hash(path, version):
    bank = quizbank.load_bank(path)
    rebuilt, result = round_trip(bank, version)
    assert (result.problems, result.skipped, result.notes) == ((), (), ())
    assert bank_hashes(rebuilt) == bank_hashes(bank)
    assert sorted(s.id for s in rebuilt.scenarios) == sorted(s.id for s in bank.scenarios)


TRICKY = quizbank.Scenario(
    id="tricky",
    domain="ethics",
    text='First: <b>not bold</b> &amp; ]]> "quotes" \\ end.\nA line break.\n\nA second paragraph.',
    questions=(
        quizbank.Question(
            id="tricky-q1",
            stem="First stem paragraph.\n\nWhat now?",
            difficulty="hard",
            options=(
                quizbank.Option("Option with\na line break", True, "Because: {yes} & <yes>."),
                quizbank.Option("Second <option>", False, "Two\n\nparagraphs"),
                quizbank.Option("Third & last", False, "x"),
            ),
            tags=("housing",),
        ),
        quizbank.Question(
            id="2024-q2",
            stem="Second question?",
            difficulty="easy",
            options=tuple(quizbank.Option(t, t == "B", t.lower()) for t in "ABCD"),
        ),
    ),
    tags=("boundaries", "stigma"),
    competencies=("c01",),
    content_note="suicide",
)
NO_SCENARIO = quizbank.Scenario(
    id="bare",
    domain="advocacy",
    text="",
    questions=(
        quizbank.Question(
            "bare-q1",
            "Only a stem?",
            "medium",
            (quizbank.Option("A", True, "a"), quizbank.Option("B", False, "b"), quizbank.Option("C", False, "c")),
        ),
    ),
)


@pytest.mark.parametrize("version", EXPORTS)
def test_round_trip_of_markup_line_breaks_content_notes_and_an_empty_scenario(version):
    bank = dataclasses.replace(MINI, scenarios=(TRICKY, NO_SCENARIO))
    rebuilt, result = round_trip(bank, version)
    assert result.problems == ()
    assert bank_hashes(rebuilt) == bank_hashes(bank)
    assert sorted((s.id, len(s.questions)) for s in rebuilt.scenarios) == [("bare", 1), ("tricky", 2)]


def test_a_question_that_disagrees_with_its_scenario_is_reported_at_its_own_file():
    data = to_qti21(dataclasses.replace(MINI, scenarios=(TRICKY,)))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["items/2024-q2.xml"] = entries["items/2024-q2.xml"].replace(b"A second paragraph.", b"Changed.")
    (found,) = parse_qti(zip_entries(entries), source="p.zip", **VOCABULARY).problems
    assert found.path == "p.zip/items/2024-q2.xml"
    assert "belongs to scenario 'tricky' but has a different scenario" in found.message


def test_manifest_hrefs_are_uris_resolved_against_the_manifest_folder():
    manifest = (DATA / "package30" / "imsmanifest.xml").read_text(encoding="utf-8")
    manifest = manifest.replace('href="items/disclosure.xml"', 'href="items/my%20item.xml"', 1)
    data = zip_entries(
        {
            "pkg/imsmanifest.xml": manifest,
            "pkg/items/my item.xml": (DATA / "package30" / "items" / "disclosure.xml").read_bytes(),
            "pkg/items/pick-two.xml": (DATA / "package30" / "items" / "pick-two.xml").read_bytes(),
        }
    )
    result = parse_qti(data, source="p.zip", **VOCABULARY)
    assert list(questions(result)) == ["eth-disclosure-q1"] and result.problems == ()
    assert [s.title for s in result.skipped] == ["Pick two (pkg/items/pick-two.xml)"]
