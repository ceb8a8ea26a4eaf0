"""Subscribers: reading and checking the CSV, merging, and the ``digest subscribers`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.errors import InputError
from digest.models import SubscriberStatus
from digest.store import open_store
from digest.subscribers import read_subscribers_csv

GOOD = """email,name,status,timezone,topics
ada@example.org,Ada Lovelace,,Europe/London,World;Science
Bob@Example.ORG,Bob,active,,Business|World
carol@example.org,"Carol, Jr.",unsubscribed,,
"""

MIXED = """email,name
ok@example.org,Ok
not-an-email,Broken
ok2@example.org,"Two
Lines"
@example.org,Nobody
ok@example.org,Ok Again
"""


def write(tmp_path: Path, text: str, name: str = "subscribers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_every_column_and_normalizes(tmp_path: Path) -> None:
    result = read_subscribers_csv(write(tmp_path, GOOD))
    assert result.errors == []
    ada, bob, carol = result.subscribers
    assert (ada.email, ada.timezone, ada.topics) == ("ada@example.org", "Europe/London", {"World", "Science"})
    assert bob.email == "bob@example.org"  # one spelling, one ledger row
    assert bob.topics == {"Business", "World"}
    assert (carol.name, carol.status) == ("Carol, Jr.", SubscriberStatus.UNSUBSCRIBED)


def test_invalid_rows_are_reported_with_file_and_line_and_skipped(tmp_path: Path) -> None:
    result = read_subscribers_csv(write(tmp_path, MIXED))
    assert [s.email for s in result.subscribers] == ["ok@example.org", "ok2@example.org"]
    assert len(result.errors) == 2
    assert result.errors[0].startswith("subscribers.csv:3: 'not-an-email': ")
    assert "@-sign" in result.errors[0]
    assert result.errors[1].startswith("subscribers.csv:6: '@example.org': ")  # after a two-line row
    assert result.duplicates == 1
    assert result.subscribers[0].name == "Ok Again"  # duplicates merged: the later name
    assert result.subscribers[1].name == "Two Lines"  # a line break in a name never reaches a header


def test_all_or_nothing_without_skip_invalid(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"2 invalid row\(s\), nothing imported: subscribers.csv:3: "):
        read_subscribers_csv(write(tmp_path, MIXED), skip_invalid=False)


def test_leaving_wins_when_an_address_appears_twice(tmp_path: Path) -> None:
    text = "email,name,status,topics\nx@example.org,X,unsubscribed,A\nX@example.org,X,active,B\n"
    [x] = read_subscribers_csv(write(tmp_path, text)).subscribers
    assert x.status is SubscriberStatus.UNSUBSCRIBED
    assert x.topics == {"A", "B"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("mail,name\na@example.org,A\n", "missing column 'email'"),
        ("", "missing column 'email'"),
        ("email\na@example.org\n", "missing column 'name'"),
    ],
)
def test_a_file_without_the_header_is_refused(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(InputError, match=error):
        read_subscribers_csv(write(tmp_path, text))


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("a@example.org,A,sleeping,,", "status 'sleeping'"),
        ("a@example.org,A,,Mars/Olympus,", "unknown timezone 'Mars/Olympus'"),
        ("a@example.org," + "N" * 501 + ",,,", "name longer than 500"),
        ("a@@example.org,A,,,", "a@@example.org"),
    ],
)
def test_row_errors_name_the_problem(tmp_path: Path, row: str, error: str) -> None:
    result = read_subscribers_csv(write(tmp_path, "email,name,status,timezone,topics\n" + row + "\n"))
    assert result.subscribers == []
    [message] = result.errors
    assert message.startswith("subscribers.csv:2: ")
    assert error in message


def test_bom_extra_columns_and_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("\ufeffEmail,Name,Signed up\r\nzoë@example.org,Zoë,2024\r\n".encode())
    [z] = read_subscribers_csv(path).subscribers
    assert (z.email, z.name) == ("zoë@example.org", "Zoë")
    path.write_bytes(b"email,name\na@example.org,\xff\n")
    with pytest.raises(InputError, match=r"export.csv:2: not UTF-8"):
        read_subscribers_csv(path)


# --- the CLI -----------------------------------------------------------------------------


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["subscribers", *args])
    return result.exit_code, result.stdout, result.stderr


def test_import_list_unsubscribe(tmp_path: Path) -> None:
    db = str(tmp_path / "d.db")
    code, _, err = cli("import", str(write(tmp_path, GOOD)), "--db", db)
    assert code == 0, err
    assert "3 added, 0 updated" in err
    code, out, _ = cli("list", "--db", db, "--json")
    rows = json.loads(out)
    assert [r["email"] for r in rows] == ["ada@example.org", "bob@example.org", "carol@example.org"]
    assert rows[0] == {
        "email": "ada@example.org",
        "name": "Ada Lovelace",
        "status": "active",
        "timezone": "Europe/London",
        "topics": ["Science", "World"],
        "why": None,  # an active reader's status needs no reason
    }
    code, _, err = cli("unsubscribe", "ADA@example.org", "--db", db)
    assert code == 0, err
    code, out, _ = cli("list", "--db", db, "--status", "active")
    assert out.splitlines() == ["bob@example.org\tactive\tBob\t-\tBusiness,World"]
    code, out, _ = cli("list", "--db", db, "--status", "unsubscribed", "--json")
    assert json.loads(out)[0]["why"] == "unsubscribed by an editor (digest subscribers unsubscribe)"
    # An import never brings back someone who left.
    code, _, _ = cli("import", str(write(tmp_path, GOOD)), "--db", db)
    assert code == 0
    with open_store(db) as store:
        assert {s.email for s in store.subscribers(active_only=True)} == {"bob@example.org"}


def test_import_is_all_or_nothing_unless_skip_invalid(tmp_path: Path) -> None:
    db = str(tmp_path / "d.db")
    path = str(write(tmp_path, MIXED))
    code, _, err = cli("import", path, "--db", db)
    assert code == 2
    error = err.strip().splitlines()[-1]  # after the line naming the config and the store
    assert error.startswith("digest: error: ")
    assert "subscribers.csv:3: 'not-an-email'" in error
    assert "digest: error: " not in err.strip().splitlines()[0]
    code, out, _ = cli("list", "--db", db, "--json")
    assert json.loads(out) == []
    code, _, err = cli("import", path, "--skip-invalid", "--db", db)
    assert code == 0
    assert "skipped: subscribers.csv:6: '@example.org'" in err
    assert "2 added, 0 updated, 1 duplicate row(s) merged, 2 invalid row(s) skipped" in err


def test_unsubscribe_errors(tmp_path: Path) -> None:
    db = str(tmp_path / "d.db")
    assert cli("unsubscribe", "nobody@example.org", "--db", db)[0] == 2
    code, _, err = cli("unsubscribe", "not an address", "--db", db)
    assert code == 2
    assert "not an address" in err


def test_an_unclosed_quote_is_reported_not_swallowed(tmp_path: Path) -> None:
    path = tmp_path / "subs.csv"
    path.write_text('email,name\na@example.com,Ann\nb@example.com,"Bob\nc@example.com,Cy\n', encoding="utf-8")
    result = read_subscribers_csv(path)
    assert [s.email for s in result.subscribers] == ["a@example.com"]
    assert len(result.errors) == 1
    assert "subs.csv:3:" in result.errors[0]
    assert "unclosed quote" in result.errors[0]
    assert "c@example.com" not in {s.email for s in result.subscribers}  # reported, not silent


def test_an_unreadable_row_is_skipped_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "subs.csv"
    huge = "x" * 200_000  # over the csv module's field size limit
    path.write_text(
        f"email,name\na@example.com,Ann\nb@example.com,{huge}\nc@example.com,Cy\n", encoding="utf-8"
    )
    result = read_subscribers_csv(path, skip_invalid=True)
    assert [s.email for s in result.subscribers] == ["a@example.com", "c@example.com"]
    assert any("subs.csv:3:" in e and "field larger than field limit" in e for e in result.errors)
    with pytest.raises(InputError, match=r"subs\.csv:3"):
        read_subscribers_csv(path, skip_invalid=False)


def test_a_run_merges_the_csv_again_only_when_it_changed(tmp_path: Path) -> None:
    import os

    from digest.pipeline import RunSummary, import_subscribers

    csv = write(tmp_path, GOOD)
    with open_store(tmp_path / "d.db") as store:

        def run() -> RunSummary:
            summary = RunSummary("2026-01-05")
            import_subscribers(store, csv, summary)
            return summary

        assert run().subscribers_csv == "merged 3 of 3 rows"
        assert run().subscribers_csv == "unchanged"  # same size and time: not even read
        stat = csv.stat()
        os.utime(csv, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        assert run().subscribers_csv == "unchanged"  # touched: the same bytes
        csv.write_text(GOOD + "dan@example.org,Dan\n", encoding="utf-8")
        assert run().subscribers_csv == "merged 4 of 4 rows"
        assert {s.email for s in store.subscribers()} >= {"dan@example.org"}
        assert run().subscribers_csv == "unchanged"


def test_a_strict_import_of_a_long_file_keeps_nothing_when_a_late_row_is_bad(tmp_path: Path) -> None:
    rows = [f"reader{i:05d}@example.org,Reader {i}" for i in range(7000)] + ["not-an-address,Late"]
    path = write(tmp_path, "email,name\n" + "\n".join(rows) + "\n")
    db = str(tmp_path / "d.db")
    code, _, err = cli("import", str(path), "--db", db)
    assert code == 2
    assert "subscribers.csv:7002: 'not-an-address'" in err
    assert json.loads(cli("list", "--db", db, "--json")[1]) == []  # batches before it rolled back too


def test_an_address_again_in_a_later_batch_is_merged_with_the_first(tmp_path: Path) -> None:
    rows = ["first@example.org,First,unsubscribed,A"]
    rows += [f"reader{i:05d}@example.org,Reader {i},," for i in range(5000)]
    rows += ["First@Example.org,First Again,active,B"]
    path = write(tmp_path, "email,name,status,topics\n" + "\n".join(rows) + "\n")
    code, _, err = cli("import", str(path), "--db", str(tmp_path / "d.db"))
    assert code == 0, err
    assert "5001 added, 0 updated, 1 duplicate row(s) merged" in err
    with open_store(tmp_path / "d.db") as store:
        first = store.subscribers_by_email(["first@example.org"])["first@example.org"]
    assert (first.name, first.status, first.topics) == (
        "First Again",
        SubscriberStatus.UNSUBSCRIBED,
        {"A", "B"},
    )


def _checked_in_full(raw: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _fast(raw: str) -> str | None:
    from digest.subscribers import normalize_email

    try:
        return normalize_email(raw)
    except ValueError:
        return None


TRICKY = [
    "ada@example.org",
    "Ada.Lovelace+news@Example.ORG",
    "a..b@example.org",
    ".a@example.org",
    "a.@example.org",
    "a@b",
    "a@-example.org",
    "a@example.123",
    "a@localhost",
    "a@example.test",
    "a@bücher.example",
    "ünï@example.org",
    '"quoted"@example.org',
    "x" * 64 + "@example.org",
    "x" * 65 + "@example.org",
    "a@" + ".".join(["b" * 63] * 4) + ".org",
    "a@" + "b" * 64 + ".org",
    "ab@" + "ü" * 60 + ".example",
    "{braces}@example.org",
    "a b@example.org",
    "@example.org",
    "a@",
]


@pytest.mark.parametrize("raw", TRICKY)
def test_the_quick_check_of_plain_addresses_agrees_with_email_validator(raw: str) -> None:
    assert _fast(raw) == _checked_in_full(raw)


def test_the_quick_check_agrees_on_generated_addresses() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.emails() | st.text(max_size=40))
    def agree(raw: str) -> None:
        assert _fast(raw) == _checked_in_full(raw)

    agree()
