"""Sentence compression and headline cleaning: shorter statements that keep the facts.

Rules trim what a reader of a key point does not need: leading connectives ("However,"),
attributions that close a sentence (", police said."), parentheticals, and datelines. They are
written per language and are conservative: a rule never fires when what is left would not
read as a sentence. Contains no I/O.
"""

from __future__ import annotations

import re

from .clean import fold, normalize

_CONNECTIVES = {
    "en": r"however|meanwhile|but|and|also|in addition|additionally|moreover|furthermore|still|yet|so"
    r"|now|instead|indeed|in fact|as a result|in turn|similarly|likewise|nonetheless|nevertheless"
    r"|at the same time|on the other hand|in the meantime|by contrast|for (?:its|his|her|their) part"
    r"|afterwards"
    r"|separately|overall|then|thus|therefore|of course|besides|otherwise|again",
    "de": r"aber|doch|jedoch|allerdings|außerdem|zudem|und|auch|trotzdem|dennoch|indes|inzwischen"
    r"|unterdessen|darüber hinaus|dabei|daher|deshalb|so",
    "fr": r"mais|cependant|pourtant|toutefois|par ailleurs|en outre|de plus|et|aussi|ainsi|donc"
    r"|néanmoins|en revanche|d'ailleurs|enfin|or",
    "es": r"pero|sin embargo|no obstante|además|asimismo|también|y|así|por otra parte|por su parte"
    r"|mientras tanto|en cambio|por lo tanto|incluso",
}
# Openers that are connectives only when a comma follows ("Después, …", not "Después de …").
_WITH_COMMA = {
    "en": r"then|later|afterwards|after that|earlier|since then|in response|elsewhere",  # "Afterwards the"
    "de": r"danach|dann|später|anschließend|zuvor|daraufhin",
    "fr": r"ensuite|puis|alors|plus tard|après|depuis|auparavant|entre-temps",
    "es": r"después|luego|entonces|más tarde|antes|desde entonces|mientras|por eso",
}
_LEADING = {
    lang: re.compile(rf"(?i)^(?:(?:(?:{alts})\b,?|(?:{_WITH_COMMA[lang]}),)\s+)+(?=\S)")
    for lang, alts in _CONNECTIVES.items()
}
_SAY = (
    r"(?:said|says|say|added|told [A-Z][\w.]*(?: [A-Z][\w.]*)*|reported|reports|confirmed|explained"
    r"|noted|claimed|stated|announced|wrote|according to [^,.]+)"
)
_END = r"(?=[.!?]?[\"”’]?$)"
_TRAILING_ATTRIBUTION = {
    "en": re.compile(
        rf",\s+(?:(?:the|a|an|his|her|their|its)\s+)?[\w'’.\- ]{{1,60}}?\s+{_SAY}"
        rf"(?:\s+(?:on|in|at|last|this)\s+[\w ]{{1,30}})?\s*{_END}"
        rf"|,\s+{_SAY}\s+[\w'’.\- ]{{1,60}}?{_END}"
        rf"|,\s+according to [^,]{{1,80}}?{_END}"
    ),
    "de": re.compile(r",\s+(?:sagte|erklärte|teilte|berichtete|so)\s+[^,]{1,80}?(?=[.!?]?$)"),
    "fr": re.compile(
        r",\s+(?:a (?:déclaré|indiqué|affirmé|précisé)|selon|a-t-il|a-t-elle|d'après)\b[^,]{0,80}?(?=[.!?]?$)"
    ),
    "es": re.compile(r",\s+(?:dijo|afirmó|indicó|explicó|según|señaló|aseguró)\b[^,]{0,80}?(?=[.!?]?$)"),
}
_LEADING_ATTRIBUTION = {
    "en": re.compile(r"(?i)^(?:according to|as reported by|in a statement,)\s[^,]{1,60},\s+(?=\S)"),
    "de": re.compile(r"(?i)^(?:laut|nach angaben (?:von|der|des))\s[^,]{1,60},?\s+(?=\S)"),
    "fr": re.compile(r"(?i)^(?:selon|d'après)\s[^,]{1,60},\s+(?=\S)"),
    "es": re.compile(r"(?i)^(?:según)\s[^,]{1,60},\s+(?=\S)"),
}
_PARENTHETICAL = re.compile(r"\s*\((?![^()]*\b(?:19|20)\d\d\b)[^()]{1,80}\)|\s*\[[^\[\]]{0,80}\]")
_DASH_ASIDE = re.compile(r"\s+[–—-]{1,2}\s+[^–—]{3,120}?\s+[–—-]{1,2}\s+")
_SITE_SUFFIX = re.compile(r"\s+[|–—:-]\s+[^|–—:-]{2,40}$|\s*[|]\s*.*$")
_SPACE_PUNCT = re.compile(r"\s+([,.;:!?])")


def _words(s: str) -> int:
    return len(s.split())


def _capitalize(s: str) -> str:
    return s[:1].upper() + s[1:] if s[:1].islower() else s


def compress(sentence: str, lang: str, *, keep_source: bool = False) -> str:
    """A shorter statement of the same fact; ``sentence`` unchanged when no rule applies safely.

    With ``keep_source`` an attribution ("…, the regulator said") stays: a claim keeps its source.
    """
    s = sentence.strip()
    lead = _LEADING.get(lang)
    if lead is not None:
        trimmed = lead.sub("", s, count=1)
        if _words(trimmed) >= 4:
            s = _capitalize(trimmed)
    if not keep_source:
        s = _drop_attribution(s, lang)
    asides: tuple[tuple[re.Pattern[str], str], ...] = ((_PARENTHETICAL, ""), (_DASH_ASIDE, " "))
    for pattern, repl in asides:
        trimmed = pattern.sub(repl, s)
        if _words(trimmed) >= 6:
            s = trimmed
    s = _SPACE_PUNCT.sub(r"\1", s).strip()
    return s.rstrip(" ,;:-–—")


def _drop_attribution(s: str, lang: str) -> str:
    """``s`` without an opening "According to X," or a closing ", officials said"."""
    lead_attr = _LEADING_ATTRIBUTION.get(lang)
    if lead_attr is not None:
        trimmed = lead_attr.sub("", s, count=1)
        # "According to its spokesman, Mr. Smith, the plan…": the name belongs to the attribution.
        named = trimmed.split(",", 1)[0] if "," in trimmed else ""
        if _words(trimmed) >= 5 and not (named and _words(named) <= 4 and named[:1].isupper()):
            s = _capitalize(trimmed)
    trail = _TRAILING_ATTRIBUTION.get(lang)
    if trail is not None and not s.startswith(('"', "“", "'", "‘")):
        trimmed = trail.sub("", s, count=1)
        if _words(trimmed) >= 5:
            s = trimmed
    return s


_BOUNDARY = re.compile(r", |; | – | — ")


def shorten(sentence: str, max_words: int) -> str:
    """At most ``max_words`` words, cut at the last clause boundary that fits (never mid-clause
    when one exists); ends with a full stop."""
    words = sentence.split()
    if len(words) <= max_words:
        return sentence
    head = " ".join(words[:max_words])
    cut = max(head.rfind(", "), head.rfind("; "), head.rfind(" – "), head.rfind(" — "))
    if cut >= len(head) // 2:
        head = head[:cut]
    return head.rstrip(" ,;:-–—") + "…"


# What may follow a comma where a clause or a loose phrase begins: a cut there leaves a
# complete statement. A comma inside a list or between adjectives ("a six-year, 640-km
# journey") is followed by none of these, and cutting there would leave "a six-year."
_OPENS_PHRASE = re.compile(
    r"""[“"‘']|(?:and|but|or|yet|so|while|whereas|which|who|whom|whose|where|when|as|after|before|
    because|since|although|though|until|unless|if|with|without|including|according|despite|amid|
    following|not|[a-z]+ing|[a-z]+ed|und|aber|denn|weil|dass|wobei|während|nachdem|der|die|das|
    et|mais|car|qui|que|dont|où|alors|selon|y|pero|porque|quien|donde|cuando|mientras|según)\b""",
    re.X,
)


# ", led by Dr. Lee," / ", owned by the city": a participle, not the clause's verb
_PASSIVE_ASIDE = re.compile(r",\s+\w+\s+by\s[^,]*(?:,|$)")


def _has_verb(head: str) -> bool:
    """Whether an English head keeps a finite verb (not only "The team, led by Dr. Lee")."""
    from .clauses import _FINITE  # clauses does not import this module: no cycle

    return _FINITE.search(_PASSIVE_ASIDE.sub(",", head)) is not None


def fit(sentence: str, max_words: int, lang: str = "en") -> str:
    """At most ``max_words`` words as a complete statement: cut at the last clause boundary
    (a semicolon, a dash, or a comma that opens a clause or phrase) that keeps at least 40% of
    it; ``""`` when there is none."""
    words = sentence.split()
    if len(words) <= max_words:
        return sentence
    head = " ".join(words[:max_words])
    for match in reversed(list(_BOUNDARY.finditer(head))):
        if match.start() < len(head) * 2 // 5:
            break
        kept = head[: match.start()]
        if lang == "en" and not _has_verb(kept):
            continue
        if match.group() != ", " or _OPENS_PHRASE.match(head, match.end()):
            return kept.rstrip(" ,;:-–—") + "."
    return ""


def finish(sentence: str) -> str:
    """A key point or summary sentence ends with punctuation."""
    s = sentence.strip()
    return s if not s or s[-1] in '.!?…"”’»)' else s + "."


def clean_headline(title: str) -> str:
    """A page title without its site suffix (" - Reuters", " | BBC News"), entities decoded,
    whitespace collapsed, at most 16 words."""
    t = " ".join(normalize(title).split())
    stripped = _SITE_SUFFIX.sub("", t)
    if _words(stripped) >= 3:
        t = stripped
    return shorten(t, 16).rstrip(".")


def headline_from_lead(sentence: str, lang: str) -> str:
    """A headline made from the lead sentence: compressed, at most 16 words, ended where a
    phrase ends (before a preposition or conjunction) rather than cut with an ellipsis."""
    from .language import STOP_WORDS  # language does not import this module: no cycle

    s = compress(sentence, lang).rstrip(".!?")
    words = s.split()
    if len(words) <= 16:
        return s
    stops = STOP_WORDS.get(lang, STOP_WORDS["en"])
    if words[16].casefold() in stops:  # the 16th word ends a phrase already
        return " ".join(words[:16]).rstrip(" ,;:-–—")
    comma = next((i + 1 for i in range(14, 5, -1) if words[i].endswith((",", ";"))), None)
    if comma is not None:  # a clause boundary first: "…launched Kestrel on Sunday, sending …"
        return " ".join(words[:comma]).rstrip(" ,;:-–—")
    cut = next((i for i in range(15, 7, -1) if words[i].casefold() in stops), None)
    if cut is None:
        return shorten(s, 16)
    while cut > 8 and words[cut - 1].casefold() in stops:  # "… de la" → "…"
        cut -= 1
    return " ".join(words[:cut]).rstrip(" ,;:-–—")


def same_text(a: str, b: str) -> bool:
    """Whether two strings say the same thing letter for letter (case and punctuation aside)."""
    return fold(a) == fold(b)
