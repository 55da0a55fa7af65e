"""Opening the bot of a data folder: what ``python app.py`` and the CLI do at start-up.

Unlike ``Bot(...)``, which only wires parts together, this has side effects, all of them part
of starting: on first start it builds the language's model when it is not the bundled one, trains the default model and builds the FAQ index (minutes on a
CPU, with progress); it opens the conversation store and deletes turns older than
``retention_days``.
"""

from __future__ import annotations

from chatbot.artifacts import (
    Progress,
    ensure_classifier,
    ensure_faq_index,
    faq_encoder,
    models_registry,
    serving_adapter,
)
from chatbot.bot import Bot
from chatbot.documents import ensure_passage_index
from chatbot.domain import Domain
from chatbot.redact import Redactor
from chatbot.settings import LANGUAGE_MODELS, Settings
from chatbot.store import Store
from retrieval import install_model


def load_bot(settings: Settings | None = None, progress: Progress | None = None, show_progress: bool = True) -> Bot:
    """The serving bot of ``settings.data_dir``: its active model and FAQ (trained and indexed
    on first start), the imported documents' passages, its store (turns past retention purged), and the version it serves."""
    settings = settings or Settings.load()
    if settings.torch_threads:  # process-wide: one replica per core wants one thread each
        import torch

        torch.set_num_threads(settings.torch_threads)
    domain = Domain.load(settings.assets_path)
    install_default_model(settings, show_progress)
    classifier = ensure_classifier(settings, progress, show_progress)
    encoder = faq_encoder(settings, serving_adapter(settings))  # on its runtime before a first index build
    faq = ensure_faq_index(settings, encoder, show_progress)
    documents = ensure_passage_index(settings, encoder, show_progress)  # the FAQ's encoder: one embedding serves both
    redactor = Redactor(extra_patterns=domain.redact_patterns)  # PII and operator patterns, before storage
    store = Store(settings.database, redact=redactor.redact, replica=settings.replica)
    store.purge(settings.retention_days)
    current = models_registry(settings).current()
    return Bot(settings, domain, classifier, faq, store, current.name if current else None, documents=documents)


def install_default_model(settings: Settings, show_progress: bool = True) -> None:
    """Builds the language's default model into the data folder when no ``model`` is set and it
    is not there yet (``retrieval.convert``: offline, from an installed wheel, about 15 s)."""
    name = LANGUAGE_MODELS[settings.language]
    if settings.model or name is None:
        return
    install_model(name, into=settings.layout.encoders, progress=show_progress)
