"""What a topic is, grammatically, so that the offline writer can open with it in a sentence
that reads well instead of pasting it into a slot.

A topic comes as a question ("How do bees make honey?", "Is coffee bad for you"), as a
how/why clause ("How honeybees turn flower nectar into honey"), or as a phrase or title
("Memory safety", "The history of jazz"). Each gives a different first sentence:

- a question is asked as it is (its own sentence, a question mark added if missing);
- "how to X" is asked as "How do you X?";
- a how/why clause (with a question mark or not) becomes the statement it explains
  ("Honeybees turn flower nectar into honey.") followed by its question word ("But how?");
- a phrase is named after a colon ("Today's topic: Memory safety."), which reads well
  whatever its case (lower-casing "Rust" or "SQL" to fit mid-sentence would be wrong).
"""

from __future__ import annotations

from dataclasses import dataclass

QUESTION_WORDS = frozenset({"how", "why", "what", "when", "where", "which", "who", "whose",
                            "whom", "whether"})
AUXILIARIES = frozenset({"am", "is", "are", "was", "were", "do", "does", "did", "can",
                         "could", "should", "would", "will", "shall", "may", "might", "must",
                         "has", "have", "had"})
# "How long", "how many"...: a question about an amount, not a clause about a fact.
HOW_MUCH = frozenset({"long", "much", "many", "often", "far", "big", "old", "fast", "well",
                      "soon", "late", "early", "hot", "cold", "deep", "high", "large", "small"})
# Clauses that explain a fact: "How X" / "Why X" say X is so, and ask how or why.
EXPLAINING = frozenset({"how", "why"})


@dataclass(frozen=True)
class Topic:
    """A topic's kind ("question", "clause" or "phrase") and its sentences."""

    kind: str
    text: str  # as given, whitespace collapsed, without trailing punctuation
    question: str = ""  # a question to ask ("question"; "clause" with what/who/...)
    statement: str = ""  # "clause": the fact a how/why clause explains, as a sentence
    asks: str = ""  # "clause": its question word, lower case


def read_topic(text: str) -> Topic:
    """The kind and sentences of `text` (which must not be empty)."""
    asked = text.rstrip().endswith("?")
    text = phrase(text)
    words = text.split()
    first = words[0].lower() if words else ""
    second = words[1].lower() if len(words) > 1 else ""
    if first in AUXILIARIES or (first in QUESTION_WORDS and second in AUXILIARIES) \
            or (first == "how" and second in HOW_MUCH):
        return Topic("question", text, question=capitalized(text) + "?")
    if first in QUESTION_WORDS and second == "to" and len(words) > 2:  # "How to bake bread"
        return Topic("question", text,
                     question=f"{capitalized(first)} do you {' '.join(words[2:])}?")
    if first in EXPLAINING and len(words) > 2:  # a question mark or not: a statement's why
        return Topic("clause", text, statement=capitalized(" ".join(words[1:])) + ".",
                     asks=first)
    if first in QUESTION_WORDS or asked:
        return Topic("question", text, question=capitalized(text) + "?")
    return Topic("phrase", text)


def phrase(text: str) -> str:
    """Whitespace collapsed and trailing sentence punctuation removed."""
    return " ".join(text.split()).rstrip(".!?;:,")


def capitalized(text: str) -> str:
    """`text` with its first letter upper case, the rest as it was."""
    return text[:1].upper() + text[1:]


NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
           "ten", "eleven", "twelve")


def spelled(number: int) -> str:
    """A small count as a word ("four"), as a narrator says it; digits past twelve."""
    return NUMBERS[number] if 0 <= number < len(NUMBERS) else str(number)


def listed(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
