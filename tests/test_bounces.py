"""What comes back: bounces and complaints read from returned messages, recorded, and acted on.

The acceptance test sends an edition through a real SMTP server (aiosmtpd) with a bounce
domain set, checks every message's VERP return path, writes a mailbox of what came back
(hard and soft DSNs in several servers' formats, an ARF complaint, an auto-reply, garbage),
reads it with ``digest bounces --mbox``, and sends the next edition: it skips exactly those
taken off the list. Reading the mailbox again changes nothing.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import mailbox
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import delete, inspect, text
from starlette.testclient import TestClient

import bounce_samples as samples
import esp_samples as esp
from digest.bounces import Finding, Kind, Report, read_report, read_verp, verp_address
from digest.cli import main
from digest.config import BounceConfig, Settings
from digest.desk import create_app
from digest.models import Subscriber, SubscriberStatus
from digest.store import Store, open_store, schema
from imapd_helpers import imap_server
from smtpd_helpers import Server
from store_helpers import settle
from test_serve import digest_serve, status

DOMAIN = "bounces.example.org"
KEY = "abcdefghijklmnop"
ORIGINAL = "<2027-06-07.0123abcd@example.org>"
FROM = "brief@example.org"  # where bounces go without VERP: the sender's own address


# -- reading one returned message (no I/O) ------------------------------------------------


def test_verp_address_names_the_key_and_the_day_and_reads_back() -> None:
    address = verp_address(KEY, "2027-06-07", DOMAIN)
    assert address == f"bounces+{KEY}-20270607@{DOMAIN}"
    assert read_verp(f"Delivered-To: <{address.upper()}>") == (KEY, "2027-06-07")
    assert read_verp("bounces@example.org") is None
    assert read_verp(f"bounces+{KEY}-2027067@{DOMAIN}") is None  # not a day


VERP = verp_address(KEY, "2027-06-07", DOMAIN)
CASES = [
    ("postfix", samples.postfix_hard(VERP, "a@x.example", ORIGINAL), Kind.HARD, "550 5.1.1"),
    ("gmail", samples.gmail_hard(FROM, "b@x.example", ORIGINAL), Kind.HARD, "550-5.1.1"),
    ("exchange", samples.exchange_hard(VERP, "c@x.example", ORIGINAL), Kind.HARD, "5.4.1"),
    ("mailbox full", samples.mailbox_full(VERP, "d@x.example", ORIGINAL), Kind.SOFT, "452 4.2.2"),
    ("delayed", samples.delayed(VERP, "e@x.example", ORIGINAL), Kind.DELAYED, "4.4.7"),
    ("exim", samples.exim_hard(FROM, "f@x.example", ORIGINAL), Kind.HARD, "550 5.1.1"),
    ("qmail", samples.qmail_hard(VERP, "g@x.example", ORIGINAL), Kind.HARD, "550 5.1.1"),
    ("arf", samples.arf_complaint("fbl@example.org", "h@x.example", ORIGINAL, VERP), Kind.COMPLAINT, "abuse"),
]


@pytest.mark.parametrize(("raw", "kind", "said"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_format_is_read_for_its_kind_reader_and_words(raw: bytes, kind: Kind, said: str) -> None:
    report = read_report(raw)
    assert report.message_id.startswith("<")
    assert report.received is not None
    [finding] = report.findings
    assert finding.kind is kind
    assert finding.address is not None
    assert finding.address.endswith("@x.example")
    assert said in finding.diagnostic
    if VERP.encode() in raw:  # the return path names the subscriber and the edition without the body
        assert (finding.key, finding.edition) == (KEY, "2027-06-07")
    else:
        assert finding.key is None


def test_without_verp_the_edition_comes_from_the_returned_original() -> None:
    [finding] = read_report(samples.gmail_hard(FROM, "b@x.example", ORIGINAL)).findings
    assert finding.edition == "2027-06-07"


def test_an_auto_reply_garbage_and_a_plain_letter_are_not_bounces() -> None:
    [away] = read_report(samples.out_of_office(VERP, "i@x.example")).findings
    assert away.kind is Kind.AUTO_REPLY
    junk = read_report(samples.garbage())
    assert [f.kind for f in junk.findings] == [Kind.UNRECOGNISED]
    assert junk.message_id.startswith("<sha256-")
    assert junk.why
    assert read_report(samples.garbage()).message_id == junk.message_id  # the same bytes, the same id
    letter = (
        b"From: a@x.example\r\nTo: brief@example.org\r\nSubject: thanks\r\nMessage-ID: <l@x>\r\n\r\nHi.\r\n"
    )
    assert [f.kind for f in read_report(letter).findings] == [Kind.UNRECOGNISED]


# -- recording and acting on it (each backend) --------------------------------------------


@pytest.fixture
def readers(store: Store) -> dict[str, str]:
    """Six active readers, each sent the editions of 7, 8 and 9 June; address -> key."""
    names = ["hard", "soft", "angry", "away", "fine", "left"]
    store.merge_subscribers(Subscriber(f"{n}@x.example") for n in names)
    store.set_subscriber_status("left@x.example", SubscriberStatus.UNSUBSCRIBED, why="said so")
    for day in ("2027-06-07", "2027-06-08", "2027-06-09"):
        for n in names[:-1]:
            settle(store, day, f"{n}@x.example")
    found = store.subscribers_by_email(f"{n}@x.example" for n in names)
    return {address: str(s.key) for address, s in found.items()}


def report(n: str, *findings: Finding) -> Report:
    return Report(f"<{n}@mx.example>", None, findings)


def status_of(store: Store, address: str) -> SubscriberStatus:
    found = store.subscriber(address)
    assert found is not None
    return found.status


def test_a_hard_bounce_takes_the_reader_off_with_why_and_a_second_reading_changes_nothing(
    store: Store, readers: dict[str, str]
) -> None:
    said = "550 5.1.1 user unknown"
    bounce = report("r1", Finding(Kind.HARD, None, readers["hard@x.example"], "2027-06-08", said))
    done = store.record_report(bounce, source="test")
    assert done.counts == {"hard": 1}
    assert done.suppressed == [("hard@x.example", "bounced", f"hard bounce: {said} (edition 2027-06-08)")]
    assert status_of(store, "hard@x.example") is SubscriberStatus.BOUNCED
    assert "550 5.1.1" in store.suppression_reasons(["hard@x.example"])["hard@x.example"]
    again = store.record_report(bounce, source="test")
    assert (again.counts, again.suppressed, again.seen_before) == ({}, [], 1)


def test_soft_bounces_count_over_separate_editions(store: Store, readers: dict[str, str]) -> None:
    full = "452 4.2.2 mailbox full"
    soft = readers["soft@x.example"]
    for n in range(3):  # three in one edition: still one edition
        store.record_report(report(f"s{n}", Finding(Kind.SOFT, None, soft, "2027-06-07", full)), source="t")
    store.record_report(report("s3", Finding(Kind.SOFT, None, soft, "2027-06-08", full)), source="t")
    assert status_of(store, "soft@x.example") is SubscriberStatus.ACTIVE
    done = store.record_report(report("s4", Finding(Kind.SOFT, None, soft, "2027-06-09", full)), source="t")
    assert [(e, s) for e, s, _ in done.suppressed] == [("soft@x.example", "bounced")]
    assert "3 editions" in done.suppressed[0][2]


def test_a_report_without_its_edition_answers_the_last_one_sent(
    store: Store, readers: dict[str, str]
) -> None:
    """An exim bounce or a provider's webhook names no edition: the last one sent to the reader
    is the one it answered, so soft bounces still count per edition."""
    for n in range(3):
        done = store.record_report(
            report(f"x{n}", Finding(Kind.SOFT, "soft@x.example", None, None, "452 full")), source="t"
        )
    assert done.suppressed == []  # all three answered 9 June: one edition
    assert status_of(store, "soft@x.example") is SubscriberStatus.ACTIVE
    # with soft bounces of 7 and 8 June, three editions: so those three were counted as 9 June's
    store.record_report(
        report("x7", Finding(Kind.SOFT, "soft@x.example", None, "2027-06-07", "452")), source="t"
    )
    assert status_of(store, "soft@x.example") is SubscriberStatus.ACTIVE
    done = store.record_report(
        report("x8", Finding(Kind.SOFT, "soft@x.example", None, "2027-06-08", "452")), source="t"
    )
    assert [(e, s) for e, s, _ in done.suppressed] == [("soft@x.example", "bounced")]


def test_a_complaint_unsubscribes_at_once(store: Store, readers: dict[str, str]) -> None:
    finding = Finding(Kind.COMPLAINT, "angry@x.example", None, "2027-06-09", "feedback report: abuse")
    done = store.record_report(report("c1", finding), source="t")
    assert done.suppressed[0][:2] == ("angry@x.example", "unsubscribed")
    assert store.suppression_reasons(["angry@x.example"])["angry@x.example"].startswith("complaint")


def test_nothing_is_done_for_auto_replies_delays_or_strangers(store: Store, readers: dict[str, str]) -> None:
    done = store.record_report(
        report(
            "m1",
            Finding(Kind.AUTO_REPLY, None, readers["away@x.example"]),
            Finding(Kind.DELAYED, "fine@x.example", None, "2027-06-09", "4.4.7 still trying"),
            Finding(Kind.HARD, "stranger@elsewhere.example", None, None, "550 unknown"),
        ),
        source="t",
    )
    assert done.counts == {"auto-reply": 1, "delayed": 1, "unrecognised": 1}
    assert done.suppressed == []
    assert done.unrecognised == ["<m1@mx.example>: names no subscriber digest knows"]
    assert {s.status for s in store.subscribers() if s.email != "left@x.example"} == {SubscriberStatus.ACTIVE}


def test_reactivating_starts_the_count_again_and_only_for_those_taken_off(
    store: Store, readers: dict[str, str]
) -> None:
    key = readers["hard@x.example"]
    store.record_report(report("h1", Finding(Kind.HARD, None, key, "2027-06-08", "550")), source="t")
    assert store.reactivate("hard@x.example", actor="ed") == "hard bounce: 550 (edition 2027-06-08)"
    assert status_of(store, "hard@x.example") is SubscriberStatus.ACTIVE
    # the old bounce read again does nothing; a new one takes them off again
    store.record_report(report("h1", Finding(Kind.HARD, None, key, "2027-06-08", "550")), source="t")
    assert status_of(store, "hard@x.example") is SubscriberStatus.ACTIVE
    store.record_report(report("h2", Finding(Kind.HARD, None, key, "2027-06-09", "550")), source="t")
    assert status_of(store, "hard@x.example") is SubscriberStatus.BOUNCED
    # their own unsubscribe is theirs to undo; an active reader has nothing to undo
    assert store.reactivate("left@x.example", actor="ed") is None
    assert store.reactivate("fine@x.example", actor="ed") is None
    assert store.reactivate("nobody@x.example", actor="ed") is None


def test_rates_per_edition_count_readers_once_and_warn_above_the_thresholds(
    store: Store, readers: dict[str, str]
) -> None:
    store.record_report(
        report("a", Finding(Kind.HARD, "hard@x.example", None, "2027-06-09", "550")), source="t"
    )
    store.record_report(
        report("b", Finding(Kind.HARD, "hard@x.example", None, "2027-06-09", "550")), source="t"
    )
    store.record_report(
        report("c", Finding(Kind.SOFT, "soft@x.example", None, "2027-06-09", "452")), source="t"
    )
    store.record_report(
        report("d", Finding(Kind.COMPLAINT, "angry@x.example", None, "2027-06-09")), source="t"
    )
    early, late = store.bounce_rates(["2027-06-08", "2027-06-09"])
    assert (early.sent, early.bounced, early.complained, early.warnings()) == (5, 0, 0, [])
    assert (late.sent, late.bounced, late.complained) == (5, 1, 1)  # soft: a full mailbox, not the list
    assert [w.split(":")[1].strip().split()[0] for w in late.warnings()] == ["20.0%", "20.00%"]


def test_a_refusal_when_sent_counts_as_a_bounce_with_the_servers_words(store: Store) -> None:
    store.merge_subscribers([Subscriber("gone@x.example"), Subscriber("ok@x.example")])
    settle(store, "2027-06-07", "ok@x.example")
    settle(
        store, "2027-06-07", "gone@x.example", "failed", code=550, reason="5.1.1 no such user",
        permanent=True, refused=True, bounce_after=1,
    )  # fmt: skip
    assert status_of(store, "gone@x.example") is SubscriberStatus.BOUNCED
    why = store.suppression_reasons(["gone@x.example"])["gone@x.example"]
    assert why == "refused when sent (edition 2027-06-07): 550 5.1.1 no such user"
    [rates] = store.bounce_rates(["2027-06-07"])
    assert (rates.sent, rates.bounced) == (2, 1)


# -- the whole path: send through SMTP, read the mailbox, send again -------------------------


READERS = {
    "hard1@a.example": "postfix, by VERP",
    "hard2@b.example": "gmail, by the address in the report",
    "hard3@c.example": "exim, by flufl.bounce",
    "hard4@d.example": "qmail, by VERP",
    "exch@e.example": "exchange, by VERP",
    "full@f.example": "one soft bounce: stays",
    "late@g.example": "delayed: stays",
    "angry@h.example": "ARF complaint",
    "away@i.example": "out of office: stays",
    "fine@j.example": "nothing came back",
}
TAKEN_OFF = {
    "hard1@a.example": "bounced",
    "hard2@b.example": "bounced",
    "hard3@c.example": "bounced",
    "hard4@d.example": "bounced",
    "exch@e.example": "bounced",
    "angry@h.example": "unsubscribed",
}


@pytest.fixture
def project(tmp_path: Path, repo_root: Path) -> Path:
    """The bundled example with a bounce domain, and ten readers of its own."""
    shutil.copytree(repo_root / "examples", tmp_path / "examples")
    config = tmp_path / "examples" / "digest.toml"
    text = config.read_text(encoding="utf-8").replace("max_stories = 15", "max_stories = 5")  # 3 days' news
    config.write_text(text + f'\n[bounces]\ndomain = "{DOMAIN}"\n', "utf-8")
    rows = "".join(f"{address},,active,Europe/London,\n" for address in READERS)
    (tmp_path / "readers.csv").write_text("email,name,status,timezone,topics\n" + rows, encoding="utf-8")
    return tmp_path


def cli(project: Path, *args: str) -> tuple[int, str]:
    base = ["--config", str(project / "examples" / "digest.toml"), "--db", str(project / "s.db")]
    result = CliRunner().invoke(main, [*args, *base])
    return result.exit_code, result.output


def returned_mailbox(path: Path, sent: dict[str, tuple[str, str]]) -> None:
    """What came back of the edition, as the bounce domain's mailbox keeps it (an mbox)."""

    def verp(a: str) -> str:
        return sent[a][0]

    def mid(a: str) -> str:
        return sent[a][1]

    box = mailbox.mbox(path)
    for raw in (
        samples.postfix_hard(verp("hard1@a.example"), "hard1@a.example", mid("hard1@a.example")),
        samples.gmail_hard(FROM, "hard2@b.example", mid("hard2@b.example")),
        samples.exim_hard(FROM, "hard3@c.example", mid("hard3@c.example")),
        samples.qmail_hard(verp("hard4@d.example"), "hard4@d.example", mid("hard4@d.example")),
        samples.exchange_hard(verp("exch@e.example"), "exch@e.example", mid("exch@e.example")),
        samples.mailbox_full(verp("full@f.example"), "full@f.example", mid("full@f.example")),
        samples.delayed(verp("late@g.example"), "late@g.example", mid("late@g.example")),
        samples.arf_complaint(
            "fbl@example.org", "angry@h.example", mid("angry@h.example"), verp("angry@h.example")
        ),
        samples.out_of_office(verp("away@i.example"), "away@i.example"),
        samples.garbage(),
        samples.nobody_we_know(FROM),
    ):
        box.add(raw)
    box.flush()
    box.close()


def test_bounces_from_a_mailbox_take_exactly_the_right_readers_off_the_next_send(
    project: Path, smtpd: Server
) -> None:
    send = ["--transport", smtpd.url, "--subscribers", str(project / "readers.csv"), "-q"]
    code, out = cli(project, "run", "--date", "2026-11-26", *send)
    assert code == 0, out
    first = list(smtpd.handler.received)
    assert sorted(r for m in first for r in m.recipients) == sorted(READERS)
    with open_store(project / "s.db") as store:
        keys = {a: s.key for a, s in store.subscribers_by_email(READERS).items()}
    sent: dict[str, tuple[str, str]] = {}
    for m in first:  # every message's envelope sender is the reader's VERP address
        [reader] = m.recipients
        assert m.sender == f"bounces+{keys[reader]}-20261126@{DOMAIN}"
        message_id = email.message_from_bytes(m.data, policy=email.policy.default)["Message-ID"]
        sent[reader] = (m.sender, str(message_id))

    returned_mailbox(project / "returned.mbox", sent)
    code, out = cli(project, "bounces", "--mbox", str(project / "returned.mbox"), "--json")
    assert code == 0, out
    found = json.loads(out)
    assert found["messages"] == 11
    assert found["findings"] == {
        "hard": 5, "soft": 1, "delayed": 1, "complaint": 1, "auto-reply": 1, "unrecognised": 2,
    }  # fmt: skip
    assert {x["email"]: x["status"] for x in found["suppressed"]} == TAKEN_OFF
    assert len(found["unrecognised"]) == 2
    assert any(u.startswith("<pf9.dsn@mx1.example.net>") for u in found["unrecognised"])
    assert any(u.startswith("<sha256-") for u in found["unrecognised"])

    code, out = cli(project, "subscribers", "list", "--status", "bounced", "--json")
    bounced = {x["email"]: x["why"] for x in json.loads(out)}
    assert set(bounced) == {a for a, s in TAKEN_OFF.items() if s == "bounced"}
    assert all(w.startswith("hard bounce: ") and "(edition 2026-11-26)" in w for w in bounced.values())
    assert "5.1.1" in bounced["hard1@a.example"]
    assert "5.4.1" in bounced["exch@e.example"]

    # the next edition skips them
    code, out = cli(project, "run", "--date", "2026-11-27", *send)
    assert code == 0, out
    second = list(smtpd.handler.received[len(first) :])
    assert sorted(r for m in second for r in m.recipients) == sorted(set(READERS) - set(TAKEN_OFF))

    # reading the same mailbox again changes nothing
    _, before = cli(project, "subscribers", "list", "--json")
    code, out = cli(project, "bounces", "--mbox", str(project / "returned.mbox"), "--json")
    again = json.loads(out)
    assert (again["findings"], again["suppressed"], again["seen_before"]) == ({}, [], 11)
    assert cli(project, "subscribers", "list", "--json")[1] == before

    # status shows what came back of each edition, and warns
    code, out = cli(project, "status", "--json")
    rates = {x["edition"]: x for x in json.loads(out)["bounces"]}
    day1 = rates["2026-11-26"]
    assert (day1["sent"], day1["bounced"], day1["complained"]) == (10, 5, 1)
    assert len(day1["warnings"]) == 2
    assert rates["2026-11-27"]["bounced"] == 0
    code, out = cli(project, "status")
    assert "Bounces and complaints" in out
    assert "50.0% of readers bounced" in " ".join(out.split())

    # an editor puts one back; the next send includes them
    code, out = cli(project, "subscribers", "reactivate", "hard1@a.example", "--by", "Ada")
    assert code == 0, out
    assert "active again" in out, out
    code, out = cli(project, "subscribers", "reactivate", "fine@j.example")
    assert code != 0
    assert "not taken off the list by a bounce or a complaint" in out
    code, out = cli(project, "run", "--date", "2026-11-28", *send)
    third = smtpd.handler.received[len(first) + len(second) :]
    assert "hard1@a.example" in {r for m in third for r in m.recipients}


def test_messages_written_to_files_carry_the_verp_return_path(project: Path) -> None:
    out = project / "outbox"
    code, said = cli(
        project, "run", "--date", "2026-11-26", "--transport", f"file:{out}",
        "--subscribers", str(project / "readers.csv"), "-q",
    )  # fmt: skip
    assert code == 0, said
    files = sorted(out.glob("*.eml"))
    assert len(files) == len(READERS)
    for path in files:
        first_line = path.read_bytes().split(b"\r\n", 1)[0].decode()
        assert read_verp(first_line) is not None
        assert first_line.startswith("Return-Path: <bounces+")


# -- the other mailboxes, and what goes wrong with them ----------------------------------


def test_a_maildir_and_an_imap_mailbox_are_read_alike(project: Path, smtpd: Server) -> None:
    send = ["--transport", smtpd.url, "--subscribers", str(project / "readers.csv"), "-q"]
    assert cli(project, "run", "--date", "2026-11-26", *send)[0] == 0
    by_reader = {m.recipients[0]: m.sender for m in smtpd.handler.received}
    one = samples.postfix_hard(by_reader["hard1@a.example"], "hard1@a.example", ORIGINAL)
    two = samples.arf_complaint("fbl@example.org", "angry@h.example", ORIGINAL, by_reader["angry@h.example"])

    maildir = mailbox.Maildir(project / "Maildir", create=True)
    maildir.add(one)
    code, out = cli(project, "bounces", "--maildir", str(project / "Maildir"), "--json")
    assert code == 0, out
    assert [x["email"] for x in json.loads(out)["suppressed"]] == ["hard1@a.example"]

    with imap_server("bounces", "pa55word", [one, two]) as imap:
        url = f"imap://bounces@127.0.0.1:{imap.port}/INBOX"
        result = CliRunner().invoke(
            main,
            ["bounces", "--imap", url, "--json", "--config", str(project / "examples" / "digest.toml"),
             "--db", str(project / "s.db")],
            env={"DIGEST_IMAP_PASSWORD": "pa55word"},
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        found = json.loads(result.output)
        assert found["seen_before"] == 1  # the same bounce as in the Maildir
        assert [x["email"] for x in found["suppressed"]] == ["angry@h.example"]
        assert imap.box.seen == {101, 102}

        wrong = CliRunner().invoke(
            main,
            ["bounces", "--imap", url, "--config", str(project / "examples" / "digest.toml"),
             "--db", str(project / "s.db")],
            env={"DIGEST_IMAP_PASSWORD": "guess"},
        )  # fmt: skip
        assert wrong.exit_code != 0
        assert "imap://127.0.0.1/INBOX: login refused" in wrong.output
        assert "guess" not in wrong.output
        assert imap.box.logins == ["ok", "refused"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--mbox", "{p}/missing.mbox"], "missing.mbox: no such mbox file"),
        (["--maildir", "{p}"], "not a Maildir folder"),
        (["--imap", "imaps://bounces@mail.example.org/INBOX"], "set $DIGEST_IMAP_PASSWORD"),
        (["--imap", "imap://bounces@mail.example.org/INBOX"], "imap:// would send the password in clear"),
        (["--imap", "imaps://bounces:pw@mail.example.org/INBOX"], "expected imaps://user@host"),
        ([], "name one mailbox"),
    ],
)
def test_a_mailbox_that_cannot_be_read_is_one_line_naming_it(
    project: Path, args: list[str], said: str
) -> None:
    code, out = cli(project, "bounces", *[a.format(p=project) for a in args])
    assert code == 2, out
    assert said in out
    assert "Traceback" not in out
    assert "pw" not in out.replace(said, "")


def test_status_shows_an_edition_nothing_came_back_of_without_warnings(project: Path) -> None:
    code, out = cli(
        project, "run", "--date", "2026-11-26", "--transport", f"file:{project / 'o'}",
        "--subscribers", str(project / "readers.csv"), "-q",
    )  # fmt: skip
    assert code == 0, out
    code, out = cli(project, "status", "--json")
    [day] = json.loads(out)["bounces"]
    assert (day["edition"], day["sent"], day["bounced"], day["warnings"]) == ("2026-11-26", 10, 0, [])
    code, out = cli(project, "status")
    assert "Bounces and complaints" in out
    assert "warning" not in out


# -- POST /hooks/bounce ----------------------------------------------------------------------

HOOK_SECRET = "hook-s3cret-for-tests"
HOOK = "/hooks/bounce"


@pytest.fixture
def hook_store(store: Store) -> Store:
    """Three readers, each sent the edition of 7 June 2027."""
    store.merge_subscribers(Subscriber(f"{n}@x.example") for n in ("ses", "mark", "fine"))
    for n in ("ses", "mark", "fine"):
        settle(store, "2027-06-07", f"{n}@x.example")
    return store


def hook_client(store: Store, environ: dict[str, str] | None = None, **bounces: object) -> TestClient:
    settings = Settings().model_copy(
        update={"bounces": BounceConfig(**bounces)}  # type: ignore[arg-type]
    )
    env = {"DIGEST_SECRET": "signing", "DIGEST_BOUNCE_SECRET": HOOK_SECRET} if environ is None else environ
    return TestClient(create_app(settings, store, environ=env), base_url="http://127.0.0.1")


def posted(client: TestClient, body: object, secret: str = HOOK_SECRET, **headers: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    auth = {"Authorization": "Basic " + base64.b64encode(f"ses:{secret}".encode()).decode()}
    return client.post(HOOK, content=data, headers={**auth, "Content-Type": "text/plain", **headers})


def test_the_hook_refuses_a_missing_or_wrong_secret_and_reads_nothing(hook_store: Store) -> None:
    client = hook_client(hook_store)
    bounce = esp.sns(esp.ses_bounce("ses@x.example", source=FROM))
    assert client.post(HOOK, json=bounce).status_code == 401
    wrong = posted(client, bounce, secret="not-it")
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    bearer = client.post(HOOK, json=bounce, headers={"Authorization": "Bearer not-it"})
    assert bearer.status_code == 401
    assert status_of(hook_store, "ses@x.example") is SubscriberStatus.ACTIVE
    # and the desk's own token is not the hook's
    other = hook_client(hook_store, {"DIGEST_SECRET": "s", "DIGEST_DESK_TOKEN": "desk-token"})
    assert posted(other, bounce, secret="desk-token").status_code == 503  # no hook secret: off


def test_the_hook_refuses_oversized_and_invalid_bodies(hook_store: Store) -> None:
    client = hook_client(hook_store, max_body=4096)
    assert posted(client, b"{" + b" " * 5000 + b"}").status_code == 413
    streamed = client.post(  # no Content-Length: the limit holds on what arrives
        HOOK,
        content=iter([b'{"a": "', b"x" * 5000, b'"}']),
        headers={"Authorization": f"Bearer {HOOK_SECRET}"},
    )
    assert streamed.status_code == 413
    for bad in (b"not json", b"[1, 2]", b'"a string"', b"\xff\xfe{}"):
        answer = posted(client, bad)
        assert answer.status_code == 400, bad
        assert answer.json()["message"].startswith("not ")
    odd = posted(client, {"hello": "world"})
    assert odd.status_code == 422
    assert odd.json()["findings"] == {"unrecognised": 1}
    broken = posted(client, {"notificationType": "Bounce", "bounce": "not an object"})
    assert broken.status_code == 422
    assert "malformed" in broken.json()["message"]
    assert {s.status for s in hook_store.subscribers()} == {SubscriberStatus.ACTIVE}


def test_the_hook_accepts_an_ses_bounce_and_complaint_through_sns(hook_store: Store) -> None:
    client = hook_client(hook_store)
    key = hook_store.subscriber("ses@x.example").key  # type: ignore[union-attr]
    verp = verp_address(str(key), "2027-06-07", DOMAIN)
    bounce = esp.sns(esp.ses_bounce("other-name@x.example", source=verp), message_id="sns-1")
    answer = posted(client, bounce)
    assert answer.status_code == 200, answer.text
    assert answer.json()["suppressed"] == [{"email": "ses@x.example", "status": "bounced"}]  # by VERP
    assert "550 5.1.1" in hook_store.suppression_reasons(["ses@x.example"])["ses@x.example"]
    again = posted(client, bounce)  # SNS retries: nothing twice
    assert (again.status_code, again.json()["seen_before"], again.json()["findings"]) == (200, 1, {})
    complaint = posted(client, esp.sns(esp.ses_complaint("fine@x.example", source=FROM), "sns-2"))
    assert complaint.json()["suppressed"] == [{"email": "fine@x.example", "status": "unsubscribed"}]
    # a transient bounce counts, and takes nobody off the list at once
    soft = esp.ses_bounce("mark@x.example", source=FROM, permanent=False, feedback="fb-9")
    assert posted(client, soft).json()["findings"] == {"soft": 1}
    assert status_of(hook_store, "mark@x.example") is SubscriberStatus.ACTIVE
    [rates] = hook_store.bounce_rates(["2027-06-07"])
    assert (rates.sent, rates.bounced, rates.complained) == (3, 1, 1)


def test_the_hook_accepts_postmark_bounces_and_spam_complaints(hook_store: Store) -> None:
    client = hook_client(hook_store)
    answer = client.post(
        HOOK, json=esp.postmark_bounce("mark@x.example"), headers={"Authorization": f"Bearer {HOOK_SECRET}"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["suppressed"] == [{"email": "mark@x.example", "status": "bounced"}]
    assert "5.1.1" in hook_store.suppression_reasons(["mark@x.example"])["mark@x.example"]
    spam = posted(client, esp.postmark_complaint("fine@x.example"))
    assert spam.json()["suppressed"] == [{"email": "fine@x.example", "status": "unsubscribed"}]
    stranger = posted(client, esp.postmark_bounce("who@nowhere.example", bounce_id=7))
    assert stranger.json()["findings"] == {"unrecognised": 1}


def test_the_hook_logs_an_sns_confirmation_and_ignores_deliveries(
    hook_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    client = hook_client(hook_store)
    with caplog.at_level("WARNING"):
        answer = posted(client, esp.sns_confirmation())
    assert answer.status_code == 200
    assert "ConfirmSubscription" in caplog.text
    delivered = posted(client, {"notificationType": "Delivery", "mail": {}, "delivery": {}})
    assert delivered.status_code == 200
    assert "nothing to do" in delivered.json()["message"]


def test_the_hook_answers_in_a_running_digest_serve(tmp_path: Path) -> None:
    """The real server: the hook is public (no desk login), and its secret is its own."""
    env = {"DIGEST_BOUNCE_SECRET": HOOK_SECRET, "DIGEST_DESK_TOKEN": "desk-token"}
    with digest_serve(tmp_path, readers=3, env=env) as server:
        with open_store(server.db) as store:
            settle(store, "2027-06-07", "reader1@example.org")
        with httpx.Client(base_url=server.url, timeout=30) as http:
            bounce = esp.sns(esp.ses_bounce("reader1@example.org", source=FROM))
            assert http.post(HOOK, json=bounce).status_code == 401
            assert http.post(HOOK, json=bounce, auth=("sns", "desk-token")).status_code == 401
            answer = http.post(HOOK, json=bounce, auth=("sns", HOOK_SECRET))
            assert answer.status_code == 200, answer.text
            assert answer.json()["suppressed"] == [{"email": "reader1@example.org", "status": "bounced"}]
            assert http.post(HOOK, content=b"{nope", auth=("sns", HOOK_SECRET)).status_code == 400
            assert http.get("/editions").status_code == 401  # the desk keeps its own login
            assert http.get("/editions", auth=("ed", HOOK_SECRET)).status_code == 401
        assert status(server.db, "reader1@example.org") is SubscriberStatus.BOUNCED


BOUNCES_MIGRATION = next(v for v, name, _ in schema.MIGRATIONS if name == "bounces")


def test_a_store_from_before_bounces_is_migrated_keeping_its_readers(store_url: str) -> None:
    with open_store(store_url) as store:
        store.merge_subscribers(
            [Subscriber("ada@x.example"), Subscriber("bob@x.example", status=SubscriberStatus.BOUNCED)]
        )
        with store.begin() as conn:  # as the store was before migration 7
            conn.execute(text("DROP TABLE bounce_events"))
            conn.execute(text("ALTER TABLE subscribers DROP COLUMN status_reason"))
            conn.execute(text("ALTER TABLE subscribers DROP COLUMN status_changed"))
            conn.execute(
                delete(schema.schema_version).where(schema.schema_version.c.version == BOUNCES_MIGRATION)
            )
    with open_store(store_url) as store:
        assert BOUNCES_MIGRATION in store.applied_migrations()
        assert "bounce_events" in inspect(store.engine).get_table_names()
        assert {s.email: s.status for s in store.subscribers()} == {
            "ada@x.example": SubscriberStatus.ACTIVE,
            "bob@x.example": SubscriberStatus.BOUNCED,
        }
        assert store.suppression_reasons(["bob@x.example"]) == {}  # bounced before reasons were kept
        assert store.reactivate("bob@x.example", actor="ed") == "bounced"
