"""Is this customer upset? A fast, deterministic score for one message in its conversation.

``FrustrationDetector.score(message, fallbacks=..., previous=..., asked_for_person=...)``
adds up evidence in log-odds and squashes it to a score in 0..1:

- wording from a lexicon (``frustration.yaml`` of the bot's assets folder, else
  ``assets/frustration.yaml``; operators extend it): angry words, profanity, "you don't
  understand", sarcasm ("thanks for nothing"), asking for a manager, and calming words that
  count against ("no rush", "just curious"). Multi-word phrases, word stems (``frustrat*``) and
  raw regular expressions. A term is matched on whole words where it starts or ends with a
  Latin letter or a digit; a Chinese term (Japanese, Thai, ...: scripts written without
  spaces) matches inside a run of text, so 垃圾 is found in 你们真垃圾啊. A cue right after a
  negation in the same clause is ignored: up to ``negation.window`` English words before it
  ("I'm not angry, just asking"), or a Chinese negation word with at most ``negation.chars``
  characters between it and the cue (我不生气, 不是很失望), unless it is part of one of
  ``negation.exceptions`` (不得不, 是不是); clauses end at ``.,;:!?()``, ，。；：、！？ and 但/可是/不过;
- typography: ALL CAPS, shouted words (not acronyms or product codes; only cased letters
  count, so Chinese text around them neither shouts nor dilutes), ``!!``, ``???`` (full-width
  ！？ too), a word or a Chinese phrase said three times (``agent agent agent``, 快点快点快点);
- the conversation: consecutive turns the bot did not understand, the same message sent
  again, the classifier hearing "talk to a person".

Messages are read after NFKC normalisation (full-width letters and punctuation become
ASCII). Each group of cues counts once, so the score explains itself: ``reasons`` names the
groups that pushed it up. It costs tens of microseconds a message (it runs on every turn).

Limits: wording only in the languages of the lexicon (English in ``assets/``, Chinese in
``assets/zh/``); traditional characters only where the lexicon lists them; sarcasm without a
marker phrase ("wow. so helpful.") and politely worded anger are missed; one strong word
decides alone, so "this price is insane (in a good way)" is a false alarm. Measured on a
held-out set in ``benchmarks/frustration.py``.

Layout: ``matching`` (scripts with and without spaces, NFKC reading, one trie-shaped pattern per
cue group), ``lexicon`` (the YAML file's schema, reading it, extending the base with more files),
``detector`` (the lexicon compiled once, the scoring of each message).
"""

from chatbot.frustration.detector import (
    ACKNOWLEDGEMENTS,
    MAX_ADDITIONAL,
    REPEAT_WINDOW,
    REPEATED_WORD_MAX_WORDS,
    FrustrationDetector,
    FrustrationResult,
    count_repeats,
)
from chatbot.frustration.lexicon import (
    DEFAULT_LEXICON,
    LEXICON_NAME,
    TYPOGRAPHY_WEIGHTS,
    GroupDecl,
    Ladder,
    LexiconError,
    LexiconFile,
    NegationDecl,
    SignalsDecl,
    Term,
    TypographyDecl,
    Weight,
    Word,
)
from chatbot.frustration.matching import normalise

__all__ = [
    "ACKNOWLEDGEMENTS",
    "DEFAULT_LEXICON",
    "LEXICON_NAME",
    "MAX_ADDITIONAL",
    "REPEATED_WORD_MAX_WORDS",
    "REPEAT_WINDOW",
    "TYPOGRAPHY_WEIGHTS",
    "FrustrationDetector",
    "FrustrationResult",
    "GroupDecl",
    "Ladder",
    "LexiconError",
    "LexiconFile",
    "NegationDecl",
    "SignalsDecl",
    "Term",
    "TypographyDecl",
    "Weight",
    "Word",
    "count_repeats",
    "normalise",
]
