"""What an operator can do, without any UI: the admin page (``app.py``) and the CLI call this.

- FAQ uploads: preview with row-level errors, then apply: validated, indexed, saved, and swapped
  into the serving bot in one reference assignment. A bad file raises and changes nothing.
- Dialog-log uploads: labelled user turns become training examples, the others go to the
  review queue with the bot's suggested intent and FAQ entry.
- Retraining as a background job with progress and cancel, recorded in the database. It
  warm-starts from the serving version (new intents extend its head; earlier examples are
  replayed), evaluates the new and the serving version on examples neither trained on, and
  the new one replaces the serving one only when it passes the gate (or the operator forces it).
- Unanswered themes: fallback, clarify and thumbs-down turns grouped by meaning.
- FAQ-adapted embedder: after an FAQ is applied, a background job adapts the embedder to it
  (``finetune.embedder``); if it passes its gate, the FAQ is re-indexed with it and swapped
  in, else the base model serves. ``use_embedder`` rolls back or forward.

The fair comparison: every version records the hashes of the examples it trained on and of
those held out from it (``examples.json``). A retraining keeps the serving version's held-out
examples out of training again and adds a stratified share (``holdout_fraction``) of the
examples new since then; the gate compares both versions on that set, which neither version
was trained on. (The serving version may have used its held-out share for early stopping and
threshold calibration: if anything that favours the serving version, so the gate errs on the
side of keeping it.) A version without that record (made before it existed) is compared on a
held-out split it may have seen; the report says so (``"fair": false``).
- Model versions: the table, reports, activate (rollback).
- The review queue, the handoff queue, traffic analytics.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chatbot.artifacts import (
    active_faq_path,
    cached_faq_index,
    checked_adapter,
    embedders_registry,
    faq_encoder,
    faq_index_folder,
    load_classifier,
    models_registry,
)
from chatbot.bot import Bot
from chatbot.store import Store
from finetune import (
    Example,
    IntentClassifier,
    ModelMismatchError,
    TrainingArgs,
    evaluate,
    example_hash,
    intent_overlaps,
    load_example_record,
    load_examples,
    stratified_split,
    train,
)
from finetune.embedder import AdaptArgs, adapt_embedder, load_record
from retrieval import FaqEntry, FaqError, FaqIndex, RowError, faq_hash, load_faq
from retrieval.atomic import atomic_directory
from retrieval.faq import save_faq, validate_faq

log = logging.getLogger(__name__)
REPORT_FILE = "report.json"
PASSWORD_KEY = "admin_password_scrypt"


class Cancelled(Exception):
    pass


@dataclass
class Job:
    """A background job as the console sees it: poll ``progress``/``message``, ``cancel()`` it."""

    id: int
    kind: str
    progress: float = 0.0
    message: str = "starting"
    status: str = "running"
    result: dict | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> Job:
        if self.thread is not None:
            self.thread.join(timeout)
        return self


class Console:
    def __init__(self, bot: Bot, store: Store):
        self.bot = bot
        self.store = store
        self.settings = bot.settings
        self.registry = models_registry(bot.settings)
        self._job: Job | None = None
        self._job_lock = threading.Lock()
        self._faq_lock = threading.Lock()
        self._model_lock = threading.RLock()
        self.max_upload_bytes = bot.settings.max_upload_mb * 2**20
        self._faq_stamp = _stamp(self.settings.data_path / "faq" / "active.json")  # what this process serves
        self._refused_version: str | None = None
        self.embedders = embedders_registry(bot.settings)
        self._embedder = _name(self.embedders.current())  # what this process serves the FAQ with

    # -- FAQ ----------------------------------------------------------------------------------
    def apply_faq(self, path: str | Path, adapt: bool | None = None) -> dict:
        """Validates, indexes and serves the FAQ in ``path``. Raises ``FaqError`` (and changes
        nothing) when the file is not a valid FAQ. Then starts adapting the embedder to it in
        the background when ``adapt`` (default: the ``adapt_embedder`` setting) and no other
        job runs; ``adaptation`` in the result says which."""
        started = time.perf_counter()
        entries = load_faq(path, max_bytes=self.max_upload_bytes)
        with self._faq_lock:
            index = self._index(entries)
            active = self.settings.data_path / "faq" / "active.json"
            tmp = active.with_suffix(".json.tmp")
            save_faq(entries, tmp)
            tmp.replace(active)  # the FAQ served after a restart
            self._faq_stamp = _stamp(active)
            previous = len(self.bot.faq)
            self.bot.swap_faq(index)
        result = {
            "entries": len(entries),
            "previous_entries": previous,
            "seconds": round(time.perf_counter() - started, 2),
            "adaptation": "off",
            "adaptation_job": None,
        }
        if self.settings.adapt_embedder if adapt is None else adapt:
            try:
                result["adaptation_job"] = self.start_adapt().id
                result["adaptation"] = f"job {result['adaptation_job']}"
            except RuntimeError as exc:
                result["adaptation"] = f"not started: {exc}; start it when that job is done"
        return result

    def add_faq_entry(
        self, question: str, answer: str, alternatives: tuple[str, ...] = (), faq_id: str | None = None
    ) -> FaqEntry:
        """A new FAQ entry (e.g. from an unanswered theme), validated and served at once like an
        uploaded FAQ. Raises ``FaqError`` for an empty question or answer or a taken id."""
        faq_id = faq_id or "q-" + hashlib.sha256(question.strip().lower().encode()).hexdigest()[:8]
        [checked] = validate_faq([(1, {"id": faq_id, "question": question, "answer": answer})], "new entry")
        with self._faq_lock:
            entries = list(self.bot.faq.entries)
            if any(e.id == checked.id for e in entries):
                raise FaqError([RowError("new entry", 1, "id", f"'{checked.id}' is already an FAQ entry")])
            extra = tuple(dict.fromkeys(a.strip() for a in alternatives if a.strip() and a.strip() != checked.question))
            entry = FaqEntry(checked.id, checked.question, checked.answer, checked.category, extra)
            self._serve(entries + [entry])
        return entry

    def _serve(self, entries: list[FaqEntry]) -> None:
        """Indexes ``entries`` (incrementally), records them as the served FAQ and swaps them in."""
        index = self._index(entries)
        active = self.settings.data_path / "faq" / "active.json"
        save_faq(entries, active.with_suffix(".json.tmp"))
        active.with_suffix(".json.tmp").replace(active)
        self._faq_stamp = _stamp(active)
        self.bot.swap_faq(index)

    def add_phrasing(self, faq_id: str, text: str) -> None:
        """A reviewed question becomes an alternative phrasing of an FAQ entry, served at once."""
        with self._faq_lock:
            entries = list(self.bot.faq.entries)
            for i, entry in enumerate(entries):
                if entry.id == faq_id:
                    if text not in entry.phrasings:
                        entries[i] = FaqEntry(
                            entry.id, entry.question, entry.answer, entry.category, (*entry.alternatives, text)
                        )
                    break
            else:
                raise KeyError(f"no FAQ entry '{faq_id}'")
            self._serve(entries)

    # -- FAQ-adapted embedder ---------------------------------------------------------------------
    def start_adapt(self, args: AdaptArgs | None = None) -> Job:
        """Adapts the embedder to the served FAQ in a background thread; poll the returned job."""
        return self._start("adapt", "embedder", self._adapt, args or AdaptArgs(device=self.settings.device))

    def _adapt(self, job: Job, args: AdaptArgs) -> tuple[str, dict]:
        """The adaptation job: returns its outcome and result (see ``_run``)."""
        entries = list(self.bot.faq.entries)
        name = self.embedders.new_version_name()
        report = adapt_embedder(entries, self.settings.model, self.embedders.root / name, args, self._progress(job))
        job.progress, job.message = 0.96, "Indexing the FAQ with the chosen embedder"
        if report.selected == "adapted":
            self.use_embedder(name)
            outcome = f"the FAQ-adapted embedder {name} is serving: {report.reason}"
        elif self._embedder is not None:
            self.use_embedder(None)
            outcome = f"the base embedder serves again: {report.reason}"
        else:
            outcome = f"the base embedder stays: {report.reason}"
        pruned = self.embedders.prune(self.settings.keep_embedders, protect={name})
        return outcome, {**report.to_dict(), "serving": self._embedder or "base", "pruned": pruned}

    def use_embedder(self, name: str | None) -> None:
        """Serves the FAQ with the adapted embedder ``name``, or with the base model (``None``):
        a rollback or forward. The index is loaded from cache or built first, then swapped.
        Raises ``KeyError`` for an unknown name, ``ValueError`` for one that cannot serve."""
        adapter = None if name is None else checked_adapter(self.settings, self.embedders.path(name))
        encoder = faq_encoder(self.settings, adapter)
        with self._faq_lock:
            index = cached_faq_index(self.settings, list(self.bot.faq.entries), encoder)
            if name is None:
                self.embedders.deactivate()
            else:
                self.embedders.activate(name)
            self.bot.swap_faq(index)
            self._embedder = name

    def embedder_versions(self) -> list[dict]:
        """The adapted embedders on disk, oldest first, with their gate figures."""
        rows = []
        for name in self.embedders.versions():
            record = load_record(self.embedders.root / name)
            report = record.get("report", {})
            rows.append(
                {
                    "name": name,
                    "serving": name == self._embedder,
                    "created_at": record.get("created_at"),
                    "entries": record.get("entries"),
                    "base_hit_at_1": report.get("base_hit_at_1"),
                    "adapted_hit_at_1": report.get("adapted_hit_at_1"),
                    "heldout": report.get("heldout"),
                }
            )
        return rows

    def _index(self, entries: list[FaqEntry]) -> FaqIndex:
        index = self.bot.faq.updated(entries)  # incremental: re-embeds only what changed
        folder = faq_index_folder(self.settings, entries, self.bot.faq.encoder)
        if not (folder / "meta.json").is_file():
            index.save(folder)
        return index

    # -- dialog logs --------------------------------------------------------------------------
    def import_dialogs(self, path: str | Path) -> dict:
        """Labelled user turns become training examples; the rest go to the review queue with a
        suggested intent and FAQ entry. Raises ``DataError`` for a malformed file."""
        from finetune.dialogs import load_dialogs, split_turns

        conversations = load_dialogs(path, max_bytes=self.max_upload_bytes)
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
        path = self.settings.data_path / "exports" / f"conversations-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
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
            self.add_phrasing(label, row["text"])

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

    # -- training -----------------------------------------------------------------------------
    def training_examples(self) -> list[Example]:
        """The intents' own examples plus every example labelled since (imports, reviews)."""
        examples = load_examples(Path(self.settings.assets_dir) / "intents.yaml")
        seen = {(e.text, e.intent) for e in examples}
        for row in self.store.examples():
            if (row["text"], row["intent"]) not in seen:
                examples.append(Example(row["text"], row["intent"]))
                seen.add((row["text"], row["intent"]))
        return examples

    def start_retrain(self, force: bool = False, args: TrainingArgs | None = None) -> Job:
        """Starts retraining in a background thread; poll the returned job."""
        return self._start("retrain", "model", self._retrain, force, args)

    def _start(self, kind: str, serving: str, body: Callable[..., tuple[str, dict]], *args) -> Job:
        """Runs ``body(job, *args)`` in a background thread; one job at a time (two trainings
        on the same cores would each run many times slower): ``RuntimeError`` if one runs.
        ``serving`` names what a cancelled or failed job leaves unchanged, for its message."""
        with self._job_lock:
            if self._job is not None and self._job.status == "running":
                raise RuntimeError(f"a {self._job.kind} job is already running (job {self._job.id})")
            job = Job(self.store.start_job(kind), kind)
            job.thread = threading.Thread(target=self._run, args=(job, serving, body, *args), daemon=True, name=kind)
            self._job = job
        job.thread.start()
        return job

    def _run(self, job: Job, serving: str, body: Callable[..., tuple[str, dict]], *args) -> None:
        """A job's thread: the body returns its outcome and result; its end is recorded in the
        job and the database whichever way it ends."""
        try:
            outcome, result = body(job, *args)
            job.result = result
            job.status, job.progress, job.message = "done", 1.0, outcome
            self.store.finish_job(job.id, "done", outcome, result)
        except Cancelled:
            job.status, job.message = "cancelled", f"cancelled by the operator; the serving {serving} is unchanged"
            self.store.finish_job(job.id, "cancelled", job.message)
        except Exception as exc:
            log.exception("%s job %d failed", job.kind, job.id)
            job.status, job.message = "failed", f"failed: {exc}; the serving {serving} is unchanged"
            self.store.finish_job(job.id, "failed", job.message)

    def _progress(self, job: Job, start: float = 0.0, span: float = 0.95) -> Callable[[float, str], None]:
        """A training's ``progress(fraction, message)`` for ``job``: it raises ``Cancelled`` once
        the operator cancelled, and records progress in the database at most once a second."""
        last_write = 0.0

        def progress(fraction: float, message: str) -> None:
            nonlocal last_write
            if job.cancel_event.is_set():
                raise Cancelled()
            job.progress, job.message = start + span * fraction, message
            if time.monotonic() - last_write > 1.0:  # the database row is for the record, not for polling
                self.store.update_job(job.id, job.progress, message)
                last_write = time.monotonic()

        return progress

    @property
    def job(self) -> Job | None:
        return self._job

    def retrain_split(self, examples: list[Example]) -> tuple[list[Example], list[Example], dict]:
        """Splits ``examples`` into what the next version trains on and the held-out set the
        gate compares on: the serving version's held-out examples, plus a stratified share of
        the examples it has never seen. Neither version is trained on the held-out set."""
        serving = self.registry.current()
        record = load_example_record(serving) if serving is not None else None
        hashes = [example_hash(e.text, e.intent) for e in examples]
        if record is None:
            carried, new = [], list(examples)
        else:
            carried = [e for e, h in zip(examples, hashes) if h in record["heldout"]]
            new = [e for e, h in zip(examples, hashes) if h not in record["heldout"] and h not in record["trained"]]
        _, new_heldout = stratified_split(new, self.settings.holdout_fraction, seed=0)
        heldout = carried + new_heldout
        held = set(heldout)
        training = [e for e in examples if e not in held]
        info = {
            "heldout": len(heldout),
            "carried_over": len(carried),
            "new_heldout": len(new_heldout),
            "new_examples": len(new),
            "fair": record is not None,
        }
        if record is None:
            info["note"] = "the serving version has no record of its training data: it may have seen these examples"
        return training, heldout, info

    def _retrain(self, job: Job, force: bool, args: TrainingArgs | None) -> tuple[str, dict]:
        """The retraining job: returns its outcome and result (see ``_run``)."""
        progress = self._progress(job, 0.05, 0.85)
        job.message = "Collecting the training data"
        examples = self.training_examples()
        known = set(self.bot.domain.intents)
        unknown = sorted({e.intent for e in examples} - known - {"oos"})
        if unknown:
            raise ValueError(f"examples name intents that intents.yaml does not define: {unknown}")
        train_set, test_set, evaluation = self.retrain_split(examples)
        job.message = "Checking new intents against the serving model"
        overlaps = intent_overlaps(self.bot.classifier, train_set)
        for overlap in overlaps:
            log.warning(
                "new intent %r: the serving model reads %.0f%% of its examples as %r",
                overlap["new_intent"],
                100 * overlap["share"],
                overlap["old_intent"],
            )
        name = self.registry.new_version_name()
        args = args or TrainingArgs(base_model=self.settings.model, device=self.settings.device)
        serving_path = self.registry.current()
        training = {"warm_start_from": None}
        classifier = None
        if self.settings.warm_start and serving_path is not None:
            try:
                classifier = train(
                    train_set, args, progress=progress, show_progress=False, base=serving_path, heldout=test_set
                )
                training["warm_start_from"] = serving_path.name
            except ModelMismatchError as exc:  # another base model now: start from scratch
                log.warning("retraining from scratch: %s", exc)
                training["scratch_reason"] = str(exc)
        if classifier is None:
            classifier = train(train_set, args, progress=progress, show_progress=False, heldout=test_set)
        progress(1.0, "Evaluating against the serving version")
        job.progress = 0.92
        saved = self.compare(classifier, self.bot.classifier, test_set)
        saved["evaluation"] = {**evaluation, **saved["evaluation"]}
        saved["training"] = {**training, "seconds": classifier.version["metrics"]["train_seconds"]}
        saved["overlaps"] = overlaps
        gate = saved["gate"]
        with atomic_directory(self.registry.root / name) as tmp:
            classifier.save(tmp)
            (tmp / REPORT_FILE).write_text(json.dumps(saved, indent=1), encoding="utf-8")
        if gate["passed"] or force:
            self.activate(name)
            outcome = f"{name} is serving" + (" (forced past the gate)" if not gate["passed"] else "")
        else:
            outcome = f"{name} kept as a candidate: {gate['reason']}"
        pruned = self.registry.prune(self.settings.keep_versions, protect={name})
        if pruned:
            log.info("deleted the oldest model versions (keep_versions=%d): %s", self.settings.keep_versions, pruned)
        result = {
            "version": name,
            "pruned_versions": pruned,
            "activated": gate["passed"] or force,
            "gate": gate,
            "report": saved["report"],
            "old_intents": saved["old_intents"],
            "new_intents": saved["new_intents"],
            "overlaps": overlaps,
            "warm_start_from": training["warm_start_from"],
        }
        return outcome, result

    def compare(self, new: IntentClassifier, serving: IntentClassifier, heldout: list[Example]) -> dict:
        """Both versions on the held-out examples: overall, on the intents the serving version
        knows (the gate: no regression there beyond the margin) and on the new intents."""
        known = set(serving.labels)
        old_rows = [e for e in heldout if e.intent in known]
        new_rows = [e for e in heldout if e.intent not in known and e.intent in set(new.labels)]
        report = evaluate(new, heldout).to_dict()
        serving_report = evaluate(serving, heldout).to_dict()
        if old_rows:
            new_old, serving_old = evaluate(new, old_rows).to_dict(), evaluate(serving, old_rows).to_dict()
            gate = check_gate(new_old, serving_old, self.settings.gate_margin, self.settings.gate_min_support)
        else:
            new_old = serving_old = {"accuracy": None}
            gate = {
                "passed": False,
                "reason": "no held-out examples of the serving version's intents to compare on",
                "margin": self.settings.gate_margin,
            }
        new_report = evaluate(new, new_rows).to_dict() if new_rows else {"accuracy": None}
        # held-out rows of known intents that the new version now sends to a new intent
        lost = [c for c in new_old.get("confusions", []) if c["predicted"] not in known]
        return {
            "report": report,
            "serving": serving_report,
            "gate": gate,
            "old_intents": {
                "n": len(old_rows),
                "accuracy": new_old["accuracy"],
                "serving_accuracy": serving_old["accuracy"],
                "lost_to_new_intents": lost,
            },
            "new_intents": {
                "n": len(new_rows),
                "intents": sorted({e.intent for e in new_rows}),
                "accuracy": new_report["accuracy"],
            },
            "evaluation": {"n": len(heldout)},
        }

    # -- versions -----------------------------------------------------------------------------
    def versions(self) -> list[dict]:
        rows = self.registry.describe()
        for row in rows:
            report = self.report(row["name"])
            row["test_accuracy"] = (report or {}).get("report", {}).get("accuracy")
            row["old_intents_accuracy"] = (report or {}).get("old_intents", {}).get("accuracy")
            row["new_intents_accuracy"] = (report or {}).get("new_intents", {}).get("accuracy")
            row["gate"] = (
                None if report is None else ("passed" if report["gate"]["passed"] else report["gate"]["reason"])
            )
        return rows

    def report(self, name: str) -> dict | None:
        path = self.registry.path(name) / REPORT_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def activate(self, name: str) -> None:
        """Serves version ``name`` (a rollback when it is older): loaded first, then swapped."""
        classifier = load_classifier(self.settings, self.registry.path(name))
        with self._model_lock:
            self.bot.swap_classifier(classifier)
            self.registry.activate(name)
            self.bot.model_version = name

    # -- changes made by another process --------------------------------------------------------
    def sync_with_disk(self) -> list[str]:
        """Serves what an admin command in another process (``python -m chatbot admin ...``)
        changed on disk: the model version that ``current`` names, the FAQ embedder, and the
        applied FAQ. Loaded first, then swapped, like the console's own changes. Returns what it swapped."""
        swapped = []
        current = self.registry.current()
        if current is not None and current.name not in (self.bot.model_version, self._refused_version):
            with self._model_lock:
                if current.name != self.bot.model_version:
                    try:
                        self.activate(current.name)
                        swapped.append(f"model {current.name}")
                    except Exception as exc:  # a damaged version: keep serving, do not retry it
                        self._refused_version = current.name
                        log.error("not serving model version %s written by another process: %s", current.name, exc)
        embedder = _name(self.embedders.current())
        if embedder != self._embedder:
            try:
                self.use_embedder(embedder)
                swapped.append(f"FAQ embedder {embedder or 'base'}")
            except (KeyError, ValueError, OSError) as exc:
                log.error("not serving the FAQ embedder %s set by another process: %s", embedder, exc)
                self._embedder = embedder  # do not retry it every tick
        active = self.settings.data_path / "faq" / "active.json"
        if _stamp(active) != self._faq_stamp:
            with self._faq_lock:
                stamp = _stamp(active)
                if stamp != self._faq_stamp:
                    try:
                        entries = load_faq(active_faq_path(self.settings))
                        if faq_hash(entries) != faq_hash(self.bot.faq.entries):
                            self.bot.swap_faq(self._index(entries))
                            swapped.append(f"FAQ of {len(entries)} entries")
                    except (FaqError, OSError) as exc:
                        log.error("not serving the FAQ written by another process: %s", exc)
                    self._faq_stamp = stamp
        return swapped

    def follow_disk(self, interval: float) -> threading.Event:
        """Checks every ``interval`` seconds, in a daemon thread, for changes made by another
        process. Set the returned event to stop."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    for change in self.sync_with_disk():
                        log.info("now serving the %s written by another process", change)
                except Exception:  # never let the follower die: it is retried at the next tick
                    log.exception("checking the data folder for changes failed")

        threading.Thread(target=loop, name="follow-disk", daemon=True).start()
        return stop


def _name(path: Path | None) -> str | None:
    return None if path is None else path.name


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def check_gate(new: dict, serving: dict, margin: float, min_support: int = 1) -> dict:
    """The new version may serve when neither overall accuracy nor any intent the serving
    version knew drops by more than ``margin`` (F1 per intent). Intents with fewer than
    ``min_support`` held-out examples are not judged one by one: one example of two is a
    50-point swing, which says more about the sample than about the model."""
    overall_drop = (serving["accuracy"] or 0) - (new["accuracy"] or 0)
    drops = {
        intent: round(scores["f1"] - new["per_intent"].get(intent, {"f1": 0.0})["f1"], 4)
        for intent, scores in serving["per_intent"].items()
        if scores.get("support", min_support) >= min_support
    }
    worst = max(drops.items(), key=lambda kv: kv[1], default=(None, 0.0))
    if overall_drop > margin:
        reason = f"accuracy drops by {100 * overall_drop:.1f} points (allowed {100 * margin:.1f})"
    elif worst[1] > margin:
        reason = f"intent '{worst[0]}' F1 drops by {100 * worst[1]:.1f} points (allowed {100 * margin:.1f})"
    else:
        reason = "no regression beyond the margin"
    return {
        "passed": overall_drop <= margin and worst[1] <= margin,
        "reason": reason,
        "accuracy_change": round(-overall_drop, 4),
        "worst_intent": worst[0],
        "worst_intent_drop": worst[1],
        "intents_judged": len(drops),
        "margin": margin,
    }


# -- the admin password ---------------------------------------------------------------------------
def _hash(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1).hex()


class AdminAuth:
    """The console's login. The password comes from settings/environment, or is generated at
    first start, printed once and stored only as a salted scrypt hash. Never a default.
    Repeated failures lock the login for a while (per user name)."""

    def __init__(self, store: Store, user: str, password: str | None, announce: Callable[[str], None] = print):
        self.user = user
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        if password:
            salt = secrets.token_bytes(16)
            self._salt, self._hash = salt, _hash(password, salt)
            return
        stored = store.get(PASSWORD_KEY)
        if stored is None:
            password = secrets.token_urlsafe(12)
            salt = secrets.token_bytes(16)
            store.put(PASSWORD_KEY, json.dumps({"salt": salt.hex(), "hash": _hash(password, salt)}))
            announce(
                f"\n  Admin console: user '{user}', generated password: {password}\n"
                "  (shown once; stored hashed. Set CHATBOT_ADMIN_PASSWORD to choose your own.)\n"
            )
            stored = store.get(PASSWORD_KEY)
        record = json.loads(stored)
        self._salt, self._hash = bytes.fromhex(record["salt"]), record["hash"]

    max_failures = 5
    lockout_seconds = 300.0

    def locked(self, user: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(user, []) if now - t < self.lockout_seconds]
            self._failures[user] = recent
            return len(recent) >= self.max_failures

    def __call__(self, user: str, password: str) -> bool:
        if self.locked(user):
            return False
        ok = hmac.compare_digest(user.encode(), self.user.encode()) & hmac.compare_digest(
            _hash(password, self._salt), self._hash
        )
        if not ok:
            with self._lock:
                self._failures.setdefault(user, []).append(time.monotonic())
        return ok
