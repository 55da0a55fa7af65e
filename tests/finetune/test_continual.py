"""Warm start on the real MiniLM: a saved version learns a new intent without forgetting."""

from __future__ import annotations

import json

import numpy as np
import pytest

from finetune import Example, IntentClassifier, TrainingArgs, train
from finetune.continual import replay_sample
from finetune.model import example_hash, load_example_record

OLD = {
    "order_status": ["where is my order", "has my order shipped yet", "status of my purchase", "when will it come"],
    "refund": ["I want my money back", "refund please", "how do I get a refund", "return my money"],
    "greet": ["hello", "hi there", "good morning", "hey"],
}
NEW = {"cancel": ["cancel my order", "I want to cancel", "please cancel the purchase", "stop my order now"]}
OLD_EXAMPLES = [Example(text, intent) for intent, texts in OLD.items() for text in texts]
NEW_EXAMPLES = [Example(text, intent) for intent, texts in NEW.items() for text in texts]
QUICK = dict(batch_size=8, val_fraction=0.0, learning_rate=1e-3, head_learning_rate=5e-3, max_epochs=40)


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    root = tmp_path_factory.mktemp("versions")
    v1 = train(OLD_EXAMPLES, TrainingArgs(epochs=1, min_steps=30, **QUICK), out_dir=root / "v1", show_progress=False)
    args = TrainingArgs(warm_epochs=1, warm_min_steps=20, warm_learning_rate=5e-4, replay_min_per_intent=2, **QUICK)
    v2 = train(OLD_EXAMPLES + NEW_EXAMPLES, args, out_dir=root / "v2", show_progress=False, base=root / "v1")
    return v1, v2, root


def test_the_head_is_extended_with_the_new_intent(versions):
    v1, v2, _ = versions
    assert v2.labels[: len(v1.labels)] == v1.labels and v2.labels[-1] == "cancel"
    warm = v2.version.warm_start
    assert warm["from"] == "v1" and warm["new_intents"] == ["cancel"] and warm["new_examples"] == 4
    assert warm["replayed"] == 6 and warm["earlier_examples"] == 12  # 2 of each earlier intent


def test_old_predictions_survive_and_the_new_intent_is_learnt(versions):
    v1, v2, _ = versions
    old_texts = [e.text for e in OLD_EXAMPLES]
    assert [p.intent for p in v1.predict(old_texts)] == [e.intent for e in OLD_EXAMPLES]
    assert [p.intent for p in v2.predict(old_texts)] == [e.intent for e in OLD_EXAMPLES]
    assert [p.intent for p in v2.predict([e.text for e in NEW_EXAMPLES])] == ["cancel"] * 4


def test_a_warm_version_saves_and_loads_like_any_other(versions):
    _, v2, root = versions
    texts = [e.text for e in OLD_EXAMPLES + NEW_EXAMPLES] + ["", "🙂", "something else"]
    loaded = IntentClassifier.load(root / "v2")
    np.testing.assert_allclose(loaded.predict_proba(texts), v2.predict_proba(texts), atol=1e-4)
    record = load_example_record(root / "v2")
    assert record["trained"] == {example_hash(e.text, e.intent) for e in OLD_EXAMPLES + NEW_EXAMPLES}
    assert json.loads((root / "v2" / "version.json").read_text())["warm_start"]["from"] == "v1"
    assert int(v2.support.labels.shape[0]) == len(OLD_EXAMPLES) + len(NEW_EXAMPLES)  # support covers all

    from peft import PeftModel
    from transformers import AutoModel

    base = AutoModel.from_pretrained(v2.version.base_model.path)
    assert isinstance(PeftModel.from_pretrained(base, str(root / "v2" / "adapter")), PeftModel)


def test_replay_is_spread_over_earlier_intents():
    old = [Example(f"{intent} {i}", intent) for intent in "abc" for i in range(30)] + [Example("d 0", "d")]
    rng = np.random.default_rng(0)
    sample = replay_sample(old, n_new=30, ratio=1.0, min_per_intent=4, rng=rng)
    counts = {intent: sum(e.intent == intent for e in sample) for intent in "abcd"}
    assert counts == {"a": 8, "b": 8, "c": 8, "d": 1}  # ceil(30 / 4 intents); "d" has only one
    assert len(set(sample)) == len(sample)
    assert replay_sample(old, n_new=0, ratio=1.0, min_per_intent=4, rng=rng)[:4] != []


def test_bias_correction_pulls_inflated_new_intents_back():
    """Two known intents and one new one whose logits came out 3 too large: the fitted shift
    takes rows back for the known intents, and the correction is folded into the head."""
    import torch

    from finetune.continual import correct_new_intent_bias

    torch.manual_seed(0)
    centres = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.4, 1.4]])
    targets = torch.arange(3).repeat_interleave(40)
    features = centres[targets] + 0.6 * torch.randn(len(targets), 2)
    head = torch.nn.Linear(2, 3)
    with torch.no_grad():
        head.weight.copy_(centres)
        head.bias.copy_(torch.tensor([-2.0, -2.0, -2.0 + 3.0]))  # the new intent is favoured by 3
    logits = head(features).detach()
    before = (logits.argmax(1) == targets).float()
    fitted = correct_new_intent_bias(head, logits, targets.numpy(), new_columns=[2])
    after = (head(features).argmax(1) == targets).float()
    assert fitted["applied"] and fitted["shift"] < -1.0
    assert fitted["balanced_loss"] < fitted["balanced_loss_before"]
    assert after[targets < 2].mean() > before[targets < 2].mean() + 0.1  # the known intents get their rows back
    assert after.mean() > before.mean()
    np.testing.assert_allclose(head.weight[:2].detach(), centres[:2])  # known rows untouched


def test_bias_correction_needs_both_kinds_of_intent_in_validation():
    import torch

    from finetune.continual import correct_new_intent_bias

    head = torch.nn.Linear(2, 3)
    weight = head.weight.detach().clone()
    assert correct_new_intent_bias(head, torch.randn(6, 3), np.array([0, 1, 0, 1, 0, 1]), new_columns=[2]) is None
    assert torch.equal(head.weight, weight)


def test_new_intents_that_the_serving_model_already_answers_are_flagged(default_bot):
    from finetune import intent_overlaps

    parcel = [
        "where is my parcel right now",
        "has my parcel been shipped yet",
        "what is the status of my parcel",
        "my parcel still hasn't arrived, where is it",
        "is my parcel on its way",
    ]
    careers = [
        "are you hiring at the moment",
        "do you have any open positions",
        "is there an internship programme",
        "how do I become a delivery driver for you",
        "where do I send my CV",
    ]
    known = [Example("where is my order", "order_status")]  # the serving model's own intents are not "new"
    examples = known + [Example(t, "parcel_whereabouts") for t in parcel] + [Example(t, "careers") for t in careers]

    [overlap] = intent_overlaps(default_bot.classifier, examples)

    assert overlap.new_intent == "parcel_whereabouts" and overlap.examples == 5
    assert overlap.old_intent in {"track_package", "order_status"} and overlap.share >= 0.8
    assert set(overlap.sample) <= set(parcel) and overlap.count >= 4
    assert intent_overlaps(default_bot.classifier, examples, min_share=1.01) == []
