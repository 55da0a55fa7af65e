"""The operator's actions, as the console page and the CLI call them, on a real bot and database."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from chatbot.admin import AdminAuth, Console, check_gate
from finetune import DataError, TrainingArgs
from retrieval import FaqError

ASSETS = Path(__file__).resolve().parents[2] / "assets"


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
    assert result == {
        "entries": 2,
        "previous_entries": 124,
        "seconds": result["seconds"],
        "adaptation": "off",
        "adaptation_job": None,
    }
    hit = operator_bot.faq.search("do you have gift cards", k=1)[0]
    assert hit.faq_id == "a"
    restarted = ensure_faq_index(operator_bot.settings, operator_bot.faq.encoder, show_progress=False)
    assert [e.id for e in restarted.entries] == ["a", "b"]


def test_the_faq_adapted_embedder_serves_after_its_gate_survives_a_restart_and_rolls_back(
    console, operator_bot, tmp_path
):
    from chatbot.artifacts import serving_adapter
    from finetune.embedder import AdaptArgs
    from retrieval import load_faq

    base = operator_bot.faq.encoder.fingerprint
    entries = load_faq(ASSETS / "faq.csv")[:40]
    console.apply_faq(write_faq(tmp_path / "faq.json", [e.to_dict() for e in entries]), adapt=False)
    job = console.start_adapt(AdaptArgs(epochs=1, learning_rate=2e-3)).wait()  # its gate: 25 of 40 found vs 22
    assert job.status == "done", job.message
    assert job.result["selected"] == "adapted" and job.result["adapted_hit_at_1"] > job.result["base_hit_at_1"]
    name = job.result["version"]
    assert job.result["serving"] == name and name in job.message
    adapted = operator_bot.faq.encoder
    assert adapted.fingerprint != base and adapted.adapter_dir.parent.name == name
    assert operator_bot.faq.search(entries[0].question, k=1)[0].faq_id == entries[0].id
    assert [row["name"] for row in console.embedder_versions() if row["serving"]] == [name]

    assert serving_adapter(operator_bot.settings) == adapted.adapter_dir  # what a restart loads

    console.use_embedder(None)  # roll back to the base model
    assert operator_bot.faq.encoder.fingerprint == base and console.embedders.current() is None
    assert serving_adapter(operator_bot.settings) is None


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
    console.faq.max_upload_bytes = 1000  # the limit every upload of the console reads
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
    assert check_gate(better, serving, margin=0.02).passed
    gate = check_gate(worse_b, serving, margin=0.02)
    assert not gate.passed and gate.worst_intent == "b" and "'b'" in gate.reason
    assert not check_gate({"accuracy": 0.85, "per_intent": {}}, serving, margin=0.02).passed
    small = {"accuracy": 0.90, "per_intent": {"a": {"f1": 0.9, "support": 2}, "b": {"f1": 0.9, "support": 9}}}
    one_flip = {"accuracy": 0.90, "per_intent": {"a": {"f1": 0.5, "support": 2}, "b": {"f1": 0.9, "support": 9}}}
    assert check_gate(one_flip, small, margin=0.02, min_support=5).passed  # 2 examples say little
    assert not check_gate(one_flip, small, margin=0.02, min_support=1).passed


QUICK = TrainingArgs(epochs=1, min_steps=0, max_epochs=1, patience=1, warm_epochs=1, warm_min_steps=0)
NEW_EXAMPLES = [
    ("the lamp arrived with a cracked shade", "damaged_item"),
    ("my mirror came shattered in the box", "damaged_item"),
    ("half the plates were broken on arrival", "damaged_item"),
    ("the chair leg snapped in transit", "damaged_item"),
    ("parcel came crushed and the vase is broken", "damaged_item"),
    ("the table top is scratched and dented", "damaged_item"),
    ("where is the parcel with my rug", "order_status"),
    ("any news on the delivery of my sofa", "order_status"),
    ("has the bookcase I bought left the warehouse", "order_status"),
]


def test_the_gate_compares_on_examples_neither_version_trained_on(console, operator_bot):
    from finetune import example_hash, load_example_record

    operator_bot.store.add_examples(NEW_EXAMPLES, source="test")
    examples = console.training_examples()
    training, heldout, info = console.retrain_split(examples)
    serving = load_example_record(console.registry.current())
    hashes = {example_hash(e.text, e.intent) for e in heldout}
    assert info.fair and info.carried_over == len(serving["heldout"]) > 0
    assert info.new_examples == len(NEW_EXAMPLES) and info.new_heldout == 2  # 1 of 6 and 1 of 3
    assert not hashes & serving["trained"]  # the serving version never trained on the held-out set
    assert not set(training) & set(heldout) and len(training) + len(heldout) == len(examples)


def test_retraining_runs_in_the_background_evaluates_and_swaps(console, operator_bot):
    serving_classifier, serving_version = operator_bot.classifier, operator_bot.model_version
    job = console.start_retrain(force=True, args=QUICK)
    with pytest.raises(RuntimeError, match="already running"):
        console.start_retrain(args=QUICK)
    assert operator_bot.reply(None, "where is my order A-12345?").route == "template"  # serving meanwhile
    job.wait(timeout=600)
    assert job.status == "done", job.message
    assert job.result["activated"] and operator_bot.classifier is not serving_classifier
    assert job.result["pruned_versions"] == []  # 2 versions, 20 kept
    assert operator_bot.model_version == job.result["version"] != serving_version
    assert console.registry.current().name == job.result["version"]
    report = console.report(job.result["version"])
    assert report.report["per_intent"] and report.serving["per_intent"] and report.evaluation.fair
    assert report.gate.passed == job.result["gate"]["passed"]
    assert report.training.warm_start_from == serving_version  # continued from the serving version
    assert report.old_intents.n == report.evaluation.heldout > 0
    assert 0 <= report.old_intents.accuracy <= 1 and 0 <= report.old_intents.serving_accuracy <= 1
    assert report.overlaps == job.result["overlaps"] == []  # no new intents, nothing to overlap
    assert report.old_intents.lost_to_new_intents == []
    from finetune import load_example_record

    record = load_example_record(console.registry.path(job.result["version"]))
    assert not record["trained"] & record["heldout"]
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
    assert password not in json.dumps(operator_bot.store.user("admin"))
    assert auth("admin", password) and not auth("admin", password + "x") and not auth("root", password)
    again = AdminAuth(operator_bot.store, "admin", None, announce=shown.append)
    assert len(shown) == 1 and again("admin", password)  # not regenerated, not shown again


def test_admin_login_locks_after_repeated_failures(operator_bot):
    auth = AdminAuth(operator_bot.store, "admin", "the-right-password")
    for _ in range(auth.max_failures):
        assert not auth("admin", "guess")
    assert not auth("admin", "the-right-password")  # locked out for a while, even with the right one


def test_turns_in_flight_during_a_swap_are_answered(console, operator_bot):
    import shutil
    import threading

    serving = console.registry.current()
    shutil.copytree(serving, serving.parent / "v-copy")
    failures, answered, stop = [], [], threading.Event()

    def chat(n: int) -> None:
        while not stop.is_set():
            try:
                reply = operator_bot.reply(f"s{n}", "where is my order A-12345?")
                answered.append(reply.route)
            except Exception as exc:  # noqa: BLE001 (any failure is the finding)
                failures.append(exc)

    threads = [threading.Thread(target=chat, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    console.activate("v-copy")
    console.activate(serving.name)
    stop.set()
    for thread in threads:
        thread.join()
    assert not failures and answered and set(answered) <= {"template", "ask_slot"}
    assert console.registry.current() == serving


UNANSWERED = [
    ("do you offer gift wrapping", "fallback"),
    ("can you wrap my present as a gift", "fallback"),
    ("gift wrap for a birthday present?", "clarify"),
    ("is gift wrapping available for orders", "fallback"),
    ("can I pay with bitcoin", "fallback"),
    ("do you take cryptocurrency payments", "fallback"),
    ("pay in crypto possible?", "clarify"),
]


def test_unanswered_questions_form_themes_that_become_faq_entries(console, operator_bot):
    store = operator_bot.store
    for i, (text, route) in enumerate(UNANSWERED):
        store.log_turn(f"t{i}", text, "Sorry, I did not get that.", route, None, 0.1, {})
    answered = store.log_turn("ok", "where is my order", "Your order ...", "template", "order_status", 0.9, {})
    store.log_turn("t9", "gift wrapping please", "...", "faq", None, 0.6, {})
    store.set_feedback(store.log_turn("t10", "do you wrap gifts", "...", "faq", None, 0.6, {}), -1)
    store.set_feedback(answered, 1)

    themes = console.themes()
    assert [t["count"] for t in themes] == [5, 3]  # the thumbs-down joins the gift-wrap theme
    wrap, crypto = themes
    assert "wrap" in wrap["question"] and wrap["thumbs_down"] == 1 and "do you wrap gifts" in wrap["examples"]
    assert {"can I pay with bitcoin", "do you take cryptocurrency payments"} <= set(crypto["examples"])
    assert "where is my order" not in wrap["examples"] + crypto["examples"]

    entry = console.add_faq_entry(wrap["question"], "Yes: gift wrapping costs 3 euros.", tuple(wrap["examples"]))
    assert operator_bot.faq.search("could you gift wrap it", k=1)[0].faq_id == entry.id
    with pytest.raises(FaqError, match="already"):
        console.add_faq_entry(wrap["question"], "again")
    with pytest.raises(FaqError):
        console.add_faq_entry("", "no question")
    assert console.theme_to_intent(crypto["examples"], "payment_methods") == 3
    assert ("pay in crypto possible?", "payment_methods") in {(e.text, e.intent) for e in console.training_examples()}


def test_the_report_page_warns_about_new_intents_that_overlap_old_ones():
    from chatbot.admin.report import Gate, HeldOut, NewIntents, OldIntents, RetrainReport, TrainingRun
    from chatbot.console_page import continual_summary
    from finetune import Overlap

    saved = RetrainReport(
        report={"accuracy": 0.9},
        serving={"accuracy": 0.95},
        gate=Gate(False, "accuracy drops", 0.02),
        old_intents=OldIntents(
            n=40,
            accuracy=0.9,
            serving_accuracy=0.95,
            lost_to_new_intents=[{"true": "track_package", "predicted": "parcel_whereabouts", "count": 3}],
        ),
        new_intents=NewIntents(n=5, intents=["parcel_whereabouts"], accuracy=1.0),
        evaluation=HeldOut(heldout=45, carried_over=40, new_heldout=5, new_examples=25, fair=True),
        training=TrainingRun(seconds=12.0, warm_start_from="v1"),
        overlaps=[Overlap("parcel_whereabouts", "track_package", 0.8, 4, 5, ("<b>where</b> is my parcel",))],
    )
    text = continual_summary(saved)
    assert "New intent **parcel_whereabouts**" in text and "80% of its examples as **track_package**" in text
    assert "Warm start from v1." in text
    assert "track_package -> parcel_whereabouts (3)" in text
    assert "<b>" not in text  # customers' words stay out of the page's Markdown
    assert "⚠" not in continual_summary(dataclasses.replace(saved, overlaps=[]))


def test_every_change_a_person_makes_is_in_the_audit_trail(console, operator_bot, tmp_path):
    from chatbot.admin.users import acting_as

    operator_bot.reply("a1", "blorf zzkx qwv")  # enters the review queue
    operator_bot.reply("a2", "I want to talk to a person")
    current, review = console.registry.current().name, operator_bot.store.reviews()[0]["id"]
    with acting_as("ed"):
        console.apply_faq(write_faq(tmp_path / "faq.json", FAQ), adapt=False)
        console.add_faq_entry("Do you gift wrap?", "Yes, for 3 euros.", faq_id="wrap")
        console.label_review(review, "intent", "greet")
        console.activate(current)
        job = console.start_retrain(args=QUICK)
        console.cancel_job()
        job.wait(timeout=600)
    (handoff,) = console.handoffs()
    with acting_as("anna"):
        console.take_handoff(handoff["id"])
        console.close_handoff(handoff["id"])
    trail = [(e["actor"], e["action"], e["target"]) for e in reversed(console.audit_log())]
    assert trail == [
        ("ed", "faq.apply", "faq.json"),
        ("ed", "faq.entry", "wrap"),
        ("ed", "review.label", f"review {review}"),
        ("ed", "version.activate", current),
        ("ed", "retrain.start", f"job {job.id}"),
        ("ed", "job.cancel", f"job {job.id}"),
        ("anna", "handoff.take", f"handoff {handoff['id']}"),
        ("anna", "handoff.close", f"handoff {handoff['id']}"),
    ]
    entry = console.audit_log()[0]
    assert (entry["before"], entry["after"]) == ("live", "closed")
