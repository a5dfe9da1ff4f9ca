"""HTML form input to project data, and validation errors back to form fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from webapp.models import Project
from webapp.validation import ParamsError
from webapp.video.themes import COLOUR_SLOTS as COLOURS
from webapp.video.themes import DEFAULT_THEME, THEMES
from webapp.video.voices import VOICES

SETTINGS = ("title", "topic", "outline", "format", "voice", "music_level", "narration_speed",
            "stock_kind")
SAVED = (*SETTINGS, "theme", "burn_subtitles", "captions", "stock_provider")
CAPTION_FIELDS = ("style", "position", "size")  # posted as captions_<name>
_SCENE_FIELD = re.compile(r"^scene-(\d{1,4})-(heading|narration|media|remove)$")


def project_from_form(form: MultiDict, include_script_text: bool = False) -> dict[str, Any]:
    """The settings form as project data; empty inputs mean "not sent"."""
    data: dict[str, Any] = {name: form[name] for name in SETTINGS if form.get(name, "") != ""}
    if "topic" in form and form["topic"] == "":
        data["topic"] = ""
    if "stock_provider" in form:  # "" is a choice: no stock media
        data["stock_provider"] = form["stock_provider"]
    data["burn_subtitles"] = "burn_subtitles" in form
    if captions := {name: form[f"captions_{name}"] for name in CAPTION_FIELDS
                    if form.get(f"captions_{name}")}:
        data["captions"] = captions
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
        scene: dict[str, Any] = {"heading": heading, "narration": narration}
        if row.get("media", "").isdigit():  # the scene's picture or clip, kept as it was
            scene["media"] = int(row["media"])
        scenes.append(scene)
    return scenes or None


def errors_by_field(exc: ParamsError) -> dict[str, str]:
    """{"script.2.narration": "message", ...} for showing errors next to inputs."""
    return {detail["field"]: detail["message"] for detail in exc.details}


def values_from_form(form: MultiDict, voice: str) -> dict[str, Any]:
    """A posted settings form, shaped like a project, to show it again with its errors.

    `voice` stands in for a voice not posted: a browser does not send a disabled option, the
    saved voice when it is not available here."""
    theme = {"preset": form.get("theme_preset"), "font": form.get("theme_font")}
    theme.update({c: form.get(f"theme_{c}") for c in COLOURS})
    custom = "theme_custom" in form
    return {**{name: form.get(name, "") for name in SETTINGS}, "voice": form.get("voice") or voice,
            "stock_provider": form.get("stock_provider", ""),
            "theme": shown_theme(theme, custom), "theme_custom": custom,
            "burn_subtitles": "burn_subtitles" in form,
            "captions": {name: form.get(f"captions_{name}", "") for name in CAPTION_FIELDS},
            "script_text": form.get("script_text", "")}


def values_from_project(project: Project) -> dict[str, Any]:
    """A project's settings as the form shows them."""
    return settings_values({name: getattr(project, name) for name in SAVED})


def new_project_values(defaults: Mapping[str, Any], unavailable: Mapping[str, Any]
                       ) -> dict[str, Any]:
    """The new-project form's first values: the defaults, but with a voice that works here
    (the configured default may not; nothing was chosen yet, so nothing is switched)."""
    voice = defaults["voice"]
    if voice in unavailable:
        voice = next((key for key in VOICES if key not in unavailable), voice)
    return settings_values({**defaults, "voice": voice})


def settings_values(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Saved settings as the form shows them: custom colours ticked when the theme's differ
    from its preset's, so saving the form again keeps them."""
    theme = settings.get("theme") or {}
    preset = THEMES.get(theme.get("preset")) or THEMES[DEFAULT_THEME]
    custom = any(theme.get(slot, colour) != colour for slot, colour in preset.colours().items())
    return {**settings, "theme": shown_theme(theme, custom), "theme_custom": custom}


def shown_theme(theme: Mapping[str, Any], custom: bool) -> dict[str, Any]:
    """The theme with each colour a render would use: the custom one when custom colours are
    on (and one was given), else the preset's (a colour input cannot be empty)."""
    preset = THEMES.get(theme.get("preset")) or THEMES[DEFAULT_THEME]
    shown = dict(theme)
    for slot, colour in preset.colours().items():
        if not (custom and theme.get(slot)):
            shown[slot] = colour
    return shown


def rows_from_form(form: MultiDict) -> list[dict[str, str]]:
    """Every scene row of a posted script editor, blank ones too, to show it again."""
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = _SCENE_FIELD.match(key)
        if match and match[2] != "remove":
            rows.setdefault(int(match[1]), {"heading": "", "narration": ""})[match[2]] = form[key]
    return [{**row, "media": int(row["media"]) if row.get("media", "").isdigit() else None}
            for _, row in sorted(rows.items()) if row["heading"] or row["narration"]]
