"""Moodle text formats to the bank's plain text, and notes on content an import cannot keep.

Moodle stores every text with a format: ``html``, ``moodle_auto_format`` (GIFT ``[moodle]``, the GIFT default:
HTML is rendered, line breaks are kept), ``plain_text`` (GIFT ``[plain]``: shown literally) and ``markdown``.
``convert`` turns a text into what Moodle would show, as the bank's plain text (paragraphs separated by blank
lines, whitespace normalised except in plain text), and lists the media it could not keep (images, audio,
video, embedded content) so that the format modules can report them as ``Note`` values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from html.parser import HTMLParser
from posixpath import basename
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from quizbank.converters.common import FULL_CREDIT, PARAGRAPH_BREAK, ConversionResult, ParsedOption, html_to_text

HTML, MOODLE, PLAIN, MARKDOWN = "html", "moodle", "plain", "markdown"
_FORMAT_NAMES = {
    "html": HTML,
    "moodle": MOODLE,
    "moodle_auto_format": MOODLE,
    "wiki_like": MOODLE,  # Moodle 1.x's wiki format is read as auto-format by Moodle itself
    "plain": PLAIN,
    "plain_text": PLAIN,
    "markdown": MARKDOWN,
}
BLANK = "_____"
BLANK_MARK = "\ue100"  # stands for the blank while a text is converted (private use, never in real text)
PLUGINFILE = "@@PLUGINFILE@@"
MOODLE_DEFAULT_FEEDBACK = frozenset(
    {"your answer is correct.", "your answer is partially correct.", "your answer is incorrect."}
)
_AUDIO = frozenset({"mp3", "wav", "ogg", "oga", "m4a", "aac", "flac", "weba"})
_VIDEO = frozenset({"mp4", "m4v", "webm", "ogv", "mov", "avi", "mkv"})
_IMAGE = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp"})
_EMBEDDED = frozenset({"object", "embed", "iframe"})


class Note(NamedTuple):
    """Content of one question that the import could not keep (or changed), reported per question."""

    line: int
    title: str
    message: str


class Media(NamedTuple):
    """One image, audio, video or embedded reference of a text: its kind and a short name."""

    kind: str
    name: str


@dataclass
class Converted:
    """A text as the bank's plain text, with the media it referenced (not kept)."""

    text: str
    media: list[Media] = field(default_factory=list)


def text_format(name: str | None, default: str = MOODLE) -> str:
    """The format (html, moodle, plain, markdown) named by a GIFT marker or a Moodle XML format attribute."""
    if not name:
        return default
    return _FORMAT_NAMES.get(name.strip().lower(), MOODLE)


def convert(raw: str, fmt: str) -> Converted:
    """raw in format fmt as the bank's plain text; BLANK_MARK becomes the missing-word blank."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if fmt == PLAIN:
        return Converted(raw.strip().replace(BLANK_MARK, BLANK))
    if fmt in (MOODLE, HTML) and "<" not in raw and "&" not in raw:
        return Converted(_markup_free(raw, fmt).replace(BLANK_MARK, BLANK))  # the same text, without parsing
    if fmt == MARKDOWN:
        html = markdown_to_html(raw)
    elif fmt == MOODLE:
        html = auto_format_to_html(raw)
    else:
        html = raw
    return Converted(html_to_text(html).replace(BLANK_MARK, BLANK), find_media(html))


def _markup_free(text: str, fmt: str) -> str:
    """What html_to_text gives for a text without tags or entities: whitespace normalised, and in auto-format
    blank lines kept as paragraph breaks and line breaks as line breaks (the common case, read fast)."""
    if fmt == HTML or "\n" not in text:
        return " ".join(text.split())
    parts = (part.split("\n") for part in PARAGRAPH_BREAK.split(text.strip()))
    cleaned = ("\n".join(" ".join(line.split()) for line in lines).strip() for lines in parts)
    return "\n\n".join(part for part in cleaned if part)


def auto_format_to_html(text: str) -> str:
    """Moodle auto-format as HTML: HTML kept, blank lines start paragraphs, line breaks become <br>."""
    parts = PARAGRAPH_BREAK.split(text.strip())
    return "".join(f"<p>{part.replace(chr(10), '<br>')}</p>" for part in parts if part)


def markdown_to_html(text: str) -> str:
    """Markdown (CommonMark, raw HTML allowed as in Moodle) rendered to HTML with markdown-it-py if present."""
    renderer = _markdown_renderer()
    return renderer.render(text) if renderer is not None else _markdown_fallback(text)


@lru_cache(maxsize=1)
def _markdown_renderer():
    """One markdown-it-py CommonMark renderer, or None when the library is not installed."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return MarkdownIt("commonmark")


def _markdown_fallback(text: str) -> str:
    """A rough Markdown reading when markdown-it-py is missing: images, links, emphasis and code marks."""
    text = re.sub(r"!\[([^\]]*)\]\(([^)\s]+)[^)]*\)", r'<img alt="\1" src="\2">', text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__|\*|`)(\S(?:.*?\S)?)\1", r"\2", text)
    text = re.sub(r"(?m)^[ \t]{0,3}(#{1,6}|[-*+]|\d+[.)])[ \t]+", "", text)
    return auto_format_to_html(text)


# Media -------------------------------------------------------------------------------------------------------


def _extension(url: str) -> str:
    path = urlsplit(url).path if not url.startswith(PLUGINFILE) else url
    name = basename(path)
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def media_name(url: str) -> str:
    """A short name for a media reference: the file name of a Moodle file, else the address."""
    url = url.strip()
    if url.startswith("data:"):
        return "inline data " + url[5:].split(";", 1)[0].split(",", 1)[0]
    if url.startswith(PLUGINFILE):
        return unquote(basename(url[len(PLUGINFILE) :].split("?", 1)[0]))
    return url if len(url) <= 80 else url[:79] + "…"


def media_kind(url: str, default: str) -> str:
    """image, audio or video by the file extension, else default."""
    extension = _extension(url)
    if extension in _IMAGE:
        return "image"
    if extension in _AUDIO:
        return "audio"
    if extension in _VIDEO:
        return "video"
    return default


class _MediaFinder(HTMLParser):
    """Collects the images, audio, video and embedded content an HTML fragment refers to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Media] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        values = {name: value or "" for name, value in attrs}
        src = values.get("src") or values.get("data") or ""
        if tag == "img":
            self._add("image", src or "(no source)")
        elif tag in ("audio", "video", "source", "track") and src:
            self._add(media_kind(src, "audio" if tag == "audio" else "video"), src)
        elif tag in _EMBEDDED:
            self._add("embedded content", src or "(no source)")
        elif tag == "a" and values.get("href"):
            href = values["href"]
            kind = media_kind(href, "")
            if kind:
                self._add(f"{kind} link", href)
            elif href.startswith(PLUGINFILE):
                self._add("linked file", href)

    handle_startendtag = handle_starttag

    def _add(self, kind: str, url: str) -> None:
        self.found.append(Media(kind, media_name(url)))


def find_media(html: str) -> list[Media]:
    """The media (images, audio, video, embedded content) an HTML fragment refers to, in order."""
    if "<" not in html:
        return []
    finder = _MediaFinder()
    finder.feed(html)
    finder.close()
    return finder.found


# Notes -------------------------------------------------------------------------------------------------------


class NoteList:
    """The notes of one question: what it had that the bank cannot keep."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.referenced: set[str] = set()

    def add(self, message: str) -> None:
        if message not in self.messages:
            self.messages.append(message)

    def media(self, converted: Converted, where: str) -> str:
        """Note the media of a converted text found in ``where``; returns its text."""
        for kind, name in converted.media:
            self.referenced.add(name)
            self.add(f"{kind} {name!r} in {where} is not kept (media are not stored yet)")
        return converted.text

    def files(self, names: list[str]) -> None:
        """Embedded files (Moodle XML <file>) that no text referred to (the referenced ones are noted already)."""
        for name in names:
            if name not in self.referenced:
                kind = media_kind(name, "file")
                self.add(f"embedded {'file' if kind == 'file' else kind + ' file'} {name!r} is not kept")

    def text(self, label: str, text: str) -> None:
        """A text the bank has no place for (hint, combined feedback), when it is not empty."""
        if text:
            self.add(f"{label} is not kept: {_quote(text)}")

    def general_feedback(self, text: str) -> None:
        if text:
            self.add(f"general feedback is not kept (the bank has no item explanation yet): {_quote(text)}")

    def weights(self, options: list[ParsedOption]) -> None:
        """Partial credit and penalties, when the question has exactly one key (else it is skipped anyway)."""
        if sum(abs(o.weight - FULL_CREDIT) < 1e-6 for o in options) != 1:
            return
        for number, option in enumerate(options, 1):
            if 0 < option.weight < FULL_CREDIT:
                self.add(
                    f"option {number} ({_quote(option.text, 40)}) gives {_percent(option.weight)} partial credit "
                    "in Moodle; it is kept as an incorrect option (one key scores, the others score nothing)"
                )
            elif option.weight < 0:
                self.add(
                    f"option {number} ({_quote(option.text, 40)}) takes off {_percent(-option.weight)} in Moodle; "
                    "it is kept as an incorrect option (no negative marks)"
                )

    def tags(self, names: list[str] | tuple[str, ...], known) -> None:
        """Moodle tags that name no tag of the bank (``known(name)`` is None) are not kept."""
        for name in names:
            if name.strip() and known(name) is None:
                self.add(f"Moodle tag {name.strip()!r} is not in the bank's tag vocabulary: not kept")

    def as_notes(self, line: int, title: str) -> list[Note]:
        return [Note(line, title, message) for message in self.messages]


def _quote(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…")


def _percent(weight: float) -> str:
    return f"{weight:g}%" if weight == int(weight) else f"{weight:.2f}".rstrip("0").rstrip(".") + "%"


def with_notes(result: ConversionResult, notes: list[Note]) -> ConversionResult:
    """The result with these notes added, in line order, except for skipped questions (listed already)."""
    skipped = {s.line for s in result.skipped}
    kept = [Note(*note) for note in (*result.notes, *notes) if note[0] not in skipped]
    return replace(result, notes=tuple(sorted(kept, key=lambda note: note.line)))
