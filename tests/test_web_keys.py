"""Subscriber keys, on SQLite and PostgreSQL: every subscriber has one (new ones at import,
known ones through migration 5), the links in the emails name it, and never the address."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import delete, inspect, text
from starlette.testclient import TestClient

from digest import tokens
from digest.config import Settings
from digest.models import Subscriber, SubscriberStatus
from digest.render import EditionRenderer
from digest.render.sample import sample_edition
from digest.store import Store, open_store, schema
from digest.web import reader_app
from test_tokens import legacy

SECRET = b"keys-test-secret"
ENVIRON = {"DIGEST_SECRET": SECRET.decode()}
KEY = re.compile(r"[a-z2-7]{32}")


def test_a_new_subscriber_gets_a_key_that_an_import_never_changes(store: Store) -> None:
    store.merge_subscribers([Subscriber("ada@example.org", "Ada"), Subscriber("bob@example.org")])
    first = {s.email: s.key for s in store.subscribers()}
    assert all(k is not None and KEY.fullmatch(k) for k in first.values())
    assert len(set(first.values())) == 2
    store.merge_subscribers([Subscriber("ada@example.org", "Ada Lovelace"), Subscriber("cy@example.org")])
    again = {s.email: s.key for s in store.subscribers()}
    assert again["ada@example.org"] == first["ada@example.org"]  # updated, key kept
    assert again["bob@example.org"] == first["bob@example.org"]
    assert again["cy@example.org"] not in first.values()
    found = store.subscriber_by_key(str(first["ada@example.org"]))
    assert found is not None
    assert (found.email, found.name) == ("ada@example.org", "Ada Lovelace")
    assert store.subscriber_by_key(tokens.NOBODY) is None


KEYS_MIGRATION = next(v for v, name, _ in schema.MIGRATIONS if name == "subscriber keys")


def _as_before_keys(store: Store) -> None:
    """Turn the store back into one from before subscriber keys: no key column, no index."""
    with store.begin() as conn:
        conn.execute(text("DROP INDEX ix_subscribers_key"))
        conn.execute(text('ALTER TABLE subscribers DROP COLUMN "key"'))
        conn.execute(delete(schema.schema_version).where(schema.schema_version.c.version == KEYS_MIGRATION))


def test_migration_gives_every_known_subscriber_a_key_and_old_links_keep_working(store_url: str) -> None:
    with open_store(store_url) as store:
        store.merge_subscribers(Subscriber(f"reader{i:05}@example.org") for i in range(12_000))
        _as_before_keys(store)
        assert "key" not in {c["name"] for c in inspect(store.engine).get_columns("subscribers")}
    with open_store(store_url) as store:  # migrates
        assert KEYS_MIGRATION in store.applied_migrations()
        keys = [s.key for s in store.subscribers()]
        assert len(keys) == 12_000
        assert all(k is not None and KEY.fullmatch(k) for k in keys)
        assert len(set(keys)) == 12_000
        [index] = [
            i for i in inspect(store.engine).get_indexes("subscribers") if i["name"] == "ix_subscribers_key"
        ]
        assert index["unique"]
        client = TestClient(reader_app(Settings(), store, environ=ENVIRON), base_url="https://example.org")
        old = legacy("reader00042@example.org", SECRET)
        assert (
            client.post(f"/unsubscribe?token={old}", data={"List-Unsubscribe": "One-Click"}).status_code
            == 200
        )
        reader = store.subscriber("reader00043@example.org")
        assert reader is not None
        new = tokens.sign(reader.key, SECRET)
        assert (
            client.post(f"/unsubscribe?token={new}", data={"List-Unsubscribe": "One-Click"}).status_code
            == 200
        )
        left = {s.email for s in store.subscribers() if s.status is SubscriberStatus.UNSUBSCRIBED}
        assert left == {"reader00042@example.org", "reader00043@example.org"}


def _forms_of(address: str) -> list[str]:
    """How an address could sit in a URL: as it is, quoted, and in each base64 alphabet."""
    raw = address.encode()
    encoded = [base64.urlsafe_b64encode(raw), base64.b64encode(raw), base64.b32encode(raw)]
    return [address, address.replace("@", "%40")] + [e.decode().rstrip("=") for e in encoded]


def test_the_links_of_an_email_name_the_key_and_no_form_of_the_address(store: Store) -> None:
    """The issue: the token was the address in base64, in every URL and proxy log."""
    store.merge_subscribers([Subscriber("grace.hopper@example.org", "Grace")])
    reader = store.subscriber("grace.hopper@example.org")
    assert reader is not None
    assert reader.key is not None
    settings = Settings.model_validate({"render": {"manage_url": "https://example.org/preferences"}})
    out = EditionRenderer(sample_edition(), settings, secret=SECRET, now=datetime.now(UTC)).message(reader)
    assert out is not None
    msg = message_from_bytes(out.data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    parts = [msg.get_body((kind,)) for kind in ("html", "plain")]
    shown = str(msg["List-Unsubscribe"]) + "".join(str(p.get_content()) for p in parts if p is not None)
    found = set(re.findall(r"token=([A-Za-z0-9_.-]+)", shown))
    assert len(found) == 2  # the unsubscribe token and the manage token
    for token in found:
        assert token.split(".")[0] == reader.key
        for form in _forms_of(reader.email):
            assert form not in token
    [unsubscribe] = [t for t in found if tokens.verify(t, SECRET, purpose=tokens.UNSUBSCRIBE)]
    assert tokens.verify(unsubscribe, SECRET) == tokens.Claim(key=reader.key)
    assert unsubscribe in str(msg["List-Unsubscribe"])
