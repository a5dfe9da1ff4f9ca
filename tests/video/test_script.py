"""Splitting narration into sentences."""

from __future__ import annotations

import pytest

from webapp.video.script import split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Hello world. This is it! Really? Yes…",
            ["Hello world.", "This is it!", "Really?", "Yes…"],
        ),
        ("  spaced   out\n text.  Next\tone. ", ["spaced out text.", "Next one."]),
        (
            "a long sentence without any punctuation at all",
            ["a long sentence without any punctuation at all"],
        ),
        ("", []),
        ("  \n\n ", []),
        ("...", ["..."]),
        ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
        ("Fruit, e.g. apples, is good. Eat some.", ["Fruit, e.g. apples, is good.", "Eat some."]),
        ("It costs 3.5 dollars. Or 4.25.", ["It costs 3.5 dollars.", "Or 4.25."]),
        ("J. R. R. Tolkien wrote it. Read it.", ["J. R. R. Tolkien wrote it.", "Read it."]),
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ("Wow!!! Really?! Yes", ["Wow!!!", "Really?!", "Yes"]),
        ("Wait… what happened? Nothing.", ["Wait… what happened?", "Nothing."]),
        ("Visit example.com today. Thanks.", ["Visit example.com today.", "Thanks."]),
        ("First part\n\nSecond part", ["First part", "Second part"]),
        ("The answer is no. Then we stop.", ["The answer is no.", "Then we stop."]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_split_keeps_every_word() -> None:
    text = "One. Two? Three! Four… five. Mr. Six."
    assert " ".join(split_sentences(text)).split() == text.split()
