"""Opt-out and opt-in keywords in received SMS: STOP, STOPP, ABMELDEN, ANNULLA, START, ...

A message is a keyword when its whole text, ignoring case, accents, surrounding blanks and
punctuation, is one of the configured words ("Stop.", " stopp ", "Annullà" all match; "stop
sending me offers" does not, as a carrier would not count it either).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from enum import StrEnum

DEFAULT_STOP = ("STOP", "STOPP", "STOPPER", "ABMELDEN", "ANNULLA", "UNSUBSCRIBE", "END", "QUIT")
DEFAULT_START = ("START", "ANMELDEN")


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"


def normalize(text: str) -> str:
    """Upper case, accents dropped, blanks and punctuation trimmed from both ends."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.strip().strip(".,;:!?¡¿-_'\"()[]*#~ \t\r\n").strip().upper()


class KeywordMatcher:
    def __init__(self, stop: Iterable[str] = DEFAULT_STOP, start: Iterable[str] = DEFAULT_START):
        self._words: dict[str, Keyword] = {normalize(w): Keyword.STOP for w in stop}
        self._words.update({normalize(w): Keyword.START for w in start})
        self._words.pop("", None)
        self._longest = max((len(w) for w in self._words), default=0)

    def match(self, text: str) -> Keyword | None:
        if len(text) > self._longest + 40:  # cheap exit for ordinary messages
            return None
        return self._words.get(normalize(text))
