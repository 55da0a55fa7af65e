"""The tabs about customers: traffic, the review queue, unanswered themes.

The review and themes tabs read as their phases: a handler class answers the tab's events, a
dataclass holds the components it lays out, and one function wires the two. Handlers keep the
names the events had, since Gradio names every (private) event after its function. Traffic, short
enough to read at once, keeps its handlers inside the tab function.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr
import pandas as pd

from chatbot.admin import Console
from chatbot.console_page.charts import counts_plot, themes_frame
from chatbot.console_page.common import PRIVATE, Tab, codes, route_words, upload_error, word
from chatbot.i18n import translator
from retrieval import FaqError

__all__ = ["review_tab", "themes_tab", "traffic_tab"]


def traffic_tab(console: Console) -> Tab:
    """Turns, fallback and handoff rates, plots; the conversation export."""
    bot = console.bot
    t = translator(console.settings.language)
    day, turns, intent, route = t("day"), t("turns"), t("intent"), t("route")
    columns = {"day": day, "turns": turns, "intent": intent, "route": route}
    routes_said = route_words(t)

    def traffic():
        stats = console.traffic()
        summary = t(
            "**{turns}** turns in the last 30 days · fallback/clarify rate **{fallback_rate:.1f}%**"
            " · handoff rate **{handoff_rate:.1f}%** · thumbs up **{up}**, down **{down}**"
            " · serving model **{model}**, FAQ of **{entries}** entries",
            turns=stats["turns"],
            fallback_rate=100 * stats["fallback_rate"],
            handoff_rate=100 * stats["handoff_rate"],
            up=stats["thumbs_up"],
            down=stats["thumbs_down"],
            model=bot.model_version or t("default"),
            entries=len(bot.faq),
        )
        wait = stats["first_reply_s"]
        summary += t(
            "\n\nHandoffs resolved by people: **{resolved}** · first human reply **{wait}** after the handoff (median)",
            resolved=stats["handoffs_resolved"],
            wait="-" if wait is None else f"{wait / 60:.1f} min" if wait >= 60 else f"{wait:.0f} s",
        )
        none = t("(none)")
        per_day = pd.DataFrame(stats["per_day"] or [{"day": time.strftime("%Y-%m-%d"), "turns": 0}])
        mix = pd.DataFrame(stats["intents"][:15] or [{"intent": none, "turns": 0}])
        said = [{**r, "route": word(routes_said, r["route"])} for r in stats["routes"]]
        routes = pd.DataFrame(said or [{"route": none, "turns": 0}])
        return summary, *(counts_plot(frame.rename(columns=columns), turns) for frame in (per_day, mix, routes))

    def export():
        return gr.update(value=str(console.export_conversations()), visible=True)

    with gr.Tab(t("Traffic"), id="traffic"):
        summary = gr.Markdown(elem_id="traffic-summary")
        with gr.Row():
            per_day = gr.BarPlot(x=day, y=turns, title=t("Turns per day"), height=260, elem_id="turns-per-day")
            routes = gr.BarPlot(x=route, y=turns, title=t("Routes"), height=260, elem_id="routes")
        mix = gr.BarPlot(x=intent, y=turns, title=t("Intent mix (top 15)"), height=300, elem_id="intent-mix")
        with gr.Row():
            refresh = gr.Button(t("Refresh"), size="sm")
            export_button = gr.Button(t("Export conversations (JSONL, redacted)"), size="sm")
        export_file = gr.File(label=t("export"), interactive=False, visible=False)
        traffic_outputs = [summary, per_day, mix, routes]
        refresh.click(traffic, None, traffic_outputs, **PRIVATE)
        export_button.click(export, None, export_file, **PRIVATE)
    return Tab(traffic_outputs, traffic)


def review_tab(console: Console) -> Tab:
    """The review queue: label a question with an intent or an FAQ entry, or dismiss it."""
    handlers = ReviewHandlers(console)
    t = handlers.t
    with gr.Tab(t("Review queue"), id="review"):
        parts = lay_out_review(t, handlers.intents, [e.id for e in handlers.bot.faq.entries])
        wire_review(parts, handlers)
    return Tab([parts.review_table], lambda: (handlers.reviews(),))


class ReviewHandlers:
    """What the review tab's events do, each method returning the values of its outputs.

    The pick offers the FAQ entries served when the page was built: no event updates its
    choices, so an entry added since is offered once the page is built again.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bot = console.bot
        self.intents = sorted(console.bot.domain.intents)
        t = self.t = translator(console.settings.language)
        self.words = codes(t)
        self.number, self.why, self.asked = t("id"), t("why"), t("customer asked")
        self.intent, self.faq, self.confidence = t("suggested intent"), t("suggested FAQ"), t("confidence")

    def reviews(self):
        number, why, asked = self.number, self.why, self.asked
        intent, faq, confidence = self.intent, self.faq, self.confidence
        rows = self.console.reviews()
        frame = pd.DataFrame(
            [
                {
                    number: r["id"],
                    why: word(self.words, r["source"]),
                    asked: r["text"],
                    intent: r["suggested_intent"] or "",
                    faq: r["suggested_faq"] or "",
                    confidence: round(r["confidence"] or 0.0, 2),
                }
                for r in rows
            ]
            or [dict.fromkeys((number, why, asked, intent, faq, confidence), "")]
        )
        return frame

    def pick_review(self, frame: pd.DataFrame, evt: gr.SelectData):
        """The picked question, its text, and its suggestions preset (an unknown intent is not);
        for a document answer, the new FAQ entry prefilled with the question and the passage."""
        number, intent = self.number, self.intent
        row = frame.iloc[evt.index[0]]
        if row[number] == "":
            return None, "", gr.update(), gr.update(), *self.from_passage(None, "")
        suggested = row[intent] if row[intent] in self.intents else None
        return (
            int(row[number]),
            f"**#{row[number]}**: {row[self.asked]}",
            gr.update(value=suggested),
            gr.update(value=row[self.faq] or None),
            *self.from_passage(int(row[number]), row[self.asked]),
        )

    def from_passage(self, review_id: int | None, question: str):
        """The group that turns a document answer into an FAQ entry: shown, with the passage that
        answered and the question prefilled, only when ``review_id`` was answered from a document."""
        t = self.t
        passage = self.console.review_passage(review_id) if review_id is not None else None
        if passage is None:
            return gr.update(visible=False), "", gr.update(value=""), gr.update(value="")
        source = t("The bot answered from **{source}**.", source=passage["label"])
        return gr.update(visible=True), source, gr.update(value=question), gr.update(value=passage["text"])

    def review_to_faq(self, review_id, question, answer):
        """A curated FAQ entry from a document answer (served at once); the review item is closed."""
        t = self.t
        if review_id is None:
            return t("Select a question in the table first."), self.reviews(), gr.update()
        if not (question or "").strip() or not (answer or "").strip():
            return t("Type the question and the answer first."), self.reviews(), gr.update()
        try:
            entry = self.console.review_to_faq(review_id, question, answer)
        except (FaqError, KeyError, ValueError) as exc:
            return t("**Not saved**: {error}", error=exc), self.reviews(), gr.update()
        done = t("#{id} became FAQ entry **{faq_id}** (served now).", id=review_id, faq_id=entry.id)
        return done, self.reviews(), gr.update(visible=False)

    def label(self, review_id, kind, value):
        """Labels with an intent (``kind="intent"``), adds to an FAQ entry (``"faq"``), or dismisses (``None``)."""
        t = self.t
        if review_id is None:
            return t("Select a question in the table first."), self.reviews()
        if kind is not None and not value:
            missing = t("Choose the intent first.") if kind == "intent" else t("Choose the FAQ entry first.")
            return missing, self.reviews()
        try:
            self.console.label_review(review_id, kind, value)
        except (KeyError, ValueError) as exc:
            return t("**Not saved**: {error}", error=exc), self.reviews()
        done = {
            "intent": t(
                "#{id} labelled as intent **{value}** (used at the next retraining).", id=review_id, value=value
            ),
            "faq": t("#{id} added to FAQ entry **{value}** (served now).", id=review_id, value=value),
            None: t("#{id} dismissed.", id=review_id),
        }
        return done[kind], self.reviews()


@dataclass
class ReviewComponents:
    """The review tab's components that its events read or fill; ``review_id`` is the picked row's."""

    review_table: gr.Dataframe
    review_id: gr.State
    review_text: gr.Markdown
    review_intent: gr.Dropdown
    label_intent: gr.Button
    review_faq: gr.Dropdown
    label_faq: gr.Button
    dismiss: gr.Button
    review_note: gr.Markdown
    new_faq: gr.Group
    new_faq_source: gr.Markdown
    new_faq_question: gr.Textbox
    new_faq_answer: gr.Textbox
    new_faq_button: gr.Button


def lay_out_review(t, intents: list[str], faq_ids: list[str]) -> ReviewComponents:
    gr.Markdown(
        t(
            "Low-confidence and thumbs-down questions. Select one, then confirm the right intent (training"
            " data for the next retraining) or FAQ entry (a new phrasing, served at once), or dismiss it."
        )
    )
    review_table = gr.Dataframe(interactive=False, wrap=True, elem_id="reviews")
    review_id = gr.State(None)
    review_text = gr.Markdown()
    with gr.Row():
        review_intent = gr.Dropdown(label=t("intent"), choices=intents, value=None)
        label_intent = gr.Button(t("Use this intent"), variant="primary")
    with gr.Row():
        review_faq = gr.Dropdown(label=t("FAQ entry"), choices=faq_ids, value=None)
        label_faq = gr.Button(t("Add to this FAQ entry"))
    dismiss = gr.Button(t("Dismiss"), size="sm")
    with gr.Group(visible=False, elem_id="review-new-faq") as new_faq:
        gr.Markdown(t("**New FAQ entry from this answer**"))
        new_faq_source = gr.Markdown()
        new_faq_question = gr.Textbox(label=t("FAQ question"), elem_id="review-faq-question")
        new_faq_answer = gr.Textbox(label=t("answer"), lines=4, elem_id="review-faq-answer")
        new_faq_button = gr.Button(t("Add as FAQ entry"), variant="primary", elem_id="review-add-faq")
    review_note = gr.Markdown()
    return ReviewComponents(
        review_table,
        review_id,
        review_text,
        review_intent,
        label_intent,
        review_faq,
        label_faq,
        dismiss,
        review_note,
        new_faq,
        new_faq_source,
        new_faq_question,
        new_faq_answer,
        new_faq_button,
    )


def wire_review(parts: ReviewComponents, handlers: ReviewHandlers) -> None:
    """The three buttons share ``label``, told apart by the kind each passes; *Add as FAQ entry*
    (a document answer's) has its own handler."""
    new_faq = [parts.new_faq, parts.new_faq_source, parts.new_faq_question, parts.new_faq_answer]
    picked = [parts.review_id, parts.review_text, parts.review_intent, parts.review_faq, *new_faq]
    answer = [parts.review_note, parts.review_table]
    label = handlers.label
    parts.review_table.select(handlers.pick_review, parts.review_table, picked, **PRIVATE)
    parts.label_intent.click(
        lambda i, v: label(i, "intent", v), [parts.review_id, parts.review_intent], answer, **PRIVATE
    )
    parts.label_faq.click(lambda i, v: label(i, "faq", v), [parts.review_id, parts.review_faq], answer, **PRIVATE)
    parts.dismiss.click(lambda i: label(i, None, None), parts.review_id, answer, **PRIVATE)
    parts.new_faq_button.click(
        handlers.review_to_faq,
        [parts.review_id, parts.new_faq_question, parts.new_faq_answer],
        [*answer, parts.new_faq],
        **PRIVATE,
    )


def themes_tab(console: Console) -> Tab:
    """Unanswered themes, turned into an FAQ entry or an intent's examples."""
    handlers = ThemesHandlers(console)
    t = handlers.t
    with gr.Tab(t("Unanswered themes"), id="themes"):
        parts = lay_out_themes(t, handlers.intents)
        wire_themes(parts, handlers)
    return Tab([], tuple)


class ThemesHandlers:
    """What the themes tab's events do, each method returning the values of its outputs.

    Themes are found on *Find themes* only, not when the page loads. All of a theme's examples
    are passed on: as the new FAQ entry's alternative phrasings, or as the intent's examples.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.intents = sorted(console.bot.domain.intents)
        self.t = translator(console.settings.language)

    def themes(self):
        found = self.console.themes()
        return themes_frame(found, self.t), found

    def pick_theme(self, found: list[dict], evt: gr.SelectData):
        t = self.t
        if not found or evt.index[0] >= len(found):
            return None, "", ""
        theme = found[evt.index[0]]
        return (
            theme,
            theme["question"],
            t("**Theme {theme}** ({n} turns): ", theme=theme["theme"], n=theme["count"])
            + "; ".join(theme["examples"][:8]),
        )

    def theme_to_faq(self, theme, question, answer):
        t = self.t
        if not question or not answer or not answer.strip():
            return t("Select a theme and type the answer first."), gr.update(), gr.update()
        alternatives = tuple(theme["examples"]) if theme else ()
        try:
            entry = self.console.add_faq_entry(question, answer, alternatives)
        except (FaqError, ValueError) as exc:
            return upload_error(exc, t), gr.update(), gr.update()
        added = t("**Added FAQ entry {id}** with {n} phrasings: served now.", id=entry.id, n=len(entry.phrasings))
        return added, *self.themes()

    def theme_to_intent(self, theme, intent):
        t = self.t
        if not theme or not intent:
            return t("Select a theme and an intent first.")
        try:
            added = self.console.theme_to_intent(theme["examples"], intent)
        except ValueError as exc:
            return t("**Not saved**: {error}", error=exc)
        return t("{n} questions labelled as intent **{intent}** (used at the next retraining).", n=added, intent=intent)


@dataclass
class ThemesComponents:
    """The themes tab's components that its events read or fill: ``found_themes`` holds the
    themes the table shows, ``picked_theme`` the one selected."""

    themes_button: gr.Button
    themes_table: gr.Dataframe
    found_themes: gr.State
    picked_theme: gr.State
    theme_text: gr.Markdown
    theme_question: gr.Textbox
    theme_answer: gr.Textbox
    theme_faq_button: gr.Button
    theme_intent: gr.Dropdown
    theme_intent_button: gr.Button
    theme_note: gr.Markdown


def lay_out_themes(t, intents: list[str]) -> ThemesComponents:
    gr.Markdown(
        t(
            "Questions the bot fell back on, asked to clarify or got a thumbs-down for, grouped by meaning."
            " Select a theme to turn it into an FAQ entry (its questions become the entry's phrasings) or"
            " into training examples of an intent."
        )
    )
    themes_button = gr.Button(t("Find themes"), size="sm", elem_id="themes-refresh")
    themes_table = gr.Dataframe(interactive=False, wrap=True, elem_id="themes")
    found_themes = gr.State([])
    picked_theme = gr.State(None)
    theme_text = gr.Markdown()
    theme_question = gr.Textbox(label=t("FAQ question"), elem_id="theme-question")
    theme_answer = gr.Textbox(label=t("answer"), lines=3, elem_id="theme-answer")
    theme_faq_button = gr.Button(t("Add as FAQ entry"), variant="primary", elem_id="theme-add-faq")
    with gr.Row():
        theme_intent = gr.Dropdown(label=t("intent"), choices=intents, value=None)
        theme_intent_button = gr.Button(t("Label these questions with this intent"))
    theme_note = gr.Markdown(elem_id="theme-note")
    return ThemesComponents(
        themes_button,
        themes_table,
        found_themes,
        picked_theme,
        theme_text,
        theme_question,
        theme_answer,
        theme_faq_button,
        theme_intent,
        theme_intent_button,
        theme_note,
    )


def wire_themes(parts: ThemesComponents, handlers: ThemesHandlers) -> None:
    found, picked = parts.found_themes, parts.picked_theme
    parts.themes_button.click(handlers.themes, None, [parts.themes_table, found], **PRIVATE)
    parts.themes_table.select(handlers.pick_theme, found, [picked, parts.theme_question, parts.theme_text], **PRIVATE)
    parts.theme_faq_button.click(
        handlers.theme_to_faq,
        [picked, parts.theme_question, parts.theme_answer],
        [parts.theme_note, parts.themes_table, found],
        **PRIVATE,
    )
    parts.theme_intent_button.click(handlers.theme_to_intent, [picked, parts.theme_intent], parts.theme_note, **PRIVATE)
