"""SRT, WebVTT and ASS output, including text that tries to break the formats."""

from __future__ import annotations

import pytest

from tests.media import parse_srt, parse_vtt
from webapp.video.subtitles import (
    WORD_JOINER,
    Cue,
    escape_ass_text,
    to_ass,
    to_srt,
    to_vtt,
)

CUES = [
    Cue(0.25, 1.5, "Hello there."),
    Cue(1.85, 4.0, "Second line,\nwith a break."),
    Cue(3723.004, 3725.999, "Late: an hour in."),
]
HOSTILE = [
    Cue(0.0, 1.0, "a --> b ---> c"),
    Cue(1.0, 2.0, "para one\n\n\n2\n00:00:09,000 --> 00:00:10,000\nsmuggled"),
    Cue(2.0, 3.0, "<script>alert(1)</script> & <b>bold</b> &amp;"),
    Cue(3.0, 4.0, "{\\fs200}big \\N not-a-newline \\h {\\an8}"),
    Cue(4.0, 5.0, "WEBVTT\nNOTE this is text"),
]


def test_srt_format() -> None:
    assert to_srt(CUES) == (
        "1\n00:00:00,250 --> 00:00:01,500\nHello there.\n\n"
        "2\n00:00:01,850 --> 00:00:04,000\nSecond line,\nwith a break.\n\n"
        "3\n01:02:03,004 --> 01:02:05,999\nLate: an hour in.\n"
    )


def test_vtt_format() -> None:
    assert to_vtt(CUES[:1]) == "WEBVTT\n\n00:00:00.250 --> 00:00:01.500\nHello there.\n"


@pytest.mark.parametrize(("write", "read"), [(to_srt, parse_srt), (to_vtt, parse_vtt)])
def test_round_trip(write, read) -> None:
    assert read(write(CUES)) == CUES


@pytest.mark.parametrize(("write", "read"), [(to_srt, parse_srt), (to_vtt, parse_vtt)])
def test_hostile_text_cannot_break_the_file(write, read) -> None:
    parsed = read(write(HOSTILE))
    assert [(c.start, c.end) for c in parsed] == [(c.start, c.end) for c in HOSTILE]
    texts = [c.text for c in parsed]
    assert texts[0] == "a → b → c"
    assert texts[1] == "para one\n2\n00:00:09,000 → 00:00:10,000\nsmuggled"
    assert texts[2:] == [c.text for c in HOSTILE[2:]]


def test_vtt_escapes_markup() -> None:
    text = to_vtt(HOSTILE[2:3])
    assert "<script>" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt; &amp;amp;" in text


def test_srt_keeps_text_literal_for_ass_aware_readers() -> None:
    text = to_srt(HOSTILE[2:4])
    # ffmpeg's SRT reader treats "{\", "\N" and "<b>" as markup; a word joiner defuses each.
    assert f"{{{WORD_JOINER}\\{WORD_JOINER}fs200}}" in text
    assert f"<{WORD_JOINER}script>" in text and "{\\" not in text and "<b" not in text


def test_empty_cues_are_skipped_and_numbering_stays_dense() -> None:
    cues = [Cue(0, 1, "one"), Cue(1, 2, " \n "), Cue(2, 3, "three")]
    assert [line for line in to_srt(cues).splitlines() if line.isdigit()] == ["1", "2"]
    assert len(parse_vtt(to_vtt(cues))) == 2


def test_parsers_read_files_from_other_tools() -> None:
    srt = (
        "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\nCRLF text\r\n\r\n"
        "2\r\n0:00:03,5 --> 0:00:04,25\r\nshort\r\n"
    )
    assert parse_srt(srt) == [Cue(1.0, 2.5, "CRLF text"), Cue(3.5, 4.25, "short")]
    vtt = (
        "WEBVTT - a title\n\nNOTE a comment\nspanning lines\n\nSTYLE\n::cue { color: red }\n\n"
        "intro\n00:01.000 --> 00:02.000 align:start line:0\nWith settings &lt;3\n"
    )
    assert parse_vtt(vtt) == [Cue(1.0, 2.0, "With settings <3")]
    with pytest.raises(ValueError, match="WEBVTT"):
        parse_vtt(srt)


def test_escape_ass_text() -> None:
    wj = WORD_JOINER
    assert escape_ass_text("plain, text") == "plain, text"
    assert escape_ass_text("{\\fs200}x") == f"\\{{\\{wj}fs200\\}}x"
    assert escape_ass_text("a\\Nb") == f"a\\{wj}Nb"
    assert escape_ass_text("line one\n\nline two") == "line one\\Nline two"
    assert escape_ass_text("\\{") == f"\\{wj}\\{{"


def test_to_ass_structure() -> None:
    ass = to_ass(
        [Cue(1.234, 62.5, "Hi, there"), Cue(3, 4, "")],
        width=1080,
        height=1920,
        font_family="DejaVu Serif",
        font_size=48,
        text_colour="#ffcc00",
        outline_colour="#102030",
    )
    lines = ass.splitlines()
    assert lines[0] == "[Script Info]"
    assert "PlayResX: 1080" in lines and "PlayResY: 1920" in lines
    fields = dict(
        zip(
            next(x for x in lines if x.startswith("Format: Name"))
            .removeprefix("Format: ")
            .split(", "),
            next(x for x in lines if x.startswith("Style: ")).removeprefix("Style: ").split(","),
            strict=True,
        )
    )
    assert fields["Fontname"] == "DejaVu Serif" and fields["Fontsize"] == "48"
    assert fields["PrimaryColour"] == "&H0000CCFF" and fields["OutlineColour"] == "&H00302010"
    assert fields["Alignment"] == "2" and int(fields["MarginV"]) > 0
    assert int(fields["Outline"]) >= 1
    dialogues = [x for x in lines if x.startswith("Dialogue:")]
    assert dialogues == ["Dialogue: 0,0:00:01.23,0:01:02.50,Default,,0,0,0,,Hi, there"]


def test_to_ass_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="#rgb"):
        to_ass([], width=10, height=10, font_family="x", font_size=10, text_colour="white")
    with pytest.raises(ValueError, match="geometry"):
        to_ass([], width=0, height=10, font_family="x", font_size=10, text_colour="#fff")
