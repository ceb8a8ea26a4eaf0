"""Key points that read on their own: who "he" or "she" is, and openers that point elsewhere.

A key point is read without the sentence before it. An opening "He" or "She" is replaced by
the person the story last named as a subject ("She was 88." → "Dr. Ada Kimathi was 88."). In
English an opening "It" or "They" before a verb is replaced by the subject of the sentence
before when that is one clear thing or group that agrees with it ("The council approved the
plan. It will vote again in May." → "The council will vote again in May."). Otherwise an opening
"It", "They", "This…", a possessive, or a pronoun before any name ("The question is whether
it…") points at something the reader cannot see, and such a sentence is not used. The
same holds in German, French and Spanish. Connectives ("However,", "Después,") are trimmed by
:func:`.compress.compress`. Contains no I/O.
"""

from __future__ import annotations

import re

from .clauses import AUX
from .language import STOP_WORDS
from .segment import PERSON_WORDS
from .units import word_weight

_TITLES = (
    r"(?:Dr|Prof|Mr|Mrs|Ms|Mme|Mlle|M|Sr|Sra|Herr|Frau|Sir|Dame|Lord|Lady|Gen|Col|Capt|Sgt|Rev|Judge"
    r"|Justice|President|Senator|Governor|Mayor|Councillor|Chief Justice|Prime Minister|Minister)\.?"
)
_CAP = r"[A-ZÀ-Ý][\w'’-]*[a-zà-ÿ][\w'’-]*"
# "Dr. Ada Kimathi, …", "Carvalho, 44, …", "Mr. Hale conceded…": a named subject at the start.
_NAMED_START = re.compile(rf"^(?P<name>(?:{_TITLES}\s)?{_CAP}(?:\s{_CAP}){{0,2}})(?=,|\s[a-z])")
_NOT_NAMES = frozenset(
    re.findall(
        r"\S+",
        """The A An This That These Those There Here It Its He She They We I You His Her Their Our
        In On At After Before When While As But And Or So Yet If Although Though Since Until With
        Without For From By Of To Some Many Most All Both Each Every No None Several Other Others
        Le La Les Un Une Des Il Elle Ils Elles Der Die Das Ein Eine Er Sie Es El Los Las Una Él Ella
        Ellos Ellas Selon Según Laut Gemäß According Despite Under Over During
        Today Yesterday Tomorrow Monday Tuesday Wednesday Thursday Friday Saturday Sunday""",
    )
)
_LABEL = re.compile(r"^(?:[A-Z][\w'’-]*\s){0,3}[A-Z][\w'’-]*:\s")  # a glued caption's label
_IMPERSONAL = re.compile(
    r"^Il\s(?:s'agit|s’agit|faut|fallait|faudra|y\s|semble|para[iî]t|reste|manque|suffit|vaut)"
)
_HE_SHE = re.compile(r"^(?:He|She|Él|Ella|Il|Elle|Er)\s(?=[a-zà-ÿ])")
# Openers whose referent is in another sentence.
_BACKWARD = re.compile(
    r"^(?:It|Its|It's|They|Them|Their|They're|His|Her|Him|We|Our|This|That|These|Those|Such|Both"
    r"|Ils|Elles|Leur|Leurs|Ce|Cette|Ces|Cela|Ça|Celui|Celle|Sie|Es|Ihr|Ihre|Sein|Seine|Dies|Diese"
    r"|Dieser|Dieses|Ellos|Ellas|Su|Sus|Esto|Esta|Este|Estos|Estas|Eso|Esa|Ese)\b"
)
# Pronouns for a person, and for a thing or a group, read before anything they could stand for.
_PERSON = re.compile(r"\b(?:he|she|him|his|her|hers|il|elle|lui|er|ihm|ihn|sein|seine|él|ella)\b")
# "The question is whether it…", "In trials it prevented…": a subject pronoun with nothing named
# before it, unless it follows a verb of saying ("The council said it would…": its subject).
_THING = re.compile(
    r"(?<!\bsaid )(?<!\bsays )(?<!\badded )(?<!\bannounced )(?<!\bdit )(?<!\bsagte )(?<!\bdijo )"
    r"\b(?:it|they|ils|elles|es|sie|ellos|ellas)\s+(?!is\b|was\b)[a-zà-ÿ]"
)
_SUBJECT = re.compile(r"(?<=[\s,])(?:he|she)(?=\s[a-z])")
_NAME_WORD = re.compile(rf"\s{_CAP}")
_ANCHOR = re.compile(rf"\d|(?:^|\s){_CAP}")
_RARE = 3.5  # word_weight of a word rarer than zipf 3.5
_NAME_RARITY = 2.5  # a capitalised first word rarer than zipf 4.5 ("Greece", not "Police")
_POSSESSIVE = re.compile(r"\b(?:his|her)\s")
_PERSON_WORDS = 10  # "Two of the people who worked in his shed…": whose shed?
_HEAD_WORDS = 6  # a pronoun this early, with nothing named before it, points backwards


def named_subject(sentence: str) -> str | None:
    """The name a sentence opens with, when it opens with one ("Dr. Ada Kimathi", "Carvalho")."""
    m = _NAMED_START.match(_LABEL.sub("", sentence, count=1))
    if m is None:
        return None
    name = m.group("name")
    first = name.split()[0].rstrip(".")
    if first in _NOT_NAMES:
        return None
    # one word alone is a name only when it is no common word ("Carvalho", not "Survival")
    if " " not in name and word_weight(name.casefold(), "en") < _RARE:
        return None
    return name


def full_name(name: str | None, known: list[str]) -> str | None:
    """A surname alone ("Oduya") as the full name the story gave before ("Marta Oduya")."""
    if name is None or " " in name:
        return name
    return next((k for k in reversed(known) if k.endswith(" " + name)), name)


def resolve(sentence: str, name: str | None) -> str:
    """The sentence with the "he" or "she" of its first words replaced by ``name`` (the person
    the story last named as a subject), when nothing named comes before it."""
    if not name:
        return sentence
    if _HE_SHE.match(sentence):
        if _IMPERSONAL.match(sentence):  # "Il s'agit…", "Il faut…": "it", no person
            return sentence
        return _HE_SHE.sub(f"{name} ", sentence, count=1)
    head = " ".join(sentence.split()[:_HEAD_WORDS])
    m = _SUBJECT.search(head)
    if m and not _NAME_WORD.search(head[: m.start()]):  # "In 1991 she founded…"
        return sentence[: m.start()] + name + sentence[m.end() :]
    return sentence


def stands_alone(sentence: str) -> bool:
    """Whether a sentence reads without the one before it: no opening pronoun, demonstrative or
    possessive, and no pronoun in its first words before a name (or, for "it" and "they", a
    number or a name) it could stand for."""
    if _BACKWARD.match(sentence) or _HE_SHE.match(sentence):
        return False
    head = " " + " ".join(sentence.split()[:_HEAD_WORDS])
    named = _opens_with_name(sentence)  # "Fowler has earned… his", "Greece denied it…"
    person = _PERSON.search(head) or _POSSESSIVE.search(" " + " ".join(sentence.split()[:_PERSON_WORDS]))
    if person and not named and not _NAME_WORD.search((" " + sentence)[: person.start()][2:]):
        return False
    thing = _THING.search(head)
    return named or not (thing and not _ANCHOR.search(head[: thing.start()].split(None, 1)[-1]))


def _opens_with_name(sentence: str) -> bool:
    """Whether the first word is a name a later pronoun may stand for ("Fowler has…", "Greece
    denied…", "Tim Hale said…"), not an article, a pronoun, an opener or a common word."""
    words = sentence.split(None, 2)
    first = words[0].strip("\"'‘“(") if words else ""
    if not first[:1].isupper() or first in _NOT_NAMES:
        return False
    if len(words) > 1 and words[1][:1].isupper():
        return True
    return word_weight(re.sub(r"['’]s?$", "", first).casefold(), "en") > _NAME_RARITY


# "It/They + verb" stands for the sentence before's subject, unless the verb points at a whole
# clause or is impersonal ("It comes after…", "It means…", "It is unclear…", "It emerged…").
_CLAUSAL = (
    r"is|was|isn't|wasn't|'s|’s|has been|had been|will be|would be|could be|may be|might be|must be"
    r"|seems?|seemed|appears?|appeared|remains?|remained|comes?|came|means?|meant|follows?|followed"
    r"|emerged?|emerges|turns?|turned|depends?|depended|matters?|mattered|happens?|happened|takes?"
    r"|took|feels?|felt|looks?|looked|sounds?|sounded|all|really|just|may have|might have|could have"
    r"|can (?:now )?be|could (?:now )?be"
)
_IT_THEY = re.compile(rf"^(?P<pro>It|They)\s(?!(?:(?:also|then|now|still)\s)?(?:{_CLAUSAL})\b)(?=[a-z])")
_W = r"[\w’'&-]+"
# A subject at the start: "[The] [words] head [of/at/in … up to three words] [, aside,] verb".
# A verb ending in "s" may be a plural noun ("The council's engineers found…"): a clear verb is
# looked for first.
_NP = (
    rf"^(?P<np>(?P<det>(?:The|A|An|This|These|Those)\s)?(?P<mods>(?:{_W}\s){{0,4}}?)(?P<head>{_W})"
    rf"(?P<pp>\s(?:of|at|in|from|for|on|by|across|near)\s(?:the\s)?(?:{_W}\s){{0,2}}?{_W})?)"
    r"(?:,[^,]{3,80},)?\s(?:also\s|now\s|then\s)?"
)
_SUBJECT_NP = (
    re.compile(rf"{_NP}(?P<verb>{AUX}|[a-z]{{3,}}ed)\b"),
    re.compile(rf"{_NP}(?P<verb>[a-z]{{2,}}[^s\W]s)\b"),
)
_PLURAL_VERB = frozenset({"have", "are", "were", "do", "say"})
_SINGULAR_VERB = re.compile(r"^(?:has|is|was|does|[a-z]{2,}[^s\W]s)$")
# plural nouns that open a sentence capitalised without an article ("Officials said…"); another
# capitalised word ending in "s" may be a name ("Williams said…")
_GROUPS = frozenset(
    re.findall(
        r"\S+",
        """police people children men women staff troops officials experts researchers scientists
    authorities critics residents officers investigators doctors workers students parents fans
    voters analysts prosecutors lawmakers protesters witnesses firefighters rescuers campaigners
    teachers soldiers militants rebels judges members leaders""",
    )
)
_COUNTS = frozenset(re.findall(r"\S+", "two three four five six seven eight nine ten dozens hundreds"))
_PEOPLE = PERSON_WORDS | frozenset(
    re.findall(
        r"\S+",
        """man woman boy girl child baby person victim driver pilot suspect teenager pensioner student
        pm mp officer worker patient passenger resident""",
    )
)
_NOT_IN_NP = STOP_WORDS["en"] | frozenset(
    re.findall(
        r"\S+",
        """in on at after before when while as but and or so yet if although though since until with
        without for from by of to despite during under over according there""",
    )
)


def _plural(head: str, det: bool) -> bool:
    """Whether a subject's head word names more than one."""
    low = head.casefold()
    if low in _COUNTS:
        return det  # "The six were arrested", not "Six of them…"
    if low in _GROUPS:
        return True
    if head[:1].isupper() and not det:
        return False  # "Rodgers", "Reuters": a name, not a plural
    return low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 3


def thing_subject(sentence: str) -> tuple[str, bool] | None:
    """The subject a following "It" or "They" may stand for, with whether it is plural: a thing
    or a group named at the start ("The council", "Police in Leeds", "The six"); ``None`` when
    there is none or it is unclear (a person, a name alone, speech, a pronoun)."""
    m = _SUBJECT_NP[0].match(sentence) or _SUBJECT_NP[1].match(sentence)
    if m is None or any(c in sentence for c in ':"“”‘'):
        return None
    head, verb, det = m.group("head"), m.group("verb"), m.group("det")
    core = [*m.group("mods").split(), head]
    # "Moscow and Beijing": two names, a group
    pair = len(core) == 3 and core[1] == "and" and core[0][:1].isupper() and head[:1].isupper()
    if pair:
        core = [core[0], head]
    pp = (m.group("pp") or "").split()[1:]  # "of the Carrow works": no verb, no pronoun inside
    if pp[:1] == ["the"]:
        pp = pp[1:]
    if any(w.casefold() in _NOT_IN_NP or w.endswith("ed") for w in [*core, *pp]):
        return None
    plural = pair or _plural(head, det is not None)
    if (verb in _PLURAL_VERB and not plural) or (plural and _SINGULAR_VERB.match(verb)):
        return None  # the verb does not agree: the parse is wrong
    if not plural and (det is None or head.casefold() in _PEOPLE):
        return None  # "it" for a thing named with its article; a name alone may be a person
    np = m.group("np").strip()
    return re.sub(r"^(?:A|An|This|These|Those)\s", "The ", np), plural


def opens_with_it(sentence: str) -> bool:
    """Whether a sentence opens with an "It" or "They" that :func:`name_thing` may name."""
    return _IT_THEY.match(sentence) is not None


def name_thing(sentence: str, subject: tuple[str, bool] | None) -> str:
    """The sentence with an opening "It" or "They" (before a verb) replaced by ``subject`` when
    it agrees (``thing_subject`` of the sentence before); else unchanged."""
    m = _IT_THEY.match(sentence)
    if m is None or subject is None or (m.group("pro") == "They") != subject[1]:
        return sentence
    return subject[0] + sentence[len(m.group("pro")) :]
