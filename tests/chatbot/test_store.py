"""The store on both dialects: every test runs on a SQLite file and on a real PostgreSQL
database (``database_url``), so the one SQL layer is held to the same behaviour on each."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from chatbot.database import SchemaError, current_revision, head_revision
from chatbot.store import JobBusy, Store, Taken

BEFORE_MIGRATIONS = Path(__file__).resolve().parents[1] / "data" / "chatbot-before-migrations.db"


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    yield store
    store.close()


def test_a_new_database_is_created_at_the_newest_schema(store):
    assert current_revision(store.engine) == head_revision()
    assert {"turns", "feedback", "handoffs", "reviews", "examples", "jobs", "kv", "sessions"} <= set(
        sa.inspect(store.engine).get_table_names()
    )


def test_turns_are_redacted_logged_and_counted(database_url):
    store = Store(database_url)  # the default redaction
    turn = store.log_turn("s-1", "mail me at ann@example.com", "Sure.", "faq", "contact", 0.91, {"faq_id": "mail"})
    store.log_turn("s-2", "hello", "Hi!", "template", "greet", 0.99, {})
    (row,) = store.turns("s-1")
    assert row["id"] == turn and row["faq_id"] == "mail" and row["confidence"] == pytest.approx(0.91)
    assert "ann@example.com" not in row["user_text"] and "[EMAIL]" in row["user_text"]
    assert store.count_turns() == 2
    assert [t["session_id"] for t in store.turns()] == ["s-2", "s-1"]  # newest first
    assert [c["conversation_id"] for c in store.export_conversations()] == ["s-1", "s-2"]


def test_feedback_and_the_review_queue(store):
    good = store.log_turn("s", "where is my order", "On its way.", "template", "order_status", 0.9, {})
    doubtful = store.log_turn("s", "blorp", "Sorry?", "fallback", None, 0.1, {}, review=True)
    store.set_feedback(good, 1)
    store.set_feedback(good, -1)  # changed its mind: one row, now a thumbs-down, now in the queue
    store.set_feedback(doubtful, -1)
    assert len(store.feedback()) == 2
    queue = {r["turn_id"]: r["source"] for r in store.reviews()}
    assert queue == {good: "thumbs_down", doubtful: "thumbs_down"}
    with pytest.raises(KeyError):
        store.set_feedback(10_000, 1)
    with pytest.raises(ValueError):
        store.set_feedback(good, 2)
    assert store.traffic()["thumbs_down"] == 2
    assert [t["id"] for t in store.unanswered_turns(days=1, limit=10)] == [doubtful, good]


def test_labelling_a_review_item_makes_a_training_example_once(store):
    assert store.add_review_items([{"text": "can I pay in bitcoin", "intent": "payment"}, {"text": "x"}]) == 2
    first, second = sorted(store.reviews(), key=lambda r: r["id"])
    store.resolve_review(first["id"], "intent", "payment_methods")
    store.resolve_review(second["id"], None, None)
    assert store.reviews() == []
    assert store.add_examples([("can I pay in bitcoin", "payment_methods"), ("new one", "greet")], "upload") == 1
    assert [(e["text"], e["intent"]) for e in store.examples()] == [
        ("can I pay in bitcoin", "payment_methods"),
        ("new one", "greet"),
    ]
    with pytest.raises(KeyError):
        store.resolve_review(10_000, None, None)


def test_handoffs_keep_a_redacted_transcript(store):
    handoff = store.open_handoff("s", "complaint", "asked in chat", [{"role": "user", "text": "call +44 20 7946 0958"}])
    (row,) = store.handoffs()
    assert row["id"] == handoff and "7946" not in row["transcript"][0]["text"]
    assert store.end_handoff(handoff, "closed") and not store.end_handoff(handoff, "closed")  # once
    assert store.handoffs() == [] and store.handoff(handoff)["status"] == "closed"


def test_only_one_of_two_takes_gets_a_waiting_handoff_on_either_database(database_url):
    store = Store(database_url)
    handoff = store.open_handoff("s", None, "asked in chat", [])
    assert store.open_handoff("s", None, "asked again", []) == handoff  # one waiting handoff a conversation
    store.take_handoff(handoff, "anna")
    with pytest.raises(Taken, match="anna has it") as taken:
        store.take_handoff(handoff, "bea")
    assert (taken.value.holder, store.handoff(handoff)["agent"]) == ("anna", "anna")
    store.post_message(handoff, "s", "agent", "hi", author="anna")
    store.post_message(handoff, "s", "customer", "hello", draft="a draft")
    assert [(m.sender, m.text) for m in store.messages("s", senders=("agent", "system"))] == [("agent", "hi")]
    assert store.handoff(handoff)["first_reply_ts"] is not None
    store.close()


def test_traffic_per_day_and_route(store):
    for route in ("faq", "fallback", "handoff", "clarify"):
        store.log_turn("s", "q", "a", route, None, 0.5, {})
    traffic = store.traffic()
    assert traffic["turns"] == 4 and traffic["fallback_rate"] == 0.5 and traffic["handoff_rate"] == 0.25
    (day,) = traffic["per_day"]
    assert day["day"] == time.strftime("%Y-%m-%d", time.gmtime()) and (day["fallbacks"], day["handoffs"]) == (2, 1)
    assert store.purge(older_than_days=0) == 4 and store.count_turns() == 0


def test_one_job_runs_at_a_time_across_stores_sharing_the_database(database_url):
    a, b = Store(database_url, replica="app-1"), Store(database_url, replica="app-2")  # as two replicas
    job = a.start_job("retrain")
    with pytest.raises(JobBusy, match=r"already running on replica app-1 on [^ ]+:\d+ \(job"):
        b.start_job("adapt")
    a.update_job(job, 0.5, "Epoch 2/3")
    a.finish_job(job, "done", "activated", {"version": "v2"})
    second = b.start_job("adapt")
    assert b.jobs()[0]["id"] == second and b.jobs()[1]["result"] == {"version": "v2"}


def test_a_job_whose_replica_stopped_reporting_is_failed_and_no_longer_blocks(database_url):
    a = Store(database_url)
    a.replica = "app-3 on another-host:1"  # as a replica on another machine would record it
    stuck = a.start_job("retrain")
    with a.engine.begin() as db:  # its last report, long ago
        db.execute(sa.text("UPDATE jobs SET updated = updated - 3600 WHERE id = :id"), {"id": stuck})
    b = Store(database_url)
    assert b.jobs()[0]["status"] == "failed" and "interrupted" in b.jobs()[0]["message"]
    b.start_job("retrain")


def test_a_job_whose_process_is_gone_on_this_host_is_failed_at_the_next_start(database_url):
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process id that no longer runs
    a = Store(database_url, replica="app-1")
    a.replica = a.replica.rsplit(":", 1)[0] + f":{dead.pid}"
    a.start_job("retrain")
    restarted = Store(database_url, replica="app-1")
    assert restarted.jobs()[0]["status"] == "failed"
    restarted.start_job("retrain")


def test_a_conversations_state_is_locked_per_turn_and_written_back(database_url):
    a, b = Store(database_url), Store(database_url)
    order: list[str] = []
    inside = threading.Event()

    def first_turn():
        with a.session("conv") as row:
            assert row.state is None
            inside.set()
            time.sleep(0.3)  # the other turn of the same conversation must wait for this one
            order.append("first")
            row.state = {"turns": 1}

    thread = threading.Thread(target=first_turn)
    thread.start()
    inside.wait(5)
    with b.session("conv") as row:  # through another store: another replica
        order.append("second")
        assert row.state == {"turns": 1}
        row.state = {"turns": 2}
    thread.join()
    assert order == ["first", "second"] and a.peek_session("conv") == {"turns": 2}
    with b.session("other"):  # another conversation is never held up, and one left unset is not written
        pass
    assert b.peek_session("other") is None and a.count_sessions() == 1


def test_more_turns_at_once_than_connections_in_the_pool_all_finish(store):
    """Each turn holds its conversation's lock while it writes its log: 48 at once, twice the
    connections either pool keeps, must queue, never wait on each other for a connection."""
    started = time.monotonic()

    def turn(n: int) -> None:
        with store.session(f"conv-{n}") as row:
            store.log_turn(f"conv-{n}", "hello", "hi", "template", "greet", 0.9, {})
            time.sleep(0.05)  # the model's share of a turn
            row.state = {"turns": 1}

    threads = [threading.Thread(target=turn, args=(n,)) for n in range(48)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert store.count_turns() == 48 and store.count_sessions() == 48
    assert time.monotonic() - started < 15  # a pool deadlock would wait out the 30 s pool timeout


def test_a_turn_that_fails_writes_nothing_back(store):
    with store.session("conv") as row:
        row.state = {"turns": 1}
    with pytest.raises(RuntimeError), store.session("conv") as row:
        row.state = {"turns": 2}
        raise RuntimeError("the bot failed")
    assert store.peek_session("conv") == {"turns": 1}


def test_idle_conversations_expire(store):
    with store.session("old") as row:
        row.state = {"turns": 1}
    with store.engine.begin() as db:
        db.execute(sa.text("UPDATE sessions SET updated = updated - 7200"))
    with store.session("new") as row:
        row.state = {"turns": 1}
    assert store.expire_sessions(idle_seconds=3600) == 1
    assert store.peek_session("old") is None and store.peek_session("new") == {"turns": 1}


def test_a_database_written_before_migrations_is_migrated_with_its_data(tmp_path):
    """tests/data/chatbot-before-migrations.db was written by the store of 2026-12-01 (commit
    8987f01), with a job left running as a process that died would leave it."""
    path = tmp_path / "chatbot.db"
    shutil.copy(BEFORE_MIGRATIONS, path)
    store = Store(path)
    assert current_revision(store.engine) == head_revision()
    assert store.count_turns() == 3 and len(store.feedback()) == 2 and len(store.handoffs()) == 1
    assert {r["source"] for r in store.reviews()} == {"low_confidence", "thumbs_down", "import"}
    assert store.examples()[0]["text"] == "cancel it please" and store.get("admin_password") == "scrypt$abc"
    assert [j["status"] for j in store.jobs()] == ["done", "failed"]  # the interrupted job is said to be
    store.log_turn("s-3", "still writable", "yes", "faq", None, 0.5, {})
    with store.session("s-3") as row:
        row.state = {"turns": 1}
    store.close()
    assert Store(path).count_turns() == 4  # opening it again migrates nothing more


def test_a_database_from_newer_code_is_refused_and_left_unchanged(database_url):
    Store(database_url).log_turn("s", "q", "a", "faq", None, 0.5, {})
    engine = sa.create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg://")
        if "://" in database_url
        else f"sqlite:///{database_url}"
    )
    with engine.begin() as db:
        db.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(SchemaError, match="revision '0999'.*newer version.*nothing was changed"):
        Store(database_url)
    with engine.connect() as db:
        assert db.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0999"
        assert db.execute(sa.text("SELECT COUNT(*) FROM turns")).scalar() == 1
    engine.dispose()
