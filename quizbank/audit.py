"""Item audit: how far a test-wise learner who never reads the scenario would get, and other item flaws.

Every measure is structural and generic (lengths, clause counts, opening words learned from the rest of
the bank, absolute and hedging words, key position, shingle similarity), never a word list tuned to one
bank. A *strategy* picks an option without reading the scenario or the stem; its expected score is the
mean over questions of the probability that it picks the key (ties are broken at random, so a tie between
the key and one distractor scores 1/2). Chance is the mean of 1/k over questions with k options.

The gate (``AuditGate``) passes when every strategy scores at most ``chance + max_strategy_margin``,
no pair of questions from different scenarios is at least ``duplicate_threshold`` similar, at most
``max_length_outliers`` of keys fall outside ±25% of their mean distractor length, no negative stem is
left without emphasis and no en-GB spelling appears in an en-US bank.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from quizbank.model import Bank

WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Clause boundaries: punctuation that separates clauses and the coordinating/subordinating words that
# join steps ("..., then ...", "... and ..."). Generic English, not tuned to any bank.
CLAUSE_BREAK = re.compile(
    r"[,;:]\s*(?:(?:and|then|but|or|so)\b)?|\s(?:and|then|but|or|so|while|before|after|because|since|until|unless|if|when)\s",
    re.IGNORECASE,
)
ABSOLUTE_WORDS = frozenset(
    [
        "always",
        "never",
        "all",
        "none",
        "every",
        "everyone",
        "everything",
        "nobody",
        "nothing",
        "only",
        "must",
        "completely",
        "entirely",
        "totally",
        "guarantee",
        "guarantees",
        "guaranteed",
        "certainly",
        "definitely",
        "absolutely",
        "impossible",
        "forbidden",
    ]
)
HEDGE_WORDS = frozenset(
    [
        "may",
        "might",
        "can",
        "could",
        "usually",
        "often",
        "sometimes",
        "generally",
        "some",
        "perhaps",
        "possibly",
        "likely",
        "typically",
        "probably",
        "consider",
        "considering",
    ]
)
NEGATIVE_WORDS = ("not", "except", "least", "never", "false", "incorrect", "worst")
# en-GB spellings whose en-US form differs (the common families: -our, -ise/-isation, -yse, -tre, -ogue,
# -ence/-ense, doubled l, ae/oe). Checked only in banks that declare or default to en-US.
EN_GB_PATTERNS = (
    r"\w*(?:behaviour|colour|favour|honour|labour|neighbour|humour|rumour|harbour|vigour|endeavour)\w*",
    r"\w*(?:organis|recognis|realis|prioritis|minimis|apologis|criticis|emphasis|stigmatis|normalis|utilis|"
    r"authoris|hospitalis|institutionalis|categoris|summaris|mobilis|specialis|finalis|socialis|standardis|"
    r"personalis|visualis|memoris|familiaris|jeopardis|capitalis|characteris|criminalis|legalis|stabilis|"
    r"sensitis|optimis|maximis|internalis|externalis|individualis|generalis|rationalis|trivialis|sympathis|"
    r"formalis|patronis|scrutinis|sanitis|hypothesis|agonis|antagonis|energis|immunis|localis|neutralis|"
    r"penalis|publicis|romanticis|synthesis|theoris|victimis|marginalis|vandalis|traumatis|desensitis)"
    r"(?:e|es|ed|ing|ation|ations|able)\b",
    r"\b(?:analys(?:e|ed|es|ing)|paralys(?:e|ed|es|ing)|catalys(?:e|ed|es|ing))\b",
    r"\b(?:centre|centres|centred|theatre|theatres|metre|metres|litre|litres|fibre|fibres)\b",
    r"\b(?:catalogue|catalogues|dialogue|dialogues|programme|programmes)\b",
    r"\b(?:defence|offence|offences|licence|practise|practised|practising|pretence)\b",
    r"\b(?:counsell(?:or|ors|ing|ed)|travell(?:ed|er|ers|ing)|cancell(?:ed|ing)|fulfil|fulfils|"
    r"enrol|enrols|enrolment|labell(?:ed|ing)|modell(?:ed|ing)|signall(?:ed|ing)|"
    r"levell(?:ed|ing)|fuelled|totalled|channelled|marvellous|jewellery|wilful|skilful)\b",
    r"\b(?:paediatric\w*|anaemi\w*|haemo\w*|oestrogen|foetus|manoeuvre\w*|orthopaedic\w*|"
    r"diarrhoea|oesophag\w*|ageing|cheque|cheques|tyre|tyres|grey|mum|mums|whilst|amongst|"
    r"learnt|spelt|judgement|judgements|acknowledgement|acknowledgements|towards|afterwards|"
    r"aluminium|plough|sceptic\w*|storey|kerb|pyjamas|mould|moult|smoulder\w*|lustre|sombre|"
    r"sabre|calibre|spectre|fortnight|maths)\b",
)
EN_GB = re.compile("|".join(f"(?:{p})" for p in EN_GB_PATTERNS), re.IGNORECASE)
EN_GB_PHRASES = re.compile(r"\b(?:car park|mobile phone)\b", re.IGNORECASE)
# Also usual in en-US: reported, but they do not count toward the gate.
EN_GB_SOFT = frozenset({"towards", "afterwards", "grey", "judgement", "judgements", "amongst"})
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "their",
        "you",
        "your",
        "we",
        "our",
        "i",
        "me",
        "my",
        "not",
        "no",
        "so",
        "if",
        "then",
        "than",
        "who",
        "whom",
        "what",
        "which",
        "when",
        "where",
        "why",
        "how",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "will",
        "would",
        "should",
        "could",
        "can",
        "may",
        "might",
    ]
)


@dataclass(frozen=True)
class AuditGate:
    """Thresholds of the gate; the defaults are the ones documented in FORMAT.md."""

    max_strategy_margin: float = 0.08
    duplicate_threshold: float = 0.25
    max_length_outliers: float = 0.05
    length_tolerance: float = 0.25
    language: str = "en-US"


@dataclass(frozen=True)
class AuditItem:
    """One question reduced to what the audit needs."""

    id: str
    scenario_id: str
    domain: str
    tags: tuple[str, ...]
    scenario: str
    stem: str
    options: tuple[str, ...]
    key: int
    difficulty: str = "medium"
    rationales: tuple[str, ...] = ()

    @property
    def distractors(self) -> list[str]:
        return [text for i, text in enumerate(self.options) if i != self.key]

    @property
    def standalone(self) -> bool:
        return not self.scenario.strip()


@dataclass
class StrategyResult:
    name: str
    description: str
    expected_score: float
    chance: float
    margin: float
    passed: bool


@dataclass
class AuditReport:
    """Every measure of one audit; ``passed`` is the gate's verdict and ``failures`` says why not."""

    question_count: int
    chance: float
    strategies: list[StrategyResult]
    key_length_ratio: dict
    length_outliers: list[dict]
    key_rank_shares: dict
    opening_words: list[dict]
    absolute_hedge: dict
    key_positions: dict
    duplicates: list[dict]
    negative_stems: list[dict]
    spelling: dict
    counts: dict
    gate: AuditGate
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict:
        data = asdict(self)
        data["passed"] = self.passed
        return data


# --- building items -------------------------------------------------------------------------------


def items_from_bank(bank: Bank, domain: str | None = None) -> list[AuditItem]:
    """Audit items for every question of the bank (or of one domain)."""
    return [
        AuditItem(
            id=question.id,
            scenario_id=scenario.id,
            domain=scenario.domain,
            tags=tuple(sorted(set(scenario.tags) | set(question.tags))),
            scenario=scenario.text,
            stem=question.stem,
            options=tuple(o.text for o in question.options),
            key=question.correct_index,
            difficulty=question.difficulty,
            rationales=tuple(o.rationale for o in question.options),
        )
        for scenario, question in bank.questions()
        if domain is None or scenario.domain == domain
    ]


# --- option features ------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _words(text: str) -> tuple[str, ...]:
    return tuple(w.lower().strip("'’-") for w in WORD.findall(text))


def words(text: str) -> list[str]:
    return list(_words(text))


@lru_cache(maxsize=65536)
def _en_gb(word: str) -> bool:
    return EN_GB.fullmatch(word) is not None


def clause_count(text: str) -> int:
    """1 + the number of clause boundaries (commas, semicolons, colons and joining words)."""
    return 1 + len(CLAUSE_BREAK.findall(f" {text} "))


def absolute_minus_hedge(text: str) -> int:
    tokens = words(text)
    return sum(t in ABSOLUTE_WORDS for t in tokens) - sum(t in HEDGE_WORDS for t in tokens)


def opening_word(text: str) -> str:
    tokens = words(text)
    return tokens[0] if tokens else ""


# --- strategies -----------------------------------------------------------------------------------


def pick_probability(scores: Sequence[float], key: int, top: int = 1) -> float:
    """Probability that the key is picked by "choose at random among the ``top`` highest scores".

    Ties at the boundary are broken at random, so the result is exact for any pattern of ties.
    """
    top = min(top, len(scores))
    mine = scores[key]
    higher = sum(s > mine for s in scores)
    equal = sum(s == mine for s in scores)
    if higher >= top:
        return 0.0
    slots = top - higher
    return min(1.0, slots / equal) / top


def _by_feature(feature: Callable[[str], float], top: int = 1) -> Callable[[AuditItem, list[AuditItem]], float]:
    def strategy(item: AuditItem, _others: list[AuditItem]) -> float:
        return pick_probability([feature(text) for text in item.options], item.key, top)

    return strategy


def _avoid_feature(feature: Callable[[str], float]) -> Callable[[AuditItem, list[AuditItem]], float]:
    """Eliminate the option(s) with the lowest feature, then pick at random among the rest."""

    def strategy(item: AuditItem, _others: list[AuditItem]) -> float:
        values = [feature(text) for text in item.options]
        lowest = min(values)
        keep = [i for i, v in enumerate(values) if v != lowest] or list(range(len(values)))
        return 1 / len(keep) if item.key in keep else 0.0

    return strategy


def _not_top(model) -> Callable:
    """Rule out the option a learned model rates MOST key-like, then pick at random among the rest.

    When a bank has been tuned until the model's favourite is almost never the key, this is the cue left.
    """

    def strategy(item: AuditItem, others: list[AuditItem]) -> float:
        favourite = model.strategy(item, others)  # P(the model's top pick is the key), ties included
        return (1 - favourite) / (len(item.options) - 1)

    return strategy


def _reversed(strategy: Callable[[AuditItem, list[AuditItem]], float]) -> Callable:
    """The same learned model read the other way: pick the option it rates LEAST key-like.

    A bank tuned until a model scores below chance has turned the cue around; a test-wise learner can
    follow it just as well, so the gate checks both directions.
    """

    def flipped(item: AuditItem, others: list[AuditItem]) -> float:
        return strategy(item, others, reverse=True)

    return flipped


class _OpeningWordModel:
    """Leave-one-out key rate of each opening word: what a learner who has seen the rest of the bank knows."""

    def __init__(self, items: Iterable[AuditItem]):
        self.keys: Counter[str] = Counter()
        self.total: Counter[str] = Counter()
        for item in items:
            self._add(item, 1)

    def _add(self, item: AuditItem, sign: int) -> None:
        for i, text in enumerate(item.options):
            word = opening_word(text)
            self.total[word] += sign
            self.keys[word] += sign * (i == item.key)

    def strategy(self, item: AuditItem, _others: list[AuditItem], reverse: bool = False) -> float:
        self._add(item, -1)
        prior = 1 / len(item.options)
        strength = 4.0  # pseudo-options at the chance rate, so a word seen once says little
        rates = [
            (self.keys[w] + strength * prior) / (self.total[w] + strength) for w in map(opening_word, item.options)
        ]
        self._add(item, 1)
        return pick_probability([-r for r in rates] if reverse else rates, item.key)


class _WordCueModel:
    """Leave-one-out naive Bayes over the words of each option: keys' vocabulary vs distractors'."""

    def __init__(self, items: Iterable[AuditItem]):
        self.key_words: Counter[str] = Counter()
        self.other_words: Counter[str] = Counter()
        for item in items:
            self._add(item, 1)

    def _add(self, item: AuditItem, sign: int) -> None:
        for i, text in enumerate(item.options):
            target = self.key_words if i == item.key else self.other_words
            for word in set(words(text)) - STOPWORDS:
                target[word] += sign

    def strategy(self, item: AuditItem, _others: list[AuditItem], reverse: bool = False) -> float:
        import math

        self._add(item, -1)
        key_total = sum(self.key_words.values()) + 1
        other_total = sum(self.other_words.values()) + 1
        scores = []
        for text in item.options:
            score = 0.0
            for word in set(words(text)) - STOPWORDS:
                k, o = self.key_words[word], self.other_words[word]
                if k + o >= 3:  # words seen fewer times carry no usable cue
                    score += math.log((k + 1) / key_total) - math.log((o + 1) / other_total)
            scores.append(round(score, 9))
        self._add(item, 1)
        return pick_probability([-s for s in scores] if reverse else scores, item.key)


def _position_strategy(items: list[AuditItem]) -> tuple[float, dict]:
    shares: Counter[int] = Counter(item.key for item in items)
    if not items:
        return 0.0, {}
    best = max(shares.values()) / len(items)
    return best, {"ABCDEFGH"[p]: round(n / len(items), 4) for p, n in sorted(shares.items())}


STRATEGIES: dict[str, tuple[str, Callable[[list[AuditItem]], Callable[[AuditItem, list[AuditItem]], float]]]] = {
    "longest": ("pick the longest option", lambda _: _by_feature(len)),
    "two-longest": ("pick at random between the two longest options", lambda _: _by_feature(len, 2)),
    "not-shortest": ("rule out the shortest option, pick at random among the rest", lambda _: _avoid_feature(len)),
    "most-clauses": (
        "pick the option with the most clauses (commas, 'and', 'then'...)",
        lambda _: _by_feature(clause_count),
    ),
    "fewest-absolutes": (
        "avoid absolute words (always, never, only...), prefer hedged ones (may, usually...)",
        lambda _: _by_feature(lambda t: -absolute_minus_hedge(t)),
    ),
    "opening-word": (
        "pick the option whose first word most often opens a key elsewhere in the bank",
        lambda items: _OpeningWordModel(items).strategy,
    ),
    "word-cues": (
        "naive Bayes on the words of keys vs distractors elsewhere in the bank",
        lambda items: _WordCueModel(items).strategy,
    ),
    "shortest": ("pick the shortest option", lambda _: _by_feature(lambda t: -len(t))),
    "fewest-clauses": ("pick the option with the fewest clauses", lambda _: _by_feature(lambda t: -clause_count(t))),
    "opening-word-reversed": (
        "pick the option whose first word LEAST often opens a key elsewhere",
        lambda items: _reversed(_OpeningWordModel(items).strategy),
    ),
    "word-cues-reversed": (
        "naive Bayes read backwards: the option whose words look least like a key's",
        lambda items: _reversed(_WordCueModel(items).strategy),
    ),
    "opening-word-not-top": (
        "rule out the option whose first word most often opens a key, pick at random among the rest",
        lambda items: _not_top(_OpeningWordModel(items)),
    ),
    "word-cues-not-top": (
        "rule out the option naive Bayes rates most key-like, pick at random among the rest",
        lambda items: _not_top(_WordCueModel(items)),
    ),
}


def chance_score(items: list[AuditItem]) -> float:
    return statistics.fmean(1 / len(i.options) for i in items) if items else 0.0


def strategy_scores(items: list[AuditItem], gate: AuditGate) -> list[StrategyResult]:
    """Expected score of every test-wise strategy, and of always choosing the commonest key position."""
    chance = chance_score(items)
    results = []
    for name, (description, build) in STRATEGIES.items():
        pick = build(items)
        score = statistics.fmean(pick(item, items) for item in items) if items else 0.0
        results.append(_result(name, description, score, chance, gate))
    position_score, _ = _position_strategy(items)
    results.append(_result("same-position", "always pick the commonest key position", position_score, chance, gate))
    return results


def _result(name: str, description: str, score: float, chance: float, gate: AuditGate) -> StrategyResult:
    margin = score - chance
    return StrategyResult(
        name,
        description,
        round(score, 4),
        round(chance, 4),
        round(margin, 4),
        margin <= gate.max_strategy_margin + 1e-9,
    )


# --- lengths, openings, absolutes -----------------------------------------------------------------


def key_length_ratio(item: AuditItem) -> float:
    distractors = [len(t) for t in item.distractors]
    return len(item.options[item.key]) / statistics.fmean(distractors) if distractors else 1.0


def length_measures(items: list[AuditItem], gate: AuditGate) -> tuple[dict, list[dict], dict]:
    """Key length / mean distractor length, the outliers beyond the tolerance, and the key's length rank."""
    ratios = [key_length_ratio(item) for item in items]
    low, high = 1 - gate.length_tolerance, 1 + gate.length_tolerance
    outliers = [
        {"id": item.id, "ratio": round(r, 2)} for item, r in zip(items, ratios, strict=True) if not low <= r <= high
    ]
    ranks: Counter[str] = Counter()
    for item in items:
        lengths = [len(t) for t in item.options]
        ranks[
            "longest"
            if lengths[item.key] == max(lengths)
            else "shortest"
            if lengths[item.key] == min(lengths)
            else "middle"
        ] += 1
    summary = {
        "mean": round(statistics.fmean(ratios), 3) if ratios else 0.0,
        "median": round(statistics.median(ratios), 3) if ratios else 0.0,
        "max": round(max(ratios), 3) if ratios else 0.0,
        "min": round(min(ratios), 3) if ratios else 0.0,
        "within_tolerance": round(1 - len(outliers) / len(items), 4) if items else 1.0,
    }
    rank_shares = {k: round(ranks[k] / len(items), 4) if items else 0.0 for k in ("longest", "middle", "shortest")}
    return summary, sorted(outliers, key=lambda o: -abs(o["ratio"] - 1)), rank_shares


def opening_word_table(items: list[AuditItem], limit: int = 15) -> list[dict]:
    """The commonest opening words with their share among keys and among distractors."""
    key_counts: Counter[str] = Counter()
    other_counts: Counter[str] = Counter()
    for item in items:
        for i, text in enumerate(item.options):
            (key_counts if i == item.key else other_counts)[opening_word(text)] += 1
    keys, others = sum(key_counts.values()) or 1, sum(other_counts.values()) or 1
    rows = [
        {
            "word": word,
            "options": key_counts[word] + other_counts[word],
            "key_share": round(key_counts[word] / (key_counts[word] + other_counts[word]), 3),
            "of_keys": round(key_counts[word] / keys, 3),
            "of_distractors": round(other_counts[word] / others, 3),
        }
        for word in set(key_counts) | set(other_counts)
    ]
    return sorted(rows, key=lambda r: (-r["options"], r["word"]))[:limit]


def absolute_hedge_rates(items: list[AuditItem]) -> dict:
    """Share of keys and of distractors carrying an absolute word, and a hedging word."""

    def share(texts: list[str], vocabulary: frozenset[str]) -> float:
        return round(sum(bool(set(words(t)) & vocabulary) for t in texts) / len(texts), 4) if texts else 0.0

    keys = [item.options[item.key] for item in items]
    distractors = [t for item in items for t in item.distractors]
    return {
        "absolute_in_keys": share(keys, ABSOLUTE_WORDS),
        "absolute_in_distractors": share(distractors, ABSOLUTE_WORDS),
        "hedge_in_keys": share(keys, HEDGE_WORDS),
        "hedge_in_distractors": share(distractors, HEDGE_WORDS),
    }


# --- near duplicates ------------------------------------------------------------------------------


def shingles(text: str, size: int = 1) -> frozenset[tuple[str, ...]]:
    """Word shingles over content words (stop words and words under 3 letters dropped).

    Single-word shingles by default: paraphrases of one scene share its content words even when no two
    words stand in the same order, which longer shingles miss (measured on bank 1.0.0's known clusters).
    """
    tokens = [w for w in words(text) if w not in STOPWORDS and len(w) > 2]
    if len(tokens) < size:
        return frozenset({tuple(tokens)}) if tokens else frozenset()
    return frozenset(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def duplicate_text(item: AuditItem) -> str:
    return f"{item.scenario}\n{item.stem}\n{item.options[item.key]}"


def near_duplicates(items: list[AuditItem], threshold: float, *, common: int = 40) -> list[dict]:
    """Pairs of questions from different scenarios whose scenario+stem+key shingles overlap (Jaccard).

    Candidates come from an inverted index; shingles shared by more than ``common`` questions are too
    common to suggest a duplicate and are not used to find candidates (they still count in the score).
    """
    sets = [shingles(duplicate_text(item)) for item in items]
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for n, shingle_set in enumerate(sets):
        for shingle in shingle_set:
            index[shingle].append(n)
    candidates: set[tuple[int, int]] = set()
    for members in index.values():
        if len(members) <= common:
            candidates.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    pairs = []
    for a, b in candidates:
        if items[a].scenario_id == items[b].scenario_id or not sets[a] or not sets[b]:
            continue
        similarity = len(sets[a] & sets[b]) / len(sets[a] | sets[b])
        if similarity >= threshold:
            pairs.append({"a": items[a].id, "b": items[b].id, "similarity": round(similarity, 3)})
    return sorted(pairs, key=lambda p: (-p["similarity"], p["a"], p["b"]))


def most_similar(items: list[AuditItem], limit: int = 5) -> list[dict]:
    """The closest pairs whatever the threshold (for the report)."""
    return near_duplicates(items, 0.0)[:limit]


# --- negatives and spelling -----------------------------------------------------------------------


def _question_sentence(stem: str) -> str:
    sentences = re.split(r"(?<=[.!?])\s+", stem.strip())
    asked = [s for s in sentences if s.endswith("?")]
    return asked[-1] if asked else sentences[-1]


def unemphasised_negatives(items: list[AuditItem]) -> list[dict]:
    """Questions whose asking sentence uses NOT/EXCEPT/LEAST... in lower case (emphasis = capitals or **)."""
    found = []
    for item in items:
        sentence = _question_sentence(item.stem)
        for word in NEGATIVE_WORDS:
            for match in re.finditer(rf"(?<![*\w]){word}(?![*\w])", sentence, re.IGNORECASE):
                if match.group(0) != word.upper():
                    found.append({"id": item.id, "word": match.group(0), "sentence": sentence})
    return found


def spelling_mix(items: list[AuditItem]) -> dict:
    """en-GB spellings found in any text of the items, by word, with the questions using them.

    Each distinct word is checked once (cached), so a 10,000-question bank takes well under a second.
    """
    where: dict[str, set[str]] = defaultdict(set)
    for item in items:
        text = "\n".join((item.scenario, item.stem, *item.options, *item.rationales))
        for word in {part for token in set(_words(text)) for part in token.split("-")}:
            if _en_gb(word):
                where[word].add(item.id)
        for match in EN_GB_PHRASES.finditer(text):
            where[match.group(0).lower()].add(item.id)
    hard = {w: sorted(ids) for w, ids in where.items() if w not in EN_GB_SOFT}
    return {
        "en_gb_words": {w: len(ids) for w, ids in sorted(where.items())},
        "en_gb_questions": sorted({i for ids in hard.values() for i in ids}),
    }


# --- counts ---------------------------------------------------------------------------------------

BOUNDARY_TAGS = frozenset(
    {"boundaries", "dual-relationships", "gifts", "social-media", "self-disclosure", "scope-of-practice"}
)
STIGMA_TAGS = frozenset({"stigma", "self-stigma", "person-first-language"})


def content_counts(items: list[AuditItem], tag_vocabulary: Iterable[str] = ()) -> dict:
    """Questions per domain, per tag and per tag group, stand-alone share and difficulty mix."""
    tags: Counter[str] = Counter({t: 0 for t in tag_vocabulary})
    for item in items:
        tags.update(item.tags)
    standalone = sum(item.standalone for item in items)
    return {
        "questions": len(items),
        "scenarios": len({i.scenario_id for i in items}),
        "per_domain": dict(sorted(Counter(i.domain for i in items).items())),
        "standalone": standalone,
        "standalone_share": round(standalone / len(items), 4) if items else 0.0,
        "boundaries": sum(bool(set(i.tags) & BOUNDARY_TAGS) for i in items),
        "stigma": sum(bool(set(i.tags) & STIGMA_TAGS) for i in items),
        "difficulty": dict(sorted(Counter(i.difficulty for i in items).items())),
        "options": dict(sorted(Counter(len(i.options) for i in items).items())),
        "per_tag": dict(sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))),
        "smallest_tag": min(tags.items(), key=lambda kv: (kv[1], kv[0])) if tags else None,
    }


# --- the audit ------------------------------------------------------------------------------------


def audit_items(
    items: list[AuditItem], gate: AuditGate | None = None, tag_vocabulary: Iterable[str] = ()
) -> AuditReport:
    """Run every measure on the items and judge them against the gate."""
    gate = gate or AuditGate()
    strategies = strategy_scores(items, gate)
    ratio, outliers, ranks = length_measures(items, gate)
    _, positions = _position_strategy(items)
    duplicates = near_duplicates(items, gate.duplicate_threshold)
    negatives = unemphasised_negatives(items)
    spelling = spelling_mix(items) if gate.language == "en-US" else {"en_gb_words": {}, "en_gb_questions": []}
    report = AuditReport(
        question_count=len(items),
        chance=round(chance_score(items), 4),
        strategies=strategies,
        key_length_ratio=ratio,
        length_outliers=outliers,
        key_rank_shares=ranks,
        opening_words=opening_word_table(items),
        absolute_hedge=absolute_hedge_rates(items),
        key_positions=positions,
        duplicates=duplicates,
        negative_stems=negatives,
        spelling=spelling,
        counts=content_counts(items, tag_vocabulary),
        gate=gate,
    )
    report.failures = _failures(report, items)
    return report


def audit_bank(bank: Bank, gate: AuditGate | None = None, domain: str | None = None) -> AuditReport:
    """Audit every question of a loaded bank (or of one domain)."""
    return audit_items(items_from_bank(bank, domain), gate, bank.tags if domain is None else ())


def _failures(report: AuditReport, items: list[AuditItem]) -> list[str]:
    gate = report.gate
    failures = [
        f"strategy {s.name!r} scores {s.expected_score:.1%}, above chance {s.chance:.1%} + "
        f"{gate.max_strategy_margin:.0%}"
        for s in report.strategies
        if not s.passed
    ]
    if items and len(report.length_outliers) / len(items) > gate.max_length_outliers:
        failures.append(
            f"{len(report.length_outliers)} keys ({len(report.length_outliers) / len(items):.1%}) are outside "
            f"±{gate.length_tolerance:.0%} of their mean distractor length (allowed {gate.max_length_outliers:.0%})"
        )
    failures += [
        f"near-duplicate questions {d['a']} and {d['b']} (similarity {d['similarity']:.2f} ≥ "
        f"{gate.duplicate_threshold:.2f})"
        for d in report.duplicates
    ]
    failures += [
        f"negative stem without emphasis in {n['id']}: write {n['word'].upper()!r}" for n in report.negative_stems
    ]
    if report.spelling["en_gb_questions"]:
        failures.append(
            f"en-GB spellings in an en-US bank in {len(report.spelling['en_gb_questions'])} question(s): "
            + ", ".join(report.spelling["en_gb_questions"][:10])
        )
    return failures


# --- report ---------------------------------------------------------------------------------------


def format_report(report: AuditReport, *, verbose: bool = False) -> str:
    """A readable report: strategies, lengths, openings, positions, duplicates, counts and the verdict."""
    out = [f"Item audit: {report.question_count} questions, chance score {report.chance:.1%}", ""]
    out.append("Test-wise strategies (expected score without reading the question):")
    for s in report.strategies:
        mark = "ok  " if s.passed else "FAIL"
        out.append(f"  {mark} {s.name:<22} {s.expected_score:6.1%}  ({s.margin:+.1%} vs chance)  {s.description}")
    r = report.key_length_ratio
    out += [
        "",
        f"Key length / mean distractor length: mean {r['mean']:.2f}, median {r['median']:.2f}, "
        f"range {r['min']:.2f}-{r['max']:.2f}; {r['within_tolerance']:.1%} within ±{report.gate.length_tolerance:.0%}",
        "Key is the longest option in {longest:.1%}, the shortest in {shortest:.1%}, in between in {middle:.1%}".format(
            **report.key_rank_shares
        ),
    ]
    for o in report.length_outliers[: None if verbose else 10]:
        out.append(f"    {o['id']}: key {o['ratio']:.2f}x the mean distractor")
    a = report.absolute_hedge
    out += [
        f"Absolute words: {a['absolute_in_keys']:.1%} of keys, {a['absolute_in_distractors']:.1%} of distractors; "
        f"hedges: {a['hedge_in_keys']:.1%} of keys, {a['hedge_in_distractors']:.1%} of distractors",
        "Key positions: " + ", ".join(f"{p} {s:.1%}" for p, s in report.key_positions.items()),
        "",
        "Commonest opening words (share of keys / of distractors, key share of the word's options):",
    ]
    for w in report.opening_words[:10]:
        out.append(
            f"  {w['word'] or '(none)':<14} {w['options']:4d} options  keys {w['of_keys']:5.1%}  "
            f"distractors {w['of_distractors']:5.1%}  key share {w['key_share']:5.1%}"
        )
    out += ["", f"Near-duplicate pairs (similarity ≥ {report.gate.duplicate_threshold:.2f}): {len(report.duplicates)}"]
    for d in report.duplicates[: None if verbose else 15]:
        out.append(f"    {d['a']} ~ {d['b']}: {d['similarity']:.2f}")
    out.append(f"Negative stems without emphasis: {len(report.negative_stems)}")
    for n in report.negative_stems[: None if verbose else 10]:
        out.append(f"    {n['id']}: {n['word']!r} in {n['sentence']!r}")
    gb = report.spelling["en_gb_words"]
    out.append("en-GB spellings: " + (", ".join(f"{w} ({n})" for w, n in gb.items()) if gb else "none"))
    c = report.counts
    out += [
        "",
        f"Counts: {c['questions']} questions in {c['scenarios']} scenarios; "
        + ", ".join(f"{d} {n}" for d, n in c["per_domain"].items()),
        f"  stand-alone {c['standalone']} ({c['standalone_share']:.1%}); boundaries {c['boundaries']}; "
        f"stigma {c['stigma']}; difficulty " + ", ".join(f"{k} {v}" for k, v in c["difficulty"].items()),
        "  options per question: " + ", ".join(f"{k}: {v}" for k, v in c["options"].items()),
        "  tags: " + ", ".join(f"{t} {n}" for t, n in c["per_tag"].items()),
        "",
    ]
    if report.passed:
        out.append("Gate: PASSED")
    else:
        out.append(f"Gate: FAILED ({len(report.failures)} problem(s))")
        out += [f"  - {f}" for f in report.failures[: None if verbose else 25]]
        if not verbose and len(report.failures) > 25:
            out.append(f"  ... and {len(report.failures) - 25} more (--verbose)")
    return "\n".join(out)
