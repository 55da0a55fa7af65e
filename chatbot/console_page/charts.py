"""Tables and figures the console shows: pure functions of what ``Console`` returns, testable
without a browser. Each takes the page's translator ``t`` (English when left out)."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from chatbot.admin.report import RetrainReport
from chatbot.i18n import Translate, then, translator


def per_intent_f1_frame(report: dict, t: Translate | None = None) -> pd.DataFrame:
    """Columns ``t("intent")``, ``F1``, ``t("support")``: the plot's axes are named by them."""
    t = t or translator("en")
    intent, support = t("intent"), t("support")
    rows = [{intent: k, "F1": v["f1"], support: v["support"]} for k, v in report.get("per_intent", {}).items()]
    return pd.DataFrame(rows or [{intent: "", "F1": 0.0, support: 0}]).sort_values("F1")


def counts_plot(frame: pd.DataFrame, column: str = "turns") -> dict:
    """Bars from zero (Vega would start the axis at the smallest count and hide equal bars)."""
    top = float(frame[column].max()) if len(frame) else 0.0
    return gr.update(value=frame, y_lim=[0, max(1.0, top * 1.1)])


def confusion_figure(report: dict, top: int = 12, t: Translate | None = None):
    """The most confused intents as a heatmap (true intent by row, predicted by column)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = _cjk_font() if t is not None and getattr(t, "language", "en") != "en" else None
    if font is None:  # the figure is a picture: without a font for the language, English beats empty boxes
        t = translator("en")
    text = {"fontfamily": [font, "sans-serif"]} if font else {}

    confusions = report.get("confusions", [])[:top]
    intents = sorted({c["true"] for c in confusions} | {c["predicted"] for c in confusions})
    fig, ax = plt.subplots(figsize=(7, 5.5), dpi=90)
    if not intents:
        ax.text(0.5, 0.5, t("No confusions on the held-out data"), ha="center", va="center", **text)
        ax.axis("off")
        return fig
    position = {name: i for i, name in enumerate(intents)}
    grid = [[0] * len(intents) for _ in intents]
    for c in confusions:
        grid[position[c["true"]]][position[c["predicted"]]] = c["count"]
    image = ax.imshow(grid, cmap="Reds")
    ax.set_xticks(range(len(intents)), intents, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(intents)), intents, fontsize=8)
    ax.set_xlabel(t("predicted"), **text)
    ax.set_ylabel(t("true intent"), **text)
    for i, row in enumerate(grid):
        for j, count in enumerate(row):
            if count:
                ax.text(j, i, count, ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, shrink=0.7)
    fig.tight_layout()
    return fig


CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei")


def _cjk_font() -> str | None:
    """matplotlib's own font has no Chinese: the first CJK font installed on the machine, if any
    (``apt-get install fonts-noto-cjk``)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def continual_summary(saved: RetrainReport, t: Translate | None = None) -> str:
    """The report's lines about old and new intents and the warm start."""
    t = t or translator("en")
    old, new = saved.old_intents, saved.new_intents

    def pct(value):
        return t("n/a") if value is None else f"{100 * value:.1f}%"

    text = t(
        "Intents the serving version knew: **{accuracy}** (serving version {serving}) on {n} held-out examples.",
        accuracy=pct(old.accuracy),
        serving=pct(old.serving_accuracy),
        n=old.n,
    )
    if new.n:
        text = then(
            t,
            text,
            t(
                "New intents ({intents}): **{accuracy}** on {n}.",
                intents=", ".join(new.intents),
                accuracy=pct(new.accuracy),
                n=new.n,
            ),
        )
    if saved.training.warm_start_from:
        text = then(t, text, t("Warm start from {version}.", version=saved.training.warm_start_from))
    if not saved.evaluation.fair:
        text = then(t, text, t("*Not a fair comparison: {note}.*", note=saved.evaluation.note))
    text = "\n\n" + text
    for overlap in saved.overlaps:  # never its sample: customers' words
        text += "\n\n" + t(
            "⚠ New intent **{new}**: the serving version read {share:.0f}% of its examples as **{old}**."
            " Questions that went to {old} may now go to {new}: if they should not, make the examples"
            " distinct or merge the intents.",
            new=overlap.new_intent,
            old=overlap.old_intent,
            share=100 * overlap.share,
        )
    if old.lost_to_new_intents:
        pairs = ", ".join(f"{c['true']} -> {c['predicted']} ({c['count']})" for c in old.lost_to_new_intents[:5])
        text += "\n\n" + t("Held-out examples of known intents now read as a new intent: {pairs}.", pairs=pairs)
    return text


def themes_frame(themes: list[dict], t: Translate | None = None) -> pd.DataFrame:
    t = t or translator("en")
    columns = [t("theme"), t("turns"), t("question"), t("thumbs down"), t("also asked")]
    rows = [
        dict(
            zip(
                columns,
                (
                    theme["theme"],
                    theme["count"],
                    theme["question"],
                    theme["thumbs_down"],
                    " | ".join(theme["examples"][1:4]),
                ),
                strict=True,
            )
        )
        for theme in themes
    ]
    return pd.DataFrame(rows or [dict.fromkeys(columns, "")])
