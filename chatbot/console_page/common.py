"""What every tab of the console page shares: its contract (``Tab``), upload types, job progress,
and the words for values the code fixes (job kinds and states, review sources)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from chatbot.admin import Job
from chatbot.i18n import Translate

FAQ_TYPES = [".csv", ".tsv", ".json", ".jsonl", ".xlsx", ".md"]


DIALOG_TYPES = [".jsonl", ".csv"]


PRIVATE = {"api_visibility": "private"}


def when(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def upload_error(exc: Exception, t: Translate) -> str:
    return t("**Not applied.** The serving FAQ and model are unchanged.\n\n```\n{error}\n```", error=exc)


def codes(t: Translate) -> dict[str, str]:
    """Words for the values the code sets (a job's kind and state, why a question awaits review);
    anything else, such as an intent or a file's name, is shown as it is (:func:`word`)."""
    return {
        "retrain": t("retraining"),
        "adapt": t("embedder adaptation"),
        "running": t("running"),
        "done": t("done"),
        "cancelled": t("cancelled"),
        "failed": t("failed"),
        "low_confidence": t("low confidence"),
        "thumbs_down": t("thumbs down"),
        "import": t("imported dialog"),
    }


def word(words: dict[str, str], value: str | None) -> str:
    return "" if value is None else words.get(value, value)


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
