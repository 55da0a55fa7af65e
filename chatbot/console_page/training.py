"""The tabs about the intent model: dialog-log import and retraining, then the versions it made
with their held-out reports and rollback. Re-exported by :mod:`chatbot.console_page.knowledge`.

Each tab reads as its phases, as the FAQ tab does: a handler class answers its events, a
dataclass holds the components it lays out, and one function wires the two. Handlers keep the
names the events had, since Gradio names every (private) event after its function.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from chatbot.admin import Console
from chatbot.console_page.charts import confusion_figure, continual_summary, per_intent_f1_frame
from chatbot.console_page.common import DIALOG_TYPES, PRIVATE, Tab, codes, follow, when, word
from chatbot.i18n import translator
from finetune import DataError

__all__ = ["training_tab", "versions_tab"]


def training_tab(console: Console) -> Tab:
    """Dialog-log import, retraining with progress and cancel, the job table."""
    handlers = TrainingHandlers(console)
    t = handlers.t
    with gr.Tab(t("Training"), id="training"):
        parts = lay_out_training(t)
        wire_training(parts, handlers)
    return Tab([parts.jobs], lambda: (handlers.jobs_frame(),))


class TrainingHandlers:
    """What the training tab's events do, each method returning the values of its outputs.

    A refused import changes nothing and is shown, never raised. Retraining runs as the
    console's background job: the click follows it to its end, *Cancel* only asks it to stop.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        t = self.t = translator(console.settings.language)
        self.words = codes(t)
        self.columns = [t("job"), t("kind"), t("status"), t("replica"), t("started"), t("finished"), t("message")]

    def import_dialogs(self, file):
        t = self.t
        if file is None:
            return t("Choose a file first.")
        try:
            result = self.console.import_dialogs(file)
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

    def jobs_frame(self):
        words, columns = self.words, self.columns
        rows = [
            dict(
                zip(
                    columns,
                    (
                        j["id"],
                        word(words, j["kind"]),
                        word(words, j["status"]),
                        j["replica"] or "",
                        when(j["started"]),
                        when(j["finished"]),
                        j["message"],
                    ),
                    strict=True,
                )
            )
            for j in self.console.job_history()
        ]
        return pd.DataFrame(rows or [dict.fromkeys(columns, "")])

    def retrain(self, force: bool, progress=gr.Progress()):  # noqa: B008 (how Gradio injects a progress bar)
        try:
            job = self.console.start_retrain(force=force)
        except RuntimeError as exc:
            return str(exc), self.jobs_frame()
        follow(job, progress)
        return f"**{word(self.words, job.status)}**: {job.message}", self.jobs_frame()

    def cancel(self):
        t = self.t
        if self.console.cancel_job() is None:
            return t("No job is running.")
        return t("Cancelling: the job stops at its next step; what serves is unchanged.")


@dataclass
class TrainingComponents:
    """The training tab's components that its events read or fill."""

    dialog_file: gr.File
    dialog_note: gr.Markdown
    force: gr.Checkbox
    retrain_button: gr.Button
    cancel_button: gr.Button
    job_note: gr.Markdown
    jobs: gr.Dataframe


def lay_out_training(t) -> TrainingComponents:
    gr.Markdown(
        t(
            "Upload dialog logs (JSONL conversations or CSV turns): labelled user turns become training"
            " examples, the others go to the review queue. Retraining runs in the background; the new"
            " version serves only if it does not regress on held-out data (or you force it)."
        )
    )
    dialog_file = gr.File(label=t("dialog log"), file_types=DIALOG_TYPES, type="filepath")
    dialog_note = gr.Markdown()
    with gr.Row():
        force = gr.Checkbox(label=t("activate even if the gate refuses it"), value=False)
        retrain_button = gr.Button(t("Retrain"), variant="primary", elem_id="retrain")
        cancel_button = gr.Button(t("Cancel"), variant="stop")
    job_note = gr.Markdown(elem_id="job-note")
    jobs = gr.Dataframe(label=t("jobs"), interactive=False)
    return TrainingComponents(dialog_file, dialog_note, force, retrain_button, cancel_button, job_note, jobs)


def wire_training(parts: TrainingComponents, handlers: TrainingHandlers) -> None:
    """Retraining runs one at a time (``concurrency_limit=1``); *Cancel* is an event of its own,
    so it is not queued behind the retraining it stops."""
    parts.dialog_file.upload(handlers.import_dialogs, parts.dialog_file, parts.dialog_note, **PRIVATE)
    parts.retrain_button.click(
        handlers.retrain, parts.force, [parts.job_note, parts.jobs], concurrency_limit=1, **PRIVATE
    )
    parts.cancel_button.click(handlers.cancel, None, parts.job_note, **PRIVATE)


def versions_tab(console: Console) -> Tab:
    """Model versions, their held-out reports with plots, activate (rollback)."""
    handlers = VersionsHandlers(console)
    t = handlers.t
    with gr.Tab(t("Versions"), id="versions"):
        parts = lay_out_versions(t)
        wire_versions(parts, handlers)
    return Tab([parts.version_table, parts.version_pick], handlers.versions)


class VersionsHandlers:
    """What the versions tab's events do, each method returning the values of its outputs.

    A version trained at first start has no held-out report: the tab says so and plots nothing.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        t = self.t = translator(console.settings.language)
        self.columns = [
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

    def versions(self):
        """The table, newest first, and the pick's choices with the serving version picked."""
        t, columns = self.t, self.columns
        rows = self.console.versions()
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

    def show_report(self, name):
        t = self.t
        if not name:
            return "", per_intent_f1_frame({}, t), None
        saved = self.console.report(name)
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

    def activate(self, name):
        t = self.t
        if not name:
            return t("Pick a version first."), *self.versions()
        try:
            self.console.activate(name)
        except (KeyError, OSError, ValueError) as exc:
            return t("**Not activated**: {error}", error=exc), *self.versions()
        return t("**{name}** is serving now.", name=name), *self.versions()


@dataclass
class VersionsComponents:
    """The versions tab's components that its events read or fill."""

    version_table: gr.Dataframe
    version_pick: gr.Dropdown
    activate_button: gr.Button
    version_note: gr.Markdown
    report_text: gr.Markdown
    f1_plot: gr.BarPlot
    confusion_plot: gr.Plot


def lay_out_versions(t) -> VersionsComponents:
    """The table and pick, then the picked version's report: its text, per-intent F1, confusions."""
    intent, f1 = t("intent"), "F1"  # the columns of per_intent_f1_frame
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
    return VersionsComponents(
        version_table, version_pick, activate_button, version_note, report_text, f1_plot, confusion_plot
    )


def wire_versions(parts: VersionsComponents, handlers: VersionsHandlers) -> None:
    report = [parts.report_text, parts.f1_plot, parts.confusion_plot]
    parts.version_pick.change(handlers.show_report, parts.version_pick, report, **PRIVATE)
    parts.activate_button.click(
        handlers.activate, parts.version_pick, [parts.version_note, parts.version_table, parts.version_pick], **PRIVATE
    )
