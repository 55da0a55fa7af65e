"""The operator's actions, as the console page and the CLI call them, on a real bot and database."""

from __future__ import annotations

import json

import pytest

from chatbot.console import AdminAuth, Console, check_gate
from finetune import DataError, TrainingArgs
from retrieval import FaqError


@pytest.fixture
def console(operator_bot):
    return Console(operator_bot, operator_bot.store)


def write_faq(path, rows):
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


FAQ = [
    {"id": "a", "question": "Do you sell gift cards?", "answer": "Yes, from 10 to 500 euros."},
    {"id": "b", "question": "Can I pick up my order in Rotterdam?", "answer": "Yes, at our warehouse shop."},
]


def test_an_applied_faq_is_served_at_once_and_after_a_restart(console, operator_bot, tmp_path):
    from chatbot.artifacts import ensure_faq_index

    result = console.apply_faq(write_faq(tmp_path / "faq.json", FAQ))
    assert result == {"entries": 2, "previous_entries": 124, "seconds": result["seconds"]}
    hit = operator_bot.faq.search("do you have gift cards", k=1)[0]
    assert hit.faq_id == "a"
    restarted = ensure_faq_index(operator_bot.settings, operator_bot.faq.encoder, show_progress=False)
    assert [e.id for e in restarted.entries] == ["a", "b"]


@pytest.mark.parametrize(
    "name, content",
    [
        ("faq.csv", b""),
        ("faq.csv", b'id,question,answer\nx,"unterminated,answer\n'),
        ("faq.csv", "id,question,answer\nx,Qu\xe9 tal?,Bien\n".encode("cp1252")),
        ("faq.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
        ("faq.json", json.dumps([FAQ[0], FAQ[0]]).encode()),
    ],
    ids=["empty", "broken-quoting", "cp1252", "wrong-type", "duplicate-ids"],
)
def test_a_bad_faq_upload_changes_nothing(console, operator_bot, tmp_path, name, content):
    serving = operator_bot.faq
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FaqError) as error:
        console.apply_faq(path)
    assert name in str(error.value)
    assert operator_bot.faq is serving
    assert not (operator_bot.settings.data_path / "faq" / "active.json").exists()


def test_an_oversized_upload_is_refused_before_reading(console, operator_bot, tmp_path):
    console.max_upload_bytes = 1000
    big = tmp_path / "faq.csv"
    big.write_text("id,question,answer\n" + "x,y,z\n" * 1000, encoding="utf-8")
    with pytest.raises(FaqError, match="MB|bytes|limit"):
        console.apply_faq(big)


def test_dialog_logs_feed_training_data_and_the_review_queue(console, operator_bot, tmp_path):
    log = tmp_path / "dialogs.jsonl"
    conversations = [
        {
            "conversation_id": "c1",
            "turns": [
                {"role": "user", "text": "my sofa came with a torn cushion", "intent": "damaged_item"},
                {"role": "agent", "text": "Sorry to hear that!"},
                {"role": "user", "text": "do you sell gift wrapping paper"},
            ],
        }
    ]
    log.write_text("\n".join(json.dumps(c) for c in conversations), encoding="utf-8")
    result = console.import_dialogs(log)
    assert result["labelled"] == 1 and result["new_examples"] == 1 and result["to_review"] == 1
    assert ("my sofa came with a torn cushion", "damaged_item") in {
        (e.text, e.intent) for e in console.training_examples()
    }
    [item] = operator_bot.store.reviews()
    assert item["source"] == "import" and item["text"] == "do you sell gift wrapping paper"
    assert item["suggested_intent"] in operator_bot.domain.intents


def test_a_malformed_dialog_log_changes_nothing(console, operator_bot, tmp_path):
    log = tmp_path / "dialogs.jsonl"
    log.write_text('{"conversation_id": "c1", "turns": [{"role": "robot", "text": "hi"}]}\n', encoding="utf-8")
    with pytest.raises(DataError, match="role"):
        console.import_dialogs(log)
    assert operator_bot.store.examples() == [] and operator_bot.store.reviews() == []


def test_review_labels_become_training_data_or_faq_phrasings(console, operator_bot):
    operator_bot.reply("r1", "blorf zzkx qwv")  # not understood: enters the review queue
    operator_bot.reply("r2", "the vase came in pieces")
    reply = operator_bot.reply("r3", "what is your phone number for the shop")
    operator_bot.store.set_feedback(reply.turn_id, -1)
    items = {r["text"]: r for r in operator_bot.store.reviews()}
    assert items["what is your phone number for the shop"]["source"] == "thumbs_down"
    assert "blorf zzkx qwv" in items  # low confidence

    faq_id = operator_bot.faq.entries[0].id
    console.label_review(items["what is your phone number for the shop"]["id"], "faq", faq_id)
    entry = next(e for e in operator_bot.faq.entries if e.id == faq_id)
    assert "what is your phone number for the shop" in entry.alternatives
    assert operator_bot.faq.search("what is your phone number for the shop", k=1)[0].faq_id == faq_id

    console.label_review(items["blorf zzkx qwv"]["id"], "intent", "greet")
    assert ("blorf zzkx qwv", "greet") in {(e.text, e.intent) for e in console.training_examples()}
    with pytest.raises(ValueError, match="unknown intent"):
        console.label_review(items["what is your phone number for the shop"]["id"], "intent", "no_such_intent")


def test_gate_refuses_a_regression_of_one_intent():
    serving = {"accuracy": 0.90, "per_intent": {"a": {"f1": 0.9}, "b": {"f1": 0.9}}}
    better = {"accuracy": 0.91, "per_intent": {"a": {"f1": 0.92}, "b": {"f1": 0.89}}}
    worse_b = {"accuracy": 0.90, "per_intent": {"a": {"f1": 0.99}, "b": {"f1": 0.80}}}
    assert check_gate(better, serving, margin=0.02)["passed"]
    gate = check_gate(worse_b, serving, margin=0.02)
    assert not gate["passed"] and gate["worst_intent"] == "b" and "'b'" in gate["reason"]
    assert not check_gate({"accuracy": 0.85, "per_intent": {}}, serving, margin=0.02)["passed"]


QUICK = TrainingArgs(epochs=1, min_steps=0, max_epochs=1, patience=1)


def test_retraining_runs_in_the_background_evaluates_and_swaps(console, operator_bot):
    serving_classifier, serving_version = operator_bot.classifier, operator_bot.model_version
    job = console.start_retrain(force=True, args=QUICK)
    with pytest.raises(RuntimeError, match="already running"):
        console.start_retrain(args=QUICK)
    assert operator_bot.reply(None, "where is my order A-12345?").route == "template"  # serving meanwhile
    job.wait(timeout=600)
    assert job.status == "done", job.message
    assert job.result["activated"] and operator_bot.classifier is not serving_classifier
    assert operator_bot.model_version == job.result["version"] != serving_version
    assert console.registry.current().name == job.result["version"]
    report = console.report(job.result["version"])
    assert set(report) == {"report", "serving", "gate"} and report["report"]["per_intent"]
    [record] = operator_bot.store.jobs()
    assert record["status"] == "done" and record["result"]["version"] == job.result["version"]

    console.activate(serving_version)  # roll back
    assert console.registry.current().name == serving_version and operator_bot.model_version == serving_version


def test_a_cancelled_retraining_leaves_everything_serving(console, operator_bot):
    before_versions = console.registry.versions()
    serving = operator_bot.classifier
    job = console.start_retrain(args=QUICK)
    job.cancel()
    job.wait(timeout=600)
    assert job.status == "cancelled"
    assert console.registry.versions() == before_versions and operator_bot.classifier is serving
    assert operator_bot.store.jobs()[0]["status"] == "cancelled"


def test_admin_password_is_generated_once_and_stored_hashed(operator_bot):
    shown = []
    auth = AdminAuth(operator_bot.store, "admin", None, announce=shown.append)
    [message] = shown
    password = message.split("generated password: ")[1].split()[0]
    assert password not in json.dumps(operator_bot.store.get("admin_password_scrypt"))
    assert auth("admin", password) and not auth("admin", password + "x") and not auth("root", password)
    again = AdminAuth(operator_bot.store, "admin", None, announce=shown.append)
    assert len(shown) == 1 and again("admin", password)  # not regenerated, not shown again


def test_admin_login_locks_after_repeated_failures(operator_bot):
    auth = AdminAuth(operator_bot.store, "admin", "the-right-password")
    for _ in range(auth.max_failures):
        assert not auth("admin", "guess")
    assert not auth("admin", "the-right-password")  # locked out for a while, even with the right one
