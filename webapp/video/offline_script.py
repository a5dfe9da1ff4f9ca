"""The offline script writer: deterministic scenes built from the title, topic and outline.

It writes only sentences that read well whatever it is given: the topic opens the script
in a sentence made for its kind (webapp/video/topic.py), and never again; the other
sentences are written to stand without it. Each outline point becomes a scene, spoken as a
sentence when it is one, asked when it is a question, and named after a colon when it is a
phrase (so that its case stays as typed). Without an outline, the body is a set of
sections suited to the topic's kind: explaining for a question, introducing for a phrase.
"""

from __future__ import annotations

import re
import zlib

from webapp.video.script import Scene
from webapp.video.topic import Topic, capitalized, listed, phrase, read_topic, spelled

_BULLET = re.compile(r"^\s*(?:[-*•+]+|\d+[.)]|#+)\s+")
# Openers of a phrase point, picked by a checksum of its line, and the sentences after each
# point, taken in turn from a start picked by a checksum of the outline: the same input
# always gives the same script, and neighbouring scenes never say the same. The first and
# the last point have openers of their own.
_OPENERS = ("Next up: {line}.", "The next point: {line}.", "On to the next idea: {line}.",
            "Here is the next piece: {line}.")
_FIRST, _LAST = "First: {line}.", "Finally: {line}."
_MIDDLES = (
    "It is one of the ideas that make the rest easier to understand.",
    "This is often the step where everything starts to make sense.",
    "It connects directly to everything else in this video.",
    "Getting it right early saves a lot of time later on.",
)
_CLOSERS = (
    "Keep it in mind as we move on.",
    "Take a moment to think about how it applies to your own work.",
    "With that in place, the next part will feel natural.",
    "Remember this one, because we will build on it.",
)
# Sections without an outline, per kind of topic: (heading, recap phrase, narration).
_INTRODUCING = (
    ("The basic idea", "the basic idea",
     "Start with the basic idea. Everything else builds on it, so it is worth getting clear "
     "on first. The details can wait."),
    ("Why it matters", "why it matters",
     "Why does it matter? Because it shows up in more places than you might expect. Knowing "
     "it well helps you make better decisions."),
    ("How it works", "how it works",
     "Now, how does it work in practice? Start from the core idea, then see how the pieces "
     "fit together. Small examples help a lot here."),
    ("Common mistakes", "the common mistakes",
     "There are a few common mistakes. Most of them come from skipping the basics. Knowing "
     "them in advance makes them easy to avoid."),
    ("Getting started", "how to get started",
     "Ready to start? Pick one small, concrete step and try it today. Practice turns ideas "
     "into habits."),
)
_EXPLAINING = (
    ("The short answer", "the short answer",
     "Here is the short answer first. The longer one has a few parts, and each is simpler "
     "than the whole. We will take them in order."),
    ("Step by step", "the steps",
     "Step by step, it goes like this. Each stage sets up the next one. Seen in order, the "
     "whole process makes sense."),
    ("What makes it work", "what makes it work",
     "What makes it work? A few simple conditions, all holding at once. Change one of them "
     "and the result changes too."),
    ("A common misconception", "a common misconception",
     "There is a common misconception here. It sounds right, which is why it spreads. The "
     "real story is more interesting."),
    ("Where you see it", "where you can see it",
     "Once you know it, you will notice it in many places. Look for it the next time you "
     "have the chance. It is a good way to remember what you learned."),
)
SENTENCE_WORDS = 4  # an outline line of this many words or more ending in . or ! is a sentence


def template_script(*, title: str, topic: str, outline: str | None, max_scenes: int) -> list[Scene]:
    """An intro, one scene per outline line (or sections suited to the topic), a closing."""
    title = phrase(title)
    about = read_topic(topic if phrase(topic) else title)
    points = _outline_scenes(outline)
    recap = "To recap: " + " ".join(r for _, r in points[:3]) if points else ""
    if not points:
        sections = _INTRODUCING if about.kind == "phrase" else _EXPLAINING
        points = [(Scene(h, n), r) for h, r, n in sections]
        recap = f"We covered {listed([r for _, r in points[:3]])}."
    body = [scene for scene, _ in points][: max(0, max_scenes - 2)]
    scenes = [Scene(title, _intro(about, len(body)))] + body
    if max_scenes >= 2:
        scenes.append(Scene("Wrapping up",
                            f"That brings us to the end. {recap} Thanks for watching!"))
    return scenes


def outline_lines(outline: str | None) -> list[str]:
    """The non-empty lines of an outline, without bullets or numbering."""
    lines = (_BULLET.sub("", line) for line in (outline or "").splitlines())
    return [_line_text(line) for line in lines if phrase(line)]


def _line_text(line: str) -> str:
    return " ".join(line.split())


def _outline_scenes(outline: str | None) -> list[tuple[Scene, str]]:
    """(scene, recap) per outline point."""
    lines = outline_lines(outline)
    start = zlib.crc32("\n".join(lines).encode("utf-8"))
    return [(_point(line, i, len(lines), start), _recap(line)) for i, line in enumerate(lines)]


def _recap(line: str) -> str:
    """A point as the closing lists it: its own sentence (a question keeps its mark)."""
    return capitalized(phrase(line)) + ("?" if read_topic(line).kind == "question" else ".")


def _point(line: str, index: int, total: int, start: int) -> Scene:
    """One outline point's scene: the point (said as what it is), then two sentences."""
    pick = zlib.crc32(line.encode("utf-8"))
    heading = phrase(line)
    kind = read_topic(line)
    if kind.kind == "question":
        opening = f"{kind.question} Let's take it step by step."
    elif len(heading.split()) >= SENTENCE_WORDS and line.rstrip()[-1:] in ".!":
        opening = capitalized(line.rstrip())
    else:
        opener = _FIRST if index == 0 and total > 1 else _LAST if index == total - 1 > 0 \
            else _OPENERS[pick % len(_OPENERS)]
        opening = opener.format(line=heading)
    turn = start + index
    middle, closer = _MIDDLES[turn % len(_MIDDLES)], _CLOSERS[(turn + 1) % len(_CLOSERS)]
    return Scene(heading, f"{opening} {middle} {closer}")


def _intro(about: Topic, points: int) -> str:
    """The first scene: the topic, in a sentence made for its kind, and the plan."""
    plan = (f"We will go through {spelled(points)} key points, one at a time." if points > 1
            else "We will keep it short and to the point.")
    if about.kind == "clause":
        return f"{about.statement} But {about.asks}? {plan}"
    if about.kind == "question":
        return f"{about.question} That is what this video answers. {plan}"
    return f"Welcome! Today's topic: {capitalized(about.text)}. {plan} Let's get started."
