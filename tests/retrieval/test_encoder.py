"""The encoder's ONNX Runtime path: same vectors as torch, exported once, refused gracefully."""

from __future__ import annotations

import numpy as np

from retrieval import Encoder, prune_exports

TEXTS = [
    "hello",
    "where is my parcel? it has been two weeks and the tracking page still says it left the warehouse",
    "refund",
    "",
]


def test_onnx_runtime_gives_the_same_vectors_as_torch(encoder, tmp_path):
    expected = encoder.encode(TEXTS)
    served = Encoder()
    assert served.use_onnx(tmp_path)
    np.testing.assert_allclose(served.encode(TEXTS), expected, atol=1e-5)
    np.testing.assert_allclose(served.encode(TEXTS, normalize=False), encoder.encode(TEXTS, normalize=False), atol=1e-4)
    assert served.embed_texts(TEXTS[:1]).shape == (1, encoder.dimension)


def test_the_export_is_made_once_per_weights_and_reused(tmp_path):
    first = Encoder()
    assert first.use_onnx(tmp_path)
    (export,) = tmp_path.glob("*/model.onnx")
    written = export.stat().st_mtime_ns
    second = Encoder()
    assert second.use_onnx(tmp_path) and export.stat().st_mtime_ns == written
    assert len(list(tmp_path.iterdir())) == 1  # no half-written staging folder left


def test_other_weights_get_their_own_export(tmp_path, other_model_dir):
    """Any local model folder works by configuration: the 3-layer MiniLM exports to its own file."""
    default, other = Encoder(), Encoder(other_model_dir)
    assert default.weights_hash() != other.weights_hash()
    expected = other.encode(TEXTS)
    assert other.use_onnx(tmp_path)
    np.testing.assert_allclose(other.encode(TEXTS), expected, atol=1e-5)


def test_new_weights_drop_the_stale_session(tmp_path):
    """Swapping the transformer (fine-tuning, merging) must not keep serving the old export."""
    served = Encoder()
    assert served.use_onnx(tmp_path)
    served.transformer = served.transformer
    assert served.onnx_session is None


def test_an_unusable_cache_keeps_torch_serving(tmp_path, encoder):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    served = Encoder()
    assert not served.use_onnx(blocked)
    assert served.onnx_session is None
    np.testing.assert_allclose(served.encode(TEXTS), encoder.encode(TEXTS), atol=1e-6)


def test_half_precision_stays_on_torch(tmp_path):
    assert not Encoder(precision="float16", device="cpu").use_onnx(tmp_path)
    assert not tmp_path.joinpath("anything").exists() and list(tmp_path.iterdir()) == []


def test_prune_keeps_the_most_recently_used_exports(tmp_path):
    import os

    for age, name in enumerate(["newest", "middle", "oldest"]):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (1_000_000 - age, 1_000_000 - age))
    assert prune_exports(tmp_path, keep=2) == ["oldest"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["middle", "newest"]
