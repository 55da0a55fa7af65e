"""The models being served: the intent classifier, the FAQ index and the documents' passage
index, swappable while serving,
their forward passes batched across the turns that arrive together.

A swap is one reference assignment: a turn reads each reference once, so a turn in flight is
answered wholly by the old or the new model. Batchers belong to the model they call and are
rebuilt the first time a swapped-in model is used.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable

from chatbot.batching import Batcher
from finetune import IntentClassifier, Prediction
from retrieval import Encoder, FaqHit, FaqIndex
from retrieval.passages import PassageHit, PassageIndex

ONNX_BATCH = 4  # texts per ONNX Runtime pass under load: as fast per text as 1, fewer calls than 1


class ServedModels:
    def __init__(
        self, classifier: IntentClassifier, faq: FaqIndex, lanes: int = 0, documents: PassageIndex | None = None
    ):
        """``lanes``: ONNX Runtime passes at once (0 = one per core this process may use)."""
        self.classifier = classifier
        self.faq = faq
        self.documents = documents
        self.classify_batcher: Batcher | None = None
        self.embed_batcher: Batcher | None = None
        self._device_lock = threading.Lock()  # torch: one forward pass at a time, classifier or FAQ embedding
        self._lanes = lanes or len(os.sched_getaffinity(0))
        self._onnx_passes = threading.Semaphore(self._lanes)  # ONNX Runtime: one single-threaded pass per core

    def classify(self, texts: list[str]) -> list[Prediction]:
        classifier, batcher = self.classifier, self.classify_batcher
        if batcher is None or batcher.owner is not classifier:  # first turn, or a swapped model
            batcher = self.classify_batcher = self._batcher(classifier.predict, classifier.encoder, classifier)
        return batcher(texts)

    def search(self, message: str, k: int) -> list[FaqHit]:
        faq = self.faq  # one index for the whole search, even if a swap happens meanwhile
        if not message.strip():
            return []
        return faq.search_embedded(message, self.embed([message], faq.encoder)[0], k)

    def embed(self, texts: list[str], encoder: Encoder) -> list:
        """Unit vectors of ``texts`` by ``encoder``: batched with the FAQ's searches when it is the
        FAQ's encoder (the documents are indexed with it), else directly."""
        faq = self.faq
        if encoder is not faq.encoder:  # the documents' index kept the encoder the FAQ had when it was built
            with self._device_lock if encoder.onnx_session is None else contextlib.nullcontext():
                return list(encoder.encode(texts))
        batcher = self.embed_batcher
        if batcher is None or batcher.owner is not faq.encoder:
            batcher = self.embed_batcher = self._batcher(faq.encoder.encode, faq.encoder, faq.encoder)
        return batcher(texts)

    def search_documents(self, message: str, k: int) -> tuple[PassageIndex | None, list[PassageHit], object]:
        """The passages closest to ``message``: the index searched (one for the whole search, even
        if a swap happens meanwhile), the hits, and the message's vector (for choosing sentences)."""
        documents = self.documents
        if documents is None or not message.strip():
            return documents, [], None
        query = self.embed([message], documents.encoder)[0]
        return documents, documents.search_embedded(message, query, k), query

    def _batcher(self, fn: Callable, encoder: Encoder, owner: object) -> Batcher:
        """torch: one multi-threaded pass at a time over everything waiting. ONNX Runtime: small
        single-threaded passes, one per core at once (short texts: padding a big batch to its
        longest text costs more than it saves; see README's Performance)."""
        if encoder.onnx_session is not None:
            return Batcher(fn, max_items=ONNX_BATCH, owner=owner, device_lock=self._onnx_passes, lanes=self._lanes)
        return Batcher(fn, owner=owner, device_lock=self._device_lock)
