"""A real tiny training run on the real MiniLM: overfit, save, load, same predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from finetune import (
    Example,
    IntentClassifier,
    ModelMismatchError,
    TrainingArgs,
    evaluate,
    example_hash,
    stratified_split,
    train,
)
from finetune.fit import length_grouped_batches
from finetune.oos import calibrate_threshold

TINY = {
    "order_status": [
        "where is my order",
        "has my order shipped yet",
        "status of my purchase",
        "when will my order come",
    ],
    "refund": ["I want my money back", "refund please", "how do I get a refund", "return my money"],
    "greet": ["hello", "hi there", "good morning", "hey"],
    "password": ["I forgot my password", "reset my password", "can't log in", "password not working"],
}
EXAMPLES = [Example(text, intent) for intent, texts in TINY.items() for text in texts]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "v1"
    args = TrainingArgs(
        epochs=1, min_steps=40, batch_size=8, val_fraction=0.0, learning_rate=1e-3, head_learning_rate=5e-3
    )
    classifier = train(EXAMPLES, args, out_dir=out, show_progress=False)
    return classifier, out


def test_overfits_a_handful_of_examples(tiny):
    classifier, _ = tiny
    predictions = classifier.predict([e.text for e in EXAMPLES])
    assert [p.intent for p in predictions] == [e.intent for e in EXAMPLES]


def test_save_load_gives_identical_predictions(tiny):
    classifier, out = tiny
    texts = [e.text for e in EXAMPLES] + ["something else entirely", "où est ma commande ?", "🙂", ""]
    loaded = IntentClassifier.load(out)
    np.testing.assert_allclose(loaded.predict_proba(texts), classifier.predict_proba(texts), atol=1e-4)
    assert loaded.labels == classifier.labels and loaded.threshold == classifier.threshold


def test_saved_version_is_plain_peft_and_documented(tiny):
    _, out = tiny
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    version = json.loads((out / "version.json").read_text())
    assert version["labels"] == sorted(TINY)
    assert {"data_hash", "hyperparameters", "metrics", "threshold", "created_at", "base_model"} <= set(version)
    assert version["hyperparameters"]["lora_r"] == 16
    assert 0 < version["threshold"] < 1

    from peft import PeftModel
    from transformers import AutoModel

    base = AutoModel.from_pretrained(version["base_model"]["path"])
    assert isinstance(PeftModel.from_pretrained(base, str(out / "adapter")), PeftModel)


def test_load_refuses_another_base_model(tiny, other_model_dir):
    _, out = tiny
    with pytest.raises(ModelMismatchError, match="minilm-3-layers"):
        IntentClassifier.load(out, base_model=other_model_dir)


def test_load_refuses_a_damaged_version(tiny, tmp_path):
    import shutil

    _, out = tiny
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    head = broken / "head.safetensors"
    head.write_bytes(head.read_bytes()[:-8])  # truncated: safetensors might not notice
    with pytest.raises(ModelMismatchError, match=r"damaged: head\.safetensors missing"):
        IntentClassifier.load(broken)
    (broken / "checksums.json").unlink()  # everything this project saves has checksums: without, not whole
    with pytest.raises(ModelMismatchError, match=r"damaged: checksums\.json"):
        IntentClassifier.load(broken)
    shutil.copy(out / "checksums.json", broken / "checksums.json")
    (broken / "version.json").write_text("{")
    with pytest.raises(ModelMismatchError, match="damaged"):
        IntentClassifier.load(broken)


def test_evaluate_counts_unknown_labels_as_out_of_scope(tiny):
    classifier, _ = tiny
    rows = EXAMPLES + [Example("what's the weather in Paris", "oos"), Example("sing me a song", "music")]
    report = evaluate(classifier, rows, threshold=0.99).to_dict()
    assert report["n"] == len(rows) and report["n_oos"] == 2
    assert report["accuracy"] == 1.0  # top-1 on in-scope rows, no threshold
    assert report["oos_recall"] == 1.0  # at 0.99 nothing out of scope is accepted
    assert report["in_scope_accuracy"] <= report["accuracy"]
    assert set(report["per_intent"]) == set(TINY)
    text = evaluate(classifier, rows).table()
    assert "macro-F1" in text and "out-of-scope" in text


def test_stratified_split_keeps_every_intent():
    examples = [Example(f"{intent} {i}", intent) for intent in "abc" for i in range(20)] + [Example("x", "rare")]
    train_set, val_set = stratified_split(examples, 0.1, seed=0)
    assert {e.intent for e in val_set} == {"a", "b", "c"}
    assert sum(e.intent == "a" for e in val_set) == 2
    assert {e.intent for e in train_set} == {"a", "b", "c", "rare"}
    assert not set(train_set) & set(val_set)


def test_length_grouped_batches_cover_everything_once():
    lengths = np.random.default_rng(0).integers(5, 100, size=1000)
    batches = length_grouped_batches(lengths, 32, np.random.default_rng(1))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 10  # batches hold similar lengths, so little padding


def test_threshold_keeps_target_share_of_correct_predictions():
    confidence = np.linspace(0.01, 1.0, 100)
    threshold = calibrate_threshold(confidence, np.ones(100, bool), target_recall=0.95, n_labels=100)
    assert np.mean(confidence >= threshold) >= 0.95


@pytest.mark.parametrize("field, value", [("epochs", 0), ("val_fraction", 0.7), ("learning_rate", -1.0)])
def test_bad_arguments_quote_the_value(field, value):
    with pytest.raises(ValueError, match=f"{field}={value!r}"):
        TrainingArgs(**{field: value})


def test_out_of_scope_needs_closeness_to_a_training_example(tiny):
    classifier, out = tiny
    assert (out / "support.safetensors").is_file()
    loaded = IntentClassifier.load(out)
    assert loaded.similarity_threshold == classifier.similarity_threshold > 0
    trained, far = loaded.predict(["refund please", "zxqv blorp wibble"])
    assert trained.similarity > 0.99 and trained.in_scope
    assert far.similarity < trained.similarity
    assert not far.in_scope


def test_operator_out_of_scope_examples_steer_calibration_not_labels(tmp_path):
    negatives = ["what's the weather in Paris", "write me a poem about cats", "who won the football match"]
    rows = EXAMPLES + [Example(text, "oos") for text in negatives]
    args = TrainingArgs(
        epochs=1, min_steps=40, batch_size=8, val_fraction=0.0, learning_rate=1e-3, head_learning_rate=5e-3
    )
    classifier = train(rows, args, out_dir=tmp_path / "v", show_progress=False)
    assert "oos" not in classifier.labels
    steered = json.loads((tmp_path / "v" / "version.json").read_text())["threshold_calibration"]
    report = steered["out_of_scope_examples"]
    assert report["n"] == len(negatives)
    assert report["rejected"] >= report["rejected_even_split"]
    assert report["kept_correct"] >= args.target_recall - 0.07  # 16 training rows: one row is 6 points


def test_half_precision_serving_gives_the_same_answers(tiny):
    """float16 is what ``precision=auto`` picks on CUDA; the CPU runs it too (slowly), so the
    casting of encoder, head and support is checked here without a GPU."""
    classifier, out = tiny
    texts = [e.text for e in EXAMPLES] + ["something else entirely", "où est ma commande ?"]
    half = IntentClassifier.load(out, device="cpu", precision="float16")
    assert half.encoder.dtype == torch.float16 and half.head.weight.dtype == torch.float16
    full_probabilities, full_similarities = classifier.scores(texts)
    half_probabilities, half_similarities = half.scores(texts)
    assert (half_probabilities.argmax(1) == full_probabilities.argmax(1)).all()
    np.testing.assert_allclose(half_probabilities, full_probabilities, atol=0.01)
    np.testing.assert_allclose(half_similarities, full_similarities, atol=0.01)


def test_onnx_runtime_serving_gives_the_same_answers(tiny, tmp_path):
    """What ``runtime=auto`` serves on the CPU: the merged network exported to ONNX Runtime."""
    classifier, out = tiny
    texts = [e.text for e in EXAMPLES] + ["something else entirely", "où est ma commande ?"]
    served = IntentClassifier.load(out, device="cpu")
    assert served.encoder.use_onnx(tmp_path / "onnx")
    torch_probabilities, torch_similarities = classifier.scores(texts)
    onnx_probabilities, onnx_similarities = served.scores(texts)
    assert (onnx_probabilities.argmax(1) == torch_probabilities.argmax(1)).all()
    np.testing.assert_allclose(onnx_probabilities, torch_probabilities, atol=1e-4)
    np.testing.assert_allclose(onnx_similarities, torch_similarities, atol=1e-4)
    assert served.predict(["where is my order"])[0].intent == classifier.predict(["where is my order"])[0].intent


def banking_subset(rows: list[dict], intents: int, per_intent: int) -> list[Example]:
    by_intent: dict[str, list[str]] = {}
    for row in rows:
        by_intent.setdefault(row["category"], []).append(row["text"])
    chosen = sorted(by_intent)[:intents]
    return [Example(text, intent) for intent in chosen for text in by_intent[intent][:per_intent]]


def test_a_fine_tune_that_loses_to_logistic_regression_is_not_shipped(banking_rows, tmp_path):
    # a learning rate this large wrecks the encoder: the frozen baseline must be what is saved
    examples = banking_subset(banking_rows, intents=6, per_intent=20)
    args = TrainingArgs(epochs=1, min_steps=8, learning_rate=0.5, head_learning_rate=0.5, refit=False)
    classifier = train(examples, args, out_dir=tmp_path / "v1", show_progress=False)
    selected = classifier.version.selected
    assert selected["model"] == "logistic-regression"
    assert selected["logreg_val_accuracy"] > selected["fine_tuned_val_accuracy"]
    assert classifier.version.metrics.val_accuracy == selected["logreg_val_accuracy"]
    # what is served is exactly a logistic regression on the frozen encoder's features
    from retrieval import Encoder

    frozen = Encoder().encode([e.text for e in examples], normalize=False)
    expected = classifier.head(torch.from_numpy(frozen)).argmax(1).numpy()
    loaded = IntentClassifier.load(tmp_path / "v1")
    assert loaded.predict_proba([e.text for e in examples]).argmax(1).tolist() == expected.tolist()


def test_refit_trains_the_served_model_on_every_example(banking_rows):
    examples = banking_subset(banking_rows, intents=5, per_intent=12)
    args = TrainingArgs(epochs=2, min_steps=4, max_epochs=2, fallback_cs=(), refit=True)
    classifier = train(examples, args, show_progress=False)
    selected = classifier.version.selected
    assert selected["model"] == "fine-tuned"  # five distinct intents: both reach 100%, and ties keep the fine-tune
    assert selected["refit_examples"] == len(examples)
    assert classifier.example_record["trained"] == {example_hash(e.text, e.intent) for e in examples}
    assert classifier.example_record["heldout"] == set()
    assert classifier.support.embeddings.shape[0] == len(examples)
    # the thresholds were calibrated on the split the first run held out, then carried over
    assert 0 < classifier.threshold < 1
