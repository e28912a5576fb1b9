"""The yes/no words (common/yes_no.py) shared by environment variables and query strings."""

from __future__ import annotations

import pytest

from common.yes_no import yes_no


@pytest.mark.parametrize("text", ["1", "true", "YES", " on ", "True"])
def test_yes_words_are_true(text: str) -> None:
    assert yes_no(text) is True


@pytest.mark.parametrize("text", ["0", "false", "No", "OFF", "", "  "])
def test_no_words_and_blank_are_false(text: str) -> None:
    assert yes_no(text) is False


@pytest.mark.parametrize("text", ["2", "maybe", "y", "n", "oui", "1.0"])
def test_anything_else_is_neither(text: str) -> None:
    assert yes_no(text) is None
