"""The documents tab: help-centre files (PDF, DOCX, HTML, Markdown, text) the bot answers from.

It reads as its phases, as the FAQ tab does: a handler class answers its events, a dataclass
holds the components it lays out, and one function wires the two. Handlers keep the names the
events had, since Gradio names every (private) event after its function.

Limits: one import runs at a time (its *Cancel* stops the one running, not one queued behind
it); a link typed in the URL box is used only when a single file is uploaded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import gradio as gr
import pandas as pd

from chatbot.admin import Console
from chatbot.console_page.common import DOCUMENT_TYPES, PRIVATE, Tab
from chatbot.i18n import then, translator
from retrieval.documents import Cancelled, DocumentError

__all__ = ["documents_tab"]


def documents_tab(console: Console) -> Tab:
    """Document import with progress and cancel, the documents served, and their removal."""
    handlers = DocumentHandlers(console)
    t = handlers.t
    with gr.Tab(t("Documents"), id="documents"):
        parts = lay_out_documents(t)
        wire_documents(parts, handlers)
    return Tab(parts.listing_outputs, handlers.documents)


class DocumentHandlers:
    """What the documents tab's events do, each method returning the values of its outputs.

    A refused import or removal changes nothing and is shown, never raised: every problem of
    every file at once (the first 30). *Cancel* sets ``cancelling``, which the running import
    reads at each page or block it reads.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        t = self.t = translator(console.settings.language)
        self.columns = {
            "title": t("title"),
            "id": t("id"),
            "source": t("file"),
            "url": t("link"),
            "passages": t("passages"),
        }
        self.cancelling = threading.Event()
        self.importing = threading.Event()

    def documents(self):
        """The table of the documents served, and the removal pick's choices."""
        rows = self.console.documents()
        frame = pd.DataFrame(
            [{name: r[key] for key, name in self.columns.items()} for r in rows]
            or [dict.fromkeys(self.columns.values(), "")]
        )
        choices = [(f"{r['title']} ({r['id']})", r["id"]) for r in rows]
        return frame, gr.update(choices=choices, value=[])

    def import_documents(self, files, url, progress=gr.Progress()):  # noqa: B008 (how Gradio injects a progress bar)
        """Imports the uploaded files; ``url`` links the document when there is one file only."""
        t = self.t
        paths = [files] if isinstance(files, str) else list(files or [])
        if not paths:
            return t("Choose the files first."), *self.documents()
        url = (url or "").strip()
        link = url if len(paths) == 1 else ""
        self.cancelling.clear()
        self.importing.set()
        try:
            result = self.console.add_documents(
                paths,
                progress=lambda fraction, message: progress(fraction, desc=message),
                cancelled=self.cancelling.is_set,
                url=link,
            )
        except Cancelled:
            return t("**Cancelled**: nothing imported."), *self.documents()
        except DocumentError as exc:
            return self.problems(exc.problems), *self.documents()
        except (ValueError, OSError) as exc:
            return t("**Not imported.** Nothing was changed.\n\n```\n{error}\n```", error=exc), *self.documents()
        finally:
            self.importing.clear()
        note = t(
            "**{imported} documents imported, {replaced} replaced**: {passages} passages, {embedded} embedded.",
            imported=len(result["added"]) + len(result["replaced"]),
            replaced=len(result["replaced"]),
            passages=result["passages"],
            embedded=result["embedded_passages"],
        )
        if url and not link:
            note = then(
                t, note, t("The link was not used: it names one document, and {n} files were uploaded.", n=len(paths))
            )
        return note, *self.documents()

    def problems(self, problems: list) -> str:
        t = self.t
        shown = "\n".join(str(p) for p in problems[:30])
        more = "\n" + t("... and {n} more", n=len(problems) - 30) if len(problems) > 30 else ""
        note = t("**Not imported: {n} problem(s) to fix first.** The documents served are unchanged.", n=len(problems))
        return f"{note}\n\n```\n{shown}{more}\n```"

    def cancel_import(self):
        t = self.t
        if not self.importing.is_set():
            return t("No import is running.")
        self.cancelling.set()
        return t("Cancelling: the import stops at the next page it reads (once every file is read, it completes).")

    def remove_documents(self, ids):
        t = self.t
        ids = [ids] if isinstance(ids, str) else list(ids or [])
        if not ids:
            return t("Choose the documents to remove first."), *self.documents()
        try:
            removed = self.console.remove_documents(ids)
        except KeyError as exc:
            return t("**Not changed.** {error}", error=exc), *self.documents()
        return t("Removed: {ids}. The bot no longer answers from them.", ids=", ".join(removed)), *self.documents()


@dataclass
class DocumentComponents:
    """The documents tab's components that its events read or fill."""

    files: gr.File
    url: gr.Textbox
    import_button: gr.Button
    cancel_button: gr.Button
    note: gr.Markdown
    table: gr.Dataframe
    pick: gr.Dropdown
    remove_button: gr.Button

    @property
    def listing_outputs(self) -> list:
        return [self.table, self.pick]


def lay_out_documents(t) -> DocumentComponents:
    gr.Markdown(
        t(
            "Upload help-centre documents (PDF, DOCX, HTML, Markdown or plain text). Each is split into"
            " passages the bot answers from, quoting its source; a document with the id of one already"
            " imported replaces it. When one file cannot be read, nothing is imported."
        )
    )
    files = gr.File(
        label=t("documents"),
        file_count="multiple",
        file_types=DOCUMENT_TYPES,
        type="filepath",
        elem_id="document-files",
    )
    url = gr.Textbox(label=t("web address of the document (one file only, optional)"), elem_id="document-url")
    with gr.Row():
        import_button = gr.Button(t("Import"), variant="primary", elem_id="document-import")
        cancel_button = gr.Button(t("Cancel"), variant="stop", elem_id="document-cancel")
    note = gr.Markdown(elem_id="document-note")
    table = gr.Dataframe(label=t("documents served"), interactive=False, wrap=True, elem_id="documents")
    with gr.Row():
        pick = gr.Dropdown(label=t("documents to remove"), choices=[], value=[], multiselect=True, scale=3)
        remove_button = gr.Button(t("Remove"), scale=1, elem_id="document-remove")
    return DocumentComponents(files, url, import_button, cancel_button, note, table, pick, remove_button)


def wire_documents(parts: DocumentComponents, handlers: DocumentHandlers) -> None:
    """Imports run one at a time (``concurrency_limit=1``); *Cancel* is an event of its own,
    so it is not queued behind the import it stops."""
    note, listing = parts.note, parts.listing_outputs
    parts.import_button.click(
        handlers.import_documents, [parts.files, parts.url], [note, *listing], concurrency_limit=1, **PRIVATE
    )
    parts.cancel_button.click(handlers.cancel_import, None, note, **PRIVATE)
    parts.remove_button.click(handlers.remove_documents, parts.pick, [note, *listing], **PRIVATE)
