"""Grouping articles about the same event into stories. Contains no I/O.

Each article becomes the set of words of its title and the first words of its text, each
weighted by its IDF: words that many articles share weigh little, names, places and numbers
weigh a lot. Articles from different feeds whose weighted Dice similarity reaches
``threshold`` (on average with the story's articles so far) join one story. Two articles of
the same feed never merge: a feed does not report one event twice in one window, but it does
run series ("day 3", "day 4") that look alike.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Sequence

from ..models import Article, Story

_WORD = re.compile(r"[^\W_]+(?:['’.][^\W_]+)*")
_LEAD_WORDS = 150
# Function words of the languages digest condenses; content words are left to IDF.
_STOP = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "has", "have",
    "he", "her", "his", "in", "is", "it", "its", "of", "on", "or", "our", "said", "says", "she",
    "that", "the", "their", "them", "they", "this", "to", "was", "were", "will", "with", "would",
    "we", "you", "after", "before", "than", "then", "there", "these", "those", "into", "over", "about",
    "more", "most", "also", "not", "no", "new", "how", "what", "when", "where", "who", "why", "which",
    "while", "up", "out", "could", "can", "may", "might", "should", "just", "other", "le", "la",
    "les", "de", "des", "du", "et", "un", "une", "der", "die", "das", "und", "ein", "eine", "el",
    "los", "las", "y", "en", "del", "por", "con", "para",
))  # fmt: skip


def _stem(word: str) -> str:
    """A light suffix strip, so "raises", "raised" and "raise" meet (no stemmer for every language)."""
    word = word.removesuffix("'s")
    if len(word) > 4 and word.isalpha():
        for suffix in ("ing", "ed", "es", "s", "e"):
            if word.endswith(suffix) and not word.endswith("ss"):
                return word[: -len(suffix)]
    return word


def _tokens(text: str) -> list[str]:
    words = (w.lower().replace("’", "'") for w in _WORD.findall(text))
    return [_stem(w) for w in words if w not in _STOP and (len(w) > 1 or w.isdigit())]


def _words(article: Article) -> set[str]:
    return set(_tokens(article.title)) | set(_tokens(" ".join(article.text.split()[:_LEAD_WORDS])))


def _similarities(articles: Sequence[Article]) -> dict[tuple[int, int], float]:
    """IDF-weighted Dice similarity of every pair that shares a word (via an inverted index).

    ``2 × weight(shared words) / (weight(words of a) + weight(words of b))``: a paraphrase
    shares the rare words (names, places, numbers) even when its wording differs.
    """
    sets = [_words(a) for a in articles]
    postings: dict[str, list[int]] = defaultdict(list)
    for i, words in enumerate(sets):
        for w in words:
            postings[w].append(i)
    n = len(articles)
    idf = {w: math.log((1 + n) / (1 + len(p))) + 1 for w, p in postings.items()}
    totals = [sum(idf[w] for w in words) or 1.0 for words in sets]
    shared: dict[tuple[int, int], float] = defaultdict(float)
    limit = max(50, n // 2)  # a word in half the articles tells nothing
    for w, plist in postings.items():
        if len(plist) > limit:
            continue
        for a, i in enumerate(plist):
            for j in plist[a + 1 :]:
                shared[(i, j)] += idf[w]
    return {(i, j): 2 * x / (totals[i] + totals[j]) for (i, j), x in shared.items()}


def _lead_key(a: Article) -> tuple[float, int, float, str]:
    return (-a.weight, -len(a.text), a.published.timestamp(), a.id)


def _story(members: list[Article]) -> Story:
    members = sorted(members, key=_lead_key)
    anchor = min(a.id for a in members)
    topic = next((a.topic for a in members if a.topic), None)
    sid = "s-" + hashlib.sha256(anchor.encode("utf-8")).hexdigest()[:16]
    return Story(id=sid, articles=tuple(members), topic=topic)


def group_stories(articles: Sequence[Article], *, threshold: float = 0.3) -> list[Story]:
    """Group near-duplicate articles from different feeds into stories.

    Args:
        articles: the articles to group (any order; duplicates by id are dropped).
        threshold: the similarity (0..1) from which two reports are one story.

    Returns:
        One story per event, newest first; ``articles[0]`` of each is its lead report
        (highest feed weight, then the longest text).
    """
    items = sorted({a.id: a for a in articles}.values(), key=lambda a: (-a.published.timestamp(), a.id))
    sims = _similarities(items)
    earlier: dict[int, list[int]] = defaultdict(list)
    for j, k in sims:
        earlier[k].append(j)
    clusters: list[list[int]] = []
    where: dict[int, int] = {}
    for i, article in enumerate(items):
        best, best_score = -1, threshold
        candidates = {where[j] for j in earlier[i]}
        for c in candidates:
            members = clusters[c]
            if any(items[m].feed_url == article.feed_url for m in members):
                continue
            score = sum(sims.get((min(i, m), max(i, m)), 0.0) for m in members) / len(members)
            if score >= best_score:
                best, best_score = c, score
        if best < 0:
            best = len(clusters)
            clusters.append([])
        clusters[best].append(i)
        where[i] = best
    stories = [_story([items[m] for m in c]) for c in clusters]
    return sorted(stories, key=lambda s: (-s.published.timestamp(), s.id))
