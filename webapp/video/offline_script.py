"""The offline script writer: deterministic scenes built from the title, topic and outline."""

from __future__ import annotations

import re
import zlib

from webapp.video.script import Scene

_BULLET = re.compile(r"^\s*(?:[-*•+]+|\d+[.)]|#+)\s+")
# Each outline scene takes one sentence from each group, picked by a checksum of its line,
# so the same input always gives the same script while neighbouring scenes still vary.
_OPENERS = (
    "Let's look at {line}.",
    "Next up: {line}.",
    "This part is about {line}.",
    "Now we turn to {line}.",
)
_MIDDLES = (
    "It is one of the ideas that make {topic} easier to understand.",
    "When people learn {topic}, this is often the step that makes things click.",
    "It connects directly to everything else we cover about {topic}.",
    "Getting it right early saves a lot of time with {topic} later on.",
)
_CLOSERS = (
    "Keep it in mind as we move on.",
    "Take a moment to think about how it applies to your own work.",
    "With that in place, the next part will feel natural.",
    "Remember this one, because we will build on it.",
)
# Sections for a script without an outline: (heading, recap phrase, narration).
_GENERIC = (
    (
        "What is {topic}?",
        "what it is",
        "First, what exactly is {topic}? In short, it is worth knowing well. "
        "We will start from the basic idea and keep the details for later.",
    ),
    (
        "Why it matters",
        "why it matters",
        "So why does {topic} matter? Because it shows up in more places than you might "
        "expect. Understanding it helps you make better decisions.",
    ),
    (
        "How it works",
        "how it works",
        "Let's see how {topic} works in practice. Start with the core idea, then look at how "
        "the pieces fit together. Small examples help a lot here.",
    ),
    (
        "Common mistakes",
        "common mistakes",
        "There are a few common mistakes with {topic}. Most come from skipping the basics. "
        "Knowing them in advance makes them easy to avoid.",
    ),
    (
        "Getting started",
        "how to get started",
        "Ready to get started with {topic}? Pick one small, concrete step and try it today. "
        "Practice turns the ideas into habits.",
    ),
)


def template_script(*, title: str, topic: str, outline: str | None, max_scenes: int) -> list[Scene]:
    """An intro, one scene per outline line (or generic sections), and a closing scene."""
    title, topic = _phrase(title), _phrase(topic) or _phrase(title)
    body = _outline_scenes(outline, topic) or [
        (Scene(h.format(topic=topic), n.format(topic=topic)), recap) for h, recap, n in _GENERIC
    ]
    body = body[: max(0, max_scenes - 2)]
    scenes = [_intro(title, topic, len(body)), *(scene for scene, _ in body)]
    if max_scenes >= 2:
        scenes.append(_closing(title, topic, [recap for _, recap in body]))
    return scenes


def outline_lines(outline: str | None) -> list[str]:
    """The non-empty lines of an outline, without bullets or numbering."""
    lines = (_BULLET.sub("", line) for line in (outline or "").splitlines())
    return [_phrase(line) for line in lines if _phrase(line)]


def _outline_scenes(outline: str | None, topic: str) -> list[tuple[Scene, str]]:
    scenes = []
    for line in outline_lines(outline):
        pick = zlib.crc32(line.encode("utf-8"))
        sentences = [
            group[(pick + i) % len(group)] for i, group in enumerate((_OPENERS, _MIDDLES, _CLOSERS))
        ]
        narration = " ".join(s.format(line=line, topic=topic) for s in sentences)
        scenes.append((Scene(line, narration), line))
    return scenes


def _intro(title: str, topic: str, points: int) -> Scene:
    plan = (
        f"We will walk through {points} key points, one at a time."
        if points > 1
        else "We will keep it short and to the point."
    )
    return Scene(title, f"Welcome! This video is about {topic}. {plan} Let's get started.")


def _closing(title: str, topic: str, recaps: list[str]) -> Scene:
    narration = f"That brings us to the end of {title}."
    if recaps:
        recaps = recaps[:3]
        listed = recaps[0] if len(recaps) == 1 else f"{', '.join(recaps[:-1])} and {recaps[-1]}"
        narration += f" We covered {listed}."
    narration += f" Now you know more about {topic}. Thanks for watching!"
    return Scene("Wrapping up", narration)


def _phrase(text: str) -> str:
    """Whitespace collapsed and trailing sentence punctuation removed, to embed in a sentence."""
    return " ".join(text.split()).rstrip(".!?;:,")
