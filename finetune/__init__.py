"""Training the intent classifier: data import, LoRA fine-tuning, evaluation reports."""

from finetune.args import TrainingArgs
from finetune.continual import replay_sample
from finetune.data import OUT_OF_SCOPE, DataError, Example, data_hash, load_examples, stratified_split
from finetune.dialogs import (
    Conversation,
    DialogError,
    DialogPreview,
    DialogTurn,
    load_dialogs,
    preview_dialogs,
    split_turns,
    write_conversations_jsonl,
)
from finetune.evaluate import Overlap, Report, evaluate, intent_overlaps
from finetune.model import IntentClassifier, ModelMismatchError, Prediction, example_hash, load_example_record
from finetune.record import VersionRecord
from finetune.registry import Registry
from finetune.train import train

__all__ = [
    "OUT_OF_SCOPE",
    "Conversation",
    "DataError",
    "DialogError",
    "DialogPreview",
    "DialogTurn",
    "Example",
    "IntentClassifier",
    "ModelMismatchError",
    "Overlap",
    "Prediction",
    "Registry",
    "Report",
    "TrainingArgs",
    "VersionRecord",
    "data_hash",
    "evaluate",
    "example_hash",
    "intent_overlaps",
    "load_dialogs",
    "load_example_record",
    "load_examples",
    "preview_dialogs",
    "split_turns",
    "replay_sample",
    "stratified_split",
    "train",
    "write_conversations_jsonl",
]
