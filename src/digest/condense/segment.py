"""Mend the English sentence splits that scraped pages break, after the splitter has run.

Pages set photo captions beside the prose, and scrapers glue them onto the next sentence with no
full stop between: "… dubbed ‘The First Great Escape’ The story of how Bader …", "… at the
shelter Rademenes is the resident nurse …", "… over peers Proud mum: Jean with her lamb …". And
the splitter sometimes keeps two sentences together after an ordinary word and a full stop
("… according to reports. Copeland, 31, and his wife …"). A sentence is cut there, each cut only
where both pieces keep five words or more (a real full stop needs no such guard). Contains no I/O.
"""

from __future__ import annotations

import re

from .language import ABBREVIATIONS, STOP_WORDS

# A full stop after a lower-case word of three letters or more, then a capital: a sentence end.
_MISSED_STOP = re.compile(r"(?<=[a-z]{3}[.!?]) (?=[\"“‘']?[A-Z])")
_NOT_ENDS = (
    frozenset(re.findall(r"\S+", "etc approx est vol vs inc corp ltd dept govt gov sen rep"))
    | ABBREVIATIONS["en"]
)
# "… at 2 p.m. Officials said …": the clock's full stop ends the sentence too (not before a day,
# a month or a time zone: "at 9 a.m. Monday", "7 p.m. Eastern").
_CLOCK_STOP = re.compile(
    r"(?<=\b[ap]\.m\.) (?=(?!(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February"
    r"|March|April|May|June|July|August|September|October|November|December|Eastern|Pacific|Central"
    r"|Mountain|Local|GMT|BST|CET|ET|EST|PT|PST|UTC)\b)[A-Z][a-z]+ [a-z])"
)
# "… on sale in the U.S. Customers in Japan …": a country's initials close a phrase ("in the
# U.S."), and a capitalised word that names no body of that country starts the next sentence.
_COUNTRY_STOP = re.compile(
    r"\b(?:in|to|from|across|throughout|than|outside|inside|into|for|of) the [A-Z]\.[A-Z]\.( )"
    r"(?=(?!(?:Army|Navy|Air|Marines?|Coast|Senate|House|Congress|Supreme|Court|Customs|Department"
    r"|Embassy|Government|Open|Attorney|Ambassador|President|Secretary|Federal|National|State"
    r"|Treasury|Justice|Food|Postal|Forces?|Military|Open|Office|Census|Border|Capitol)\b)"
    r"[A-Z][a-z]+ [a-z])"
)
# A determiner, pronoun or opener starting a new sentence ("… at the hotel The boy was …";
# "The" even after a capitalised word: "… say ISIS The video shows …"), or, after a lower-case
# word, a caption label ("… over its peers Proud mum: Jean …").
_NOT_NEXT = r"(?!(?:and|or|said|to|was|is|had|has|who|in|of|for)\b)[a-z0-9]"
_THE = re.compile(rf"(?<=[A-Za-z0-9’'\")]) (?=The {_NOT_NEXT})")
_OPENER = re.compile(  # (the space first: the search skips to the spaces)
    r" (?<=[a-z0-9’'\")] )(?="
    r"(?:A|An|He|She|It|They|His|Her|Their|Its|This|There|But|In|On|At|After|When|Now|However"
    rf"|Last|We|I|Police|Officers) {_NOT_NEXT})"
)
_LABEL = re.compile(r"(?<=[a-z0-9’'\")]) (?=[A-Z][\w'’-]*(?: [\w'’-]+){0,3}: [A-Z‘'\"“])")
# After a lower-case word: a name of up to three words (with "(left)"-style photo directions)
# and a verb: "… for the incident Ibe was present …".
_NAME_THEN_VERB = re.compile(
    r" (?<=[a-z0-9)’'\"] )(?=(?:[A-Z][\w'’-]+ ){0,2}[A-Z][\w'’-]+"
    r"(?: \((?:left|right|centre|center|above|below|pictured)\))? "
    r"(?:is|was|has|had|have|are|were|will|would|said|says|celebrates|scored|won|made|joined|added"
    r"|insists|admits|believes|shows|looks|appears|poses|arrives|leaves|takes|walks|waves|smiles"
    r"|[a-z]{3,}ed)\b)"
)
# People named by their role: after one a name is an apposition ("striker Ann Lee"), and "it"
# never stands for one.
PERSON_WORDS = frozenset(
    re.findall(
        r"\S+",
        """star boss manager coach player striker winger midfielder defender keeper captain chairman
    president minister secretary officer spokesman spokeswoman actor actress singer rapper model wife
    husband son daughter brother sister friend partner girlfriend boyfriend mother father mum dad uncle
    aunt cousin colleague team-mate teammate rival owner chief director founder host presenter judge
    detective sergeant inspector constable agent lawyer attorney doctor dr professor prof mr mrs ms sir
    lady lord king queen prince princess duke duchess""",
    )
)
# Words after which a name is an object or an apposition, not a new sentence ("said Ann Lee").
_BEFORE_NAME = PERSON_WORDS | frozenset(
    re.findall(
        r"\S+",
        """to for with in on at by from of and but or nor as than into onto about after before while because
    since although though despite amid during like said says told named called dubbed""",
    )
)
# Adjectives that open a place's or body's name: "the western Pacific", "upper Nile", "greater London".
_BEFORE_PLACE = frozenset(
    re.findall(r"\S+", "north south east west northeast northwest southeast southwest upper lower")
) | {"greater", "new", "old"}
_HAS_VERB = re.compile(r"\b(?:is|are|was|were|has|have|had|will|would|can|could|[a-z]{3,}(?:ed|es|s))\b")
_MIN_WORDS = 5
_QUICK = re.compile(r"\s[A-Z]")  # no capital after the first word: nothing to mend


def _ends_phrase(before: str) -> bool:
    """Whether the text before a capitalised name ends a statement of its own (so the name
    starts a new sentence), not a phrase the name belongs to ("said", "striker", "when")."""
    last = before.rsplit(None, 1)[-1]
    if last.endswith((",'", ",’", ',"', ",”")) or not _HAS_VERB.search(before):
        return False  # "'…,' Ann Lee said": the quote's attribution
    word = last.strip("’'\")(“”‘").casefold()
    lower = last[:1].islower() or last[:1].isdigit() or last.endswith(")")
    modifier = word in _BEFORE_PLACE or word.endswith(("ern", "tral"))  # "the western Pacific"
    return (
        lower
        and not modifier
        and word not in _BEFORE_NAME
        and word not in STOP_WORDS["en"]
        and not word.endswith("ing")
    )


def _lower_before(sentence: str, at: int) -> bool:
    """Whether the word before ``at`` is a lower-case word (not a title's: "“Going Clear: …")."""
    first = sentence[:at].rsplit(None, 1)[-1].lstrip("(\"'‘“")[:1]
    return first.islower() or first.isdigit()


def _cuts(sentence: str) -> list[tuple[int, bool]]:
    """Candidate cut offsets, each with whether it is a real full stop (needs no length guard).
    Each pattern runs only when the text it needs is there: this runs on every sentence."""
    cuts: list[tuple[int, bool]] = []
    if ". " in sentence or "! " in sentence or "? " in sentence:
        cuts += [
            (m.start(), True)
            for m in _MISSED_STOP.finditer(sentence)
            if sentence[: m.start()].rsplit(None, 1)[-1].rstrip(".!?").casefold() not in _NOT_ENDS
        ]
        if "m. " in sentence:
            cuts += [(m.start(), True) for m in _CLOCK_STOP.finditer(sentence)]
        cuts += [(m.start(1), True) for m in _COUNTRY_STOP.finditer(sentence)]
    if " The " in sentence:
        cuts += [(m.start(), False) for m in _THE.finditer(sentence)]
    cuts += [
        (m.start(), False)
        for m in _OPENER.finditer(sentence)
        if not sentence.startswith((" A ", " I "), m.start()) or _lower_before(sentence, m.start())
    ]  # "Serie A side", "World War I veterans": a name's letter, not an opener
    if ": " in sentence:
        cuts += [(m.start(), False) for m in _LABEL.finditer(sentence) if _lower_before(sentence, m.start())]
    cuts += [
        (m.start(), False) for m in _NAME_THEN_VERB.finditer(sentence) if _ends_phrase(sentence[: m.start()])
    ]
    return sorted(set(cuts))


def unglue(sentence: str) -> list[str]:
    """``sentence`` cut where a caption or a second sentence was glued on; each piece ends with
    punctuation. One piece (the sentence itself) when nothing was glued."""
    if not _QUICK.search(sentence):
        return [sentence]
    pieces: list[str] = []
    last = 0
    for at, stop in _cuts(sentence):
        long_enough = (
            len(sentence[last:at].split()) >= _MIN_WORDS and len(sentence[at:].split()) >= _MIN_WORDS
        )
        if stop or long_enough:
            pieces.append(sentence[last:at].strip())
            last = at
    pieces.append(sentence[last:].strip())
    return [p if p[-1:] in ".!?\"”’'" else p + "." for p in pieces if p]
