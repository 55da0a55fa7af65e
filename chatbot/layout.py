"""Where everything lives in the data folder: one place for each path.

::

    <data_dir>/
      chatbot.db                 turns, feedback, reviews, handoffs, jobs, the admin login
      models/                    intent classifier versions (finetune.Registry; `current` names the serving one)
      faq/active.json            the FAQ an operator applied (absent: the configured FAQ file)
      faq/index-<faq>-<model>-<factory>/   the FAQ index built for that FAQ, model and FAISS factory
      faq/embedders/             FAQ-adapted embedder versions (a Registry too)
      docs/documents.json        the imported help-centre documents, split into passages (chatbot.documents)
      docs/index-<passages>-<model>-<factory>/   the passage index built for them with that model
      encoders/<name>/           embedding models built offline (python -m retrieval models install)
      onnx/<role>/<weights>/     ONNX exports of the classifier's and the FAQ's encoder
      exports/                   conversation exports written by the console
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataLayout:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "chatbot.db"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def faq(self) -> Path:
        return self.root / "faq"

    @property
    def active_faq(self) -> Path:
        return self.faq / "active.json"

    @property
    def embedders(self) -> Path:
        return self.faq / "embedders"

    @property
    def docs(self) -> Path:
        return self.root / "docs"

    @property
    def documents(self) -> Path:
        return self.docs / "documents.json"

    def passage_index(self, passages_hash: str, model_fingerprint: str, factory: str) -> Path:
        return self.docs / f"index-{passages_hash}-{model_fingerprint}-{factory}"

    @property
    def encoders(self) -> Path:
        return self.root / "encoders"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    def faq_index(self, faq_hash: str, model_fingerprint: str, factory: str) -> Path:
        return self.faq / f"index-{faq_hash}-{model_fingerprint}-{factory}"

    def onnx(self, role: str) -> Path:
        return self.root / "onnx" / role
