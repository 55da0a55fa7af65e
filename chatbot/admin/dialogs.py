"""What customers said, turned into training data: dialog-log imports and exports, the review
queue, and the unanswered themes.

Labelled user turns of an imported log become training examples (used at the next
retraining); the others go to the review queue with the bot's suggested intent and FAQ entry.
The fallback, clarify and thumbs-down turns are grouped by meaning into themes that an
operator turns into an FAQ entry or an intent's examples.
"""

from __future__ import annotations

import time
from pathlib import Path

from chatbot.admin.faq import FaqAdmin
from chatbot.bot import Bot
from chatbot.store import Store


class DialogAdmin:
    """Imports, exports, the review queue and the themes; FAQ changes go through ``faq``."""

    def __init__(self, bot: Bot, store: Store, faq: FaqAdmin):
        self.bot = bot
        self.store = store
        self.settings = bot.settings
        self.faq = faq

    # -- dialog logs --------------------------------------------------------------------------
    def import_dialogs(self, path: str | Path) -> dict:
        """Labelled user turns become training examples; the rest go to the review queue with a
        suggested intent and FAQ entry. Raises ``DataError`` for a malformed file."""
        from finetune.dialogs import load_dialogs, split_turns

        conversations = load_dialogs(path, max_bytes=self.faq.max_upload_bytes)
        labelled, unlabelled = split_turns(conversations)
        known = set(self.bot.domain.intents)
        unknown = sorted({e.intent for e in labelled} - known - {"oos"})
        added = self.store.add_examples([(e.text, e.intent) for e in labelled], source=f"import:{Path(path).name}")
        items = []
        if unlabelled:
            predictions = self.bot.classifier.predict(unlabelled)
            suggest_at = self.bot.faq_thresholds()[1]
            for text, prediction in zip(unlabelled, predictions):
                hits = self.bot.faq.search(text, k=1)
                items.append(
                    {
                        "text": text,
                        "intent": prediction.intent,
                        "confidence": prediction.confidence,
                        "faq_id": hits[0].faq_id if hits and hits[0].score >= suggest_at else None,
                    }
                )
            self.store.add_review_items(items)
        return {
            "conversations": len(conversations),
            "labelled": len(labelled),
            "new_examples": added,
            "to_review": len(items),
            "new_intents": unknown,
        }

    def export_conversations(self) -> Path:
        """Every stored conversation (redacted) as JSONL, in the format the importer reads."""
        from finetune.dialogs import Conversation, DialogTurn, write_conversations_jsonl

        conversations = [
            Conversation(c["conversation_id"], tuple(DialogTurn(**t) for t in c["turns"] if t["text"].strip()))
            for c in self.store.export_conversations()
        ]
        path = self.settings.layout.exports / f"conversations-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_conversations_jsonl([c for c in conversations if c.turns], path)
        return path

    # -- review queue -------------------------------------------------------------------------
    def label_review(self, review_id: int, label_kind: str | None, label: str | None = None) -> None:
        """One click in the review queue: the right intent (a training example for the next
        retrain), the right FAQ entry (a new phrasing, served at once), or dismiss."""
        if label_kind == "intent" and label not in self.bot.domain.intents:
            raise ValueError(f"unknown intent '{label}'")
        if label_kind == "faq" and label not in {e.id for e in self.bot.faq.entries}:
            raise ValueError(f"unknown FAQ entry '{label}'")
        row = self.store.resolve_review(review_id, label_kind, label)
        if label_kind == "faq":
            self.faq.add_phrasing(label, row["text"])

    # -- unanswered themes ----------------------------------------------------------------------
    def themes(self, top: int = 20) -> list[dict]:
        """What the bot fails on, grouped by meaning: the fallback, clarify and thumbs-down turns
        of the last ``theme_days`` days, embedded with the bot's encoder and clustered
        (agglomerative, average linkage, cosine distance under ``theme_distance``).

        Each theme: ``question`` (the member nearest the theme's centre), ``count`` (turns),
        ``examples`` (distinct questions, nearest first), ``thumbs_down``, ``routes``. Largest first.
        Limits: at most ``theme_max_turns`` recent turns; identical questions count as one point.
        """
        import numpy as np

        rows = self.store.unanswered_turns(self.settings.theme_days, self.settings.theme_max_turns)
        groups: dict[str, list[dict]] = {}
        for row in rows:
            groups.setdefault(" ".join(row["user_text"].lower().split()), []).append(row)
        if not groups:
            return []
        texts = [members[0]["user_text"].strip() for members in groups.values()]
        weights = np.array([len(members) for members in groups.values()], dtype=np.float32)
        vectors = self.bot.faq.encoder.encode(texts)
        if len(texts) == 1:
            assignment = np.zeros(1, dtype=int)
        else:
            from sklearn.cluster import AgglomerativeClustering

            clustering = AgglomerativeClustering(
                n_clusters=None, distance_threshold=self.settings.theme_distance, metric="cosine", linkage="average"
            )
            assignment = clustering.fit_predict(vectors)
        themes = []
        members_of = list(groups.values())
        for label in np.unique(assignment):
            index = np.flatnonzero(assignment == label)
            centre = (vectors[index] * weights[index, None]).sum(0)
            centre /= np.linalg.norm(centre) or 1.0
            order = index[np.argsort(-(vectors[index] @ centre))]
            turns = [row for i in index for row in members_of[i]]
            routes: dict[str, int] = {}
            for row in turns:
                routes[row["route"]] = routes.get(row["route"], 0) + 1
            themes.append(
                {
                    "question": texts[order[0]],
                    "count": len(turns),
                    "examples": [texts[i] for i in order],
                    "thumbs_down": sum(row["rating"] == -1 for row in turns),
                    "routes": routes,
                    "last_seen": max(row["ts"] for row in turns),
                }
            )
        themes.sort(key=lambda t: (-t["count"], -t["last_seen"]))
        for number, theme in enumerate(themes, 1):
            theme["theme"] = number
        return themes[:top]

    def theme_to_intent(self, examples: list[str], intent: str) -> int:
        """A theme's questions become training examples of ``intent`` (used at the next retraining)."""
        if intent not in self.bot.domain.intents:
            raise ValueError(f"unknown intent '{intent}'; known: {', '.join(sorted(self.bot.domain.intents))}")
        return self.store.add_examples([(text, intent) for text in examples], source="theme")
