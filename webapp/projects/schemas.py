"""What a project may contain: validation of project input, with limits from configuration.

Limits (scene count, text lengths) come from the app config through pydantic's validation
context, so operators can change them without code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from webapp.converters import MAX_INT4
from webapp.stock.settings import PROVIDERS
from webapp.validation import ParamsError, describe_errors, unstorable_text
from webapp.video.captions import POSITIONS, SIZES, STYLES, Captions
from webapp.video.formats import FORMATS
from webapp.video.themes import DEFAULT_THEME, FONTS, THEMES, parse_colour
from webapp.video.voices import SPEEDS, VOICES

STOCK_PROVIDERS = tuple(PROVIDERS)
# Fields that may be left out of a PATCH but never set to null.
NOT_NULL = ("title", "format", "voice", "theme", "music_level", "narration_speed",
            "burn_subtitles", "captions", "stock_provider", "stock_kind")
MAX_TITLE = 200
MAX_TOPIC = 2000
MAX_OUTLINE = 4000


@dataclass(frozen=True)
class Limits:
    """Input limits, from MAX_SCENES, MAX_SCENE_CHARS, MAX_SCRIPT_CHARS, MAX_HEADING_CHARS."""

    scenes: int
    scene_chars: int
    script_chars: int
    heading_chars: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(config["MAX_SCENES"], config["MAX_SCENE_CHARS"], config["MAX_SCRIPT_CHARS"],
                   config["MAX_HEADING_CHARS"])


def _limits(info: ValidationInfo) -> Limits:
    return info.context["limits"]


class SceneIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    heading: str = Field(min_length=1)
    narration: str = Field(min_length=1)
    # The id of the scene's picture or clip (uploaded to the scene); None: a text scene.
    media: int | None = Field(None, ge=1, le=MAX_INT4)

    @field_validator("heading")
    @classmethod
    def _heading_length(cls, value: str, info: ValidationInfo) -> str:
        limit = _limits(info).heading_chars
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters ({len(value)} given)")
        return value

    @field_validator("narration")
    @classmethod
    def _narration_length(cls, value: str, info: ValidationInfo) -> str:
        limit = _limits(info).scene_chars
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters per scene ({len(value)} given)")
        return value


class ThemeIn(BaseModel):
    """A preset, optionally with some of its colours or its font replaced."""

    model_config = ConfigDict(extra="forbid")

    preset: str = DEFAULT_THEME
    background: str | None = None
    background_end: str | None = None
    text: str | None = None
    accent: str | None = None
    font: str | None = None

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        if value not in THEMES:
            raise ValueError(f"must be one of: {', '.join(THEMES)}")
        return value

    @field_validator("background", "background_end", "text", "accent")
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        if value is not None:
            parse_colour(value)  # raises ValueError with a clear message
            return value.strip().lower()
        return value

    @field_validator("font")
    @classmethod
    def _known_font(cls, value: str | None) -> str | None:
        if value is not None and value not in FONTS:
            raise ValueError(f"must be one of: {', '.join(FONTS)}")
        return value

    def resolve(self) -> dict[str, str]:
        """The full theme: the preset's values with the given ones on top."""
        base = THEMES[self.preset]
        return {
            "preset": self.preset,
            "background": self.background or base.background,
            "background_end": self.background_end or base.background_end,
            "text": self.text or base.text,
            "accent": self.accent or base.accent,
            "font": self.font or base.font,
        }


class CaptionsIn(BaseModel):
    """How burned captions look (webapp/video/captions.py); what is not sent stays default."""

    model_config = ConfigDict(extra="forbid")

    style: str = Captions.style
    position: str = Captions.position
    size: str = Captions.size

    @field_validator("style", "position", "size")
    @classmethod
    def _known(cls, value: str, info: ValidationInfo) -> str:
        known = {"style": STYLES, "position": POSITIONS, "size": SIZES}[info.field_name]
        if value not in known:
            raise ValueError(f"must be one of: {', '.join(known)}")
        return value


class ProjectIn(BaseModel):
    """A project as the API and the forms accept it; every field optional for PATCH."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE)
    topic: str | None = Field(None, max_length=MAX_TOPIC)
    outline: str | None = Field(None, max_length=MAX_OUTLINE)
    script: list[SceneIn] | None = None
    format: str | None = None
    voice: str | None = None
    theme: ThemeIn | None = None
    music_level: int | None = Field(None, ge=0, le=100)
    # Times the voice's own pace; kept to two decimals (what the form's steps offer).
    narration_speed: float | None = Field(None, ge=SPEEDS[0], le=SPEEDS[1], allow_inf_nan=False)
    burn_subtitles: bool | None = None
    captions: CaptionsIn | None = None
    # Where scenes without media of their own find a picture or clip ("" for nowhere).
    stock_provider: Literal["", *STOCK_PROVIDERS] | None = None
    stock_kind: Literal["picture", "clip"] | None = None

    @field_validator("script")
    @classmethod
    def _script_limits(cls, scenes: list[SceneIn] | None, info: ValidationInfo):
        if scenes is None:
            return None
        limits = _limits(info)
        if not scenes:
            raise ValueError("must have at least one scene (or send null to clear it)")
        if len(scenes) > limits.scenes:
            raise ValueError(f"at most {limits.scenes} scenes ({len(scenes)} given)")
        total = sum(len(s.heading) + len(s.narration) for s in scenes)
        if total > limits.script_chars:
            raise ValueError(f"at most {limits.script_chars} characters in all ({total} given)")
        return scenes

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None and value not in FORMATS:
            raise ValueError(f"must be one of: {', '.join(FORMATS)}")
        return value

    @field_validator("narration_speed")
    @classmethod
    def _two_decimals(cls, value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    @field_validator("voice")
    @classmethod
    def _known_voice(cls, value: str | None) -> str | None:
        if value is not None and value not in VOICES:
            raise ValueError(f"must be one of: {', '.join(VOICES)}")
        return value


def parse_project(data: Any, limits: Limits) -> dict[str, Any]:
    """Validate project input; returns only the fields that were sent, ready for the model."""
    if not isinstance(data, Mapping):
        raise ParamsError([{"field": "(body)", "message": "Send a JSON object."}])
    try:
        model = ProjectIn.model_validate(dict(data), context={"limits": limits})
    except ValidationError as exc:
        raise ParamsError(describe_errors(exc)) from None
    nulls = [n for n in NOT_NULL if n in model.model_fields_set and getattr(model, n) is None]
    if nulls:
        raise ParamsError([{"field": n, "message": "Must not be null."} for n in nulls])
    values = {}
    for name in model.model_fields_set:
        value = getattr(model, name)
        if name == "script" and value is not None:
            value = [scene.model_dump(exclude_none=True) for scene in value]
        elif name == "theme" and value is not None:
            value = value.resolve()
        elif name == "captions" and value is not None:
            value = value.model_dump()
        elif name in ("topic", "outline") and value == "":
            value = None
        values[name] = value
    if problems := unstorable_text(values):
        raise ParamsError(problems)
    return values
