"""Retraining the intent classifier, the gate, and the model versions (rollback included).

Retraining runs as a background job with progress and cancel, recorded in the database. It
warm-starts from the serving version (new intents extend its head; earlier examples are
replayed), evaluates the new and the serving version on examples neither trained on, and the
new one replaces the serving one only when it passes the gate (or the operator forces it).

The fair comparison: every version records the hashes of the examples it trained on and of
those held out from it (``examples.json``). A retraining keeps the serving version's held-out
examples out of training again and adds a stratified share (``holdout_fraction``) of the
examples new since then; the gate compares both versions on that set, which neither version
was trained on. (The serving version may have used its held-out share for early stopping and
threshold calibration: if anything that favours the serving version, so the gate errs on the
side of keeping it.) A version without that record (made before it existed) is compared on a
held-out split it may have seen; the report says so (``"fair": false``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict

from chatbot.admin.jobs import Job, JobRunner
from chatbot.admin.report import Gate, HeldOut, NewIntents, OldIntents, RetrainReport, TrainingRun, check_gate
from chatbot.artifacts import load_classifier, models_registry
from chatbot.bot import Bot
from chatbot.store import Store
from finetune import (
    Example,
    IntentClassifier,
    ModelMismatchError,
    Overlap,
    TrainingArgs,
    evaluate,
    example_hash,
    intent_overlaps,
    load_example_record,
    load_examples,
    stratified_split,
    train,
)
from retrieval.atomic import atomic_directory

log = logging.getLogger(__name__)


class ModelAdmin:
    """Retraining, the gate, and which model version serves."""

    def __init__(self, bot: Bot, store: Store, jobs: JobRunner):
        self.bot = bot
        self.store = store
        self.settings = bot.settings
        self.jobs = jobs
        self.registry = models_registry(bot.settings)
        self._lock = threading.RLock()
        self._refused_version: str | None = None

    # -- training ----------------------------------------------------------------------------
    def training_examples(self) -> list[Example]:
        """The intents' own examples plus every example labelled since (imports, reviews)."""
        examples = load_examples(self.settings.assets_path / "intents.yaml")
        seen = {(e.text, e.intent) for e in examples}
        for row in self.store.examples():
            if (row["text"], row["intent"]) not in seen:
                examples.append(Example(row["text"], row["intent"]))
                seen.add((row["text"], row["intent"]))
        return examples

    def start_retrain(self, force: bool = False, args: TrainingArgs | None = None) -> Job:
        """Starts retraining in a background thread; poll the returned job."""
        return self.jobs.start("retrain", "model", self._retrain, force, args)

    def retrain_split(self, examples: list[Example]) -> tuple[list[Example], list[Example], HeldOut]:
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
        info = HeldOut(
            heldout=len(heldout),
            carried_over=len(carried),
            new_heldout=len(new_heldout),
            new_examples=len(new),
            fair=record is not None,
            note=None
            if record is not None
            else "the serving version has no record of its training data: it may have seen these examples",
        )
        return training, heldout, info

    def _retrain(self, job: Job, force: bool, args: TrainingArgs | None) -> tuple[str, dict]:
        """The retraining job: returns its outcome and result (see ``_run``)."""
        progress = self.jobs.progress(job, 0.05, 0.85)
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
            log.warning(overlap.warning())
        name = self.registry.new_version_name()
        args = args or TrainingArgs(base_model=self.settings.model_path, device=self.settings.device)
        classifier, warm_start_from, scratch_reason = self._train(train_set, test_set, args, progress)
        progress(1.0, "Evaluating against the serving version")
        job.progress = 0.92
        saved = self.compare(
            classifier,
            self.bot.classifier,
            test_set,
            evaluation,
            TrainingRun(classifier.version.metrics.train_seconds, warm_start_from, scratch_reason),
            overlaps,
        )
        gate = saved.gate
        with atomic_directory(self.registry.root / name) as tmp:
            classifier.save(tmp)
            saved.write(tmp)
        if gate.passed or force:
            self.activate(name)
            outcome = f"{name} is serving" + (" (forced past the gate)" if not gate.passed else "")
        else:
            outcome = f"{name} kept as a candidate: {gate.reason}"
        pruned = self.registry.prune(self.settings.keep_versions, protect={name})
        if pruned:
            log.info("deleted the oldest model versions (keep_versions=%d): %s", self.settings.keep_versions, pruned)
        result = {
            "version": name,
            "pruned_versions": pruned,
            "activated": gate.passed or force,
            "gate": asdict(gate),
            "report": saved.report,
            "old_intents": asdict(saved.old_intents),
            "new_intents": asdict(saved.new_intents),
            "overlaps": [asdict(overlap) for overlap in saved.overlaps],
            "warm_start_from": warm_start_from,
        }
        return outcome, result

    def _train(
        self, train_set: list[Example], test_set: list[Example], args: TrainingArgs, progress
    ) -> tuple[IntentClassifier, str | None, str | None]:
        """Warm-starts from the serving version when it can, else trains from scratch; returns the
        classifier, the version it continued from, and why it could not."""
        serving_path = self.registry.current()
        reason = None
        if self.settings.warm_start and serving_path is not None:
            try:
                classifier = train(
                    train_set, args, progress=progress, show_progress=False, base=serving_path, heldout=test_set
                )
                return classifier, serving_path.name, None
            except ModelMismatchError as exc:  # another base model now: start from scratch
                log.warning("retraining from scratch: %s", exc)
                reason = str(exc)
        return train(train_set, args, progress=progress, show_progress=False, heldout=test_set), None, reason

    def compare(
        self,
        new: IntentClassifier,
        serving: IntentClassifier,
        heldout: list[Example],
        evaluation: HeldOut,
        training: TrainingRun,
        overlaps: list[Overlap],
    ) -> RetrainReport:
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
            gate = Gate(
                False, "no held-out examples of the serving version's intents to compare on", self.settings.gate_margin
            )
        new_report = evaluate(new, new_rows).to_dict() if new_rows else {"accuracy": None}
        # held-out rows of known intents that the new version now sends to a new intent
        lost = [c for c in new_old.get("confusions", []) if c["predicted"] not in known]
        return RetrainReport(
            report=report,
            serving=serving_report,
            gate=gate,
            old_intents=OldIntents(len(old_rows), new_old["accuracy"], serving_old["accuracy"], lost),
            new_intents=NewIntents(len(new_rows), sorted({e.intent for e in new_rows}), new_report["accuracy"]),
            evaluation=evaluation,
            training=training,
            overlaps=overlaps,
        )

    # -- versions -----------------------------------------------------------------------------
    def versions(self) -> list[dict]:
        rows = self.registry.describe()
        for row in rows:
            report = self.report(row["name"])
            row["test_accuracy"] = None if report is None else report.report["accuracy"]
            row["old_intents_accuracy"] = None if report is None else report.old_intents.accuracy
            row["new_intents_accuracy"] = None if report is None else report.new_intents.accuracy
            row["gate"] = None if report is None else ("passed" if report.gate.passed else report.gate.reason)
        return rows

    def report(self, name: str) -> RetrainReport | None:
        return RetrainReport.read(self.registry.path(name))

    def activate(self, name: str) -> None:
        """Serves version ``name`` (a rollback when it is older): loaded first, then swapped."""
        classifier = load_classifier(self.settings, self.registry.path(name))
        with self._lock:
            self.bot.swap_classifier(classifier)
            self.registry.activate(name)
            self.bot.model_version = name

    # -- changes made by another process --------------------------------------------------------
    def sync_with_disk(self) -> list[str]:
        """Serves the model version that ``current`` names when another process changed it;
        returns what it swapped. A version that fails to load is refused once, not retried."""
        current = self.registry.current()
        if current is None or current.name in (self.bot.model_version, self._refused_version):
            return []
        with self._lock:
            if current.name == self.bot.model_version:
                return []
            try:
                self.activate(current.name)
            except Exception as exc:  # a damaged version: keep serving, do not retry it
                self._refused_version = current.name
                log.error("not serving model version %s written by another process: %s", current.name, exc)
                return []
        return [f"model {current.name}"]
