"""Tables and figures the console shows: pure functions of what ``Console`` returns, testable
without a browser."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from chatbot.admin.report import RetrainReport


def per_intent_f1_frame(report: dict) -> pd.DataFrame:
    rows = [{"intent": k, "F1": v["f1"], "support": v["support"]} for k, v in report.get("per_intent", {}).items()]
    return pd.DataFrame(rows or [{"intent": "", "F1": 0.0, "support": 0}]).sort_values("F1")


def counts_plot(frame: pd.DataFrame, column: str = "turns") -> dict:
    """Bars from zero (Vega would start the axis at the smallest count and hide equal bars)."""
    top = float(frame[column].max()) if len(frame) else 0.0
    return gr.update(value=frame, y_lim=[0, max(1.0, top * 1.1)])


def confusion_figure(report: dict, top: int = 12):
    """The most confused intents as a heatmap (true intent by row, predicted by column)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confusions = report.get("confusions", [])[:top]
    intents = sorted({c["true"] for c in confusions} | {c["predicted"] for c in confusions})
    fig, ax = plt.subplots(figsize=(7, 5.5), dpi=90)
    if not intents:
        ax.text(0.5, 0.5, "No confusions on the held-out data", ha="center", va="center")
        ax.axis("off")
        return fig
    position = {name: i for i, name in enumerate(intents)}
    grid = [[0] * len(intents) for _ in intents]
    for c in confusions:
        grid[position[c["true"]]][position[c["predicted"]]] = c["count"]
    image = ax.imshow(grid, cmap="Reds")
    ax.set_xticks(range(len(intents)), intents, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(intents)), intents, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true intent")
    for i, row in enumerate(grid):
        for j, count in enumerate(row):
            if count:
                ax.text(j, i, count, ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, shrink=0.7)
    fig.tight_layout()
    return fig


def continual_summary(saved: RetrainReport) -> str:
    """The report's lines about old and new intents and the warm start."""
    old, new = saved.old_intents, saved.new_intents

    def pct(value):
        return "n/a" if value is None else f"{100 * value:.1f}%"

    text = (
        f"\n\nIntents the serving version knew: **{pct(old.accuracy)}** (serving version"
        f" {pct(old.serving_accuracy)}) on {old.n} held-out examples."
    )
    if new.n:
        text += f" New intents ({', '.join(new.intents)}): **{pct(new.accuracy)}** on {new.n}."
    if saved.training.warm_start_from:
        text += f" Warm start from {saved.training.warm_start_from}."
    if not saved.evaluation.fair:
        text += f" *Not a fair comparison: {saved.evaluation.note}.*"
    for overlap in saved.overlaps:  # never its sample: customers' words
        text += (
            f"\n\n⚠ New intent **{overlap.new_intent}**: the serving version read"
            f" {100 * overlap.share:.0f}% of its examples as **{overlap.old_intent}**. Questions that went to"
            f" {overlap.old_intent} may now go to {overlap.new_intent}: if they should not, make the examples"
            " distinct or merge the intents."
        )
    if old.lost_to_new_intents:
        pairs = ", ".join(f"{c['true']} -> {c['predicted']} ({c['count']})" for c in old.lost_to_new_intents[:5])
        text += f"\n\nHeld-out examples of known intents now read as a new intent: {pairs}."
    return text


def themes_frame(themes: list[dict]) -> pd.DataFrame:
    rows = [
        {
            "theme": t["theme"],
            "turns": t["count"],
            "question": t["question"],
            "thumbs down": t["thumbs_down"],
            "also asked": " | ".join(t["examples"][1:4]),
        }
        for t in themes
    ]
    return pd.DataFrame(rows or [{"theme": "", "turns": "", "question": "", "thumbs down": "", "also asked": ""}])
