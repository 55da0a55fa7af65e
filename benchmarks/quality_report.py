"""The results of ``benchmarks/quality.py`` (one dataclass per run) and how they are summed
up: mean and population std over splits, the JSON summaries and the printed tables."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


# -- FAQ retrieval --
@dataclass(frozen=True)
class RetrievalScores:
    n: int
    hit_at_1: float
    hit_at_5: float
    mrr: float


@dataclass(frozen=True)
class AnswerScores:
    """What the router would do with the top hit at the calibrated thresholds: the share of
    queries answered directly (score >= answer threshold, or a code match), the share of those
    answers that are right, and the share of the rest offered the right entry as a suggestion."""

    answer_threshold: float
    suggest_threshold: float
    answered: float
    answer_precision: float
    suggested_right: float


@dataclass(frozen=True)
class Adaptation:
    """The embedder adapted to one FAQ: the gate's verdict and figures (hit@1 on the held-out
    phrasings, base and adapted), the minutes it took, the product's search with the embedder
    that serves afterwards."""

    selected: str
    gate_base: float | None
    gate_adapted: float | None
    minutes: float
    served: RetrievalScores


@dataclass(frozen=True)
class FaqRun:
    """One FAQ set (one split of it): the product's search, the dense baseline, the search
    after adaptation, and the answers given at the calibrated thresholds (of the served
    embedder)."""

    seed: int | None
    ours: RetrievalScores
    dense: RetrievalScores
    answers: AnswerScores
    adapted: Adaptation | None


# -- intent classification --
@dataclass(frozen=True)
class IntentScores:
    accuracy: float
    macro_f1: float


@dataclass(frozen=True)
class IntentRun:
    """One split: the fine-tuned classifier, the baseline, and what training recorded."""

    seed: int
    train_rows: int
    test_rows: int
    ours: IntentScores
    baseline: IntentScores
    baseline_c: float
    train_minutes: float
    val_accuracy: float | None
    logreg_val_accuracy: float | None
    best_epoch: int | None
    epochs_run: int | None
    selected: object  # version["selected"] when train() records it (which model was kept)


# -- summaries --
@dataclass(frozen=True)
class Spread:
    mean: float
    std: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(round(float(np.mean(values)), 4), round(float(np.std(values)), 4))

    def __str__(self) -> str:
        return f"{self.mean:.3f} ± {self.std:.3f}"


def faq_summary(runs: list[FaqRun]) -> dict:
    def system(scores: list[RetrievalScores]) -> dict:
        return {
            "n": scores[0].n,
            **{key: asdict(Spread.of([getattr(s, key) for s in scores])) for key in ("hit_at_1", "hit_at_5", "mrr")},
        }

    ours, dense = [r.ours for r in runs], [r.dense for r in runs]
    diff = Spread.of([o.hit_at_1 - d.hit_at_1 for o, d in zip(ours, dense)])
    answers = [r.answers for r in runs]
    adaptations = [r.adapted for r in runs if r.adapted is not None]
    adapted = None
    if adaptations:
        adapted = {
            **system([a.served for a in adaptations]),
            "selected": [a.selected for a in adaptations],
            "minutes": asdict(Spread.of([a.minutes for a in adaptations])),
        }
    return {
        "splits": len(runs),
        "ours": system(ours),
        "dense": system(dense),
        "adapted": adapted,
        "hit_at_1_diff": diff.mean,
        "answers": {key: asdict(Spread.of([getattr(a, key) for a in answers])) for key in asdict(answers[0])},
        "per_split": [asdict(r) for r in runs],
    }


def intent_summary(runs: list[IntentRun]) -> dict:
    def system(scores: list[IntentScores]) -> dict:
        return {key: asdict(Spread.of([getattr(s, key) for s in scores])) for key in ("accuracy", "macro_f1")}

    differences = [r.ours.accuracy - r.baseline.accuracy for r in runs]
    return {
        "splits": len(runs),
        "ours": system([r.ours for r in runs]),
        "baseline": system([r.baseline for r in runs]),
        "ours_at_least_baseline": sum(d >= 0 for d in differences),
        "accuracy_diff_mean": round(float(np.mean(differences)), 4),
        "train_minutes": round(sum(r.train_minutes for r in runs), 2),
        "per_split": [asdict(r) for r in runs],
    }


def faq_table(results: dict[str, list[FaqRun]]) -> list[str]:
    lines = [f"{'FAQ retrieval':16} {'system':16} {'n':>5} {'hit@1':>13} {'hit@5':>13} {'MRR':>13}"]
    for name, runs in results.items():
        systems = [("dense baseline", [r.dense for r in runs]), ("ours, base", [r.ours for r in runs])]
        adaptations = [r.adapted for r in runs if r.adapted is not None]
        if adaptations:
            systems.append(("ours, adapted", [a.served for a in adaptations]))
        for label, scores in systems:
            cells = [str(Spread.of([getattr(s, key) for s in scores])) for key in ("hit_at_1", "hit_at_5", "mrr")]
            lines.append(f"{name:16} {label:16} {scores[0].n:>5} " + " ".join(f"{c:>13}" for c in cells))
            name = ""
        if adaptations:
            gates = ", ".join(f"{a.selected} ({a.gate_base} -> {a.gate_adapted}, {a.minutes} min)" for a in adaptations)
            lines.append(f"{'':16} gate (held-out phrasings, base -> adapted): {gates}")
    lines.append("mean ± population std over splits (banking77-faq only has several); dense = best row's cosine")
    lines.append("ours, adapted: with the embedder serving after adaptation (the base one where the gate refused)")
    lines.append("")
    lines.append(
        f"{'router':16} {'answer at':>10} {'suggest at':>10} {'answered':>13} {'precision':>13} {'offered':>13}"
    )
    for name, runs in results.items():
        answers = [r.answers for r in runs]
        cells = [
            str(Spread.of([getattr(a, key) for a in answers]))
            for key in ("answered", "answer_precision", "suggested_right")
        ]
        lines.append(
            f"{name:16} {answers[0].answer_threshold:>10.3f} {answers[0].suggest_threshold:>10.3f} "
            + " ".join(f"{c:>13}" for c in cells)
        )
    lines.append(
        "at the calibrated thresholds: share answered directly, right among those, right entry offered to the rest"
    )
    return lines


def intent_table(results: dict[str, list[IntentRun]]) -> list[str]:
    lines = [f"{'intent':16} {'system':28} {'splits':>6} {'accuracy':>13} {'macro-F1':>13}"]
    for name, runs in results.items():
        systems = (
            ("ours (fine-tuned)", [r.ours for r in runs]),
            ("logreg, frozen (C on test)", [r.baseline for r in runs]),
        )
        for label, scores in systems:
            accuracy, f1 = (Spread.of([getattr(s, key) for s in scores]) for key in ("accuracy", "macro_f1"))
            lines.append(f"{name:16} {label:28} {len(runs):>6} {str(accuracy):>13} {str(f1):>13}")
            name = ""
        summary = intent_summary(runs)
        lines.append(
            f"{'':16} ours >= baseline in {summary['ours_at_least_baseline']}/{len(runs)} splits, "
            f"mean difference {summary['accuracy_diff_mean']:+.4f}, training {summary['train_minutes']:.1f} min"
        )
    lines.append(
        "baseline: logistic regression on frozen embeddings, C in (1, 10, 100) chosen on the test set (optimistic)"
    )
    return lines
