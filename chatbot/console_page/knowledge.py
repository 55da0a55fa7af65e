"""The tabs that change what the bot knows: the FAQ, retraining, and model versions."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from chatbot.admin import Console
from chatbot.console_page.charts import confusion_figure, continual_summary, per_intent_f1_frame
from chatbot.console_page.common import DIALOG_TYPES, FAQ_TYPES, PRIVATE, Tab, codes, follow, upload_error, when, word
from chatbot.i18n import then, translator
from finetune import DataError
from retrieval import FaqError, preview_faq


def faq_tab(console: Console) -> Tab:
    """FAQ upload with preview, apply, the adapted embedders and rollback."""
    max_bytes = console.settings.max_upload_mb * 2**20
    bot = console.bot
    t = translator(console.settings.language)
    words = codes(t)
    base = t("base model")

    def show_faq_preview(file):
        if file is None:
            return gr.update(value=None), "", gr.update(interactive=False)
        preview = preview_faq(file, limit=50, max_bytes=max_bytes)
        frame = pd.DataFrame(preview.rows) if preview.rows else None
        if not preview.ok:
            problems = "\n".join(str(e) for e in preview.errors[:30])
            more = "\n" + t("... and {n} more", n=len(preview.errors) - 30) if len(preview.errors) > 30 else ""
            note = t(
                "**Not applied: {n} problem(s) to fix first.** The serving FAQ is unchanged.", n=len(preview.errors)
            )
            return frame, f"{note}\n\n```\n{problems}{more}\n```", gr.update(interactive=False)
        note = t(
            "**{n} entries, no errors.** Press *Apply* to serve them (the current FAQ has {current}).",
            n=preview.total,
            current=len(bot.faq),
        )
        return frame, note, gr.update(interactive=True)

    def adaptation_outcome(job) -> str:
        return t("**Embedder adaptation {status}**: {message}", status=word(words, job.status), message=job.message)

    def apply_faq(file, progress=gr.Progress()):  # noqa: B008 (how Gradio injects a progress bar)
        if file is None:
            yield t("Choose a file first."), *embedders()
            return
        try:
            result = console.apply_faq(file)
        except (FaqError, ValueError, OSError) as exc:
            yield upload_error(exc, t), *embedders()
            return
        note = t(
            "**Applied.** Serving {entries} entries (was {previous}), in {seconds} s.",
            entries=result["entries"],
            previous=result["previous_entries"],
            seconds=result["seconds"],
        )
        job = console.job if result["adaptation_job"] is not None else None
        if job is None:
            adaptation = t("off") if result["adaptation"] == "off" else result["adaptation"]
            yield then(t, note, t("Embedder adaptation: {outcome}.", outcome=adaptation)), *embedders()
            return
        adapting = t("Adapting the embedder to it in the background (job {id}).", id=job.id)
        yield then(t, note, adapting), *embedders()
        follow(job, progress)
        yield f"{note}\n\n{adaptation_outcome(job)}", *embedders()

    def embedders():
        rows = console.embedder_versions()
        serving = next((r["name"] for r in rows if r["serving"]), "base")
        columns = {
            "name": t("name"),
            "serving": t("serving"),
            "created_at": t("created"),
            "entries": t("entries"),
            "base_hit_at_1": t("base model hit@1"),
            "adapted_hit_at_1": t("adapted hit@1"),
            "heldout": t("held-out questions"),
        }
        shown = [{**r, "serving": "✔" if r["serving"] else ""} for r in rows]
        frame = pd.DataFrame(shown or [dict.fromkeys(list(columns)[:6], "")]).rename(columns=columns)
        return frame, gr.update(choices=[(base, "base"), *(r["name"] for r in rows)], value=serving)

    def adapt(progress=gr.Progress()):  # noqa: B008
        try:
            job = console.start_adapt()
        except RuntimeError as exc:
            return str(exc), *embedders()
        follow(job, progress)
        return adaptation_outcome(job), *embedders()

    def use_embedder(name):
        try:
            console.use_embedder(None if name in (None, "", "base") else name)
        except (KeyError, ValueError, OSError) as exc:
            return t("**Not changed.** {error}", error=exc), *embedders()
        shown = base if name in (None, "", "base") else name
        return t("The FAQ is now served with the **{name}** embedder.", name=shown), *embedders()

    with gr.Tab(t("FAQ"), id="faq"):
        gr.Markdown(
            t(
                "Upload the whole FAQ (CSV, TSV, JSON, JSONL, XLSX or Markdown `## question` / answer)."
                " It is checked row by row and previewed; *Apply* indexes it and serves it at once."
            )
        )
        faq_file = gr.File(label=t("FAQ file"), file_types=FAQ_TYPES, type="filepath", elem_id="faq-file")
        faq_note = gr.Markdown(elem_id="faq-note")
        faq_preview = gr.Dataframe(label=t("preview (first 50 entries)"), interactive=False, wrap=True)
        apply_button = gr.Button(t("Apply"), variant="primary", interactive=False, elem_id="faq-apply")
        faq_file.change(show_faq_preview, faq_file, [faq_preview, faq_note, apply_button], **PRIVATE)
        gr.Markdown(
            t(
                "After *Apply*, the embedder is adapted to the FAQ in the background (a few minutes);"
                " the adapted one serves only if it finds more held-out questions than the base model."
            )
        )
        embedder_table = gr.Dataframe(label=t("FAQ-adapted embedders"), interactive=False, elem_id="embedders")
        with gr.Row():
            embedder_pick = gr.Dropdown(label=t("serve the FAQ with"), choices=[(base, "base")], scale=3)
            use_button = gr.Button(t("Serve (roll back or forward)"), scale=1)
            adapt_button = gr.Button(t("Adapt now"), scale=1, elem_id="adapt")
        embedder_outputs = [embedder_table, embedder_pick]
        apply_button.click(apply_faq, faq_file, [faq_note, *embedder_outputs], concurrency_limit=1, **PRIVATE)
        adapt_button.click(adapt, None, [faq_note, *embedder_outputs], concurrency_limit=1, **PRIVATE)
        use_button.click(use_embedder, embedder_pick, [faq_note, *embedder_outputs], **PRIVATE)
    return Tab([embedder_table, embedder_pick], embedders)


def training_tab(console: Console) -> Tab:
    """Dialog-log import, retraining with progress and cancel, the job table."""
    t = translator(console.settings.language)
    words = codes(t)
    columns = [t("job"), t("kind"), t("status"), t("started"), t("finished"), t("message")]

    def import_dialogs(file):
        if file is None:
            return t("Choose a file first.")
        try:
            result = console.import_dialogs(file)
        except (DataError, ValueError, OSError) as exc:
            return t("**Not imported.** Nothing was changed.\n\n```\n{error}\n```", error=exc)
        text = t(
            "**Imported** {conversations} conversations: {examples} new training examples,"
            " {to_review} questions for the review queue.",
            conversations=result["conversations"],
            examples=result["new_examples"],
            to_review=result["to_review"],
        )
        if result["new_intents"]:
            text += "\n\n" + t(
                "These intents are not in intents.yaml and will be refused at retraining: {intents}",
                intents=result["new_intents"],
            )
        return text

    def jobs_frame():
        rows = [
            dict(
                zip(
                    columns,
                    (
                        j["id"],
                        word(words, j["kind"]),
                        word(words, j["status"]),
                        when(j["started"]),
                        when(j["finished"]),
                        j["message"],
                    ),
                    strict=True,
                )
            )
            for j in console.job_history()
        ]
        return pd.DataFrame(rows or [dict.fromkeys(columns, "")])

    def retrain(force: bool, progress=gr.Progress()):  # noqa: B008 (how Gradio injects a progress bar)
        try:
            job = console.start_retrain(force=force)
        except RuntimeError as exc:
            return str(exc), jobs_frame()
        follow(job, progress)
        return f"**{word(words, job.status)}**: {job.message}", jobs_frame()

    def cancel():
        job = console.job
        if job is None or job.status != "running":
            return t("No job is running.")
        job.cancel()
        return t("Cancelling: the job stops at its next step; what serves is unchanged.")

    with gr.Tab(t("Training"), id="training"):
        gr.Markdown(
            t(
                "Upload dialog logs (JSONL conversations or CSV turns): labelled user turns become training"
                " examples, the others go to the review queue. Retraining runs in the background; the new"
                " version serves only if it does not regress on held-out data (or you force it)."
            )
        )
        dialog_file = gr.File(label=t("dialog log"), file_types=DIALOG_TYPES, type="filepath")
        dialog_note = gr.Markdown()
        dialog_file.upload(import_dialogs, dialog_file, dialog_note, **PRIVATE)
        with gr.Row():
            force = gr.Checkbox(label=t("activate even if the gate refuses it"), value=False)
            retrain_button = gr.Button(t("Retrain"), variant="primary", elem_id="retrain")
            cancel_button = gr.Button(t("Cancel"), variant="stop")
        job_note = gr.Markdown(elem_id="job-note")
        jobs = gr.Dataframe(label=t("jobs"), interactive=False)
        retrain_button.click(retrain, force, [job_note, jobs], concurrency_limit=1, **PRIVATE)
        cancel_button.click(cancel, None, job_note, **PRIVATE)
    return Tab([jobs], lambda: (jobs_frame(),))


def versions_tab(console: Console) -> Tab:
    """Model versions, their held-out reports with plots, activate (rollback)."""
    t = translator(console.settings.language)
    columns = [
        t("version"),
        t("serving"),
        t("created"),
        t("intents"),
        t("validation acc."),
        t("held-out acc."),
        t("old intents"),
        t("new intents"),
        t("gate"),
    ]
    intent, f1 = t("intent"), "F1"  # the columns of per_intent_f1_frame

    def versions():
        rows = console.versions()
        frame = pd.DataFrame(
            [
                dict(
                    zip(
                        columns,
                        (
                            r["name"],
                            "✔" if r["current"] else "",
                            r["created_at"],
                            r["intents"],
                            r["val_accuracy"],
                            r["test_accuracy"],
                            r.get("old_intents_accuracy"),
                            r.get("new_intents_accuracy"),
                            # "passed", else the gate's reason in its own words (finetune)
                            t("passed") if r["gate"] == "passed" else r["gate"] or "",
                        ),
                        strict=True,
                    )
                )
                for r in reversed(rows)
            ],
            columns=columns,
        )
        names = [r["name"] for r in reversed(rows)]
        current = next((r["name"] for r in rows if r["current"]), names[0] if names else None)
        return frame, gr.update(choices=names, value=current)

    def show_report(name):
        if not name:
            return "", per_intent_f1_frame({}, t), None
        saved = console.report(name)
        if saved is None:
            return (
                t("Version **{name}** has no held-out report (it was trained at first start).", name=name),
                per_intent_f1_frame({}, t),
                confusion_figure({}, t=t),
            )
        report, gate = saved.report, saved.gate
        text = t(
            "**{name}** on {n} held-out examples: accuracy **{accuracy:.1f}%**, macro-F1 **{macro_f1:.1f}%**;"
            " the version serving then scored {serving:.1f}%. Gate: {verdict} ({reason}).",
            name=name,
            n=report["n"],
            accuracy=100 * report["accuracy"],
            macro_f1=100 * report["macro_f1"],
            serving=100 * saved.serving["accuracy"],
            verdict=t("passed") if gate.passed else t("refused"),
            reason=gate.reason,
        )
        text += continual_summary(saved, t)
        return text, per_intent_f1_frame(report, t), confusion_figure(report, t=t)

    def activate(name):
        if not name:
            return t("Pick a version first."), *versions()
        try:
            console.activate(name)
        except (KeyError, OSError, ValueError) as exc:
            return t("**Not activated**: {error}", error=exc), *versions()
        return t("**{name}** is serving now.", name=name), *versions()

    with gr.Tab(t("Versions"), id="versions"):
        version_table = gr.Dataframe(interactive=False, elem_id="versions")
        with gr.Row():
            version_pick = gr.Dropdown(label=t("version"), choices=[], scale=3, elem_id="version-pick")
            activate_button = gr.Button(t("Activate (roll back or forward)"), scale=1)
        version_note = gr.Markdown()
        report_text = gr.Markdown(elem_id="report")
        with gr.Row():
            f1_plot = gr.BarPlot(
                x=intent,
                y=f1,
                title=t("Per-intent F1 (held-out)"),
                height=360,
                x_label_angle=-60,
                y_lim=[0, 1],
                elem_id="per-intent-f1",
            )
            confusion_plot = gr.Plot(label=t("Top confusions"), elem_id="confusions")
        version_pick.change(show_report, version_pick, [report_text, f1_plot, confusion_plot], **PRIVATE)
        activate_button.click(activate, version_pick, [version_note, version_table, version_pick], **PRIVATE)
    return Tab([version_table, version_pick], versions)
