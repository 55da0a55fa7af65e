"""The operator console page (Gradio), served at ``/admin`` behind the login.

Only layout and wiring live here; every action is a ``Console`` method, so the CLI and the
tests do exactly what a click does. Every event is private: none appears in the Gradio API.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr
import pandas as pd

from chatbot.admin import Console, Gate, Job
from finetune import DataError
from retrieval import FaqError, preview_faq

log = logging.getLogger(__name__)
FAQ_TYPES = [".csv", ".tsv", ".json", ".jsonl", ".xlsx", ".md"]
DIALOG_TYPES = [".jsonl", ".csv"]
PRIVATE = {"api_visibility": "private"}


def _when(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _upload_error(exc: Exception) -> str:
    return f"**Not applied.** The serving FAQ and model are unchanged.\n\n```\n{exc}\n```"


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


def continual_summary(saved: dict) -> str:
    """The report's lines about old and new intents and the warm start (reports of warm-started retrains)."""
    old, new = saved.get("old_intents"), saved.get("new_intents")
    if not old:
        return ""

    def pct(value):
        return "n/a" if value is None else f"{100 * value:.1f}%"

    text = (
        f"\n\nIntents the serving version knew: **{pct(old['accuracy'])}** (serving version"
        f" {pct(old['serving_accuracy'])}) on {old['n']} held-out examples."
    )
    if new and new["n"]:
        text += f" New intents ({', '.join(new['intents'])}): **{pct(new['accuracy'])}** on {new['n']}."
    training = saved.get("training") or {}
    if training.get("warm_start_from"):
        text += f" Warm start from {training['warm_start_from']}."
    evaluation = saved.get("evaluation") or {}
    if evaluation.get("fair") is False:
        text += f" *Not a fair comparison: {evaluation.get('note', '')}.*"
    for overlap in saved.get("overlaps") or []:  # intent names only: examples may be customers' words
        text += (
            f"\n\n⚠ New intent **{overlap['new_intent']}**: the serving version read"
            f" {100 * overlap['share']:.0f}% of its examples as **{overlap['old_intent']}**. Questions that went to"
            f" {overlap['old_intent']} may now go to {overlap['new_intent']}: if they should not, make the examples"
            " distinct or merge the intents."
        )
    lost = old.get("lost_to_new_intents") or []
    if lost:
        pairs = ", ".join(f"{c['true']} -> {c['predicted']} ({c['count']})" for c in lost[:5])
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


@dataclass
class _Tab:
    """What a tab fills when the page loads: its components, and the function that fills them."""

    outputs: list
    load: Callable[[], tuple]


def _follow(job: Job, progress) -> None:
    """Mirrors a background job in a Gradio progress bar until it ends."""
    while job.status == "running":
        progress(job.progress, desc=job.message)
        time.sleep(0.5)


def _traffic_tab(console: Console) -> _Tab:
    """Turns, fallback and handoff rates, plots; the conversation export."""
    bot = console.bot

    def traffic():
        t = console.traffic()
        summary = (
            f"**{t['turns']}** turns in the last 30 days · fallback/clarify rate **{100 * t['fallback_rate']:.1f}%**"
            f" · handoff rate **{100 * t['handoff_rate']:.1f}%** · thumbs up **{t['thumbs_up']}**, down **{t['thumbs_down']}**"
            f" · serving model **{bot.model_version or 'default'}**, FAQ of **{len(bot.faq)}** entries"
        )
        per_day = pd.DataFrame(t["per_day"] or [{"day": time.strftime("%Y-%m-%d"), "turns": 0}])
        mix = pd.DataFrame(t["intents"][:15] or [{"intent": "(none)", "turns": 0}])
        routes = pd.DataFrame(t["routes"] or [{"route": "(none)", "turns": 0}])
        return summary, counts_plot(per_day), counts_plot(mix), counts_plot(routes)

    def export():
        return gr.update(value=str(console.export_conversations()), visible=True)

    with gr.Tab("Traffic", id="traffic"):
        summary = gr.Markdown(elem_id="traffic-summary")
        with gr.Row():
            per_day = gr.BarPlot(x="day", y="turns", title="Turns per day", height=260, elem_id="turns-per-day")
            routes = gr.BarPlot(x="route", y="turns", title="Routes", height=260, elem_id="routes")
        mix = gr.BarPlot(x="intent", y="turns", title="Intent mix (top 15)", height=300, elem_id="intent-mix")
        with gr.Row():
            refresh = gr.Button("Refresh", size="sm")
            export_button = gr.Button("Export conversations (JSONL, redacted)", size="sm")
        export_file = gr.File(label="export", interactive=False, visible=False)
        traffic_outputs = [summary, per_day, mix, routes]
        refresh.click(traffic, None, traffic_outputs, **PRIVATE)
        export_button.click(export, None, export_file, **PRIVATE)
    return _Tab(traffic_outputs, traffic)


def _faq_tab(console: Console) -> _Tab:
    """FAQ upload with preview, apply, the adapted embedders and rollback."""
    max_bytes = console.settings.max_upload_mb * 2**20
    bot = console.bot

    def show_faq_preview(file):
        if file is None:
            return gr.update(value=None), "", gr.update(interactive=False)
        preview = preview_faq(file, limit=50, max_bytes=max_bytes)
        frame = pd.DataFrame(preview.rows) if preview.rows else None
        if not preview.ok:
            problems = "\n".join(str(e) for e in preview.errors[:30])
            more = f"\n... and {len(preview.errors) - 30} more" if len(preview.errors) > 30 else ""
            note = f"**Not applied: {len(preview.errors)} problem(s) to fix first.** The serving FAQ is unchanged.\n\n```\n{problems}{more}\n```"
            return frame, note, gr.update(interactive=False)
        note = (
            f"**{preview.total} entries, no errors.** Press *Apply* to serve them (the current FAQ has {len(bot.faq)})."
        )
        return frame, note, gr.update(interactive=True)

    def apply_faq(file, progress=gr.Progress()):  # noqa: B008 (how Gradio injects a progress bar)
        if file is None:
            yield "Choose a file first.", *embedders()
            return
        try:
            result = console.apply_faq(file)
        except (FaqError, ValueError, OSError) as exc:
            yield _upload_error(exc), *embedders()
            return
        note = f"**Applied.** Serving {result['entries']} entries (was {result['previous_entries']}), in {result['seconds']} s."
        job = console.job if result["adaptation_job"] is not None else None
        if job is None:
            yield f"{note} Embedder adaptation: {result['adaptation']}.", *embedders()
            return
        yield f"{note} Adapting the embedder to it in the background (job {job.id}).", *embedders()
        _follow(job, progress)
        yield f"{note}\n\n**Embedder adaptation {job.status}**: {job.message}", *embedders()

    def embedders():
        rows = console.embedder_versions()
        serving = next((r["name"] for r in rows if r["serving"]), "base")
        frame = pd.DataFrame(
            rows
            or [
                {
                    "name": "",
                    "serving": "",
                    "created_at": "",
                    "entries": "",
                    "base_hit_at_1": "",
                    "adapted_hit_at_1": "",
                }
            ]
        )
        return frame, gr.update(choices=["base", *(r["name"] for r in rows)], value=serving)

    def adapt(progress=gr.Progress()):  # noqa: B008
        try:
            job = console.start_adapt()
        except RuntimeError as exc:
            return str(exc), *embedders()
        _follow(job, progress)
        return f"**Embedder adaptation {job.status}**: {job.message}", *embedders()

    def use_embedder(name):
        try:
            console.use_embedder(None if name in (None, "", "base") else name)
        except (KeyError, ValueError, OSError) as exc:
            return f"**Not changed.** {exc}", *embedders()
        return f"The FAQ is now served with the **{name or 'base'}** embedder.", *embedders()

    with gr.Tab("FAQ", id="faq"):
        gr.Markdown(
            "Upload the whole FAQ (CSV, TSV, JSON, JSONL, XLSX or Markdown `## question` / answer)."
            " It is checked row by row and previewed; *Apply* indexes it and serves it at once."
        )
        faq_file = gr.File(label="FAQ file", file_types=FAQ_TYPES, type="filepath", elem_id="faq-file")
        faq_note = gr.Markdown(elem_id="faq-note")
        faq_preview = gr.Dataframe(label="preview (first 50 entries)", interactive=False, wrap=True)
        apply_button = gr.Button("Apply", variant="primary", interactive=False, elem_id="faq-apply")
        faq_file.change(show_faq_preview, faq_file, [faq_preview, faq_note, apply_button], **PRIVATE)
        gr.Markdown(
            "After *Apply*, the embedder is adapted to the FAQ in the background (a few minutes);"
            " the adapted one serves only if it finds more held-out questions than the base model."
        )
        embedder_table = gr.Dataframe(label="FAQ-adapted embedders", interactive=False, elem_id="embedders")
        with gr.Row():
            embedder_pick = gr.Dropdown(label="serve the FAQ with", choices=["base"], scale=3)
            use_button = gr.Button("Serve (roll back or forward)", scale=1)
            adapt_button = gr.Button("Adapt now", scale=1, elem_id="adapt")
        embedder_outputs = [embedder_table, embedder_pick]
        apply_button.click(apply_faq, faq_file, [faq_note, *embedder_outputs], concurrency_limit=1, **PRIVATE)
        adapt_button.click(adapt, None, [faq_note, *embedder_outputs], concurrency_limit=1, **PRIVATE)
        use_button.click(use_embedder, embedder_pick, [faq_note, *embedder_outputs], **PRIVATE)
    return _Tab([embedder_table, embedder_pick], embedders)


def _training_tab(console: Console) -> _Tab:
    """Dialog-log import, retraining with progress and cancel, the job table."""

    def import_dialogs(file):
        if file is None:
            return "Choose a file first."
        try:
            result = console.import_dialogs(file)
        except (DataError, ValueError, OSError) as exc:
            return f"**Not imported.** Nothing was changed.\n\n```\n{exc}\n```"
        text = (
            f"**Imported** {result['conversations']} conversations: {result['new_examples']} new training examples,"
            f" {result['to_review']} questions for the review queue."
        )
        if result["new_intents"]:
            text += (
                f"\n\nThese intents are not in intents.yaml and will be refused at retraining: {result['new_intents']}"
            )
        return text

    def jobs_frame():
        rows = [
            {
                "job": j["id"],
                "kind": j["kind"],
                "status": j["status"],
                "started": _when(j["started"]),
                "finished": _when(j["finished"]),
                "message": j["message"],
            }
            for j in console.job_history()
        ]
        return pd.DataFrame(
            rows or [{"job": "", "kind": "", "status": "", "started": "", "finished": "", "message": ""}]
        )

    def retrain(force: bool, progress=gr.Progress()):  # noqa: B008 (how Gradio injects a progress bar)
        try:
            job = console.start_retrain(force=force)
        except RuntimeError as exc:
            return str(exc), jobs_frame()
        _follow(job, progress)
        return f"**{job.status}**: {job.message}", jobs_frame()

    def cancel():
        job = console.job
        if job is None or job.status != "running":
            return "No job is running."
        job.cancel()
        return "Cancelling: the job stops at its next step; what serves is unchanged."

    with gr.Tab("Training", id="training"):
        gr.Markdown(
            "Upload dialog logs (JSONL conversations or CSV turns): labelled user turns become training"
            " examples, the others go to the review queue. Retraining runs in the background; the new"
            " version serves only if it does not regress on held-out data (or you force it)."
        )
        dialog_file = gr.File(label="dialog log", file_types=DIALOG_TYPES, type="filepath")
        dialog_note = gr.Markdown()
        dialog_file.upload(import_dialogs, dialog_file, dialog_note, **PRIVATE)
        with gr.Row():
            force = gr.Checkbox(label="activate even if the gate refuses it", value=False)
            retrain_button = gr.Button("Retrain", variant="primary", elem_id="retrain")
            cancel_button = gr.Button("Cancel", variant="stop")
        job_note = gr.Markdown(elem_id="job-note")
        jobs = gr.Dataframe(label="jobs", interactive=False)
        retrain_button.click(retrain, force, [job_note, jobs], concurrency_limit=1, **PRIVATE)
        cancel_button.click(cancel, None, job_note, **PRIVATE)
    return _Tab([jobs], lambda: (jobs_frame(),))


def _versions_tab(console: Console) -> _Tab:
    """Model versions, their held-out reports with plots, activate (rollback)."""

    def versions():
        rows = console.versions()
        frame = pd.DataFrame(
            [
                {
                    "version": r["name"],
                    "serving": "✔" if r["current"] else "",
                    "created": r["created_at"],
                    "intents": r["intents"],
                    "validation acc.": r["val_accuracy"],
                    "held-out acc.": r["test_accuracy"],
                    "old intents": r.get("old_intents_accuracy"),
                    "new intents": r.get("new_intents_accuracy"),
                    "gate": r["gate"] or "",
                }
                for r in reversed(rows)
            ]
        )
        names = [r["name"] for r in reversed(rows)]
        current = next((r["name"] for r in rows if r["current"]), names[0] if names else None)
        return frame, gr.update(choices=names, value=current)

    def show_report(name):
        if not name:
            return "", per_intent_f1_frame({}), None
        saved = console.report(name)
        if saved is None:
            return (
                f"Version **{name}** has no held-out report (it was trained at first start).",
                per_intent_f1_frame({}),
                confusion_figure({}),
            )
        report, gate = saved["report"], Gate(**saved["gate"])
        text = (
            f"**{name}** on {report['n']} held-out examples: accuracy **{100 * report['accuracy']:.1f}%**,"
            f" macro-F1 **{100 * report['macro_f1']:.1f}%**; the version serving then scored"
            f" {100 * saved['serving']['accuracy']:.1f}%. Gate: {'passed' if gate.passed else 'refused'} ({gate.reason})."
        )
        text += continual_summary(saved)
        return text, per_intent_f1_frame(report), confusion_figure(report)

    def activate(name):
        if not name:
            return "Pick a version first.", *versions()
        try:
            console.activate(name)
        except (KeyError, OSError, ValueError) as exc:
            return f"**Not activated**: {exc}", *versions()
        return f"**{name}** is serving now.", *versions()

    with gr.Tab("Versions", id="versions"):
        version_table = gr.Dataframe(interactive=False, elem_id="versions")
        with gr.Row():
            version_pick = gr.Dropdown(label="version", choices=[], scale=3, elem_id="version-pick")
            activate_button = gr.Button("Activate (roll back or forward)", scale=1)
        version_note = gr.Markdown()
        report_text = gr.Markdown(elem_id="report")
        with gr.Row():
            f1_plot = gr.BarPlot(
                x="intent",
                y="F1",
                title="Per-intent F1 (held-out)",
                height=360,
                x_label_angle=-60,
                y_lim=[0, 1],
                elem_id="per-intent-f1",
            )
            confusion_plot = gr.Plot(label="Top confusions", elem_id="confusions")
        version_pick.change(show_report, version_pick, [report_text, f1_plot, confusion_plot], **PRIVATE)
        activate_button.click(activate, version_pick, [version_note, version_table, version_pick], **PRIVATE)
    return _Tab([version_table, version_pick], versions)


def _review_tab(console: Console) -> _Tab:
    """The review queue: label a question with an intent or an FAQ entry, or dismiss it."""
    intents = sorted(console.bot.domain.intents)
    bot = console.bot

    def reviews():
        rows = console.reviews()
        frame = pd.DataFrame(
            [
                {
                    "id": r["id"],
                    "why": r["source"].replace("_", " "),
                    "customer asked": r["text"],
                    "suggested intent": r["suggested_intent"] or "",
                    "suggested FAQ": r["suggested_faq"] or "",
                    "confidence": round(r["confidence"] or 0.0, 2),
                }
                for r in rows
            ]
            or [
                {
                    "id": "",
                    "why": "",
                    "customer asked": "",
                    "suggested intent": "",
                    "suggested FAQ": "",
                    "confidence": "",
                }
            ]
        )
        return frame

    def pick_review(frame: pd.DataFrame, evt: gr.SelectData):
        row = frame.iloc[evt.index[0]]
        if row["id"] == "":
            return None, "", gr.update(), gr.update()
        intent = row["suggested intent"] if row["suggested intent"] in intents else None
        faq = row["suggested FAQ"] or None
        return (
            int(row["id"]),
            f"**#{row['id']}**: {row['customer asked']}",
            gr.update(value=intent),
            gr.update(value=faq),
        )

    def label(review_id, kind, value):
        if review_id is None:
            return "Select a question in the table first.", reviews()
        if kind is not None and not value:
            return f"Choose the {kind} first.", reviews()
        try:
            console.label_review(review_id, kind, value)
        except (KeyError, ValueError) as exc:
            return f"**Not saved**: {exc}", reviews()
        done = {
            "intent": f"labelled as intent **{value}** (used at the next retraining)",
            "faq": f"added to FAQ entry **{value}** (served now)",
            None: "dismissed",
        }
        return f"#{review_id} {done[kind]}.", reviews()

    with gr.Tab("Review queue", id="review"):
        gr.Markdown(
            "Low-confidence and thumbs-down questions. Select one, then confirm the right intent (training"
            " data for the next retraining) or FAQ entry (a new phrasing, served at once), or dismiss it."
        )
        review_table = gr.Dataframe(interactive=False, wrap=True, elem_id="reviews")
        review_id = gr.State(None)
        review_text = gr.Markdown()
        with gr.Row():
            review_intent = gr.Dropdown(label="intent", choices=intents, value=None)
            label_intent = gr.Button("Use this intent", variant="primary")
        with gr.Row():
            review_faq = gr.Dropdown(label="FAQ entry", choices=[e.id for e in bot.faq.entries], value=None)
            label_faq = gr.Button("Add to this FAQ entry")
        dismiss = gr.Button("Dismiss", size="sm")
        review_note = gr.Markdown()
        review_table.select(pick_review, review_table, [review_id, review_text, review_intent, review_faq], **PRIVATE)
        label_intent.click(
            lambda i, v: label(i, "intent", v),
            [review_id, review_intent],
            [review_note, review_table],
            **PRIVATE,
        )
        label_faq.click(
            lambda i, v: label(i, "faq", v), [review_id, review_faq], [review_note, review_table], **PRIVATE
        )
        dismiss.click(lambda i: label(i, None, None), review_id, [review_note, review_table], **PRIVATE)
    return _Tab([review_table], lambda: (reviews(),))


def _themes_tab(console: Console) -> _Tab:
    """Unanswered themes, turned into an FAQ entry or an intent's examples."""
    intents = sorted(console.bot.domain.intents)

    def themes():
        found = console.themes()
        return themes_frame(found), found

    def pick_theme(found: list[dict], evt: gr.SelectData):
        if not found or evt.index[0] >= len(found):
            return None, "", ""
        theme = found[evt.index[0]]
        return (
            theme,
            theme["question"],
            f"**Theme {theme['theme']}** ({theme['count']} turns): " + "; ".join(theme["examples"][:8]),
        )

    def theme_to_faq(theme, question, answer):
        if not question or not answer or not answer.strip():
            return "Select a theme and type the answer first.", gr.update(), gr.update()
        alternatives = tuple(theme["examples"]) if theme else ()
        try:
            entry = console.add_faq_entry(question, answer, alternatives)
        except (FaqError, ValueError) as exc:
            return _upload_error(exc), gr.update(), gr.update()
        return f"**Added FAQ entry {entry.id}** with {len(entry.phrasings)} phrasings: served now.", *themes()

    def theme_to_intent(theme, intent):
        if not theme or not intent:
            return "Select a theme and an intent first."
        try:
            added = console.theme_to_intent(theme["examples"], intent)
        except ValueError as exc:
            return f"**Not saved**: {exc}"
        return f"{added} questions labelled as intent **{intent}** (used at the next retraining)."

    with gr.Tab("Unanswered themes", id="themes"):
        gr.Markdown(
            "Questions the bot fell back on, asked to clarify or got a thumbs-down for, grouped by meaning."
            " Select a theme to turn it into an FAQ entry (its questions become the entry's phrasings) or"
            " into training examples of an intent."
        )
        themes_button = gr.Button("Find themes", size="sm", elem_id="themes-refresh")
        themes_table = gr.Dataframe(interactive=False, wrap=True, elem_id="themes")
        found_themes = gr.State([])
        picked_theme = gr.State(None)
        theme_text = gr.Markdown()
        theme_question = gr.Textbox(label="FAQ question", elem_id="theme-question")
        theme_answer = gr.Textbox(label="answer", lines=3, elem_id="theme-answer")
        theme_faq_button = gr.Button("Add as FAQ entry", variant="primary", elem_id="theme-add-faq")
        with gr.Row():
            theme_intent = gr.Dropdown(label="intent", choices=intents, value=None)
            theme_intent_button = gr.Button("Label these questions with this intent")
        theme_note = gr.Markdown(elem_id="theme-note")
        themes_button.click(themes, None, [themes_table, found_themes], **PRIVATE)
        themes_table.select(pick_theme, found_themes, [picked_theme, theme_question, theme_text], **PRIVATE)
        theme_faq_button.click(
            theme_to_faq,
            [picked_theme, theme_question, theme_answer],
            [theme_note, themes_table, found_themes],
            **PRIVATE,
        )
        theme_intent_button.click(theme_to_intent, [picked_theme, theme_intent], theme_note, **PRIVATE)
    return _Tab([], tuple)


def _handoffs_tab(console: Console) -> _Tab:
    """Conversations handed to a person: transcripts, mark as handled."""

    def handoffs():
        rows = console.handoffs()
        return pd.DataFrame(
            [
                {
                    "id": h["id"],
                    "when": _when(h["ts"]),
                    "session": h["session_id"][:12],
                    "intent": h["intent"] or "",
                    "reason": h["reason"],
                    "turns": len(h["transcript"]),
                }
                for h in rows
            ]
            or [{"id": "", "when": "", "session": "", "intent": "", "reason": "", "turns": ""}]
        )

    def pick_handoff(frame: pd.DataFrame, evt: gr.SelectData):
        handoff_id = frame.iloc[evt.index[0]]["id"]
        for h in console.handoffs():
            if h["id"] == handoff_id:
                transcript = [
                    {"role": "user" if line["role"] == "user" else "assistant", "content": line["text"]}
                    for line in h["transcript"]
                ]
                return int(handoff_id), transcript
        return None, []

    def close_handoff(handoff_id):
        if handoff_id is not None:
            console.close_handoff(handoff_id)
        return handoffs(), None, []

    with gr.Tab("Handoffs", id="handoffs"):
        handoff_table = gr.Dataframe(interactive=False, elem_id="handoffs")
        handoff_id = gr.State(None)
        transcript = gr.Chatbot(label="transcript (redacted)", height=320, sanitize_html=True)
        close_button = gr.Button("Mark as handled", size="sm")
        handoff_table.select(pick_handoff, handoff_table, [handoff_id, transcript], **PRIVATE)
        close_button.click(close_handoff, handoff_id, [handoff_table, handoff_id, transcript], **PRIVATE)
    return _Tab([handoff_table], lambda: (handoffs(),))


def build_console(console: Console, preview_chat: gr.Blocks | None = None) -> gr.Blocks:
    """The page: one function per tab, each wiring its own components to ``Console`` methods."""
    with gr.Blocks(title="Operator console") as page:
        gr.Markdown("## Operator console")
        with gr.Tabs():
            tabs = [
                _traffic_tab(console),
                _faq_tab(console),
                _training_tab(console),
                _versions_tab(console),
                _review_tab(console),
                _themes_tab(console),
                _handoffs_tab(console),
            ]
            if preview_chat is not None:
                with gr.Tab("Try the bot", id="try"):
                    gr.Markdown("The public chat, with the *why this answer* panel for operators.")
                    preview_chat.render()

        def load_all():
            return tuple(value for tab in tabs for value in tab.load())

        page.load(load_all, None, [output for tab in tabs for output in tab.outputs], **PRIVATE)
    page.queue(default_concurrency_limit=4, max_size=32)
    return page
