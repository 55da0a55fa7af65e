"""Training the intent classifier: data import, LoRA fine-tuning, evaluation reports."""

from finetune.data import OUT_OF_SCOPE, DataError, Example, data_hash, load_examples
from finetune.evaluate import Report, evaluate
from finetune.model import IntentClassifier, ModelMismatchError, Prediction
from finetune.registry import Registry
from finetune.train import TrainingArgs, stratified_split, train

__all__ = [
    "OUT_OF_SCOPE",
    "DataError",
    "Example",
    "IntentClassifier",
    "ModelMismatchError",
    "Prediction",
    "Registry",
    "Report",
    "TrainingArgs",
    "data_hash",
    "evaluate",
    "load_examples",
    "stratified_split",
    "train",
]
