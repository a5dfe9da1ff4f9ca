"""HTML form input to project data, and validation errors back to form fields."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.datastructures import MultiDict

from webapp.validation import ParamsError

SETTINGS = ("title", "topic", "outline", "format", "voice", "music_level")
COLOURS = ("background", "background_end", "text", "accent")
_SCENE_FIELD = re.compile(r"^scene-(\d{1,4})-(heading|narration|remove)$")


def project_from_form(form: MultiDict, include_script_text: bool = False) -> dict[str, Any]:
    """The settings form as project data; empty inputs mean "not sent"."""
    data: dict[str, Any] = {name: form[name] for name in SETTINGS if form.get(name, "") != ""}
    if "topic" in form and form["topic"] == "":
        data["topic"] = ""
    data["burn_subtitles"] = "burn_subtitles" in form
    if form.get("theme_preset"):
        theme = {"preset": form["theme_preset"]}
        if form.get("theme_font"):
            theme["font"] = form["theme_font"]
        if "theme_custom" in form:  # otherwise the preset's own colours apply
            theme.update({c: form[f"theme_{c}"] for c in COLOURS if form.get(f"theme_{c}")})
        data["theme"] = theme
    if include_script_text and form.get("script_text", "").strip():
        data["script"] = parse_script_text(form["script_text"])
    return data


def parse_script_text(text: str) -> list[dict[str, str]]:
    """Plain-text scenes: blocks separated by blank lines, first line the heading."""
    scenes = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        heading, narration = lines[0], " ".join(lines[1:])
        scenes.append({"heading": heading, "narration": narration or heading})
    return scenes


def script_from_form(form: MultiDict) -> list[dict[str, str]] | None:
    """Scenes from the script editor's rows, in order; blank and removed rows are dropped."""
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = _SCENE_FIELD.match(key)
        if match:
            rows.setdefault(int(match[1]), {})[match[2]] = form[key]
    scenes = []
    for _, row in sorted(rows.items()):
        heading, narration = row.get("heading", "").strip(), row.get("narration", "").strip()
        if "remove" in row or not (heading or narration):
            continue
        scenes.append({"heading": heading, "narration": narration})
    return scenes or None


def errors_by_field(exc: ParamsError) -> dict[str, str]:
    """{"script.2.narration": "message", ...} for showing errors next to inputs."""
    return {detail["field"]: detail["message"] for detail in exc.details}


def values_from_form(form: MultiDict) -> dict[str, Any]:
    """A posted settings form, shaped like a project, to show it again with its errors."""
    theme = {"preset": form.get("theme_preset"), "font": form.get("theme_font")}
    theme.update({c: form.get(f"theme_{c}") for c in COLOURS})
    return {**{name: form.get(name, "") for name in SETTINGS}, "theme": theme,
            "theme_custom": "theme_custom" in form, "burn_subtitles": "burn_subtitles" in form,
            "script_text": form.get("script_text", "")}


def rows_from_form(form: MultiDict) -> list[dict[str, str]]:
    """Every scene row of a posted script editor, blank ones too, to show it again."""
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = _SCENE_FIELD.match(key)
        if match and match[2] != "remove":
            rows.setdefault(int(match[1]), {"heading": "", "narration": ""})[match[2]] = form[key]
    return [row for _, row in sorted(rows.items()) if row["heading"] or row["narration"]]
