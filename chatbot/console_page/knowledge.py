"""The tabs that change what the bot knows: the FAQ here; retraining and model versions in
:mod:`chatbot.console_page.training`, re-exported from here.

Each tab reads as its phases: a handler class answers its events, a dataclass holds the
components it lays out, and one function wires the two. Handlers keep the names the events had,
since Gradio names every (private) event after its function.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from chatbot.admin import Console
from chatbot.console_page.common import FAQ_TYPES, PRIVATE, Tab, codes, follow, upload_error, word
from chatbot.console_page.training import training_tab, versions_tab
from chatbot.i18n import then, translator
from retrieval import FaqError, preview_faq

__all__ = ["faq_tab", "training_tab", "versions_tab"]


def faq_tab(console: Console) -> Tab:
    """FAQ upload with preview, apply, the adapted embedders and rollback."""
    handlers = FaqHandlers(console)
    t = handlers.t
    with gr.Tab(t("FAQ"), id="faq"):
        parts = lay_out_faq(t, handlers.base)
        wire_faq(parts, handlers)
    return Tab(parts.embedder_outputs, handlers.embedders)


class FaqHandlers:
    """What the FAQ tab's events do, each method returning the values of its outputs in order.

    A refused upload or action is shown in the note, and what serves stays as it was. The
    preview shows the first 50 entries and the first 30 problems only.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bot = console.bot
        self.max_bytes = console.settings.max_upload_mb * 2**20
        t = self.t = translator(console.settings.language)
        self.words = codes(t)
        self.base = t("base model")

    def show_faq_preview(self, file):
        t = self.t
        if file is None:
            return gr.update(value=None), "", gr.update(interactive=False)
        preview = preview_faq(file, limit=50, max_bytes=self.max_bytes)
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
            current=len(self.bot.faq),
        )
        return frame, note, gr.update(interactive=True)

    def adaptation_outcome(self, job) -> str:
        t = self.t
        return t(
            "**Embedder adaptation {status}**: {message}", status=word(self.words, job.status), message=job.message
        )

    def apply_faq(self, file, progress=gr.Progress()):  # noqa: B008 (how Gradio injects a progress bar)
        """Applies at once, then follows the embedder adaptation it starts in the background, if any."""
        t, embedders = self.t, self.embedders
        if file is None:
            yield t("Choose a file first."), *embedders()
            return
        try:
            result = self.console.apply_faq(file)
        except (FaqError, ValueError, OSError) as exc:
            yield upload_error(exc, t), *embedders()
            return
        note = t(
            "**Applied.** Serving {entries} entries (was {previous}), in {seconds} s.",
            entries=result["entries"],
            previous=result["previous_entries"],
            seconds=result["seconds"],
        )
        job = self.console.job if result["adaptation_job"] is not None else None
        if job is None:
            adaptation = t("off") if result["adaptation"] == "off" else result["adaptation"]
            yield then(t, note, t("Embedder adaptation: {outcome}.", outcome=adaptation)), *embedders()
            return
        adapting = t("Adapting the embedder to it in the background (job {id}).", id=job.id)
        yield then(t, note, adapting), *embedders()
        follow(job, progress)
        yield f"{note}\n\n{self.adaptation_outcome(job)}", *embedders()

    def embedders(self):
        """The embedder table and the choices of the pick, with the one serving picked."""
        t = self.t
        rows = self.console.embedder_versions()
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
        return frame, gr.update(choices=[(self.base, "base"), *(r["name"] for r in rows)], value=serving)

    def adapt(self, progress=gr.Progress()):  # noqa: B008
        try:
            job = self.console.start_adapt()
        except RuntimeError as exc:
            return str(exc), *self.embedders()
        follow(job, progress)
        return self.adaptation_outcome(job), *self.embedders()

    def use_embedder(self, name):
        t = self.t
        try:
            self.console.use_embedder(None if name in (None, "", "base") else name)
        except (KeyError, ValueError, OSError) as exc:
            return t("**Not changed.** {error}", error=exc), *self.embedders()
        shown = self.base if name in (None, "", "base") else name
        return t("The FAQ is now served with the **{name}** embedder.", name=shown), *self.embedders()


@dataclass
class FaqComponents:
    """The FAQ tab's components that its events read or fill."""

    file: gr.File
    note: gr.Markdown
    preview: gr.Dataframe
    apply_button: gr.Button
    embedder_table: gr.Dataframe
    embedder_pick: gr.Dropdown
    use_button: gr.Button
    adapt_button: gr.Button

    @property
    def embedder_outputs(self) -> list:
        return [self.embedder_table, self.embedder_pick]


def lay_out_faq(t, base: str) -> FaqComponents:
    """The upload with its preview, then the embedders; ``base`` names the base model in the pick."""
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
    return FaqComponents(
        faq_file, faq_note, faq_preview, apply_button, embedder_table, embedder_pick, use_button, adapt_button
    )


def wire_faq(parts: FaqComponents, handlers: FaqHandlers) -> None:
    """Applying and adapting each run one at a time (``concurrency_limit=1``); previews and
    rollbacks share the page's default limit."""
    note, embedders = parts.note, parts.embedder_outputs
    parts.file.change(handlers.show_faq_preview, parts.file, [parts.preview, note, parts.apply_button], **PRIVATE)
    parts.apply_button.click(handlers.apply_faq, parts.file, [note, *embedders], concurrency_limit=1, **PRIVATE)
    parts.adapt_button.click(handlers.adapt, None, [note, *embedders], concurrency_limit=1, **PRIVATE)
    parts.use_button.click(handlers.use_embedder, parts.embedder_pick, [note, *embedders], **PRIVATE)
