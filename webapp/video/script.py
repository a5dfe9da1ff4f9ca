"""Scenes of a script and the sentence splitter that narration and subtitles share."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words that end in a full stop without ending the sentence ("Mr. Smith", "e.g. apples").
ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "e.g", "i.e", "cf", "approx"}
)
# A run of terminators, any closing quotes or brackets, then whitespace or the end.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)")
_PARAGRAPH = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Scene:
    """One scene: a short on-screen heading and the narration spoken over it."""

    heading: str
    narration: str


def split_sentences(text: str) -> list[str]:
    """Split narration into sentences, keeping their punctuation and collapsing whitespace."""
    sentences: list[str] = []
    # A blank line ends a sentence even without punctuation (outline-style narration).
    for paragraph in _PARAGRAPH.split(text):
        sentences.extend(_split_paragraph(" ".join(paragraph.split())))
    return sentences


def _split_paragraph(text: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _END.finditer(text):
        if _ends_sentence(text, match):
            sentences.append(text[start : match.end()].strip())
            start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    following = text[match.end() :].lstrip()
    # "e.g. apples", "… and then": a lower-case continuation is the same sentence.
    if following[:1].islower():
        return False
    if match.group().startswith("."):
        word = text[: match.start()].rsplit(" ", 1)[-1].lstrip("\"'“‘([")
        # Initials ("J. R. R. Tolkien") and known abbreviations do not end a sentence.
        if (len(word) == 1 and word.isalpha()) or word.lower() in ABBREVIATIONS:
            return False
    return True


# About how fast narrators speak: 150 words a minute (piper's joe voice: about 155).
WORDS_PER_SECOND = 2.5


def estimated_seconds(scenes: list[Scene]) -> float:
    """Roughly how long the narration of these scenes will last."""
    return sum(len(s.narration.split()) for s in scenes) / WORDS_PER_SECOND
