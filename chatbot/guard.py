"""Cleaning a customer's message before anything else sees it.

Whatever arrives (control characters, binary junk, 100 KB pastes, other scripts, emoji) comes
out as a bounded, printable string; nothing here rejects a message, the router decides.
"""

from __future__ import annotations

import unicodedata

# Unicode categories dropped: controls, format characters (zero-width spaces, bidi marks),
# unassigned, private use, surrogates. The zero-width joiner stays: emoji sequences need it.
_DROP = {"Cc", "Cf", "Cn", "Co", "Cs"}
_KEEP = {"\u200d"}


def clean_text(text: object, max_chars: int) -> tuple[str, bool]:
    """Returns the cleaned text and whether it was cut to ``max_chars``.

    Bytes are decoded as UTF-8 (undecodable bytes dropped); other non-text raises TypeError.
    Newlines and tabs become spaces, runs of whitespace collapse, invisible junk is removed.
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="ignore")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise TypeError(f"a message must be text, got {type(text).__name__}")
    # cut early so a huge paste costs nothing; 4x leaves room for what cleaning removes
    text = text[: max_chars * 4]
    text = unicodedata.normalize("NFC", text)
    kept = []
    for ch in text:
        if ch in "\n\r\t\v\f":
            kept.append(" ")
        elif ch == "\ufffd" or (unicodedata.category(ch) in _DROP and ch not in _KEEP):
            continue
        else:
            kept.append(ch)
    text = " ".join("".join(kept).split())
    truncated = len(text) > max_chars
    if truncated:
        cut = text[:max_chars]
        text = cut.rsplit(" ", 1)[0] if " " in cut[max_chars // 2 :] else cut
    return text, truncated
