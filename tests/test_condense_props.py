"""Any text gives a valid condensation or a clear CondenseError, never another exception."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.condense import condense_text
from digest.errors import CondenseError

SOUP = st.lists(
    st.sampled_from(
        ["<p>", "</p>", "<div class='x'>", "</div>", "<br>", "<script>x()</script>", "&amp;", "&#0;", "<"]
    ),
    max_size=30,
).map("".join)
WORDS = st.lists(
    st.sampled_from(["The", "mayor", "said", "3.5%", "U.S.", "Dr.", "\n", ".", "?", "“", "—"]), max_size=80
)
RTL = st.text(alphabet=st.characters(min_codepoint=0x0590, max_codepoint=0x06FF), max_size=400)


def check(text: str) -> None:
    try:
        c = condense_text(text)
    except CondenseError as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        assert "\n" not in message
        return
    assert isinstance(c.headline, str)
    assert c.headline
    assert isinstance(c.summary, str)
    assert len(c.key_points) <= 5
    assert all(k.text and len(k.text.split()) <= 39 for k in c.key_points)  # under 40 words


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=2000),
        SOUP,
        WORDS.map(" ".join),
        RTL,
        st.binary(max_size=2000).map(lambda b: b.decode("latin-1")),
    )
)
def test_any_text(text: str) -> None:
    check(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "word",
        "no punctuation at all just words going on and on " * 20,
        "שלום עולם. זהו מאמר חדשות קצר. הממשלה החליטה היום.",
        "مرحبا بالعالم. هذا مقال إخباري قصير. قررت الحكومة اليوم.",
        "<html><body><p>Only <b>one</b> short paragraph.</p></body></html>",
    ],
)
def test_edge_cases(text: str) -> None:
    check(text)


@pytest.mark.slow
def test_one_megabyte() -> None:
    para = "The council voted on Tuesday to spend 3,000 dollars on new lights for the park. "
    check((para * 40 + "\n") * 330)
