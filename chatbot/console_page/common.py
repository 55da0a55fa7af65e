"""What every tab of the console page shares: its contract (``Tab``), upload types, job progress,
and the words for values the code fixes (job kinds and states, review sources)."""

from __future__ import annotations

import functools
import inspect
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from chatbot.admin import Job, Users
from chatbot.admin.users import Permission, acting_as
from chatbot.i18n import Translate
from retrieval.documents import SUFFIXES

FAQ_TYPES = [".csv", ".tsv", ".json", ".jsonl", ".xlsx", ".md"]


DIALOG_TYPES = [".jsonl", ".csv"]


DOCUMENT_TYPES = list(SUFFIXES)


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


def route_words(t: Translate) -> dict[str, str]:
    """Words for how a turn was answered (``chatbot.reply.Route``), as the traffic tab shows them."""
    return {
        "template": t("intent reply"),
        "faq": t("FAQ answer"),
        "document": t("document"),
        "handoff": t("handoff"),
        "ask_slot": t("asked for details"),
        "clarify": t("clarify"),
        "fallback": t("fallback"),
        "empty": t("empty message"),
        "live": t("live chat"),
        "email": t("reply address left"),
        "human": t("person's reply"),
        "rate_limited": t("rate limited"),
        "error": t("error"),
        "busy": t("busy"),
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


def guarded(fn: Callable, users: Users, permission: Permission, refusal: str) -> Callable:
    """``fn`` as a Gradio event handler that first checks, on the server and at each call,
    that the signed-in user's role (read now: a changed role or a disabled account counts at
    once) has ``permission``; else ``gr.Error(refusal)`` and ``fn`` does not run. ``fn`` runs
    as that user (``acting_as``: the audit trail's actor). Gradio passes the request as the
    extra last argument the wrapper's signature declares."""
    signature = inspect.signature(fn)
    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request)

    def check(args: tuple) -> tuple[tuple, str]:
        *inner, req = args
        name = getattr(req, "username", None)
        if not users.may(name, permission):
            raise gr.Error(refusal)
        return tuple(inner), name

    if inspect.isgeneratorfunction(fn):

        def wrapper(*args):
            inner, name = check(args)
            steps = fn(*inner)
            while True:  # Gradio may resume a generator in another thread: the actor is set per step
                with acting_as(name):
                    try:
                        value = next(steps)
                    except StopIteration:
                        return
                yield value
    else:

        def wrapper(*args):
            inner, name = check(args)
            with acting_as(name):
                return fn(*inner)

    functools.update_wrapper(wrapper, fn, assigned=("__module__", "__name__", "__qualname__", "__doc__"), updated=())
    wrapper.__permission__ = permission  # for the tests' role table
    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), request])
    # Gradio finds what to inject (the request, a selection's event data) by type hints
    wrapper.__annotations__ = {**typing.get_type_hints(fn), "request": gr.Request}
    return wrapper
