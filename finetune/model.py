"""The intent classifier: a BERT encoder with a LoRA adapter and a linear head.

On disk a version is a folder that plain peft can read::

    adapter/              adapter_config.json + adapter_model.safetensors (save_pretrained)
    head.safetensors      the linear head (weight, bias) over the pooled (not normalised) embedding
    version.json          labels, data hash, hyperparameters, metrics, threshold, base model

For serving, :meth:`IntentClassifier.load` merges the adapter into the base weights, so a
prediction costs exactly one plain BERT forward pass.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from retrieval import Encoder, default_model_path
from retrieval.atomic import atomic_directory
from retrieval.encoder import model_fingerprint

VERSION_FILE = "version.json"
HEAD_FILE = "head.safetensors"
ADAPTER_DIR = "adapter"


class ModelMismatchError(ValueError):
    """A saved version does not fit the configured base model, or its files are damaged."""


@dataclass(frozen=True)
class Prediction:
    """``intent`` is the top intent whatever its confidence; ``in_scope`` tells whether the
    confidence reaches the calibrated threshold; ``ranking`` holds the top candidates."""

    intent: str
    confidence: float
    in_scope: bool
    ranking: tuple[tuple[str, float], ...]


class IntentClassifier(torch.nn.Module):
    """Scores texts against the trained intents. ``chatbot`` only needs :meth:`predict`."""

    def __init__(self, encoder: Encoder, head: torch.nn.Linear, labels: list[str], threshold: float, version: dict):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.labels = list(labels)
        self.threshold = float(threshold)
        self.version = version

    @property
    def transformer(self) -> torch.nn.Module:
        return self.encoder.transformer

    def train(self, mode: bool = True) -> IntentClassifier:
        # the encoder is not a registered submodule (it is shared code, not a layer): switch it too
        super().train(mode)
        self.encoder.model.train(mode)
        return self

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.encoder.embed(features, normalize=False))

    def predict_proba(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Softmax probabilities, shape (len(texts), len(labels))."""
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        was_training = self.training
        self.eval()
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                index = order[start : start + batch_size]
                logits = self(self.encoder.tokenize([texts[i] or " " for i in index]))
                out[index] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        self.train(was_training)
        return out

    def predict(self, texts: list[str], top: int = 3) -> list[Prediction]:
        """The best intent of each text with its confidence and the runners-up."""
        probabilities = self.predict_proba(texts)
        predictions = []
        for row in probabilities:
            best = np.argsort(-row)[:top]
            ranking = tuple((self.labels[i], float(row[i])) for i in best)
            predictions.append(Prediction(ranking[0][0], ranking[0][1], ranking[0][1] >= self.threshold, ranking))
        return predictions

    # -- persistence ------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> Path:
        """Writes the adapter (peft ``save_pretrained``), the head and ``version.json``, atomically.

        Only a classifier still holding its peft adapter (fresh from training) can be saved;
        one loaded for serving has it merged into the base weights.
        """
        from peft import PeftModel

        if not isinstance(self.transformer, PeftModel):
            raise TypeError("this classifier's adapter is merged for serving; save the version it was loaded from")
        directory = Path(directory)
        with atomic_directory(directory) as tmp:
            self.transformer.save_pretrained(str(tmp / ADAPTER_DIR))
            head_state = {k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}
            save_file(head_state, str(tmp / HEAD_FILE))
            version = {**self.version, "labels": self.labels, "threshold": self.threshold}
            (tmp / VERSION_FILE).write_text(json.dumps(version, indent=1, ensure_ascii=False), encoding="utf-8")
        return directory

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike,
        base_model: str | os.PathLike | None = None,
        device: str | None = "auto",
        merge: bool = True,
    ) -> IntentClassifier:
        """Loads a saved version on ``base_model`` (default: the one it was trained on if that
        folder exists here, else the default MiniLM) and refuses a base it was not trained on."""
        from peft import PeftModel

        directory = Path(directory)
        version_path = directory / VERSION_FILE
        if not version_path.is_file():
            raise ModelMismatchError(f"{directory} is not a model version ({VERSION_FILE} is missing)")
        try:
            version = json.loads(version_path.read_text(encoding="utf-8"))
            labels, threshold = version["labels"], version["threshold"]
        except (ValueError, KeyError) as exc:
            raise ModelMismatchError(f"{version_path} is damaged: {exc}") from None
        base = Path(base_model) if base_model else Path(version.get("base_model", {}).get("path", ""))
        if not base_model and not (base / "config.json").is_file():
            base = default_model_path()
        expected = version.get("base_model", {}).get("fingerprint")
        if expected and model_fingerprint(base) != expected:
            raise ModelMismatchError(
                f"{directory} was trained on base model '{version['base_model'].get('name')}' ({expected}), "
                f"not on '{base.name}' ({model_fingerprint(base)}); train a new version for this model"
            )
        encoder = Encoder(base, device=device, max_length=version.get("hyperparameters", {}).get("max_length", 128))
        try:
            peft_model = PeftModel.from_pretrained(encoder.transformer, str(directory / ADAPTER_DIR))
            head_state = load_file(str(directory / HEAD_FILE))
        except Exception as exc:  # safetensors/peft raise many types for damaged files
            raise ModelMismatchError(f"{directory} cannot be loaded: {exc}") from exc
        encoder.transformer = peft_model.merge_and_unload() if merge else peft_model
        head = torch.nn.Linear(head_state["weight"].shape[1], head_state["weight"].shape[0])
        if head.out_features != len(labels):
            raise ModelMismatchError(f"{directory}: the head has {head.out_features} outputs for {len(labels)} labels")
        head.load_state_dict(head_state)
        model = cls(encoder, head.to(encoder.device), labels, threshold, version)
        return model.eval()
