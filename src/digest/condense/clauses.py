"""Split an English news sentence into its main clause and the other facts it carries.

A lead sentence such as "A man who fled police on Tuesday was charged with murder, officials
said, after a chase through Atlanta left two people injured." says one thing in its main clause
(the man was charged) and more in its subordinate clauses (a chase left two people injured).
:func:`split` returns the main clause and each subordinate clause that holds a statement of its
own, rewritten to stand alone; the rest (attributions, participial and relative tails,
fronted phrases) is dropped. Rules are conservative: a cut is made only when what is left reads
as a sentence. Contains no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_AUX = (
    r"is|are|was|were|be|been|has|have|had|will|would|could|can|should|may|might|must|did|does|do"
    r"|said|says|told|made|took|gave|went|came|saw|found|got|left|became|began|brought|bought|built"
    r"|caught|chose|drove|fell|felt|fought|held|kept|knew|led|lost|met|paid|put|ran|rose|sent|set"
    r"|broke|spoke|shot|spent|stood|struck|taught|thought|threw|won|wrote|hit|cut|hurt|quit|let|sold|stole"
    r"|flew|grew|drew|beat|bit|hid|shook|spoke|woke|wore|tore|swore|dies|dead|faces|remains|wants"
    r"|needs|says|claims|denies|plans|hopes|believes|appears|seems"
)
_FINITE = re.compile(rf"(?i)\b(?:{_AUX})\b|\b[a-z]{{3,}}ed\b")
# Words that cannot open the subject of a clause.
_NOT_SUBJECT = frozenset(
    re.split(
        r"\s+",
        """to for with in on at by from of and but or nor which that who whom whose where when if as
        than into onto about after before while because since although though despite amid during
        once still also now then just even only never ever already yet so too very more most less
        not""",
    )
)
_RELATIVE_BEFORE = re.compile(r"(?i)\b(?:that|which|who|whom|whose)\s+(?:\S+\s+)?$")
_ATTRIBUTION = re.compile(
    r",\s+(?:[\w'’.-]+\s+){0,5}?(?:said|says|added|reported|told [A-Z][\w.]*|according to [^,]{2,60})"
    r"(?:\s+(?:on|in|at|last|this)\s+\w+)?(?=,)"
)

# A comma then one of these opens a tail the main clause does not need.
_CLAUSE_CONJ = r"after|before|when|while|as|although|though|because|since|until|even though|even as|whereas"
_PHRASE_CONJ = (
    r"despite|amid|following|including|according to|in what|in a|with|without|prompting|leaving|as well as"
)
_TAIL = re.compile(
    rf"(?i),\s+(?:(?P<clause>{_CLAUSE_CONJ})\s|(?P<coord>and|but|yet)\s|(?P<who>who|whose)\s"
    rf"|(?P<drop>which|where|{_PHRASE_CONJ})\s|(?P<ing>[a-z]{{3,}}ing)\s)"
)
# "After the storm hit, …" / "Despite the rain, …": a fronted clause or phrase before the subject.
_FRONT = re.compile(
    r"^(?:(?P<clause>After|Before|When|While|As|Although|Though|Because|Since|Until|Once|Even though)\s"
    r"|(?:Despite|Amid|Following|In|On|At|During|Earlier|Last|This|Hours|Days|Weeks|Months|Years|Speaking|Since|Within|With|Under)\b)"
    r"(?P<body>[^,]{2,140}),\s+(?P<rest>.+)$"
)
_NAME_BEFORE = re.compile(r"((?:[A-Z][\w'’.-]*\s+){0,3}[A-Z][\w'’.-]*)$")
_MIN_MAIN = 6


@dataclass(frozen=True, slots=True)
class Split:
    """A sentence's main clause and the standalone statements split off it."""

    main: str
    extras: tuple[str, ...] = ()


def _capitalize(s: str) -> str:
    return s[:1].upper() + s[1:] if s[:1].islower() else s


def _end(s: str) -> str:
    s = s.strip().rstrip(" ,;:-–—")
    return s if not s or s[-1] in '.!?"”’' else s + "."


def is_clause(text: str) -> bool:
    """Whether ``text`` reads as a statement: a subject-like start and a finite verb."""
    words = text.split()
    first = words[0].casefold() if words else ""
    if len(words) < 4 or first in _NOT_SUBJECT or first.endswith(("ing", "ly")):
        return False
    verb = _FINITE.search(" ".join(words[1:]))
    # "a strike that stranded…": the verb belongs to a relative clause, the whole is a noun phrase.
    return verb is not None and not _RELATIVE_BEFORE.search(" ".join(words[1:])[: verb.start()])


def _standalone(kind: str, tail: str, before: str) -> str | None:
    """The tail after a cut rewritten as its own sentence, or ``None`` when it cannot stand."""
    body = tail.split(None, 1)[1] if kind in ("clause", "coord") and " " in tail else tail
    if kind == "clause" and tail.casefold().startswith(("even though", "even as")):
        body = tail.split(None, 2)[2] if len(tail.split()) > 2 else ""
    if kind in ("clause", "coord") and is_clause(body):
        return _end(_capitalize(body))
    if kind == "who":
        name = _NAME_BEFORE.search(before)
        rest = tail.split(None, 1)[1] if " " in tail else ""
        if name and tail.casefold().startswith("who ") and _FINITE.match(rest):
            return _end(f"{name.group(1)} {rest}")
    return None


_SUBORDINATOR = re.compile(
    r"(?i)\b(?:when|after|before|as|because|since|until|while|although|though|if|that|where)\s"
)


def _open_clause(head: str) -> bool:
    """Whether ``head`` ends inside a subordinate clause still waiting for its verb ("…began on a
    sombre note when Australian Marc Leishman"): no cut may leave it so."""
    opened = [m.end() for m in _SUBORDINATOR.finditer(head)]
    return bool(opened) and not _FINITE.search(head[opened[-1] :])


def _ends_in_clause(head: str) -> bool:
    """Whether a cut after ``head`` leaves it ending in its clause, not in an appositive that
    the tail was part of ("…in October, the fastest growth | since records began")."""
    return "," not in head or _FINITE.search(head.rsplit(",", 1)[1]) is not None


def split(sentence: str) -> Split:
    """The main clause of ``sentence`` and the statements its subordinate clauses carry.

    Cuts at the first comma that opens a subordinate, relative, participial or coordinate
    tail, and drops a fronted clause or phrase ("After …, ", "Despite …, "), each only when a
    main clause of at least six words with a finite verb remains.
    """
    s = sentence.strip()
    end = s[-1] if s[-1:] in ".!?" else "."
    s = s.rstrip(".!? ")
    extras: list[str] = []
    s = _ATTRIBUTION.sub("", s)
    front = _FRONT.match(s)
    if front and is_clause(front.group("rest")) and len(front.group("rest").split()) >= _MIN_MAIN:
        if front.group("clause") and is_clause(front.group("body").strip()):
            extras.append(_end(_capitalize(front.group("body").strip())))
        s = _capitalize(front.group("rest"))
    for m in _TAIL.finditer(s):
        head = s[: m.start()]
        if len(head.split()) < _MIN_MAIN or not _FINITE.search(head) or _open_clause(head):
            continue
        kind = m.lastgroup or "drop"
        tail = s[m.start() :].lstrip(", ")
        if kind == "coord" and not is_clause(tail.split(None, 1)[1] if " " in tail else ""):
            continue  # "…, and Ohio": a list, not a second clause
        more = _standalone(kind, tail, head)
        if more:
            inner = split(more)
            extras.extend([inner.main, *inner.extras])
        return Split(_end(head) if end == "." else head + end, tuple(extras))
    return Split(_end(s) if end == "." else s + end, tuple(extras))


_DET = r"(?:The|A|An|This|His|Her|Their|Its|Two|Three|Four|Five|Several|[A-Z][\w'’.-]*)"
# "A man who fled police on Tuesday was charged…": the relative clause sits inside the subject.
_SUBJECT_RELATIVE = re.compile(
    rf"^(?P<np>{_DET}(?:\s[\w'’.,-]+){{0,5}}?)\s(?:who|which|that)\s(?P<rel>(?:[\w'’.,£$%-]+\s){{2,20}}?)"
    r"(?P<main>(?:has|have|had|was|were|is|are|will|would|could|can|may|might|must)\s.+)$"
)
_ARTICLE = re.compile(r"^(?:The|A|An|This|His|Her|Their|Its|Two|Three|Four|Five|Several)\s")
_DETERMINERS = frozenset(
    re.findall(r"\S+", "the a an his her their its this that these those my our your some any no")
)
_OWN_SUBJECT = re.compile(r"(?i)\b(?:he|she|they|we|i|you|it)\b")  # a clause inside the clause
_REPORTING = re.compile(
    r"\b(?:admits|says|claims|insists|believes|thinks|reveals|fears|hopes|knows|feared|thought|added)\b"
)
_BARE_TAIL = re.compile(
    r"\s(?:[-–—]\s|(?P<conj>as|when|after|before|because|while|since|until|although|though|but|so)\s)"
)
_NUMBER_START = re.compile(
    r"(?i)^(?:\d|one|two|three|four|five|six|seven|eight|nine|ten|hours|days|weeks|months|years)\b"
)
_COORD_VP = re.compile(rf"\sand\s(?=(?:{_AUX})\b|[a-z]{{3,}}ed\b)")


def _inner_relative(m: re.Match[str]) -> bool:
    """Whether a :data:`_SUBJECT_RELATIVE` match really is a subject with a relative clause, not
    "X has revealed that the hairstyle … was inspired" (a verb in the subject: "that" opens an
    object) or "a boy who feared he was …" (the verb after it belongs to the relative clause)."""
    np, rel = m.group("np").rstrip(" ,"), m.group("rel").strip(" ,")
    if _FINITE.search(np) or _REPORTING.search(np) or np.split()[0] in ("It's", "It", "He", "She", "They"):
        return False
    if m.group(0)[len(m.group("np")) :].lstrip(" ,").startswith("that") and not _ARTICLE.match(np):
        return False  # "John Carver knows only too well that …": a statement, not a noun phrase
    ends_open = rel.rsplit(None, 1)[-1].casefold() in ("and", "or", "but")
    first = rel.split(None, 1)[0] if rel else ""
    verb_first = first[:1].islower() and first.casefold() not in _DETERMINERS  # "who fled…", not "that a…"
    return verb_first and not _OWN_SUBJECT.search(rel) and not _REPORTING.search(rel) and not ends_open


def _subject(clause: str) -> str | None:
    """The words before the first finite verb, when they look like a subject of 1–6 words."""
    m = _FINITE.search(clause)
    if m is None:
        return None
    subj = clause[: m.start()].strip()
    n = len(subj.split())
    return subj if 1 <= n <= 6 and subj[:1].isupper() and "," not in subj else None


def _definite(np: str) -> str:
    """ "A man" → "The man": the second mention of someone the summary introduced."""
    first, _, rest = np.partition(" ")
    return f"The {rest}" if first in ("A", "An") and rest else np


def split_lead(sentence: str) -> Split:
    """:func:`split`, then deeper cuts for a lead whose main clause becomes the summary:
    a relative clause inside the subject, an unpunctuated subordinate or dashed tail, a
    second verb phrase ("… and still struggles"), each kept as a statement of its own."""
    first = split(sentence)
    main, extras = first.main.rstrip(".!? "), list(first.extras)
    rel = _SUBJECT_RELATIVE.match(main)
    if rel and _inner_relative(rel) and is_clause(f"{rel.group('np')} {rel.group('main')}"):
        np = rel.group("np").rstrip(" ,")
        extras.append(_end(f"{_definite(np)} {rel.group('rel').strip(' ,')}"))
        main = f"{np} {rel.group('main')}"
    for pattern in (_BARE_TAIL, _COORD_VP):
        for m in pattern.finditer(main):
            head, tail = main[: m.start()], main[m.end() :]
            if len(head.split()) < _MIN_MAIN or not _FINITE.search(head) or not _ends_in_clause(head):
                continue
            if pattern is _BARE_TAIL and m.group("conj") and not is_clause(tail.split(",", 1)[0]):
                continue  # "since March 2024, trimming…": a preposition's object, not a clause
            subj = _subject(head)
            if pattern is _COORD_VP and subj:
                tail = f"{_definite(subj)} {tail}"
            standalone = is_clause(tail) and len(tail.split()) >= 5 and not _NUMBER_START.match(tail)
            if not standalone and (pattern is _COORD_VP or m.group("conj")):
                continue  # "verified as once belonging…": not a clause, so not a cut either
            if standalone:
                extras.append(_end(_capitalize(tail)))
            main = head
            break
    return Split(_end(main), tuple(extras))


_LABEL = re.compile(r"^(?:[A-Z][\w'’-]*\s){0,3}[A-Z][\w'’-]*:\s")  # a glued photo caption label
_NAMED = re.compile(r"^(?:(?:Mr|Mrs|Ms|Dr|The)\.?\s)?[A-Z][\w'’.-]*[a-z][\w'’.-]*(?:\s[A-Z][\w'’.-]*){0,3}$")
_NOT_NAMES = frozenset(
    re.findall(r"\S+", "He She It They We I You This That These Those There Here His Her Its Their")
)
_PRONOUN = re.compile(r"^(?:He|She)\s(?=[a-z])")
_BACKWARD = re.compile(r"^(?:He|She|They|It|His|Her|Their|Its|Him|Them|He's|She's|It's|They're)\b")


def named_subject(sentence: str) -> str | None:
    """The subject of ``sentence`` when it is a name ("Ann Lee", "Mr Davey", "The Prime
    Minister"): who a "he" or "she" in the clauses split off it most likely is."""
    subj = _subject(_LABEL.sub("", sentence, count=1))
    if subj and _NAMED.match(subj) and subj.split()[0] not in _NOT_NAMES:
        return subj
    return None


def resolve(sentence: str, name: str | None) -> str:
    """``sentence`` with an opening "He" or "She" replaced by ``name`` (when known), so that
    it says who, read on its own."""
    return _PRONOUN.sub(f"{name} ", sentence, count=1) if name else sentence


def stands_alone(sentence: str) -> bool:
    """Whether a split-off statement reads on its own: a clause that does not open with a
    pronoun pointing back at the sentence it came from."""
    return is_clause(sentence) and not _BACKWARD.match(sentence)
