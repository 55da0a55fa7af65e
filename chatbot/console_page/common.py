"""What every tab of the console page shares: its contract (``Tab``), upload types, job progress."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from chatbot.admin import Job

FAQ_TYPES = [".csv", ".tsv", ".json", ".jsonl", ".xlsx", ".md"]


DIALOG_TYPES = [".jsonl", ".csv"]


PRIVATE = {"api_visibility": "private"}


def when(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def upload_error(exc: Exception) -> str:
    return f"**Not applied.** The serving FAQ and model are unchanged.\n\n```\n{exc}\n```"


@dataclass
class Tab:
    """What a tab fills when the page loads: its components, and the function that fills them."""

    outputs: list
    load: Callable[[], tuple]


def follow(job: Job, progress) -> None:
    """Mirrors a background job in a Gradio progress bar until it ends."""
    while job.status == "running":
        progress(job.progress, desc=job.message)
        time.sleep(0.5)
