"""Language detection, sentence splitting and word keys for English, German, French and Spanish.

nupunkt (its model ships inside the package) splits sentences; a per-language list of
abbreviations and a few rules mend the splits it gets wrong outside English. Word keys are
light stems, lower-cased, without stop words: lemmatizing with a dictionary costs more start-up
time than the condensing of a hundred articles, for no gain in what is picked. Contains no I/O.
"""

from __future__ import annotations

import functools
import re
from collections import Counter

import nupunkt

SUPPORTED = ("en", "de", "fr", "es")


def _words_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS: dict[str, frozenset[str]] = {
    "en": _words_set(
        """a about above after again against all also am an and any are as at be because been before
        being below between both but by can could did do does doing down during each few for from
        further had has have having he her here hers herself him himself his how i if in into is it
        its itself just me more most my myself no nor not now of off on once only or other our ours
        ourselves out over own same she should so some such than that the their theirs them
        themselves then there these they this those through to too under until up very was we were
        what when where which while who whom why will with would you your yours yourself yourselves
        said says say told tell also one two new year years last first could may might must shall us
        get got like mr mrs ms"""
    ),
    "de": _words_set(
        """aber alle allem allen aller alles als also am an ander andere anderen auch auf aus bei bin
        bis bist da damit dann das dass dein deine dem den der des dessen dich die dies diese diesem
        diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines er es etwas
        euch euer für gegen hat hatte hätte haben ich ihr ihre ihrem ihren im in ist ja jede jedem
        jeden jeder jedes kann kein keine können man mich mit muss nach nicht nichts noch nun nur ob
        oder ohne sehr sein seine seinem seinen sich sie sind so soll sollte sondern um und uns
        unser unter vom von vor war waren warum was weil wenn wer werden wie wieder will wir wird wo
        zu zum zur über sagte sei"""
    ),
    "fr": _words_set(
        """a au aux avec ce ces cet cette dans de des du elle elles en est et eux il ils je la le les
        leur leurs lui ma mais me même mes moi mon ne nos notre nous on ont ou où par pas pour qu
        que qui sa se ses son sont sur ta te tes toi ton tu un une vos votre vous y été être avait
        était sont ainsi aussi comme dont entre fait plus selon sans sous si tout tous très déjà
        encore après avant a-t-il dit"""
    ),
    "es": _words_set(
        """a al algo algunos ante antes como con contra cual cuando de del desde donde durante e el
        ella ellas ellos en entre era es esa esas ese eso esos esta estaba estas este esto estos fue
        fueron ha han hasta hay la las le les lo los más me mi mucho muy nada ni no nos o os otra
        otro para pero poco por porque que quien se sea ser si sido sin sobre son su sus también
        tanto te tiene todo todos tu un una uno unos y ya él dijo según"""
    ),
}

# Abbreviations after which a period does not end a sentence, per language (lower case).
ABBREVIATIONS: dict[str, frozenset[str]] = {
    "de": _words_set(
        """z.b bzw usw ca dr prof nr str abs vgl ggf evtl inkl bspw d.h u.a o.ä s.o hr fr jh mio mrd"""
    ),
    "fr": _words_set("""m mme mlle dr pr n° no st ste etc env av apr j.-c cf p.ex vol"""),
    "es": _words_set("""sr sra srta dr dra ud uds etc núm no pág av avda ee.uu gral lic ing"""),
    "en": _words_set(
        """gen col lt sgt capt cmdr gov sen rep rev prof dr mr mrs ms st jr sr no vs etc inc corp"""
    ),
}
_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*")
_ORDINAL_END = re.compile(r"\b\d{1,2}\.$")


def detect_language(text: str) -> str:
    """The language of ``text`` among en, de, fr, es; ``"unk"`` when it is none of them.

    Counts each language's stop words among the first words: fast, and needs no dictionary.
    """
    tokens = _WORD.findall(text[:3000].casefold())[:400]
    if len(tokens) < 3:
        return "en"  # too little to tell: English rules do no harm to a few words
    seen = Counter(tokens)
    counts = {lang: sum(seen[w] for w in STOP_WORDS[lang].intersection(seen)) for lang in SUPPORTED}
    best = max(SUPPORTED, key=lambda lang: counts[lang])
    return best if counts[best] >= max(2, 0.12 * len(tokens)) else "unk"


def _mend(sentences: list[str], lang: str) -> list[str]:
    """Join splits made after an abbreviation or a German ordinal ("am 3. Oktober")."""
    abbrevs = ABBREVIATIONS.get(lang, frozenset())
    out: list[str] = []
    for s in sentences:
        if out:
            prev = out[-1]
            last = prev.rsplit(None, 1)[-1]
            glue = last.endswith(".") and last[:-1].casefold().lstrip("(") in abbrevs
            glue = glue or (lang == "de" and bool(_ORDINAL_END.search(prev)))
            glue = glue or (s[:1].islower() and lang != "en")
            if glue:
                out[-1] = f"{prev} {s}"
                continue
        out.append(s)
    return out


def split_sentences(paragraph: str, lang: str) -> list[str]:
    """Sentences of one paragraph; survives abbreviations, decimals, thousands and quotes."""
    sentences = [str(s).strip() for s in nupunkt.sent_tokenize(paragraph) if str(s).strip()]
    return _mend(sentences, lang) if len(sentences) > 1 else sentences


_SUFFIXES: dict[str, tuple[str, ...]] = {
    "en": ("ings", "ing", "ies", "ied", "ed", "es", "s", "e"),
    "de": ("ungen", "ung", "en", "er", "es", "e", "n", "s"),
    "fr": ("ements", "ement", "ations", "ation", "es", "s", "e", "x"),
    "es": ("aciones", "ación", "es", "os", "as", "s", "o", "a"),
}


@functools.lru_cache(maxsize=65536)
def _stem(word: str, lang: str) -> str:
    """A light stem, enough to match "troops" with "troop" and "voted" with "votes"."""
    for suffix in _SUFFIXES.get(lang, ()):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def words(sentence: str) -> list[str]:
    """The words of a sentence as written (letters and digits, inner apostrophes kept)."""
    return _WORD.findall(sentence)


@functools.lru_cache(maxsize=131072)
def _key(word: str, lang: str) -> str:
    """The key of one word as written; ``""`` for a stop word or a single letter."""
    low = word.casefold()
    if low in STOP_WORDS.get(lang, STOP_WORDS["en"]) or (len(low) < 2 and not low.isdigit()):
        return ""
    return low if low[0].isdigit() else _stem(low, lang)


def keys(sentence: str | list[str], lang: str) -> list[str]:
    """Content-word keys of a sentence (or of its :func:`words`): light stems, no stop words."""
    tokens = _WORD.findall(sentence) if isinstance(sentence, str) else sentence
    return [k for k in (_key(w, lang) for w in tokens) if k]
