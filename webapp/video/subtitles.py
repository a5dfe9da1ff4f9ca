"""Subtitle cues as SRT and WebVTT files, and as ASS for burning in with libass, in the
caption style a project chose (webapp/video/captions.py)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from webapp.video.captions import ALIGNMENT, Captions, word_times
from webapp.video.themes import parse_colour

# U+2060 WORD JOINER: invisible, zero width, and not a line-break opportunity.
WORD_JOINER = "\u2060"
_ARROW = re.compile(r"--+>")
_SRT_SPECIALS = re.compile(r"([{\\<])")


@dataclass(frozen=True)
class Cue:
    """One subtitle: start and end in seconds on the video's timeline, and its text."""

    start: float
    end: float
    text: str


def clean_text(text: str) -> str:
    """Make cue text safe for SRT/VTT framing: no blank lines and no "-->" arrows."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    # A blank line ends a cue and "-->" starts a timing line; neither may come from text.
    return "\n".join(_ARROW.sub("→", line) for line in lines if line)


def _srt_text(text: str) -> str:
    return _SRT_SPECIALS.sub(rf"\1{WORD_JOINER}", text)


def to_srt(cues: Iterable[Cue], words: bool = False) -> str:
    """Format cues as a SubRip file, numbered from 1, skipping cues with no text.

    SubRip has no escapes, yet ffmpeg's SRT reader (and players built on it) treat "{\\...}"
    as ASS overrides, "\\N" as a line break and "<b>", "<font>" as styling; it drops
    "{\\...}" runs and unknown tags. A WORD JOINER after each "{", "\\" and "<" keeps the
    text literal there (checked in a mov_text track) and is invisible everywhere else.
    With `words`, each sentence is one entry per word, the word being said in bold (SubRip
    has no timing inside an entry).
    """
    blocks = []
    for cue in cues:
        text = clean_text(cue.text)
        if not text:
            continue
        timed = word_times(cue.start, cue.end, text) if words else []
        entries = [(cue.start, cue.end, _srt_text(text))] if not timed else [
            (start, end, _bold_one(timed, i)) for i, (start, end, _) in enumerate(timed)]
        for start, end, shown in entries:
            timing = f"{_stamp(start, ',')} --> {_stamp(end, ',')}"
            blocks.append(f"{len(blocks) + 1}\n{timing}\n{shown}\n")
    return "\n".join(blocks)


def _bold_one(timed: list[tuple[float, float, str]], index: int) -> str:
    return " ".join(f"<b>{_srt_text(word)}</b>" if i == index else _srt_text(word)
                    for i, (_, _, word) in enumerate(timed))


def to_vtt(cues: Iterable[Cue], words: bool = False) -> str:
    """Format cues as a WebVTT file; "<" and "&" are escaped so text is never markup. With
    `words`, each word after the first is preceded by its time (WebVTT's inline timestamps,
    which players style as past and future text)."""
    blocks = ["WEBVTT\n"]
    for cue in cues:
        text = clean_text(cue.text)
        if not text:
            continue
        if words:
            timed = word_times(cue.start, cue.end, text)
            shown = " ".join(html.escape(word, quote=False) if i == 0 else
                             f"<{_stamp(start, '.')}>{html.escape(word, quote=False)}"
                             for i, (start, _, word) in enumerate(timed))
        else:
            shown = html.escape(text, quote=False)
        blocks.append(f"{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}\n{shown}\n")
    return "\n".join(blocks)


def escape_ass_text(text: str) -> str:
    """Make user text render literally in an ASS Dialogue line under libass.

    In ASS text, "{...}" is an override block ("{\\fs200}" sets the size) and "\\N",
    "\\n", "\\h" are line breaks and a hard space. libass (checked with the bundled ffmpeg)
    renders "\\{" and "\\}" as literal braces, so braces become those escapes. A zero-width
    character after "{" is NOT enough: the block is still parsed and its content hidden.
    Every user backslash gets a WORD JOINER after it, so it can never start "\\N", "\\h",
    "\\{" or an escape we add; the joiner is invisible and adds no break opportunity.
    Line breaks in the text become ASS "\\N" (after escaping, so only ours have effect).
    """
    lines = []
    for line in clean_text(text).split("\n"):
        line = line.replace("\\", "\\" + WORD_JOINER)  # first, so our escapes stay intact
        lines.append(line.replace("{", "\\{").replace("}", "\\}"))
    return "\\N".join(lines)


def to_ass(
    cues: Iterable[Cue],
    *,
    width: int,
    height: int,
    font_family: str,
    text_colour: str,
    font_size: int | None = None,
    captions: Captions = Captions(),  # noqa: B008  (frozen: one shared default is fine)
    accent_colour: str = "#ffd60a",
    outline_colour: str = "#000000",
) -> str:
    """An ASS script that libass renders word-wrapped in the captions' style, position and
    size (`font_size` overrides the size); "highlight" shows the word being said in the
    accent colour (one event per word, the sentence's text in each)."""
    font_size = font_size or captions.font_size(width, height)
    if width <= 0 or height <= 0 or font_size <= 0:
        raise ValueError(f"Bad subtitle geometry: {width}x{height}, font size {font_size}")
    style = _style(font_family, font_size, text_colour, outline_colour, width, height, captions)
    events = []
    for cue in cues:
        if not escape_ass_text(cue.text):
            continue
        if captions.words:
            timed = word_times(cue.start, cue.end, clean_text(cue.text))
            events += [_dialogue(start, end, _lit_word(timed, i, accent_colour))
                       for i, (start, end, _) in enumerate(timed)]
        else:
            events.append(_dialogue(cue.start, cue.end, escape_ass_text(cue.text)))
    return "\n".join([*_ass_header(width, height, style), *events, ""])


def _dialogue(start: float, end: float, text: str) -> str:
    return f"Dialogue: 0,{_ass_time(start)},{_ass_time(end)},Default,,0,0,0,,{text}"


def _lit_word(timed: list[tuple[float, float, str]], index: int, accent: str) -> str:
    """The sentence, its `index`th word in the accent colour (each word escaped apart)."""
    return " ".join(
        f"{{\\1c{_ass_colour(accent)}}}{escape_ass_text(word)}{{\\r}}" if i == index
        else escape_ass_text(word) for i, (_, _, word) in enumerate(timed))


def _style(family: str, size: int, text: str, outline: str, width: int, height: int,
           captions: Captions) -> dict[str, str | int]:
    """The one ASS style, keyed by the names of the V4+ Styles Format line."""
    border = max(1, round(size * 0.07))
    side, vertical = captions.margins(width, height)
    look = {  # BorderStyle 1: outline and shadow; 3: an opaque box (OutlineColour) behind
        "plain": {"Bold": 0, "BorderStyle": 1, "Outline": max(1, border // 3),
                  "Shadow": max(1, border // 2)},
        "outline": {"Bold": -1, "BorderStyle": 1, "Outline": border,
                    "Shadow": max(1, border // 2)},
        "box": {"Bold": 0, "BorderStyle": 3, "Outline": max(2, round(size * 0.25)),
                "Shadow": 0},
        "highlight": {"Bold": -1, "BorderStyle": 1, "Outline": border,
                      "Shadow": max(1, border // 2)},
    }[captions.style]
    box = captions.style == "box"
    edge = look["Outline"] + look["Shadow"]  # drawn past the text: inside the margins too
    return {
        "Name": "Default",
        # Commas separate Style fields, so a family name cannot contain one.
        "Fontname": family.replace(",", " ").strip() or "DejaVu Sans",
        "Fontsize": size,
        "PrimaryColour": _ass_colour(text),
        "SecondaryColour": _ass_colour(text),
        # The box: black at about 40 % transparency.
        "OutlineColour": "&H60000000" if box else _ass_colour(outline),
        "BackColour": "&H80000000",  # the shadow: half-transparent black
        "Bold": look["Bold"],
        "Italic": 0,
        "Underline": 0,
        "StrikeOut": 0,
        "ScaleX": 100,
        "ScaleY": 100,
        "Spacing": 0,
        "Angle": 0,
        "BorderStyle": look["BorderStyle"],
        "Outline": look["Outline"],
        "Shadow": look["Shadow"],
        "Alignment": ALIGNMENT[captions.position],
        "MarginL": side + edge,
        "MarginR": side + edge,
        "MarginV": vertical + edge,
        "Encoding": 1,
    }


def _ass_header(width: int, height: int, style: dict[str, str | int]) -> list[str]:
    return [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",  # smart wrapping: lines of about equal width
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        f"Format: {', '.join(style)}",
        f"Style: {','.join(str(value) for value in style.values())}",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]


def _ass_colour(value: str) -> str:
    red, green, blue = parse_colour(value)
    return f"&H00{blue:02X}{green:02X}{red:02X}"  # alpha, then blue-green-red


def _ass_time(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    hours, centis = divmod(centis, 360_000)
    minutes, centis = divmod(centis, 6000)
    return f"{hours}:{minutes:02d}:{centis // 100:02d}.{centis % 100:02d}"


def _stamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}{separator}{millis % 1000:03d}"

