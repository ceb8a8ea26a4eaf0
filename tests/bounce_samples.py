"""Returned messages as mail servers write them, written for these tests (every name, address and
host is invented): RFC 3464 DSNs as Postfix, Gmail and Exchange send them, a soft and a delayed
one, the older Exim and qmail formats, an RFC 5965 ARF complaint, an auto-reply and garbage.

Each takes the address the message was sent to (``to``: the VERP return path, or the sender's
own address without VERP), the reader it is about, and the Message-ID of our original."""

from __future__ import annotations

DATE = "Mon, 07 Jun 2027 07:12:03 +0000"


def _original(reader: str, original_id: str) -> str:
    return (
        "From: Harbour Brief <brief@example.org>\r\n"
        f"To: {reader}\r\n"
        "Subject: Cranes move in at the north quay\r\n"
        f"Message-ID: {original_id}\r\n"
        f"Date: {DATE}\r\n"
    )


def _dsn(
    to: str, reader: str, original_id: str, *, mta: str, action: str, status: str, diagnostic: str, n: str
) -> bytes:
    return (
        f"Return-Path: <>\r\nDelivered-To: {to}\r\n"
        f"From: Mail Delivery System <MAILER-DAEMON@{mta}>\r\nTo: {to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {DATE}\r\nMessage-ID: <{n}.dsn@{mta}>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\n"
        f"This is the mail system at host {mta}.\r\n\r\nI'm sorry to have to inform you that your "
        "message could not be delivered to one or more recipients.\r\n\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; {mta}\r\nArrival-Date: {DATE}\r\n\r\n"
        f"Final-Recipient: rfc822; {reader}\r\nOriginal-Recipient: rfc822;{reader}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\nDiagnostic-Code: smtp; {diagnostic}\r\n\r\n"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{_original(reader, original_id)}\r\n"
        "--b1--\r\n"
    ).encode()


def postfix_hard(to: str, reader: str, original_id: str) -> bytes:
    return _dsn(
        to, reader, original_id, mta="mx1.example.net", action="failed", status="5.1.1",
        diagnostic=f"550 5.1.1 <{reader}>: Recipient address rejected: User unknown", n="pf1",
    )  # fmt: skip


def gmail_hard(to: str, reader: str, original_id: str) -> bytes:
    return _dsn(
        to, reader, original_id, mta="mail-gw.example.com", action="failed", status="5.1.1",
        diagnostic="550-5.1.1 The email account that you tried to reach does not exist.", n="gm1",
    )  # fmt: skip


def exchange_hard(to: str, reader: str, original_id: str) -> bytes:
    return _dsn(
        to, reader, original_id, mta="exch.example.edu", action="failed", status="5.4.1",
        diagnostic="550 5.4.1 Recipient address rejected: Access denied", n="ex1",
    )  # fmt: skip


def mailbox_full(to: str, reader: str, original_id: str, n: str = "full") -> bytes:
    return _dsn(
        to, reader, original_id, mta="mx2.example.net", action="failed", status="4.2.2",
        diagnostic="452 4.2.2 Mailbox full", n=n,
    )  # fmt: skip


def delayed(to: str, reader: str, original_id: str) -> bytes:
    return _dsn(
        to, reader, original_id, mta="mx3.example.net", action="delayed", status="4.4.7",
        diagnostic="421 4.4.7 Delivery time expired, still trying", n="dl1",
    )  # fmt: skip


def exim_hard(to: str, reader: str, original_id: str) -> bytes:
    return (
        f"Delivered-To: {to}\r\nFrom: Mail Delivery System <Mailer-Daemon@relay.example.net>\r\n"
        f"To: {to}\r\nSubject: Mail delivery failed: returning message to sender\r\n"
        f"Date: {DATE}\r\nMessage-ID: <ex-1@relay.example.net>\r\nX-Failed-Recipients: {reader}\r\n\r\n"
        "This message was created automatically by mail delivery software.\r\n\r\n"
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        f"  {reader}\r\n    SMTP error from remote mail server after RCPT TO:<{reader}>:\r\n"
        "    550 5.1.1 User unknown\r\n\r\n"
        "------ This is a copy of the message, including all the headers. ------\r\n\r\n"
        f"{_original(reader, original_id)}\r\nGood morning.\r\n"
    ).encode()


def qmail_hard(to: str, reader: str, original_id: str) -> bytes:
    return (
        f"Delivered-To: {to}\r\nFrom: MAILER-DAEMON@old.example.net\r\nTo: {to}\r\n"
        f"Subject: failure notice\r\nDate: {DATE}\r\nMessage-ID: <qm-1@old.example.net>\r\n\r\n"
        "Hi. This is the qmail-send program at old.example.net.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        f"<{reader}>:\r\n192.0.2.7 does not like recipient.\r\n"
        "Remote host said: 550 5.1.1 No such user here\r\nGiving up on 192.0.2.7.\r\n\r\n"
        "--- Below this line is a copy of the message.\r\n\r\n"
        f"{_original(reader, original_id)}\r\nGood morning.\r\n"
    ).encode()


def arf_complaint(to: str, reader: str, original_id: str, verp: str = "") -> bytes:
    return (
        f"Delivered-To: {to}\r\nFrom: Feedback Loop <fbl@complaints.example.com>\r\nTo: {to}\r\n"
        f"Subject: Abuse report\r\nDate: {DATE}\r\nMessage-ID: <arf-1@complaints.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b2"\r\n\r\n'
        "--b2\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\r\n"
        "--b2\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\nUser-Agent: ExampleFBL/1.0\r\nVersion: 1\r\n"
        f"Original-Mail-From: <{verp or 'brief@example.org'}>\r\nOriginal-Rcpt-To: <{reader}>\r\n"
        f"Arrival-Date: {DATE}\r\n\r\n"
        "--b2\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{_original(reader, original_id)}\r\n"
        "--b2--\r\n"
    ).encode()


def out_of_office(to: str, reader: str) -> bytes:
    return (
        f"Delivered-To: {to}\r\nFrom: {reader}\r\nTo: {to}\r\nSubject: Automatic reply: Harbour Brief\r\n"
        f"Date: {DATE}\r\nMessage-ID: <ooo-1@example.net>\r\nAuto-Submitted: auto-replied\r\n\r\n"
        "I am out of the office until Monday and will read your message then.\r\n"
    ).encode()


def garbage() -> bytes:
    return b"\x00\x01 this is not a message at all\r\n\xff\xfe\r\n"


def nobody_we_know(to: str) -> bytes:
    """A well-formed DSN about an address no subscriber has."""
    return postfix_hard(to, "stranger@elsewhere.example", "<1999-01-01.0000@example.org>").replace(
        b"pf1.dsn", b"pf9.dsn"
    )
