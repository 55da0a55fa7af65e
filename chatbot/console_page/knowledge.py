"""The tabs that change what the bot knows: the FAQ, retraining, and model versions."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from chatbot.admin import Console
from chatbot.console_page.charts import confusion_figure, continual_summary, per_intent_f1_frame
from chatbot.console_page.common import DIALOG_TYPES, FAQ_TYPES, PRIVATE, Tab, follow, upload_error, when
from finetune import DataError
from retrieval import FaqError, preview_faq


def faq_tab(console: Console) -> Tab:
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
            yield upload_error(exc), *embedders()
            return
        note = f"**Applied.** Serving {result['entries']} entries (was {result['previous_entries']}), in {result['seconds']} s."
        job = console.job if result["adaptation_job"] is not None else None
        if job is None:
            yield f"{note} Embedder adaptation: {result['adaptation']}.", *embedders()
            return
        yield f"{note} Adapting the embedder to it in the background (job {job.id}).", *embedders()
        follow(job, progress)
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
        follow(job, progress)
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
    return Tab([embedder_table, embedder_pick], embedders)


def training_tab(console: Console) -> Tab:
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
                "started": when(j["started"]),
                "finished": when(j["finished"]),
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
        follow(job, progress)
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
    return Tab([jobs], lambda: (jobs_frame(),))


def versions_tab(console: Console) -> Tab:
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
        report, gate = saved.report, saved.gate
        text = (
            f"**{name}** on {report['n']} held-out examples: accuracy **{100 * report['accuracy']:.1f}%**,"
            f" macro-F1 **{100 * report['macro_f1']:.1f}%**; the version serving then scored"
            f" {100 * saved.serving['accuracy']:.1f}%. Gate: {'passed' if gate.passed else 'refused'} ({gate.reason})."
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
    return Tab([version_table, version_pick], versions)
