"""The audit trail tab (admins): who changed what, newest first, and the whole trail as JSONL.
Read only: nothing on the page edits or deletes an entry."""

from __future__ import annotations

import json
import tempfile

import gradio as gr
import pandas as pd

from chatbot.admin import Console
from chatbot.console_page.common import PRIVATE, Tab, when
from chatbot.i18n import translator


def audit_tab(console: Console) -> Tab:
    t = translator(console.settings.language)
    columns = [t("when"), t("who"), t("action"), t("target"), t("before"), t("after")]

    def entries():
        rows = [
            dict(
                zip(
                    columns, (when(e["ts"]), e["actor"], e["action"], e["target"], e["before"], e["after"]), strict=True
                )
            )
            for e in console.audit_log()
        ]
        return pd.DataFrame(rows or [dict.fromkeys(columns, "")])

    def export():
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
            for entry in reversed(console.audit_log(limit=None)):
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return f.name

    with gr.Tab(t("Audit trail"), id="audit"):
        gr.Markdown(t("Every change made by a person, newest first. Nothing here can be edited."))
        table = gr.Dataframe(label=t("audit trail"), interactive=False)
        with gr.Row():
            refresh = gr.Button(t("Refresh"))
            export_button = gr.Button(t("Export as JSONL"))
        export_file = gr.File(label=t("audit trail (JSONL)"))
        refresh.click(entries, None, table, **PRIVATE)
        export_button.click(export, None, export_file, **PRIVATE)
    return Tab([table], lambda: (entries(),))
