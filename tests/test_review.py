"""An edition's review in the store and the pipeline: revisions, approval, hold, seal, test copies,
and a clean stop while sending. Real SQLite files, a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from digest.cli import main
from digest.config import Settings, load_config
from digest.models import Edition
from digest.pipeline import RunContext, approve_edition, prepare_edition, run_edition, send_test
from digest.store import Store, open_store, schema
from digest.store.review import EditionConflict, EditionSealed
from smtpd_helpers import Recorder, smtp_server, write_run_project

NOW = datetime.now(UTC)


def _settings(
    tmp_path: Path, store_url: str, *, subscribers: int = 3, approval: str = "none", pool: int = 2
) -> Settings:
    config = write_run_project(tmp_path / "p", subscribers=subscribers, pool_size=pool)
    if approval != "none":
        text = config.read_text(encoding="utf-8")
        config.write_text(f'approval = "{approval}"\n' + text, encoding="utf-8")
    return load_config(config).model_copy(update={"store": store_url})


def _prepared(tmp_path: Path, store_url: str, **kw: object) -> tuple[Settings, Store, Edition]:
    s = _settings(tmp_path, store_url, **kw)  # type: ignore[arg-type]
    store = open_store(s.store_url)
    summary = asyncio.run(prepare_edition(RunContext(s, store, now=NOW, environ={})))
    ed = store.edition(summary.edition_id)
    assert ed is not None
    assert ed.stories
    return s, store, ed


def _retitled(ed: Edition, headline: str) -> Edition:
    first = ed.stories[0]
    edited = replace(first, condensed=replace(first.condensed, headline=headline))
    return replace(ed, stories=(edited, *ed.stories[1:]))


def _subjects_and_bodies(handler: Recorder) -> list[str]:
    out = []
    for m in handler.received:
        msg = email.message_from_bytes(m.data, policy=email.policy.default)
        text = msg.get_body(("plain",))
        assert text is not None
        out.append(f"{msg['Subject']}\n{text.get_content()}")
    return out


def test_revisions_refuse_a_stale_change_and_an_edit_withdraws_approval(
    tmp_path: Path, store_url: str
) -> None:
    _, store, ed = _prepared(tmp_path, store_url)
    with store:
        first = store.edition_review(ed.id)
        assert first is not None
        assert first.revision == 1
        assert first.state == "draft"
        store.approve_edition(ed.id, revision=1, actor="ann")
        assert store.edition_review(ed.id).approved  # type: ignore[union-attr]

        rev = store.revise_edition(_retitled(ed, "Ann's headline"), revision=1, actor="ann", action="edit")
        assert rev == 2
        review = store.edition_review(ed.id)
        assert review is not None
        assert not review.approved
        assert review.state == "draft"
        with pytest.raises(EditionConflict, match="changed since you loaded it"):
            store.revise_edition(_retitled(ed, "Bob's headline"), revision=1, actor="bob", action="edit")
        with pytest.raises(EditionConflict):
            store.approve_edition(ed.id, revision=1, actor="bob")  # approving what bob did not see
        assert store.edition(ed.id).stories[0].condensed.headline == "Ann's headline"  # type: ignore[union-attr]
        actions = [e.action for e in store.edition_events(ed.id)]
        assert actions[:3] == ["approval withdrawn: the edition changed", "edit", "approved"]


def test_edits_survive_reopening_the_store(tmp_path: Path, store_url: str) -> None:
    s, store, ed = _prepared(tmp_path, store_url)
    with store:
        store.revise_edition(_retitled(ed, "Kept across restarts"), revision=1, actor="ann", action="edit")
    with open_store(s.store_url) as again:
        kept = again.edition(ed.id)
        assert kept is not None
        assert kept.stories[0].condensed.headline == "Kept across restarts"
        assert again.edition_review(ed.id).revision == 2  # type: ignore[union-attr]


def test_approval_required_holds_then_approval_sends_the_edited_edition(
    tmp_path: Path, store_url: str
) -> None:
    s, store, ed = _prepared(tmp_path, store_url, approval="required")
    with smtp_server() as server, store:
        held = asyncio.run(run_edition(RunContext(s, store, now=NOW, environ={}, transport_url=server.url)))
        assert held.held
        assert held.exit_code == 0
        assert held.delivery is None
        assert server.handler.received == []
        assert store.recent_runs(1)[0].status == "held"
        assert store.edition_review(ed.id).state == "held"  # type: ignore[union-attr]
        # a second scheduled attempt holds again, and logs the hold once
        asyncio.run(run_edition(RunContext(s, store, now=NOW, environ={}, transport_url=server.url)))
        assert [e.action for e in store.edition_events(ed.id)].count("held: awaiting approval") == 1

        store.revise_edition(_retitled(ed, "Edited at the desk"), revision=1, actor="ann", action="edit")
        sent = asyncio.run(
            approve_edition(
                RunContext(s, store, now=NOW, environ={}, transport_url=server.url, trigger="ann"),
                day=ed.day,
                revision=2,
            )
        )
        assert sent is not None
        assert sent.delivery is not None
        assert sent.delivery.sent == 3
        assert sent.trigger == "ann"
        assert sent.feeds == []
        bodies = _subjects_and_bodies(server.handler)
        assert len(bodies) == 3
        assert all("Edited at the desk" in b for b in bodies)
        with pytest.raises(EditionSealed, match="sending has started"):
            store.revise_edition(_retitled(ed, "Too late"), revision=None, actor="bob", action="edit")


def test_approval_before_the_send_time_waits_for_it(tmp_path: Path, store_url: str) -> None:
    s, store, ed = _prepared(tmp_path, store_url, approval="required")
    with smtp_server() as server, store:
        early = asyncio.run(
            approve_edition(
                RunContext(s, store, now=NOW, environ={}, transport_url=server.url, trigger="ann"),
                day=ed.day,
                revision=1,
            )
        )
        assert early is None
        assert server.handler.received == []
        done = asyncio.run(run_edition(RunContext(s, store, now=NOW, environ={}, transport_url=server.url)))
        assert not done.held
        assert done.delivery is not None
        assert done.delivery.sent == 3


def test_send_test_marks_the_subject_and_touches_no_ledger(tmp_path: Path, store_url: str) -> None:
    s, store, ed = _prepared(tmp_path, store_url)
    with smtp_server() as server, store:
        asyncio.run(
            send_test(
                RunContext(s, store, now=NOW, environ={}, transport_url=server.url),
                day=ed.day,
                address="Editor@Example.org",
            )
        )
        (only,) = server.handler.received
        assert only.recipients == ("editor@example.org",)
        assert _subjects_and_bodies(server.handler)[0].startswith("[Test] ")
        assert store.delivery_counts(ed.id) == {}
        assert store.edition_review(ed.id).sealed_at is None  # type: ignore[union-attr]
        from digest.errors import InputError

        with pytest.raises(InputError, match="test address"):
            asyncio.run(
                send_test(RunContext(s, store, now=NOW, environ={}), day=ed.day, address="not an address")
            )


def test_a_stop_while_sending_leaves_nothing_in_sending(tmp_path: Path, store_url: str) -> None:
    s = _settings(tmp_path, store_url, subscribers=60, pool=3)
    stop = threading.Event()
    seen: list[str] = []

    def stop_after_five(rcpt: str, _attempt: int) -> None:  # as a SIGTERM mid-send would
        seen.append(rcpt)
        if len(seen) == 5:
            stop.set()

    handler = Recorder(delay=0.05, script=stop_after_five)
    with smtp_server(handler) as server, open_store(s.store_url) as store:
        summary = asyncio.run(
            run_edition(RunContext(s, store, now=NOW, environ={}, transport_url=server.url, stop=stop))
        )
        assert summary.stopped
        assert summary.exit_code == 1
        assert summary.delivery is not None
        assert 0 < summary.delivery.sent < 60
        counts = store.delivery_counts(summary.edition_id)
        assert "sending" not in counts
        assert counts["sent"] == len(handler.received)
        assert store.recent_runs(1)[0].status == "stopped"
        # the next run sends the rest, nobody twice
        rest = asyncio.run(run_edition(RunContext(s, store, now=NOW, environ={}, transport_url=server.url)))
        assert rest.delivery is not None
        assert rest.delivery.sent + summary.delivery.sent == 60
    assert len({r.recipients for r in handler.received}) == len(handler.received) == 60


def test_cli_approve_sends_a_held_edition_and_show_says_where_it_stands(tmp_path: Path) -> None:
    config = write_run_project(tmp_path / "p", subscribers=2)
    config.write_text('approval = "required"\n' + config.read_text(encoding="utf-8"), encoding="utf-8")
    outbox = tmp_path / "outbox"
    runner = CliRunner()
    # one fixed day (the feed's, in the config's UTC) for every step: "today" could change
    # between two of them (midnight)
    base = ["--config", str(config), "--date", NOW.date().isoformat()]
    held = runner.invoke(main, ["run", *base, "--transport", f"file:{outbox}"])
    assert held.exit_code == 0, held.output
    assert "held" in held.output
    assert not list(outbox.glob("*.eml"))
    shown = runner.invoke(main, ["edition", "show", *base])
    assert "held since" in shown.output, shown.output
    status = runner.invoke(main, ["status", *base[:2], "--json"])
    assert '"state": "held"' in status.output
    approved = runner.invoke(
        main, ["edition", "approve", *base, "--by", "ann", "--transport", f"file:{outbox}"]
    )
    assert approved.exit_code == 0, approved.output
    assert "sent now" in approved.output
    assert len(list(outbox.glob("*.eml"))) == 2
    with open_store(tmp_path / "p" / "digest.db") as store:
        assert store.edition_review(NOW.date().isoformat()).approved_by == "ann"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        (None, "Scheduler: never started"),
        ({"pid": "self", "heartbeat": "now"}, "Scheduler: running, pid"),
        (
            {"pid": "self", "heartbeat": "now", "stopped": "2026-11-26T07:30:00+00:00"},
            "Scheduler: stopped at",
        ),
        ({"pid": 2**22 + 7, "heartbeat": "now"}, "not running"),  # no such process
        ({"pid": "self", "heartbeat": "2026-01-01T00:00:00+00:00"}, "not running"),  # stale heartbeat
    ],
)
def test_status_says_whether_the_scheduler_runs(
    tmp_path: Path, state: dict[str, object] | None, shown: str
) -> None:
    import json
    import os
    import socket

    config = write_run_project(tmp_path / "p", subscribers=1)
    if state is not None:
        full = {
            **state,
            "pid": os.getpid() if state["pid"] == "self" else state["pid"],
            "host": socket.gethostname(),
            "heartbeat": datetime.now(UTC).isoformat() if state["heartbeat"] == "now" else state["heartbeat"],
            "next_send": "2026-11-27T07:00:00+00:00",
        }
        with open_store(tmp_path / "p" / "digest.db") as store:
            store.set_meta("scheduler", json.dumps(full))
    result = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert shown in result.output
    as_json = CliRunner().invoke(main, ["status", "--config", str(config), "--json"])
    scheduler = json.loads(as_json.output)["scheduler"]
    assert (
        (scheduler is None)
        if state is None
        else (scheduler["alive"] is (shown.startswith("Scheduler: running")))
    )


def _race(url: str, edition_id: str) -> tuple[bool, object]:
    """A send's seal-or-hold and an editor's approval, started together from two connections."""
    results: dict[str, object] = {}
    go = threading.Barrier(2)
    with open_store(url) as a, open_store(url) as b:

        def send() -> None:
            go.wait()
            results["sealed"] = a.seal_or_hold(edition_id, require_approval=True, actor="schedule")

        def approve() -> None:
            go.wait()
            results["review"] = b.approve_edition(edition_id, revision=None, actor="ann")

        threads = [threading.Thread(target=send), threading.Thread(target=approve)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return bool(results["sealed"]), results["review"]


def test_an_approval_racing_a_send_is_never_lost(tmp_path: Path, store_url: str) -> None:
    """A scheduled send checks approval while an editor approves: either the send seals the
    approved edition, or the approval finds the hold and sends it itself. Never neither."""
    s, store, ed = _prepared(tmp_path, store_url, approval="required")
    with store:
        for attempt in range(25):
            with store.begin() as conn:  # back to a draft nobody approved, held or sealed
                draft = {"approved_at": None, "approved_by": None, "approved_revision": None}
                conn.execute(update(schema.editions).values(**draft, held_at=None, sealed_at=None))
            sealed, review = _race(s.store_url, ed.id)
            assert sealed or review.held_at is not None, f"attempt {attempt}: the approval was lost"  # type: ignore[attr-defined]


def test_migration_seals_editions_that_an_earlier_version_began_sending(tmp_path: Path) -> None:
    """A store written before reviews existed (SQLite, as they all were): its sent edition must
    stay final after upgrade."""
    s, store, ed = _prepared(tmp_path, f"sqlite:///{tmp_path / 'p' / 'digest.db'}")
    with store:
        asyncio.run(
            run_edition(RunContext(s, store, now=NOW, environ={}, transport_url=f"file:{tmp_path / 'out'}"))
        )
    path = s.store_url.removeprefix("sqlite:///")
    db = sqlite3.connect(path)  # back to the schema of version 1, as an earlier digest left it
    for column in ("revision", "updated", "updated_by", "approved_at", "approved_by", "approved_revision",
                   "held_at", "sealed_at"):  # fmt: skip
        db.execute(f"alter table editions drop column {column}")
    db.execute("alter table deliveries drop column claimed_by")
    db.execute("drop table edition_events")
    db.execute("delete from digest_schema where version = 2")
    db.execute(  # and a draft that was never sent
        "insert into editions (id, created, data) select '2026-01-02', created,"
        " replace(data, ?, '2026-01-02') from editions",
        (ed.id,),
    )
    db.commit()
    db.close()
    with open_store(path) as upgraded:
        sent = upgraded.edition_review(ed.id)
        draft = upgraded.edition_review("2026-01-02")
        assert sent is not None
        assert sent.sealed_at is not None
        assert draft is not None
        assert draft.sealed_at is None
        assert draft.revision == 1
        with pytest.raises(EditionSealed):
            upgraded.revise_edition(
                _retitled(ed, "Rewritten after sending"), revision=None, actor="x", action="e"
            )


def test_editors_names_and_headlines_are_printed_as_text_not_markup(tmp_path: Path) -> None:
    config = write_run_project(tmp_path / "p", subscribers=1)
    base = ["--config", str(config)]
    runner = CliRunner()
    assert runner.invoke(main, ["preview", *base, "--out", str(tmp_path / "pv")]).exit_code == 0
    with open_store(tmp_path / "p" / "digest.db") as store:
        [review] = store.edition_reviews()
        ed = store.edition(review.id)
        assert ed is not None
        store.revise_edition(
            _retitled(ed, "Markets [/] rally [bold]"), revision=None, actor="[/]", action="edit"
        )
    approved = runner.invoke(main, ["edition", "approve", *base, "--by", "[/red]", "--date", review.id])
    assert approved.exit_code == 0, approved.output
    for command in (["status", *base], ["edition", "show", *base, "--date", review.id]):
        result = runner.invoke(main, command)
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
    assert "Markets [/] rally [bold]" in result.output


def test_an_imported_edition_must_be_named_by_its_day(tmp_path: Path) -> None:
    config = write_run_project(tmp_path / "p", subscribers=1)
    base = ["--config", str(config)]
    runner = CliRunner()
    day = ["--date", NOW.date().isoformat()]  # the same day for both steps, even across midnight
    assert runner.invoke(main, ["preview", *base, *day, "--out", str(tmp_path / "pv")]).exit_code == 0
    exported = runner.invoke(main, ["edition", "export", *base, *day])
    data = json.loads(exported.output)
    data["id"] = "special"
    (tmp_path / "e.json").write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(main, ["edition", "import", str(tmp_path / "e.json"), *base])
    assert result.exit_code == 2
    assert "must be the edition's day" in result.output
