"""FAQ-adapted sentence embeddings: a LoRA adapter on the embedder, trained on the operator's FAQ.

The base embedder (all-MiniLM-L6-v2) was trained on general paraphrases; a customer's
question and the FAQ answer to it are often worded far apart ("can I go to the dentist" vs an
answer about "non-urgent medical care"). Contrastive training on what the operator already
gave closes much of that gap: on CovidFAQ (67 entries, no alternative phrasings, 1,387 real
user questions never trained on) hit@1 rose from 0.49 to about 0.6 in two minutes on 2 CPU
cores (``benchmarks/quality.py``).

The recipe:

1. **Pairs**: every phrasing (question and alternatives) with its entry's answer, and the
   first sentences of each answer with the entry's question (customers often word a question
   like the answer's first lines).
2. **Training**: a LoRA adapter on the query and value projections, in-batch negatives (the
   multiple-negatives ranking loss of sentence-transformers: each anchor must pick its own
   positive among the batch's), where a positive of the same entry is not counted as a
   negative. The base network stays in inference mode (no dropout); only LoRA's dropout acts.
3. **Gate** (cross-validation over ``folds``): the entries are dealt into folds; for each,
   one phrasing of each of its entries is held out (an alternative if the entry has one, else
   its question), an adapter is trained on the pairs of what is left and the product's search
   is run on the held-out phrasings, over an index they are not in either (an entry whose
   only question was held out is found by its answer alone), with the base embedder and with
   the adapted one. The gate asks what customers ask: a question worded unlike anything
   indexed. Only if the adapted embedders found more of them (``AdaptReport``) is the final
   adapter trained, on every pair, and saved; else the base embedder stays, and the report
   says why. The served adapter is thus judged by the recipe's result on this FAQ, not by
   itself (it has seen every phrasing): the price of judging on every entry at once, which a
   single held-out share of a 67-entry FAQ (13 phrasings) could not do (ties every time).

Why not sentence-transformers' trainer: it needs ``datasets`` and ``accelerate`` and cannot
mask the other phrasings of the same entry, which are not negatives; the loop is 20 lines.

Limits: an FAQ with fewer than ``min_heldout`` entries cannot be judged and is not adapted;
training is capped at ``max_steps`` optimizer steps (a large FAQ trains on a sample of its
pairs); the adapter is trained for one FAQ and one base model (``version.json`` records both); the
gate costs ``folds`` extra trainings (CovidFAQ: about 4 minutes in all on 2 CPU cores).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from retrieval import Encoder, FaqEntry, FaqIndex, faq_hash
from retrieval.atomic import atomic_directory, write_checksums
from retrieval.encoder import model_fingerprint

ProgressCallback = Callable[[float, str], None]
ADAPTER_DIR = "adapter"
RECORD_FILE = "version.json"  # the name finetune.Registry lists versions by
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
_FOLLOW_UPS = re.compile(r"\[\[.*?\]\]")  # CovidFAQ-style "[[Would you like to know more?]]" prompts


@dataclass(frozen=True)
class AdaptArgs:
    """Hyperparameters of :func:`adapt_embedder`, recorded in ``version.json``. Chosen on our
    FAQ and CovidFAQ, confirmed on BANKING77-as-FAQ (``benchmarks/quality.py``)."""

    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    target_modules: str = r".*layer\.\d+\..*(query|value)$"
    learning_rate: float = 2e-4
    epochs: int = 3
    batch_size: int = 16
    scale: float = 20.0  # cosine -> logit, as sentence-transformers' MultipleNegativesRankingLoss
    answer_sentences: int = 3  # first sentences of an answer paired with its question
    min_sentence_chars: int = 20  # shorter ones ("Yes.") say nothing about the entry
    folds: int = 2  # the gate's cross-validation: each entry gives one phrasing to one fold
    min_heldout: int = 10  # fewer held-out phrasings cannot tell two embedders apart
    max_steps: int = 200  # optimizer steps per training run at most (a few minutes on 2 CPU cores)
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class Pair:
    """A training example: ``anchor`` should embed closest to ``positive`` of entry ``faq_id``."""

    anchor: str
    positive: str
    faq_id: str


@dataclass(frozen=True)
class Heldout:
    """A phrasing the gate asks; ``faq_id`` is the entry that answers it."""

    text: str
    faq_id: str


@dataclass(frozen=True)
class AdaptReport:
    """What an adaptation did and why its outcome serves or not."""

    selected: Literal["adapted", "base"]
    reason: str
    base_hit_at_1: float | None
    adapted_hit_at_1: float | None
    heldout: int
    pairs: int
    steps: int
    seconds: float
    version: str | None = None  # the saved version's folder name, when adapted

    def to_dict(self) -> dict:
        return asdict(self)


def holdout_phrasings(entries: list[FaqEntry], chosen: set[int]) -> tuple[list[FaqEntry], list[Heldout], set[str]]:
    """Takes one phrasing from each entry whose position is in ``chosen``. Returns the entries
    without them, the held-out phrasings, and the ids of entries left with no phrasing at all
    (their question was the one; they keep the answer as their question, so they are found by
    it)."""
    kept, heldout, answer_only = [], [], set()
    for i, entry in enumerate(entries):
        if i not in chosen:
            kept.append(entry)
        elif entry.alternatives:
            heldout.append(Heldout(entry.alternatives[-1], entry.id))
            kept.append(FaqEntry(entry.id, entry.question, entry.answer, entry.category, entry.alternatives[:-1]))
        else:
            heldout.append(Heldout(entry.question, entry.id))
            kept.append(FaqEntry(entry.id, entry.answer, entry.answer, entry.category))
            answer_only.add(entry.id)
    return kept, heldout, answer_only


def folds_of(count: int, folds: int, seed: int) -> list[set[int]]:
    """Entry positions ``0..count-1`` dealt at random into ``folds`` parts of equal size (+-1)."""
    order = np.random.default_rng(seed).permutation(count)
    return [set(order[f::folds].tolist()) for f in range(folds)]


def answer_sentences(answer: str, count: int, min_chars: int) -> list[str]:
    """The first ``count`` sentences of ``answer`` of at least ``min_chars`` characters."""
    sentences = (s.strip() for s in _SENTENCE_END.split(_FOLLOW_UPS.sub(" ", answer)))
    return [s for s in sentences if len(s) >= min_chars][:count]


def training_pairs(entries: list[FaqEntry], args: AdaptArgs, answer_only: set[str] = frozenset()) -> list[Pair]:
    """Phrasing -> answer for every phrasing; answer sentence -> question for the first
    sentences. Entries in ``answer_only`` have no phrasing to pair."""
    pairs = []
    for entry in entries:
        if entry.id in answer_only:
            continue
        pairs += [Pair(phrasing, entry.answer, entry.id) for phrasing in entry.phrasings]
        sentences = answer_sentences(entry.answer, args.answer_sentences, args.min_sentence_chars)
        pairs += [Pair(sentence, entry.question, entry.id) for sentence in sentences]
    return pairs


def hit_at_1(entries: list[FaqEntry], heldout: list[Heldout], encoder: Encoder) -> float:
    """Share of ``heldout`` phrasings whose first hit, in the product's search over
    ``entries``, is their entry."""
    index = FaqIndex.build(entries, encoder, "Flat")
    hits = [index.search(h.text, k=1) for h in heldout]
    return float(np.mean([bool(found) and found[0].faq_id == h.faq_id for h, found in zip(heldout, hits)]))


def _add_lora(encoder: Encoder, args: AdaptArgs) -> list[torch.nn.Parameter]:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(args.seed)
    config = LoraConfig(
        r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout, target_modules=args.target_modules
    )
    encoder.transformer = get_peft_model(encoder.transformer, config)
    encoder.model.eval()
    for name, module in encoder.transformer.named_modules():
        if "lora_dropout" in name:
            module.train()
    return [p for p in encoder.transformer.parameters() if p.requires_grad]


def _contrastive_loss(encoder: Encoder, batch: list[Pair], scale: float) -> torch.Tensor:
    anchors = encoder.embed(encoder.tokenize([p.anchor for p in batch]))
    positives = encoder.embed(encoder.tokenize([p.positive for p in batch]))
    logits = scale * anchors @ positives.T
    ids = [p.faq_id for p in batch]
    same_entry = torch.tensor([[a == b for b in ids] for a in ids], device=logits.device)
    not_self = ~torch.eye(len(batch), dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(same_entry & not_self, torch.finfo(logits.dtype).min)
    return torch.nn.functional.cross_entropy(logits, torch.arange(len(batch), device=logits.device))


def _per_epoch(pairs: int, args: AdaptArgs) -> int:
    """Pairs an epoch trains on: all, or a sample that keeps the run within ``max_steps``."""
    return min(pairs, args.max_steps * args.batch_size // args.epochs)


def _steps(pairs: int, args: AdaptArgs) -> int:
    return args.epochs * -(-_per_epoch(pairs, args) // args.batch_size)


def _train(encoder: Encoder, pairs: list[Pair], args: AdaptArgs, on_step: Callable[[float], None]) -> int:
    """Adds a LoRA adapter to ``encoder`` and trains it; returns the optimizer steps taken.
    ``on_step(loss)`` is called after each step (it may raise to cancel)."""
    parameters = _add_lora(encoder, args)
    optimizer = torch.optim.AdamW(parameters, lr=args.learning_rate)
    per_epoch = _per_epoch(len(pairs), args)
    done = 0
    for epoch in range(args.epochs):
        order = np.random.default_rng(args.seed + epoch).permutation(len(pairs))[:per_epoch]
        for start in range(0, len(order), args.batch_size):
            loss = _contrastive_loss(encoder, [pairs[i] for i in order[start : start + args.batch_size]], args.scale)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            on_step(loss.item())
    encoder.transformer.eval()
    return done


class _Steps:
    """Progress over every training run of an adaptation (the folds', then the final one):
    a tqdm bar on the terminal and/or the ``progress(fraction, message)`` callback."""

    def __init__(self, total: int, progress: ProgressCallback | None, show_progress: bool) -> None:
        self.total, self.done, self.progress = max(total, 1), 0, progress
        self.bar = None
        if show_progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="Adapting the embedder", unit="step")

    def __call__(self, loss: float) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.3f}")
        if self.progress is not None:
            self.progress(0.95 * self.done / self.total, f"Adapting the embedder: step {self.done}/{self.total}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def adapt_embedder(
    entries: list[FaqEntry],
    base_model: str | Path | None,
    out_dir: str | Path,
    args: AdaptArgs | None = None,
    progress: ProgressCallback | None = None,
    show_progress: bool = False,
) -> AdaptReport:
    """Adapts ``base_model`` to ``entries``; saves the adapter to ``out_dir`` (a new version
    folder, written whole or not at all) only if it passes the gate, and nothing otherwise.

    Phases: the gate's folds (per fold, train without that fold's held-out phrasings and count
    the hits of the base and the adapted embedder on them), the verdict, the final training on
    every pair, the save. ``progress(fraction, message)`` may raise to cancel."""
    args = args or AdaptArgs()
    started = time.perf_counter()
    folds = [holdout_phrasings(entries, part) for part in folds_of(len(entries), args.folds, args.seed)]
    heldout = sum(len(fold[1]) for fold in folds)

    def report(selected: Literal["adapted", "base"], reason: str, **figures) -> AdaptReport:
        values = {"base_hit_at_1": None, "adapted_hit_at_1": None, "pairs": 0, "steps": 0, **figures}
        seconds = round(time.perf_counter() - started, 1)
        return AdaptReport(selected, reason, heldout=heldout, seconds=seconds, **values)

    if heldout < args.min_heldout:
        return report("base", f"{heldout} phrasings are too few to judge an adapter (min_heldout={args.min_heldout})")
    pairs = training_pairs(entries, args)
    fold_pairs = [training_pairs(kept, args, answer_only) for kept, _, answer_only in folds]
    if min(len({p.faq_id for p in pairs}) for pairs in (pairs, *fold_pairs)) < 2:
        return report("base", "fewer than two entries to contrast")
    steps = _Steps(sum(_steps(len(p), args) for p in (pairs, *fold_pairs)), progress, show_progress)
    try:
        base, adapted = _gate(folds, fold_pairs, heldout, base_model, args, steps)
        figures = {"base_hit_at_1": round(base, 4), "adapted_hit_at_1": round(adapted, 4), "pairs": len(pairs)}
        if adapted <= base:
            reason = f"adapted on the other folds, it found {adapted:.1%} of held-out phrasings, the base {base:.1%}"
            return report("base", reason, **figures)
        encoder = Encoder(base_model, device=args.device)
        figures["steps"] = _train(encoder, pairs, args, steps)
    finally:
        steps.close()
    out_dir = Path(out_dir)
    result = report("adapted", f"held-out hit@1 {base:.1%} -> {adapted:.1%}", version=out_dir.name, **figures)
    _save(out_dir, encoder, entries, args, result)
    return result


def _gate(
    folds: list[tuple[list[FaqEntry], list[Heldout], set[str]]],
    fold_pairs: list[list[Pair]],
    heldout: int,
    base_model: str | Path | None,
    args: AdaptArgs,
    steps: _Steps,
) -> tuple[float, float]:
    """The gate's cross-validation: per fold, hit@1 on its held-out phrasings with the base
    embedder, then with one adapted on the fold's pairs. Returns (base, adapted) hit@1 over
    every held-out phrasing (``heldout`` of them)."""
    base_hits = adapted_hits = 0.0
    for (kept, fold_heldout, _), train_pairs in zip(folds, fold_pairs):
        encoder = Encoder(base_model, device=args.device)
        base_hits += hit_at_1(kept, fold_heldout, encoder) * len(fold_heldout)
        _train(encoder, train_pairs, args, steps)
        adapted_hits += hit_at_1(kept, fold_heldout, encoder) * len(fold_heldout)
    return base_hits / heldout, adapted_hits / heldout


def _save(out_dir: Path, encoder: Encoder, entries: list[FaqEntry], args: AdaptArgs, result: AdaptReport) -> None:
    """The adapter and its ``version.json`` (base model, FAQ hash, hyperparameters, report),
    written whole or not at all."""
    with atomic_directory(out_dir) as tmp:
        encoder.transformer.save_pretrained(str(tmp / ADAPTER_DIR))
        record = {
            "kind": "faq-embedder",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "base_model": {
                "path": str(encoder.model_dir),
                "name": encoder.model_dir.name,
                "fingerprint": model_fingerprint(encoder.model_dir),
            },
            "faq_hash": faq_hash(entries),
            "entries": len(entries),
            "hyperparameters": asdict(args),
            "report": result.to_dict(),
        }
        (tmp / RECORD_FILE).write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
        write_checksums(tmp)


def load_record(version_dir: str | Path) -> dict:
    """``version.json`` of a saved adapter version."""
    return json.loads((Path(version_dir) / RECORD_FILE).read_text(encoding="utf-8"))
