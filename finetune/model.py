"""The intent classifier: a BERT encoder with a LoRA adapter and a linear head.

On disk a version is a folder that plain peft can read::

    adapter/              adapter_config.json + adapter_model.safetensors (save_pretrained)
    head.safetensors      the linear head (weight, bias) over the pooled (not normalised) embedding
    support.safetensors   unit embeddings of the training examples and their intents
    version.json          labels, data hash, hyperparameters, metrics, thresholds, base model
    examples.json         hashes of the examples it was trained on and of those held out from it
                          (what a later warm start replays, and what a fair comparison may use)
    checksums.json        sha256 of every file above, written last: a damaged file is refused

A turn is in scope when two calibrated tests agree: the softmax confidence is high enough, and
the turn lies close to a training example of the predicted intent (cosine similarity in the
tuned embedding space). Softmax alone is confidently wrong on text unlike anything trained
("how do I cook pasta" -> 0.96 for a product question); the distance catches most of it.

For serving, :meth:`IntentClassifier.load` merges the adapter into the base weights, so a
prediction costs exactly one plain BERT forward pass.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from finetune.record import VERSION_FILE, VersionRecord
from retrieval import Encoder, default_model_path
from retrieval.atomic import atomic_directory, damaged_files, write_checksums
from retrieval.encoder import model_fingerprint

HEAD_FILE = "head.safetensors"
SUPPORT_FILE = "support.safetensors"
EXAMPLES_FILE = "examples.json"
ADAPTER_DIR = "adapter"


def example_hash(text: str, intent: str) -> str:
    """A short content hash naming one labelled example (no text is stored with a version)."""
    return hashlib.sha256(f"{intent}\t{text}".encode()).hexdigest()[:16]


def load_example_record(directory: str | os.PathLike) -> dict[str, set[str]] | None:
    """``{"trained": hashes, "heldout": hashes}`` of a saved version; ``None`` when the version
    predates the record (or the file is damaged)."""
    path = Path(directory) / EXAMPLES_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return {"trained": set(record["trained"]), "heldout": set(record["heldout"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


class ModelMismatchError(ValueError):
    """A saved version does not fit the configured base model, or its files are damaged."""


@dataclass(frozen=True)
class Prediction:
    """``intent`` is the top intent whatever its confidence; ``similarity`` is the cosine to the
    nearest training example of that intent; ``in_scope`` tells whether both reach their
    calibrated thresholds; ``ranking`` holds the top candidates."""

    intent: str
    confidence: float
    in_scope: bool
    ranking: tuple[tuple[str, float], ...]
    similarity: float = 1.0


@dataclass
class Support:
    """Unit embeddings of the training examples (rows) and their intent indices."""

    embeddings: torch.Tensor
    labels: torch.Tensor

    def nearest(self, embeddings: torch.Tensor, intents: torch.Tensor, exclude_self: bool = False) -> torch.Tensor:
        """Cosine of each embedding to the closest support example of the given intent."""
        sims = embeddings.float() @ self.embeddings.float().T
        sims = sims.masked_fill(self.labels[None, :] != intents[:, None], -1.0)
        if exclude_self:  # the rows are the support itself: leave-one-out
            sims.fill_diagonal_(-1.0)
        return sims.max(dim=1).values


class IntentClassifier(torch.nn.Module):
    """Scores texts against the trained intents. ``chatbot`` only needs :meth:`predict`."""

    def __init__(
        self,
        encoder: Encoder,
        head: torch.nn.Linear,
        labels: list[str],
        threshold: float,
        version: VersionRecord | None = None,
        support: Support | None = None,
        similarity_threshold: float = -1.0,
    ):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.labels = list(labels)
        self.threshold = float(threshold)
        self.version = version  # None until training has finished
        self.support = support
        self.similarity_threshold = float(similarity_threshold)
        self.example_record: dict[str, list[str]] | None = None  # written to examples.json by save()

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

    def scores(self, texts: list[str], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Softmax probabilities (n, labels) and the similarity of each text to the nearest
        training example of its top intent (n,; 1.0 when no support is stored)."""
        probabilities = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        similarities = np.ones(len(texts), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        was_training = self.training
        if was_training:  # switching walks all 126 submodules: 0.54 ms a turn of GIL-held Python
            self.eval()
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                index = order[start : start + batch_size]
                pooled = self.encoder.embed_texts([texts[i] or " " for i in index], normalize=False)
                logits = self.head(pooled.to(self.head.weight.dtype)).float()
                probabilities[index] = torch.softmax(logits, dim=-1).cpu().numpy()
                if self.support is not None:
                    unit = torch.nn.functional.normalize(pooled.float(), dim=-1)
                    similarities[index] = self.support.nearest(unit, logits.argmax(1)).cpu().numpy()
        if was_training:
            self.train()
        return probabilities, similarities

    def predict_proba(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Softmax probabilities, shape (len(texts), len(labels))."""
        return self.scores(texts, batch_size)[0]

    def in_scope(
        self, probabilities: np.ndarray, similarities: np.ndarray, threshold: float | None = None
    ) -> np.ndarray:
        """Which rows pass both calibrated tests (``threshold`` overrides the confidence one)."""
        threshold = self.threshold if threshold is None else threshold
        return (probabilities.max(1) >= threshold) & (similarities >= self.similarity_threshold)

    def predict(self, texts: list[str], top: int = 3) -> list[Prediction]:
        """The best intent of each text with its confidence, similarity and the runners-up."""
        probabilities, similarities = self.scores(texts)
        accepted = self.in_scope(probabilities, similarities)
        predictions = []
        for row, similarity, ok in zip(probabilities, similarities, accepted):
            best = np.argsort(-row)[:top]
            ranking = tuple((self.labels[i], float(row[i])) for i in best)
            predictions.append(Prediction(ranking[0][0], ranking[0][1], bool(ok), ranking, float(similarity)))
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
        if self.version is None:
            raise TypeError("this classifier has no training record yet; finetune.train() writes one")
        directory = Path(directory)
        with atomic_directory(directory) as tmp:
            self.transformer.save_pretrained(str(tmp / ADAPTER_DIR))
            head_state = {k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}
            save_file(head_state, str(tmp / HEAD_FILE))
            if self.support is not None:
                support = {
                    "embeddings": self.support.embeddings.half().cpu().contiguous(),
                    "labels": self.support.labels.cpu().contiguous(),
                }
                save_file(support, str(tmp / SUPPORT_FILE))
            if self.example_record is not None:
                record = {key: sorted(hashes) for key, hashes in self.example_record.items()}
                (tmp / EXAMPLES_FILE).write_text(json.dumps(record), encoding="utf-8")
            replace(
                self.version,
                labels=self.labels,
                threshold=self.threshold,
                similarity_threshold=self.similarity_threshold,
            ).write(tmp)
            write_checksums(tmp)
        return directory

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike,
        base_model: str | os.PathLike | None = None,
        device: str | None = "auto",
        merge: bool = True,
        trainable: bool = False,
        precision: str | None = "float32",
    ) -> IntentClassifier:
        """Loads a saved version on ``base_model`` (default: the one it was trained on if that
        folder exists here, else the default MiniLM) and refuses a base it was not trained on.

        ``merge=False`` keeps the peft adapter separate (needed to train or save again);
        ``trainable=True`` also makes its LoRA weights trainable (a warm start).
        ``precision``: see ``retrieval.encoder.pick_dtype``; applied after merging, so only when
        ``merge`` (a version kept for training stays in float32)."""
        from peft import PeftModel

        directory = Path(directory)
        version = _read_version(directory)
        labels, threshold = version.labels, version.threshold
        base = _base_model_for(directory, version, base_model)
        encoder = Encoder(base, device=device, max_length=version.hyperparameters.get("max_length", 128))
        try:
            peft_model = PeftModel.from_pretrained(
                encoder.transformer, str(directory / ADAPTER_DIR), is_trainable=trainable and not merge
            )
            head_state = load_file(str(directory / HEAD_FILE))
            support_state = load_file(str(directory / SUPPORT_FILE)) if (directory / SUPPORT_FILE).is_file() else None
        except Exception as exc:  # safetensors/peft raise many types for damaged files
            raise ModelMismatchError(f"{directory} cannot be loaded: {exc}") from exc
        encoder.transformer = peft_model.merge_and_unload() if merge else peft_model
        head = torch.nn.Linear(head_state["weight"].shape[1], head_state["weight"].shape[0])
        if head.out_features != len(labels):
            raise ModelMismatchError(f"{directory}: the head has {head.out_features} outputs for {len(labels)} labels")
        head.load_state_dict(head_state)
        support = None
        if support_state is not None:
            support = Support(
                support_state["embeddings"].float().to(encoder.device), support_state["labels"].to(encoder.device)
            )
        model = cls(encoder, head.to(encoder.device), labels, threshold, version, support, version.similarity_threshold)
        if merge:
            encoder.set_precision(precision)
            model.head.to(encoder.dtype)
        return model.eval()


def _read_version(directory: Path) -> VersionRecord:
    """``version.json`` of a saved version, after checking every file against its checksum;
    a missing or damaged version is a :class:`ModelMismatchError`."""
    if not (directory / VERSION_FILE).is_file():
        raise ModelMismatchError(f"{directory} is not a model version ({VERSION_FILE} is missing)")
    damaged = damaged_files(directory)
    if damaged:
        raise ModelMismatchError(f"{directory} is damaged: {', '.join(damaged)} missing or not as checksummed")
    try:
        return VersionRecord.read(directory)
    except ValueError as exc:
        raise ModelMismatchError(str(exc)) from None


def _base_model_for(directory: Path, version: VersionRecord, base_model: str | os.PathLike | None) -> Path:
    """``base_model``, else the folder the version was trained on if it exists here, else the
    default model; refuses (:class:`ModelMismatchError`) one the version was not trained on."""
    base = Path(base_model) if base_model else Path(version.base_model.path)
    if not base_model and not (base / "config.json").is_file():
        base = default_model_path()
    expected = version.base_model.fingerprint
    if model_fingerprint(base) != expected:
        raise ModelMismatchError(
            f"{directory} was trained on base model '{version.base_model.name}' ({expected}), "
            f"not on '{base.name}' ({model_fingerprint(base)}); train a new version for this model"
        )
    return base
