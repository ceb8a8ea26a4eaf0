"""Content units: what a sentence tells, as weighted words, numbers, dates and acts.

A key point is worth what it adds to the story: the rare words, the figures, the dates and the
kinds of act it carries that the summary and the other points do not. A word's weight is its
rarity in the language (wordfreq's frequency lists, shipped inside the package: no download), so
"trichloroethylene" and "1,140" count for more than "said" or "people". Numbers are read in the
formats of the four languages ("1,204", "1 200", "3,5 %", "6.2") and count as one unit each; a
month is a date and a deadline ("by December") what happens next; each kind of act (a denial, a
promise, a signature…) is a unit of its own. Contains no I/O beyond reading wordfreq's bundled
list once per language.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import re
from pathlib import Path

from .language import STOP_WORDS, _stem

_NUMBER = re.compile(  # (a digit first, then what precedes it: the search skips to the digits)
    r"\d(?<![\w.,]\d)(?:\d{0,2}(?:[ ,.]\d{3})+(?!\d)|\d*(?:[.,]\d+)?(?:[-–]\d+(?![\d.,]\d))?)"
)
_DIGIT = re.compile(r"\d")
_NOT_DIGIT = re.compile(r"\D")
_GROUPED = re.compile(r"\d{1,3}(?:[ ,.]\d{3})+")  # "1,204", "1 204": thousands grouped
_CLOCK = re.compile(r"(?i)\b\d{1,2}(?:[:.h]\d{2})?\s?(?:[ap]\.?m\b\.?|h\b|uhr\b)")
_TOKEN = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")  # apostrophes split: "l'embauche", "Haven's"
_UNKNOWN_ZIPF = 2.5  # a word missing from the list is rarer than its cut-off (zipf 3)
NUMBER_WEIGHT = 4.5
MONEY_WEIGHT = 7.5  # a price, a budget, a share: the figures news is about
_MONEY = re.compile(
    r"(?:[$€£¥₹]|\b(?:A|C|NZ|HK|US)\$)\s?(?P<n>\d[\d,. ]*\d|\d)"
    r"|(?<![\w.,])(?P<m>\d[\d,. ]*\d|\d)\s?(?:%|(?:per ?cent|percent|pour ?cent|prozent|por ciento)\b"
    r"|(?:million|billion|bn|m|euros?|dollars?|pounds?|yen|francs?|Millionen|Milliarden|millions?|milliards?"
    r"|millones|mil millones)\b)"
)
_MAX_WEIGHT = 4.5
_MIN_WEIGHT = 0.3
FACT_UNITS = "#@!"  # the first letter of a figure's, a date's and an act's unit key
# An act is a fact of its own whoever does it: a unit per kind of act ("denied" and "dismissed
# the reports" are one kind, "signed" another), so that a point telling a second denial adds
# little and one telling a promise adds the promise. English verbs in their reporting forms.
_ACTS = {
    "deny": "deny denied denies denying dismissed dismisses rejected rejects refuted refutes",
    "confirm": "confirmed confirms",
    "promise": "promised promises pledged pledges vowed vows committed commits",
    "sign": "signed signs signing agreed agrees",
    "announce": "announced announces unveiled unveils launched launches",
    "summon": "summoned summons expelled expels",
    "arrest": "arrested arrests detained detains charged charges",
    "vote": "voted votes approved approves adopted adopts",
    "resign": "resigned resigns quit",
    "sentence": "sentenced sentences convicted convicts jailed jails fined fines",
    "die": "died dies killed",
    "warn": "warned warns threatened threatens",
    "gain": "benefits benefited",
}
_ACT_WORDS = {form: kind for kind, forms in _ACTS.items() for form in re.findall(r"\S+", forms)}
# Acts of two or three words: the last word, then the words that must come before it.
_ACT_AFTER = {
    "down": ("resign", ({"stepped", "steps"},)),  # "stepped down"
    "return": ("gain", ({"in"},)),  # "in return": what one side gains
    "exchange": ("gain", ({"in"},)),
    **dict.fromkeys(("law", "bill", "budget"), ("vote", ({"a", "the"}, {"passed", "passes"}))),
    **dict.fromkeys(("give", "provide", "offer", "bring", "cost"), ("gain", ({"would", "will", "could"},))),
}
ACT_WEIGHT = 10.0  # a kind of act weighs more than a figure: what was done is the news
# A month named mid-sentence tells when ("in June"): a fact like a figure; a deadline ("by
# December", "until the end of March") tells what happens next.
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_MONTH_NAME = re.compile(
    rf"(?<=\s)(?P<by>(?:by|until|before|from|till) (?:the end of |early |late |mid-)?)?(?:{_MONTHS})\b"
    r"(?!\s+[A-Z])"
)
_MONTH_WORDS = frozenset(_MONTHS.split("|"))
MONTH_WEIGHT = NUMBER_WEIGHT
DEADLINE_WEIGHT = MONEY_WEIGHT


@functools.lru_cache(maxsize=8)
def _zipf_table(lang: str) -> dict[str, float]:
    """Word → Zipf frequency (log10 per billion words) from wordfreq's small list for ``lang``.

    Reads the bundled file directly (format "cBpack": bucket i holds the words of frequency
    10^(-i/100)): importing wordfreq itself costs ten times more start-up than the list.
    """
    try:
        import msgpack

        spec = importlib.util.find_spec("wordfreq")  # finds the package without importing it
        if spec is None or spec.origin is None:
            raise ImportError("wordfreq")
        path = Path(spec.origin).parent / "data" / f"small_{lang}.msgpack.gz"
        with gzip.open(path) as fh:
            data = msgpack.load(fh, raw=False)
        return {w: 9.0 - i / 100 for i, bucket in enumerate(data[1:]) for w in bucket}
    except (OSError, ValueError, ImportError, TypeError):  # pragma: no cover - a changed layout
        try:
            import wordfreq

            return {w: 9.0 + _log10(f) for w, f in wordfreq.get_frequency_dict(lang, "small").items()}
        except (LookupError, ImportError):
            return {}


def _log10(x: float) -> float:
    import math

    return math.log10(x) if x > 0 else -9.0


@functools.lru_cache(maxsize=131072)
def word_weight(word: str, lang: str) -> float:
    """How much a word tells: 7 minus its Zipf frequency, within [0.3, 4.5]."""
    zipf = _zipf_table(lang if lang in ("en", "de", "fr", "es") else "en").get(word, _UNKNOWN_ZIPF)
    return min(_MAX_WEIGHT, max(_MIN_WEIGHT, 7.0 - zipf))


def number_key(text: str) -> str:
    """A number as one unit whatever its format: "1,204", "1 204" → "1204"; "3,5" → "3.5"."""
    if _GROUPED.fullmatch(text):
        return _NOT_DIGIT.sub("", text)
    return text.replace(",", ".")


def numbers(sentence: str) -> list[str]:
    """The numbers a sentence states, as unit keys."""
    return [number_key(m.group()) for m in _NUMBER.finditer(sentence)]


_QUOTES = frozenset("\"“‘'«„")  # a sentence that opens with one is speech: its verbs are no acts
_COMPASS = frozenset({"north", "south", "east", "west", "northern", "southern", "eastern", "western"})


_Word = tuple[str, float, bool, str]
_WORDS: dict[str, dict[str, _Word]] = {}  # per language: word → _word(word)


def _word(word: str, lang: str) -> _Word:
    """A word's unit key (``""`` for a stop word), its weight, whether it may be part of a name
    (capitalised, no stop word) and the kind of act it tells (English), ``"?"`` when that
    depends on the words before it, ``"@"`` for a month. Cached per language: the hot path."""
    cache = _WORDS.setdefault(lang, {})
    found = cache.get(word)
    if found is None:
        low = word.casefold()
        stop = low in STOP_WORDS.get(lang, STOP_WORDS["en"])
        key = "" if stop or len(low) < 3 else _stem(low, lang)
        act = "@" if word in _MONTH_WORDS else ""
        if lang == "en":
            act = _ACT_WORDS.get(word) or ("?" if word in _ACT_AFTER else act)
        found = (key, word_weight(low, lang), word[:1].isupper() and not stop, act)
        if len(cache) < 500_000:
            cache[word] = found
    return found


def _act_after(word: str, before: list[str]) -> str:
    """The kind of act a word tells with the words before it (latest first): "stepped down",
    "in return", "would also give"; ``""`` when they do not make one."""
    kind, wanted = _ACT_AFTER[word]
    if before[:1] == ["also"]:
        before = before[1:]
    return kind if all(i < len(before) and before[i] in w for i, w in enumerate(wanted)) else ""


def units(sentence: str, lang: str) -> dict[str, float]:
    """The content units of a sentence with their weights: stems of its non-stop words, its
    numbers, the months it names and the kinds of act it tells. A stem keeps the weight of its
    rarest form. A name ("Councillor Dana Whitlock") is one unit, keyed by its last word, so
    that a later "Whitlock" tells nothing new and a long name weighs no more than a short one."""
    out: dict[str, float] = {}
    run_key, run_weight, side = "", 0.0, ""
    cache = _WORDS.get(lang, {})
    first, month = True, False
    speech = sentence[:1] in _QUOTES  # "“Big projects always cost more than anyone promises."
    tokens = _TOKEN.findall(sentence)
    for i, word in enumerate(tokens):
        key, weight, cap, act = cache.get(word) or _word(word, lang)  # inline lookup: the hot path
        if act:
            month = month or act == "@"
            if act == "?":  # the words before it, latest first
                act = _act_after(word, [t.casefold() for t in tokens[max(0, i - 3) : i][::-1]])
            if act and act != "@" and not speech:
                out["!" + act] = ACT_WEIGHT
        if cap and (not first or key in _COMPASS):
            if not run_key and key in _COMPASS:
                side = key  # "North Korean" and "South Korean" are not one name
            run_key = key or _stem(word.casefold(), lang)
            if weight > run_weight:
                run_weight = weight
            first = False
            continue
        first = False
        if run_key:
            _add(out, f"{side} {run_key}" if side and side != run_key else run_key, run_weight)
            run_key, run_weight, side = "", 0.0, ""
        if key and weight > out.get(key, 0.0):  # a stem keeps the weight of its rarest form
            out[key] = weight
    if run_key:
        _add(out, f"{side} {run_key}" if side and side != run_key else run_key, run_weight)
    for m in _MONTH_NAME.finditer(sentence) if month else ():
        out["@" + m.group().split()[-1].casefold()] = DEADLINE_WEIGHT if m.group("by") else MONTH_WEIGHT
    if _DIGIT.search(sentence):
        text = _CLOCK.sub("", sentence)  # "at 2 p.m." tells when, not a figure
        for n in numbers(text):
            out["#" + n] = NUMBER_WEIGHT
        for m in _MONEY.finditer(text):  # a sum of money or a share: the news's own figures
            out["#" + number_key((m.group("n") or m.group("m")).strip(" ,."))] = MONEY_WEIGHT
    return out


def _add(out: dict[str, float], key: str, weight: float) -> None:
    if weight > out.get(key, 0.0):
        out[key] = weight
