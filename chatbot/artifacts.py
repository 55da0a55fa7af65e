"""Getting the serving model and FAQ index: load them from the data folder, or make them.

First start: the intent classifier is trained from ``assets/intents.yaml`` (with progress) and
registered; the FAQ is embedded and indexed. Later starts load both from the data folder.
The FAQ index is cached per FAQ content and embedder, so changing either builds a new one
instead of loading a mismatched index.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatbot.settings import Settings
from finetune import IntentClassifier, ModelMismatchError, Registry, TrainingArgs, load_examples, train
from finetune.embedder import ADAPTER_DIR, load_record
from retrieval import Encoder, FaqIndex, IndexMismatchError, default_model_path, faq_hash, load_faq, prune_exports
from retrieval.atomic import damaged_files
from retrieval.encoder import model_fingerprint

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
KEEP_EXPORTS = 3  # ONNX exports kept per role: the serving one and the last two it replaced (rollback)


def use_runtime(encoder: Encoder, settings: Settings, role: str) -> str:
    """Puts ``encoder`` on the configured inference runtime; returns the one it ended on.

    ``auto`` and ``onnx`` export the network to ``<data_dir>/onnx/<role>/`` once per weights
    (about 7 s for MiniLM) and serve it with ONNX Runtime where that applies (CPU, float32)."""
    if settings.runtime == "torch":
        return "torch"
    cache = settings.layout.onnx(role)
    if encoder.use_onnx(cache, threads=1):  # one thread a pass; the bot runs a pass per core at once
        prune_exports(cache, KEEP_EXPORTS)
        return "onnx"
    if settings.runtime == "onnx":
        log.warning(
            "runtime=onnx does not apply to %s on %s in %s: serving with torch", role, encoder.device, encoder.dtype
        )
    return "torch"


def load_classifier(settings: Settings, path: Path) -> IntentClassifier:
    """A registered version, loaded for serving as the settings say (base model, device,
    precision, runtime). Raises ``ModelMismatchError`` for one that cannot serve."""
    classifier = IntentClassifier.load(
        path, base_model=settings.model_path, device=settings.device, precision=settings.precision
    )
    use_runtime(classifier.encoder, settings, "classifier")
    return classifier


def models_registry(settings: Settings) -> Registry:
    return Registry(settings.layout.models)


def train_default_model(
    settings: Settings, progress: Progress | None = None, show_progress: bool = True, **overrides: Any
) -> Path:
    """Trains a version on the assets' intents, registers and activates it. ``overrides``:
    ``TrainingArgs`` fields other than the model and device (a shorter run, in tests)."""
    registry = models_registry(settings)
    examples = load_examples(settings.assets_path / "intents.yaml")
    name = registry.new_version_name()
    args = TrainingArgs(base_model=settings.model_path, device=settings.device, **overrides)
    train(examples, args, out_dir=registry.root / name, progress=progress, show_progress=show_progress)
    registry.activate(name)
    return registry.root / name


def ensure_classifier(
    settings: Settings, progress: Progress | None = None, show_progress: bool = True
) -> IntentClassifier:
    """The serving classifier. When the serving version cannot be loaded (damaged on disk, or
    trained on another base model) the newest earlier version that loads is activated instead;
    only when none does is the default one trained."""
    registry = models_registry(settings)
    current = registry.current()
    if current is not None:
        try:
            return load_classifier(settings, current)
        except ModelMismatchError as exc:
            log.error("the serving version %s cannot be used: %s", current.name, exc)
        for name in reversed(registry.versions()):
            if name == current.name:
                continue
            try:
                classifier = load_classifier(settings, registry.root / name)
            except ModelMismatchError as exc:
                log.info("version %s cannot be used either: %s", name, exc)
                continue
            registry.activate(name)
            log.warning("serving the last good version, %s, instead of %s", name, current.name)
            return classifier
    log.info("no trained model for this base model yet: training the default bot from %s", settings.assets_path)
    path = train_default_model(settings, progress, show_progress)
    return load_classifier(settings, path)


def embedders_registry(settings: Settings) -> Registry:
    """The FAQ-adapted embedders (``finetune.embedder``); ``current`` names the serving one,
    none means the base model serves the FAQ."""
    return Registry(settings.layout.embedders)


def checked_adapter(settings: Settings, version: Path) -> Path:
    """The adapter folder of embedder ``version``; ``ValueError`` when it cannot serve: trained
    on another base model than the settings name, unreadable, or damaged."""
    base = Path(settings.model_path) if settings.model_path else default_model_path()
    try:
        trained_on = load_record(version)["base_model"]["fingerprint"]
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"FAQ embedder {version.name} is unreadable: {exc}") from None
    if trained_on != model_fingerprint(base):
        raise ValueError(f"FAQ embedder {version.name} was trained on another base model than {base.name}")
    damaged = damaged_files(version)
    if damaged:
        raise ValueError(f"FAQ embedder {version.name} is damaged: {', '.join(damaged)} missing or not as checksummed")
    return version / ADAPTER_DIR


def serving_adapter(settings: Settings) -> Path | None:
    """The serving embedder's adapter folder, or ``None`` for the base model: also when the
    serving one cannot serve (logged; see :func:`checked_adapter`)."""
    current = embedders_registry(settings).current()
    if current is None:
        return None
    try:
        return checked_adapter(settings, current)
    except ValueError as exc:
        log.error("%s: serving the FAQ with the base model", exc)
        return None


def faq_encoder(settings: Settings, adapter: Path | None = None) -> Encoder:
    """The FAQ's embedder, on the configured runtime: the base model with ``adapter`` merged."""
    encoder = Encoder(settings.model_path, device=settings.device, precision=settings.precision, adapter=adapter)
    use_runtime(encoder, settings, "embedder")
    return encoder


def active_faq_path(settings: Settings) -> Path:
    """The FAQ being served: the last one applied from the console, else the configured file."""
    uploaded = settings.layout.active_faq
    return uploaded if uploaded.is_file() else settings.faq_path


def factory_name(settings: Settings) -> str:
    """The configured FAISS factory as part of a folder name (an index folder is per factory)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", settings.index_factory)


def faq_index_folder(settings: Settings, entries: list, encoder: Encoder) -> Path:
    return settings.layout.faq_index(faq_hash(entries), encoder.fingerprint, factory_name(settings))


def cached_faq_index(settings: Settings, entries: list, encoder: Encoder, show_progress: bool = False) -> FaqIndex:
    """The index of ``entries`` by ``encoder``: loaded from the data folder's cache, or built
    and cached there."""
    folder = faq_index_folder(settings, entries, encoder)
    if (folder / "meta.json").is_file():
        try:
            return FaqIndex.load(folder, encoder)
        except (IndexMismatchError, OSError, RuntimeError) as exc:
            log.warning("rebuilding the FAQ index: %s", exc)
    index = FaqIndex.build(entries, encoder, settings.index_factory, show_progress=show_progress)
    index.save(folder)
    return index


def ensure_faq_index(settings: Settings, encoder: Encoder, show_progress: bool = True) -> FaqIndex:
    """The index of the served FAQ, loaded from cache or built and cached."""
    return cached_faq_index(settings, load_faq(active_faq_path(settings)), encoder, show_progress)
