"""Tests for smsbridge.core.keywords: which received texts are opt-out / opt-in keywords."""

from __future__ import annotations

import pytest

from smsbridge.core.keywords import (
    DEFAULT_START,
    DEFAULT_STOP,
    Keyword,
    KeywordMatcher,
    normalize,
)

MATCHER = KeywordMatcher()


@pytest.mark.parametrize(
    "word", ["STOP", "STOPP", "STOPPER", "ABMELDEN", "ANNULLA", "UNSUBSCRIBE", "END", "QUIT"]
)
def test_every_default_stop_word_matches(word: str) -> None:
    assert word in DEFAULT_STOP
    assert MATCHER.match(word) is Keyword.STOP
    assert MATCHER.match(word.lower()) is Keyword.STOP
    assert MATCHER.match(word.capitalize()) is Keyword.STOP


@pytest.mark.parametrize("word", ["START", "ANMELDEN"])
def test_every_default_start_word_matches(word: str) -> None:
    assert word in DEFAULT_START
    assert MATCHER.match(word) is Keyword.START
    assert MATCHER.match(word.lower()) is Keyword.START
    assert MATCHER.match(f" {word.title()}! ") is Keyword.START


@pytest.mark.parametrize(
    "text",
    [
        "stop",
        "Stop",
        "sToP",
        " Stop. ",
        "STOP!",
        "stop!!!",
        "¡Stop!",
        "'stop'",
        '"STOP"',
        "(stop)",
        "[STOP]",
        "*stop*",
        "#stop",
        "~stop~",
        "stop?",
        "-stop-",
        "_stop_",
        "stop;",
        "stop:",
        "stop,",
        "\tstop\r\n",
        "\nSTOP\n",
        "stop\u00a0",  # a no-break space, as some keyboards type after a word
        "Stop…",  # an ellipsis character
        "ＳＴＯＰ",  # full-width letters
        "stop :)",
        "Stöp",
        "Stopp.",
        "stopper",
        "Annullà",
        "annullá",
        "ANNULLÀ!",
        "ÁBMELDEN!",
        "abmélden",
        "Unsubscribe.",
        "end",
        "Quit",
        "QUİT",  # Turkish dotted capital I
    ],
)
def test_stop_matches_ignoring_case_accents_blanks_and_punctuation(text: str) -> None:
    assert MATCHER.match(text) is Keyword.STOP


@pytest.mark.parametrize("text", ["start", " Start. ", "START!!", "Stárt", "anmelden", "ÄNMELDEN"])
def test_start_matches_ignoring_case_accents_blanks_and_punctuation(text: str) -> None:
    assert MATCHER.match(text) is Keyword.START


@pytest.mark.parametrize(
    "text",
    [
        "stop sending me offers",
        "please stop",
        "STOP NOW",
        "stop it",
        "st op",
        "s.t.o.p",
        "stops",
        "nonstop",
        "unstoppable",
        "stopp!stopp",
        "STOP STOP",
        "start now",
        "restart",
        "endless",
        "quitting",
        "Thanks!",
        "",
        "   ",
        "...",
        "!!!",
        "🛑",
        "0",
        "stop " + "x" * 200,
    ],
)
def test_ordinary_texts_are_not_keywords(text: str) -> None:
    assert MATCHER.match(text) is None


def test_a_long_text_is_not_a_keyword_without_looking_at_it() -> None:
    assert MATCHER.match("Stop. " + "Please call me back tomorrow about the invoice. " * 50) is None


def test_normalize() -> None:
    assert normalize(" Stop. ") == "STOP"
    assert normalize("Annullà") == "ANNULLA"
    assert normalize("ÁBMELDEN!") == "ABMELDEN"
    assert normalize("  ¿qué?  ") == "QUE"
    assert normalize("") == ""
    assert normalize("?!.") == ""
    # inside a word nothing is trimmed or dropped but accents
    assert normalize("stop, please") == "STOP, PLEASE"


def test_keyword_values_are_what_the_store_keeps() -> None:
    assert Keyword.STOP == "stop" and Keyword.STOP.value == "stop"
    assert Keyword.START == "start" and Keyword.START.value == "start"


def test_custom_lists_replace_the_defaults() -> None:
    matcher = KeywordMatcher(stop=["arrêt", "Halt!"], start=["Weiter"])
    assert matcher.match("ARRET") is Keyword.STOP
    assert matcher.match("Arrêt.") is Keyword.STOP
    assert matcher.match(" halt ") is Keyword.STOP
    assert matcher.match("weiter!") is Keyword.START
    assert matcher.match("WEITER") is Keyword.START
    # the defaults are not added to a custom list
    assert matcher.match("stop") is None
    assert matcher.match("start") is None
    assert matcher.match("unsubscribe") is None


def test_custom_stop_only_keeps_no_start_words() -> None:
    matcher = KeywordMatcher(stop=["CANCEL"], start=[])
    assert matcher.match("cancel") is Keyword.STOP
    assert matcher.match("start") is None


def test_blank_and_punctuation_only_custom_words_are_ignored() -> None:
    matcher = KeywordMatcher(stop=["", "  ", "!!", "STOP"], start=["", "?"])
    assert matcher.match("") is None
    assert matcher.match("!!") is None
    assert matcher.match("?") is None
    assert matcher.match("   ") is None
    assert matcher.match("stop") is Keyword.STOP


def test_empty_lists_match_nothing() -> None:
    matcher = KeywordMatcher(stop=[], start=[])
    for text in ("stop", "start", "", "x"):
        assert matcher.match(text) is None


def test_a_word_in_both_lists_counts_as_start() -> None:
    matcher = KeywordMatcher(stop=["STOP", "TOGGLE"], start=["toggle"])
    assert matcher.match("Toggle") is Keyword.START
    assert matcher.match("stop") is Keyword.STOP


def test_custom_words_may_be_longer_than_the_defaults() -> None:
    long_word = "BITTEKEINEWERBUNGMEHRZUSENDEN"
    matcher = KeywordMatcher(stop=[long_word])
    assert matcher.match(f"  {long_word.lower()}!  ") is Keyword.STOP
    assert matcher.match(f"{long_word} danke") is None


def test_custom_multi_word_keywords() -> None:
    matcher = KeywordMatcher(stop=["STOP ALL"], start=[])
    assert matcher.match("stop all.") is Keyword.STOP
    assert matcher.match("stop") is None


def test_settings_lists_reach_the_matcher() -> None:
    from smsbridge.config import Settings

    settings = Settings(
        database_url="sqlite:///unused.db", keywords_stop="halt, stopp", keywords_start="los"
    )
    matcher = KeywordMatcher(settings.keywords_stop, settings.keywords_start)
    assert matcher.match("Halt") is Keyword.STOP
    assert matcher.match("stopp!") is Keyword.STOP
    assert matcher.match("LOS") is Keyword.START
    assert matcher.match("stop") is None
