"""The complete messages: MIME structure, headers, header injection, encoding round trips."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from digest import tokens
from digest.config import Settings
from digest.errors import DigestError, HeaderError
from digest.models import OutgoingMessage, Subscriber
from digest.render import EditionRenderer
from digest.render.sample import sample_edition

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
SECRET = b"mime-test-secret"
EDITION = sample_edition()


def renderer(**kw: Any) -> EditionRenderer:
    render = kw.pop("render", {})
    cfg = Settings.model_validate({"sender": "The Desk <desk@news.example.org>", **kw, "render": render})
    return EditionRenderer(EDITION, cfg, secret=SECRET, now=NOW)


@pytest.fixture(scope="module")
def shared() -> EditionRenderer:
    return renderer()


def parse(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert not msg.defects
    return msg


def body(msg: EmailMessage, kind: str) -> str:
    part = msg.get_body((kind,))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


def test_structure_and_headers(shared: EditionRenderer) -> None:
    key = tokens.new_key()
    out = shared.message(Subscriber("alice@example.com", "Alice Liddell", key=key))
    assert isinstance(out, OutgoingMessage)
    assert (out.sender, out.recipient, out.edition_id) == (
        "desk@news.example.org",
        "alice@example.com",
        "2026-11-26",
    )
    msg = parse(out.data)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
    assert msg["From"].addresses[0] == Address("The Desk", addr_spec="desk@news.example.org")
    assert msg["To"].addresses[0] == Address("Alice Liddell", addr_spec="alice@example.com")
    assert msg["Subject"] == "Coastal nations agree a shared plan to restore fish stocks by 2035"
    assert msg["Date"].datetime == NOW
    assert msg["Message-ID"] == out.message_id
    assert re.fullmatch(r"<2026-11-26\.[0-9a-f]{24}@news\.example\.org>", out.message_id)
    assert msg["List-Id"] == "Morning Digest <morning-digest.news.example.org>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", msg["List-Unsubscribe"])
    token = https.split("token=")[1]
    assert https.startswith("https://example.org/unsubscribe?token=")
    assert tokens.verify(token, SECRET) == tokens.Claim(key=key)  # the store's key, not the address
    assert mailto == f"mailto:desk@news.example.org?subject=unsubscribe%20{token}"
    assert msg["MIME-Version"] == "1.0"


def test_wire_format_is_crlf_with_short_lines(shared: EditionRenderer) -> None:
    out = shared.message(Subscriber("bob@example.com", "Bob"))
    assert out is not None
    assert b"\n" not in out.data.replace(b"\r\n", b"")
    assert b"\r" not in out.data.replace(b"\r\n", b"")
    head, _, rest = out.data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):  # a URL cannot be folded; the hard limit is 998
        assert len(line) <= 78 or ((b"://" in line or b"mailto:" in line) and len(line) <= 998), line
    assert all(len(line) <= 76 for line in rest.split(b"\r\n"))
    assert out.data.isascii()


def test_parts_decode_to_the_preview(shared: EditionRenderer) -> None:
    sub = Subscriber("zoe@example.com", "Zoë Ğüçlü", first_name="Zoë-O'Brien")
    preview = shared.preview(sub)
    msg = parse(preview.message.data)
    assert body(msg, "html") == preview.html
    assert body(msg, "plain") == preview.text
    assert "Hi Zoë-O&#x27;Brien," in preview.html
    assert "Hi Zoë-O'Brien," in preview.text


def test_message_id_is_stable_per_edition_and_subscriber() -> None:
    alice = Subscriber("alice@example.com", "Alice")
    first, again = renderer().message(alice), renderer().message(alice)
    assert first is not None
    assert again is not None
    assert first.message_id == again.message_id
    assert first.data == again.data  # same inputs, same bytes (boundaries included)
    bob = renderer().message(Subscriber("bob@example.com", "Bob"))
    assert bob is not None
    assert bob.message_id != first.message_id
    other = EditionRenderer(
        sample_edition(day=datetime(2026, 11, 27).date()), Settings(), secret=SECRET, now=NOW
    ).message(alice)
    assert other is not None
    assert other.message_id.split("@")[0] != first.message_id.split("@")[0]


@pytest.mark.parametrize(
    "name",
    [
        "Zoë Ğüçlü",
        "李小龍",
        'Pat "the boss" O\'Brien, Jr.',
        "x" * 300,
        "Łukasz Żółć " * 40,
        "=?utf-8?q?not_an_encoded_word?=",
        "ends with a backslash \\",
        "bell\x07 and escape\x1b",
    ],
)
def test_awkward_names_round_trip(shared: EditionRenderer, name: str) -> None:
    out = shared.message(Subscriber("someone@example.com", name))
    assert out is not None
    head = out.data.partition(b"\r\n\r\n")[0]
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    msg = parse(out.data)
    shown = msg["To"].addresses[0].display_name
    if max(len(w.encode()) for w in name.split()) > 45:
        # An unbreakable run is cut between encoded-words; RFC 2047 decoders join the
        # pieces, Python's address parser puts a space between them.
        shown, name = shown.replace(" ", ""), name.replace(" ", "")
    assert " ".join(shown.split()) == " ".join(name.split())
    assert msg["To"].addresses[0].addr_spec == "someone@example.com"


@pytest.mark.parametrize(
    "name", ["Eve\r\nBcc: victim@example.com", "Eve\nBcc: x@example.com", "Eve\rX", "Eve\0"]
)
def test_line_breaks_in_names_are_refused(shared: EditionRenderer, name: str) -> None:
    with pytest.raises(HeaderError, match="To"):
        shared.message(Subscriber("eve@example.com", name))


def test_line_breaks_in_addresses_are_refused(shared: EditionRenderer) -> None:
    with pytest.raises(HeaderError):
        shared.message(Subscriber("eve@example.com\r\nBcc: victim@example.com", "Eve"))


def test_a_bad_subscriber_does_not_stop_the_others(shared: EditionRenderer) -> None:
    subs = [
        Subscriber("a@example.com", "A"),
        Subscriber("eve@example.com", "Eve\r\nBcc: victim@example.com"),
        Subscriber("b@example.com", "B"),
    ]
    errors: list[tuple[str, DigestError]] = []
    sent = list(shared.messages(subs, on_error=lambda s, e: errors.append((s.email, e))))
    assert [m.recipient for m in sent] == ["a@example.com", "b@example.com"]
    assert [(e, type(x)) for e, x in errors] == [("eve@example.com", HeaderError)]
    assert "\n" not in str(errors[0][1])
    with pytest.raises(HeaderError):
        list(shared.messages(subs))


def test_line_breaks_in_the_subject_template_or_sender_are_refused() -> None:
    # the config refuses them when it is loaded; the renderer refuses them again on its own
    with pytest.raises(ValidationError, match="one line"):
        renderer(render={"subject": "Hello\r\nBcc: victim@example.com"})
    base = Settings.model_validate({"sender": "The Desk <desk@news.example.org>"})
    hostile = base.render.model_construct(**{**base.render.model_dump(), "subject": "Hello\r\nBcc: v@x.org"})
    with pytest.raises(HeaderError, match="Subject"):
        EditionRenderer(EDITION, base.model_copy(update={"render": hostile}), secret=SECRET, now=NOW)
    unsafe = base.model_copy(update={"sender": "Desk\r\nBcc: victim@example.com <desk@example.org>"})
    with pytest.raises(HeaderError, match="From"):
        EditionRenderer(EDITION, unsafe, secret=SECRET, now=NOW)


def test_line_breaks_in_headlines_cannot_inject_headers() -> None:
    import dataclasses

    first = EDITION.stories[0]
    hostile = dataclasses.replace(first.condensed, headline="Breaking\r\nBcc: victim@example.com")
    ed = dataclasses.replace(EDITION, stories=(dataclasses.replace(first, condensed=hostile),))
    out = EditionRenderer(ed, Settings(), secret=SECRET, now=NOW).message(Subscriber("a@example.com"))
    assert out is not None
    msg = parse(out.data)
    assert msg["Bcc"] is None
    assert msg["Subject"].endswith("Breaking Bcc: victim@example.com")


def test_messages_stream_lazily_and_compile_once_per_topic_set() -> None:
    r = renderer()
    topic_sets = [frozenset(), frozenset({"science"}), frozenset({"world", "sport"})]

    def endless() -> Iterator[Subscriber]:
        for i in itertools.count():
            yield Subscriber(f"reader{i}@example.com", f"Reader {i}", topics=topic_sets[i % 3])

    first = list(itertools.islice(r.messages(endless()), 300))
    assert len({m.message_id for m in first}) == 300
    assert r.compiled == 3  # the full edition (at start) and two topic selections


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=80))
def test_any_printable_name_round_trips_in_headers_and_bodies(shared: EditionRenderer, name: str) -> None:
    preview = shared.preview(Subscriber("p@example.com", name))
    msg = parse(preview.message.data)
    assert body(msg, "html") == preview.html
    assert body(msg, "plain") == preview.text
    # Compared without whitespace: a run longer than one encoded-word is cut (see above).
    assert "".join(msg["To"].addresses[0].display_name.split()) == "".join(name.split())
