"""The bot: one turn in, one reply out, with a trace of how it decided.

Routing: the intent classifier runs first. A confident intent is answered by its
handler (a template, the FAQ, or a handoff to a person); an intent that needs a slot asks for
it and takes the answer next turn. An unsure classifier falls back to FAQ search; when no FAQ
entry answers either, the imported documents are searched, and a passage above its calibrated
threshold answers with its sentences closest to the question and its source (route
``document``, ``trace["document"]``); otherwise a clarifying question offers the closest
candidates (intents, FAQ entries, document sections); nothing close gives a
polite fallback, and repeated fallbacks offer a person. A message far from every training
example of its best intent (the classifier's distance test, see ``finetune.model``) that the FAQ
does not answer either is out of scope: the bot says it can't help with that here (template
``out_of_scope``, route ``fallback``, ``trace["out_of_scope"]``) instead of suggesting intents.

Every turn is also scored for frustration (``chatbot.frustration``: wording, typography,
misunderstood and repeated turns, asking for a person). A frustrated customer gets the answer
to what they asked *and* an offer of a person: one sentence and a "Talk to a person" button (template ``talk_to_person``);
the route stays the answer's (``template``, ``faq``, ...) so route statistics keep meaning
what was answered, and ``trace["frustration"]`` holds the score, the reasons and whether a
person was offered. "yes" then hands over. A customer who declines is not asked again for
``FRUSTRATION_COOLDOWN`` turns.

A handoff opens a row in the store's handoff queue (redacted transcript, last understood
intent, reason) and, with ``handoff_webhook_url`` set, is POSTed there in the background
(``chatbot.handoff.Webhook``). Outside ``business_hours`` the handoff reply says when the team
is back (template ``handoff_closed``) and asks for an e-mail address, which the next message
with an ``@`` gives (checked; route ``email``). The clock is injectable (``Bot(clock=...)``) for tests.

While the handoff waits, the bot answers as usual and what is said is kept for the person
(``chatbot.live``); once a person takes it, the bot is silent (route ``live``, empty text) and
its answer to each message goes to the person as a draft, worked out on a copy of the
conversation's state. When the person hands back or closes, the next turn is the bot's again.

A confident intent passes two calibrated tests (see ``finetune.model``): softmax confidence
and closeness to a training example of that intent.

Every turn is logged (redacted) with its trace in the store, when the bot has one; a doubtful
turn (clarify, fallback) also enters the operators' review queue. The model and the FAQ index
can be swapped while serving (``swap_classifier``, ``swap_faq``): a turn reads each reference
once, so a turn in flight is answered wholly by the old or the new one.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from chatbot.context import Offer, is_follow_up, resolve_choice, with_context
from chatbot.domain import Domain, Intent
from chatbot.frustration import FrustrationDetector
from chatbot.guard import clean_text
from chatbot.handoff import BusinessHours, Webhook
from chatbot.live import LiveChat, LiveState, email_in
from chatbot.reply import Reply, clarify_offers, document_source, faq_source, join_sentences
from chatbot.serving import ServedModels
from chatbot.sessions import PendingSlot, Session, sessions_for
from chatbot.settings import Settings
from chatbot.store import Store
from chatbot.turnlog import TurnLog
from finetune import IntentClassifier, Prediction
from retrieval import FaqIndex
from retrieval.documents import sentences
from retrieval.passages import PassageHit, PassageIndex, answers, choose_sentences, leading_sentences

FRUSTRATION_COOLDOWN = 3  # customer turns after a declined offer before frustration offers a person again


class Bot:
    """Routes turns. What it routes with lives elsewhere: the served models
    (``chatbot.serving``), the conversations (``chatbot.sessions``), what a turn returns
    (``chatbot.reply``) and leaves behind (``chatbot.turnlog``). Building one has no side effects;
    ``chatbot.load_bot`` opens a data folder (training on first start, opening the store)."""

    def __init__(
        self,
        settings: Settings,
        domain: Domain,
        classifier: IntentClassifier,
        faq: FaqIndex,
        store: Store | None = None,
        model_version: str | None = None,
        frustration: FrustrationDetector | None = None,
        clock: Callable[[], datetime] | None = None,
        documents: PassageIndex | None = None,
    ):
        self.settings = settings
        self.domain = domain
        self._check(classifier)
        self.models = ServedModels(classifier, faq, lanes=settings.torch_threads, documents=documents)
        self.sessions = sessions_for(store, domain, settings.max_sessions, settings.session_idle_hours)
        self.model_version = model_version
        if frustration is None:
            extra = [settings.frustration_lexicon] if settings.frustration_lexicon else []
            frustration = FrustrationDetector.load(
                *extra, assets_dir=settings.assets_path, threshold=settings.frustration_threshold
            )
        self.frustration = frustration
        self.clock = clock or (lambda: datetime.now(UTC))  # aware datetimes; tests pass a fixed one
        hours = settings.business_hours
        self.business_hours = BusinessHours.parse(hours, settings.timezone) if hours else None
        url = settings.handoff_webhook_url
        self.turn_log = TurnLog(store, Webhook(url, timeout=settings.handoff_webhook_timeout) if url else None)
        self.live = LiveChat(store, domain, settings.max_input_chars) if store is not None else None

    @property
    def classifier(self) -> IntentClassifier:
        return self.models.classifier

    @property
    def faq(self) -> FaqIndex:
        return self.models.faq

    @property
    def documents(self) -> PassageIndex | None:
        return self.models.documents

    @property
    def person_label(self) -> str:
        """The label of the button that hands the conversation to a person (template
        ``talk_to_person``); offered as a suggestion, it is understood as that choice."""
        return self.domain.render("talk_to_person")

    @property
    def store(self) -> Store | None:
        return self.turn_log.store

    def faq_thresholds(self) -> tuple[float, float]:
        """(answer, suggest) cosine thresholds: the configured ones, else those calibrated for
        the served FAQ and model (a swapped FAQ brings its own)."""
        calibrated = self.faq.thresholds
        answer, suggest = self.settings.faq_answer_threshold, self.settings.faq_suggest_threshold
        return (
            calibrated.answer if answer is None else answer,
            calibrated.suggest if suggest is None else suggest,
        )

    def _check(self, classifier: IntentClassifier) -> None:
        missing = sorted(set(classifier.labels) - set(self.domain.intents))
        if missing:
            raise ValueError(f"the model knows intents that intents.yaml does not define: {missing}")

    def swap_classifier(self, classifier: IntentClassifier) -> None:
        """Serves another model from the next turn on (one reference assignment)."""
        self._check(classifier)
        self.models.classifier = classifier

    def swap_faq(self, faq: FaqIndex) -> None:
        """Serves another FAQ index from the next turn on (one reference assignment)."""
        self.models.faq = faq

    def swap_documents(self, documents: PassageIndex | None) -> None:
        """Serves another passage index (``None``: no documents) from the next turn on."""
        self.models.documents = documents

    def document_thresholds(self, documents: PassageIndex) -> tuple[float, float]:
        """(answer, suggest) cosine thresholds of the passage search: the configured ones, else
        those calibrated on the passages with the model, as the FAQ's are."""
        calibrated = documents.thresholds
        answer, suggest = self.settings.document_answer_threshold, self.settings.document_suggest_threshold
        return (
            calibrated.answer if answer is None else answer,
            calibrated.suggest if suggest is None else suggest,
        )

    @property
    def intent_threshold(self) -> float:
        configured = self.settings.intent_threshold
        return self.classifier.threshold if configured is None else configured

    def session(self, session_id: str | None = None) -> Session:
        """The session with this id as it is now (a new one if unknown or None). Passing it
        to :meth:`reply` continues it in this process; passing its id continues it wherever
        it is stored."""
        return self.sessions.get(session_id)

    # -- one turn -------------------------------------------------------------------------
    def reply(self, session: Session | str | None, text: object) -> Reply:
        """Answers one customer message. Never raises for any text; TypeError for non-text."""
        started = time.perf_counter()
        message, truncated = clean_text(text, self.settings.max_input_chars)
        trace: dict = {"truncated": truncated, "ms": {}}
        with self.sessions.turn(session) as session:
            live = self._live_state(session)
            if not message:
                reply = Reply(self.domain.render("empty_input"), "empty", None, 0.0)
            elif live is not None and live.status == "live":
                reply = self._to_person(session, message, live, trace)
            elif live is not None and session.awaiting_email and "@" in message:
                reply = self._take_email(session, message, live)
            else:
                reply = self._route(session, message, trace)
                self._offer_person(session, reply, trace)
            session.turns += 1
            session.remember(message, None if reply.route == "live" else reply.text)
            session.fallbacks = session.fallbacks + 1 if reply.route == "fallback" else 0
            trace.update(intent=reply.intent, confidence=round(reply.confidence, 4), route=reply.route)
            trace["ms"]["total"] = round(1000 * (time.perf_counter() - started), 2)
            reply.trace = {**trace, **reply.trace}
            reason = session.handoff_reason if reply.route == "handoff" and session.handoff_reason else "asked in chat"
            if reply.route == "handoff" or not session.offered_handoff:
                session.handoff_reason = None
            self._log(session, message, reply, reason=reason)
            if live is not None and live.status == "open" and message:  # kept for the person who takes it
                self.live.customer_wrote(live, session.id, message)
                self.live.bot_answered(live, session.id, reply.text)
        return reply

    def handoff(self, session: Session | str | None, reason: str = "the customer pressed 'talk to a person'") -> Reply:
        """Hands the conversation to a person (the chat page's button)."""
        with self.sessions.turn(session) as session:
            intents = [turn for turn in session.history if turn[0] == "user"]
            reply = self._handoff(session, self.domain.intents.get(self.domain.roles.handoff), None)
            reply.trace = {"route": "handoff", "reason": reason, "ms": {}, **reply.trace}
            session.remember("(asked for a person)", reply.text)
            self._log(session, "(asked for a person)", reply, reason=reason if intents else reason + " (no messages)")
        return reply

    def _live_state(self, session: Session) -> LiveState | None:
        """The conversation's handoff while it waits or a person answers; a handed-off
        conversation whose handoff has ended is the bot's again."""
        if self.live is None or not session.handed_off:
            return None
        state = self.live.state(session.id)
        if state is None:
            session.handed_off = session.awaiting_email = False
        return state

    def _to_person(self, session: Session, message: str, live: LiveState, trace: dict) -> Reply:
        """A person answers: the bot says nothing, and what it would have said goes to the
        person as a draft (worked out on a copy: the conversation's state stays as it was)."""
        copy = dataclasses.replace(
            session,
            history=list(session.history),
            slots=dict(session.slots),
            offers=list(session.offers),
            pending=dataclasses.replace(session.pending) if session.pending is not None else None,
            lock=threading.Lock(),
        )
        draft = self._route(copy, message, {"ms": {}})
        self.live.customer_wrote(live, session.id, message, draft=draft.text)
        trace.update(agent=live.agent, handoff_id=live.handoff_id, draft_route=draft.route)
        return Reply("", "live", session.last_intent, 1.0)

    def _take_email(self, session: Session, message: str, live: LiveState) -> Reply:
        """The address a customer leaves outside business hours, checked; a wrong one is asked again."""
        try:
            address = email_in(message)
        except ValueError as exc:
            return Reply(self.domain.render("email_invalid", {"reason": str(exc)}), "email", None, 1.0)
        self.live.leave_email(live, address)
        session.awaiting_email = False
        return Reply(self.domain.render("email_noted", {"email": address}), "email", None, 1.0)

    def _log(self, session: Session, message: str, reply: Reply, reason: str) -> None:
        self.turn_log.record(session, message, reply, reason, self.model_version)

    def _confident(self, prediction: Prediction) -> bool:
        if self.settings.intent_threshold is None:
            return prediction.in_scope
        return (
            prediction.confidence >= self.intent_threshold
            and prediction.similarity >= self.classifier.similarity_threshold
        )

    def _route(self, session: Session, message: str, trace: dict) -> Reply:
        offers, session.offers = session.offers, []
        choice = resolve_choice(message, offers, session.last_choice) if session.pending is None else None
        if choice is not None:  # "2", "the second one", the button, "no, the other one"
            session.offers, session.last_choice = offers, choice  # "the other one" may follow
            trace["choice"] = {"index": choice, "label": offers[choice].label}
            self._score_frustration(session, message, None, trace)
            return self._choose(session, offers[choice], trace)
        session.last_choice = None

        t = time.perf_counter()
        texts = [message]
        follow_up = session.last_question is not None and session.pending is None and is_follow_up(message)
        if follow_up:  # read it alone and with the previous question, in one batch
            texts.append(with_context(session.last_question, message))
        predictions = self.models.classify(texts)
        trace["ms"]["classify"] = round(1000 * (time.perf_counter() - t), 2)
        prediction, understood = predictions[0], message
        if follow_up and not self._confident(prediction) and self._confident(predictions[1]):
            prediction, understood = predictions[1], texts[1]
            trace["context"] = understood
        entities = self.domain.extract(message)
        trace.update(
            entities=sorted(entities),
            threshold=round(self.intent_threshold, 4),
            similarity=round(prediction.similarity, 4),
            similarity_threshold=round(self.classifier.similarity_threshold, 4),
        )
        intent = self.domain.intents.get(prediction.intent) if self._confident(prediction) else None
        if intent is not None and intent.name not in self.domain.roles.not_topics:
            session.last_intent = intent.name
        self._score_frustration(session, message, intent, trace)

        if session.pending is not None:
            reply = self._continue_slot(session, prediction, intent, entities)
            if reply is not None:
                return reply
        roles = self.domain.roles
        if session.offered_handoff and intent is not None and intent.name in (roles.affirm, roles.deny):
            session.offered_handoff = False
            if intent.name == roles.affirm:
                return self._handoff(session, self.domain.intents.get(roles.handoff), prediction)
            session.declined_handoff_at = session.turns
        session.offered_handoff = False
        if intent is None:
            reply = self._search_faq(session, understood, prediction, trace)
        else:
            reply = self._dispatch(session, intent, prediction, entities, understood, trace)
        if reply.route in ("template", "faq", "document", "ask_slot") and (
            intent is None or intent.name not in roles.small_talk
        ):
            session.last_question = understood
        return reply

    def _score_frustration(self, session: Session, message: str, intent: Intent | None, trace: dict) -> None:
        """Scores the message in its conversation into ``trace["frustration"]`` (tens of microseconds)."""
        t = time.perf_counter()
        retries = session.pending.retries if session.pending is not None else 0
        result = self.frustration.score(
            message,
            fallbacks=session.fallbacks + retries,
            previous=[text for who, text in session.history[-2 * 10 :] if who == "user"],
            asked_for_person=intent is not None and intent.name == self.domain.roles.handoff,
        )
        trace["frustration"] = {**result.to_dict(), "offered_person": False}
        trace["ms"]["frustration"] = round(1000 * (time.perf_counter() - t), 3)

    def _offer_person(self, session: Session, reply: Reply, trace: dict) -> None:
        """Offers a person to a frustrated customer, and with an answer that asks it already
        (a complaint): a sentence (unless the answer asks), the button, and "yes" hands over."""
        if reply.route == "handoff" or session.handed_off:
            return
        frustration = trace.get("frustration") or {}
        asks_already = reply.intent in self.domain.roles.offers_person and reply.route == "template"
        frustrated = bool(frustration.get("frustrated"))
        declined = session.declined_handoff_at
        if frustrated and declined is not None and session.turns - declined < FRUSTRATION_COOLDOWN:
            frustrated = False
        if not (frustrated or asks_already):
            return
        if self.person_label not in reply.suggestions:
            if not asks_already:
                reply.text = f"{reply.text} {self.domain.render('frustration_offer')}"
            reply.suggestions = [*reply.suggestions, self.person_label]
            session.offers = [*session.offers, self._person_offer()]
        session.offered_handoff = True
        if frustrated:
            session.handoff_reason = "frustrated customer: " + (", ".join(frustration["reasons"]) or "score")
            frustration["offered_person"] = True

    def _dispatch(
        self, session: Session, intent: Intent, prediction: Prediction, entities: dict, message: str, trace: dict
    ) -> Reply:
        if intent.handler == "handoff":
            return self._handoff(session, intent, prediction)
        if intent.handler == "faq":
            return self._search_faq(session, message, prediction, trace, intent=intent)
        return self._template(session, intent, prediction, entities)

    def _choose(self, session: Session, offer: Offer, trace: dict) -> Reply:
        """Answers the suggestion the customer picked, without guessing again."""
        documents = self.documents
        found = documents.passage(offer.target) if offer.kind == "document" and documents is not None else None
        if found is not None:  # a document section: its first sentences (there is no question to choose by)
            hit = PassageHit(*found, score=1.0, fused=1.0)
            units = sentences(hit.passage.text) or [hit.passage.text]
            return self._document_reply(hit, units, leading_sentences(units), None, 1.0, trace)
        if offer.kind == "faq":
            entry = next((e for e in self.faq.entries if e.id == offer.target), None)
            if entry is not None:
                trace.update(faq_id=entry.id, faq_score=1.0)
                session.last_question = entry.question
                source = {"faq_id": entry.id, "question": entry.question, "score": 1.0, "exact": False}
                return Reply(entry.answer, "faq", None, 1.0, [], [source])
        intent = self.domain.intents.get(offer.target)
        if intent is None:  # the FAQ or the model changed since the offer: read the label instead
            session.offers = []
            return self._route(session, offer.label, trace)
        prediction = Prediction(intent.name, 1.0, True, ((intent.name, 1.0),), 1.0)
        if intent.name not in self.domain.roles.not_topics:  # keep what the handoff is about
            session.last_intent = intent.name
        return self._dispatch(session, intent, prediction, {}, offer.label, trace)

    def _template(self, session: Session, intent: Intent, prediction: Prediction, entities: dict[str, str]) -> Reply:
        for slot in intent.slots:
            if slot.entity in entities:
                session.slots[slot.name] = entities[slot.entity]
        for slot in intent.slots:
            if slot.name not in session.slots:
                session.pending = PendingSlot(intent, slot)
                return Reply(slot.prompt, "ask_slot", intent.name, prediction.confidence)
        text = self.domain.render(intent.template, session.slots)
        return Reply(text, "template", intent.name, prediction.confidence)

    def _continue_slot(self, session: Session, prediction: Prediction, intent: Intent | None, entities) -> Reply | None:
        """The previous turn asked for a slot: take it, re-ask, or let the customer move on."""
        pending = session.pending
        if pending.slot.entity in entities:
            session.pending = None
            return self._template(session, pending.intent, prediction, entities)
        roles = self.domain.roles
        if intent is not None and intent.name not in (pending.intent.name, roles.affirm, roles.deny):
            session.pending = None  # a new, clear request: follow the customer
            return None
        if pending.retries < self.settings.slot_retries:
            pending.retries += 1
            text = self.domain.render("slot_retry", {"slot": pending.slot.label, "prompt": pending.slot.prompt})
            return Reply(text, "ask_slot", pending.intent.name, prediction.confidence)
        session.pending = None
        session.offered_handoff = True
        session.offers = [self._person_offer()]
        text = self.domain.render("slot_missing", {"slot": pending.slot.label})
        return Reply(text, "fallback", pending.intent.name, prediction.confidence, [self.person_label])

    def _person_offer(self) -> Offer:
        """The "Talk to a person" button: it stands for the handoff role's intent (its label is
        read again if the domain declares none)."""
        return Offer(self.person_label, "intent", self.domain.roles.handoff or "")

    def _handoff(self, session: Session, intent: Intent | None, prediction: Prediction | None) -> Reply:
        session.handed_off = True
        template = intent.template if intent is not None and intent.template else "human_handoff"
        name = intent.name if intent is not None else self.domain.roles.handoff or "handoff"
        confidence = prediction.confidence if prediction is not None else 1.0
        text = self.domain.render(template, session.slots)
        trace = {}
        if self.business_hours is not None:
            now = self.clock()
            opening = self.business_hours.next_opening(now)
            trace["business_hours"] = {
                "open": opening is None and self.business_hours.is_open(now),
                "next_opening": opening.isoformat() if opening is not None else None,
            }
            if opening is not None:
                next_open = self.domain.describe_opening(opening, now)
                text = self.domain.render("handoff_closed", {**session.slots, "next_open": next_open})
                if self.live is not None:  # the queue keeps the conversation; an address gets the reply
                    session.awaiting_email = True
                    text += " " + self.domain.render("ask_email")
        return Reply(text, "handoff", name, confidence, trace=trace)

    def _search_faq(
        self, session: Session, message: str, prediction: Prediction, trace: dict, intent: Intent | None = None
    ) -> Reply:
        t = time.perf_counter()
        hits = self.models.search(message, k=self.settings.suggestions + 2)
        trace["ms"]["faq"] = round(1000 * (time.perf_counter() - t), 2)
        settings = self.settings
        answer_at, suggest_at = self.faq_thresholds()
        top = hits[0] if hits else None
        if top is not None:
            trace.update(faq_id=top.faq_id, faq_score=top.score, faq_exact=top.exact, faq_answer_at=answer_at)
        if top is not None and (top.score >= answer_at or top.exact):
            related = [h for h in hits[1:] if h.score >= suggest_at][:2]
            session.offers = [Offer(h.question, "faq", h.faq_id) for h in related]
            name = intent.name if intent is not None else prediction.intent
            labels = [h.question for h in related]
            return Reply(top.answer, "faq", name, prediction.confidence, labels, [faq_source(top)])

        name = intent.name if intent is not None else None
        answer, near_passages = self._search_documents(message, name, prediction, trace)
        if answer is not None:
            return answer

        # Out of scope: far from every training example of its best intent (the classifier's
        # ranking then means nothing, so no intent is suggested) and nothing answers it.
        far = intent is None and prediction.similarity < self.classifier.similarity_threshold
        trace["out_of_scope"] = far
        near = [h for h in hits if h.score >= suggest_at]
        offers = clarify_offers(
            prediction,
            near,
            self.domain.intents,
            0.5 * self.intent_threshold,
            settings.suggestions,
            far=far,
            passages=near_passages,
        )
        if offers:
            session.offers = offers
            labels = [o.label for o in offers]
            sources = [faq_source(h) for h in near]
            return Reply(
                self.domain.render("clarify"), "clarify", prediction.intent, prediction.confidence, labels, sources
            )
        text = self.domain.render("out_of_scope" if far else "fallback")
        if session.fallbacks + 1 >= settings.fallbacks_before_handoff:
            session.offered_handoff = True
            session.offers = [self._person_offer()]
            text += " " + self.domain.render("offer_person")
            return Reply(text, "fallback", None, prediction.confidence, [self.person_label])
        return Reply(text, "fallback", None, prediction.confidence)

    def _search_documents(
        self, message: str, intent: str | None, prediction: Prediction, trace: dict
    ) -> tuple[Reply | None, list[PassageHit]]:
        """The documents' answer when a passage reaches its threshold; else the passages close
        enough to be offered in a clarifying question."""
        t = time.perf_counter()
        documents, hits, query = self.models.search_documents(message, k=self.settings.suggestions + 2)
        if documents is None or not hits:
            return None, []
        answer_at, suggest_at = self.document_thresholds(documents)
        top = hits[0]
        trace["document"] = {"passage": top.passage.id, "score": round(top.score, 4), "answer_at": round(answer_at, 4)}
        reply = None
        if answers(hits, answer_at, suggest_at):
            units = sentences(top.passage.text) or [top.passage.text]
            chosen = choose_sentences(query, units, np.asarray(self.models.embed(units, documents.encoder)))
            reply = self._document_reply(top, units, chosen, intent, prediction.confidence, trace)
        trace["ms"]["documents"] = round(1000 * (time.perf_counter() - t), 2)
        return reply, [h for h in hits if h.score >= suggest_at]

    def _document_reply(
        self,
        hit: PassageHit,
        units: list[str],
        chosen: tuple[int, ...],
        intent: str | None,
        confidence: float,
        trace: dict,
    ) -> Reply:
        """The chosen sentences of a passage, then where they come from (template ``document_source``)."""
        shown = [units[i] for i in chosen]
        source = document_source(hit, shown)
        where = source["place"]
        if source["url"]:
            where += f" ({source['url']})"
        text = join_sentences(shown) + "\n\n" + self.domain.render("document_source", {"source": where})
        trace.setdefault("document", {}).update(passage=hit.passage.id, sentences=list(chosen))
        return Reply(text, "document", intent, confidence, [], [source])
