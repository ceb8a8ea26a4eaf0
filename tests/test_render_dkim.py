"""DKIM over the rendered messages: the signature covers both List-Unsubscribe headers.

RFC 8058 §4: a one-click unsubscribe is offered only when the DKIM signature covers
``List-Unsubscribe`` and ``List-Unsubscribe-Post``. The example edition is rendered, signed and
delivered through a real SMTP server (aiosmtpd on loopback), and what the server received is
verified with dkimpy against the public key.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from digest.config import load_config
from digest.deliver._dkim import signed_headers
from digest.pipeline import RunContext, run_edition
from digest.store import open_store
from smtpd_helpers import Recorder, smtp_server

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ENV = {"DIGEST_SECRET": "dkim-test-secret"}


def _key(folder: Path) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = folder / "dkim.pem"
    path.write_bytes(pem)
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def _tags(header: str) -> dict[str, str]:
    pairs = (part.split("=", 1) for part in "".join(header.split()).split(";") if "=" in part)
    return {pair[0]: pair[1] for pair in pairs}


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> tuple[list[bytes], bytes]:
    """The example edition, DKIM-signed and delivered to a real SMTP server; and the DNS record."""
    root = tmp_path_factory.mktemp("dkim")
    shutil.copytree(repo_root / "examples", root / "examples")
    shutil.copy(repo_root / "subscribers.example.csv", root)
    key, record = _key(root)
    settings = load_config(root / "examples" / "digest.toml")
    signing = {"dkim_key": key, "dkim_selector": "brief", "dkim_domain": "example.org"}
    settings = settings.model_copy(update={"delivery": settings.delivery.model_copy(update=signing)})
    with smtp_server(Recorder()) as server, open_store(root / "state.db") as store:
        summary = asyncio.run(
            run_edition(RunContext(settings, store, now=NOW, environ=ENV, transport_url=server.url))
        )
        received = [r.data for r in server.handler.received]
    assert summary.exit_code == 0
    assert len(received) == 5
    return received, record


def test_signature_verifies_and_covers_both_list_unsubscribe_headers(
    delivered: tuple[list[bytes], bytes],
) -> None:
    messages, record = delivered

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"brief._domainkey.example.org."
        return record

    for data in messages:
        assert dkim.verify(data, dnsfunc=dns)
        msg = email.message_from_bytes(data, policy=email.policy.default)
        signed = [h.strip().lower() for h in _tags(str(msg["DKIM-Signature"]))["h"].split(":")]
        assert "list-unsubscribe" in signed
        assert "list-unsubscribe-post" in signed
        assert {"from", "to", "subject", "date", "message-id", "list-id", "mime-version"} <= set(signed)
        # the signature really covers them: an altered one-click header no longer verifies
        tampered = data.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Two-Clicks", 1)
        assert tampered != data
        assert not dkim.verify(tampered, dnsfunc=dns)


def test_signed_headers_are_those_present_once_each_in_order() -> None:
    head = (
        b"From: a@example.org\r\nList-Unsubscribe: <https://example.org/u?token=t>,\r\n"
        b" <mailto:u@example.org>\r\nX-Other: no\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        b"Subject: s\r\nTo: b@example.org\r\n\r\nbody\r\nFrom: not a header\r\n"
    )
    assert signed_headers(head) == [b"from", b"list-unsubscribe", b"list-unsubscribe-post", b"subject", b"to"]
