"""Tests for smsbridge.core.templates: {{placeholder}} parsing and per-recipient rendering."""

from __future__ import annotations

import pytest

from smsbridge.core.errors import ValidationFailed
from smsbridge.core.templates import MissingField, Template, parse


def test_text_without_placeholders_is_returned_as_is() -> None:
    text = "Your code is 123456"
    template = parse(text)
    assert template.names == () and template.pieces == (text,)
    assert template.personal is False
    # the fast path hands back the very same string, whatever the fields and the policy
    assert template.render({}) is text
    assert template.render({"firstname": "Anna"}, "empty") is text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{single} braces",
        "{{}} empty",
        "{{ }} blank",
        "{{1abc}} starts with a digit",
        "{{first name}} has a space",
        "{{firstname} unbalanced",
        "{firstname}} unbalanced",
        "price: 5 € {{ }",
    ],
)
def test_things_that_are_not_placeholders_stay_literal(text: str) -> None:
    template = parse(text)
    assert template.personal is False
    assert template.render({}) == text


def test_parse_splits_literals_and_names() -> None:
    template = parse("Hi {{firstname}}, your code is {{extra1}}.")
    assert template.text == "Hi {{firstname}}, your code is {{extra1}}."
    assert template.pieces == ("Hi ", ", your code is ", ".")
    assert template.names == ("firstname", "extra1")
    assert template.personal is True
    assert template.render({"firstname": "Anna", "extra1": "4711"}) == "Hi Anna, your code is 4711."


@pytest.mark.parametrize(
    "text",
    [
        "Hi {{firstname}}!",
        "Hi {{ firstname }}!",
        "Hi {{firstname }}!",
        "Hi {{  firstname}}!",
        "Hi {{\tfirstname\t}}!",
        "Hi {{\nfirstname\n}}!",
    ],
)
def test_whitespace_inside_the_braces_is_ignored(text: str) -> None:
    template = parse(text)
    assert template.names == ("firstname",)
    assert template.render({"firstname": "Anna"}) == "Hi Anna!"


@pytest.mark.parametrize("name", ["firstname", "FirstName", "FIRSTNAME", "fIrStNaMe"])
def test_names_are_case_insensitive(name: str) -> None:
    template = parse(f"Hello {{{{{name}}}}}")
    assert template.names == ("firstname",)
    assert template.render({"firstname": "Anna"}) == "Hello Anna"


def test_names_may_hold_digits_dots_dashes_and_underscores() -> None:
    template = parse("{{extra10}} {{order.id}} {{ship-date}} {{_x}}")
    assert template.names == ("extra10", "order.id", "ship-date", "_x")
    fields = {"extra10": "a", "order.id": "b", "ship-date": "c", "_x": "d"}
    assert template.render(fields) == "a b c d"


def test_repeated_adjacent_and_edge_placeholders() -> None:
    template = parse("{{a}}{{b}} and {{a}}")
    assert template.pieces == ("", "", " and ", "")
    assert template.render({"a": "1", "b": "2"}) == "12 and 1"
    assert parse("{{a}}").render({"a": "only"}) == "only"


def test_triple_braces_keep_the_outer_ones() -> None:
    assert parse("{{{name}}}").render({"name": "x"}) == "{x}"


def test_values_are_inserted_verbatim() -> None:
    # a value that looks like a placeholder is not expanded again
    template = parse("Hi {{firstname}}")
    assert template.render({"firstname": "{{lastname}}", "lastname": "no"}) == "Hi {{lastname}}"
    assert template.render({"firstname": "Zoë €"}) == "Hi Zoë €"


@pytest.mark.parametrize("fields", [{}, {"firstname": None}, {"firstname": ""}, {"other": "x"}])
def test_missing_field_raises_by_default(fields: dict[str, str | None]) -> None:
    template = parse("Hi {{ FirstName }}, see you")
    with pytest.raises(MissingField) as caught:
        template.render(fields)
    error = caught.value
    assert isinstance(error, ValidationFailed)
    assert error.status_code == 422
    assert error.code == "missing_field"
    assert error.name == "firstname"
    assert error.details == {"field": "firstname"}
    assert "{{firstname}}" in error.message
    assert "missing_fields" in error.message
    # the explicit policy behaves the same
    with pytest.raises(MissingField):
        template.render(fields, "error")


@pytest.mark.parametrize("fields", [{}, {"firstname": None}, {"firstname": ""}])
def test_missing_field_left_empty_on_request(fields: dict[str, str | None]) -> None:
    template = parse("Hi {{firstname}}, see you")
    assert template.render(fields, "empty") == "Hi , see you"


def test_first_missing_field_is_named() -> None:
    template = parse("{{firstname}} {{lastname}} {{extra1}}")
    with pytest.raises(MissingField) as caught:
        template.render({"firstname": "Anna"})
    assert caught.value.name == "lastname"
    assert template.render({"firstname": "Anna"}, "empty") == "Anna  "


def test_fields_are_looked_up_in_lower_case() -> None:
    # the caller lower-cases the keys (the names are); the template does not guess
    template = parse("Hi {{firstname}}")
    with pytest.raises(MissingField):
        template.render({"FirstName": "Anna"})


def test_template_is_a_frozen_value() -> None:
    template = parse("Hi {{x}}")
    assert template == Template("Hi {{x}}", ("Hi ", ""), ("x",))
    with pytest.raises(AttributeError):
        template.text = "other"  # type: ignore[misc]
