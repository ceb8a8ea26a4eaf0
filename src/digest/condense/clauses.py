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

AUX = (  # finite verbs and auxiliaries: what follows a subject
    r"is|are|was|were|be|been|has|have|had|will|would|could|can|should|may|might|must|did|does|do"
    r"|said|says|told|made|took|gave|went|came|saw|found|got|left|became|began|brought|bought|built"
    r"|caught|chose|drove|fell|felt|fought|held|kept|knew|led|lost|met|paid|put|ran|rose|sent|set"
    r"|broke|spoke|shot|spent|stood|struck|taught|thought|threw|won|wrote|hit|cut|hurt|quit|let|sold|stole"
    r"|flew|grew|drew|beat|bit|hid|shook|spoke|woke|wore|tore|swore|dies|dead|faces|remains|wants"
    r"|needs|says|claims|denies|plans|hopes|believes|appears|seems"
)
_FINITE = re.compile(rf"(?i)\b(?:{AUX})\b|\b[a-z]{{3,}}ed\b")
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
