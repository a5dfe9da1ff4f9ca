"""Video projects: what to make, and the settings every render of it uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class Project(db.Model):
    """A video project owned by one user: a topic or a script, and how to render it."""

    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("music_level BETWEEN 0 AND 100", name="music_level"),
        CheckConstraint("narration_speed BETWEEN 0.75 AND 1.5", name="narration_speed"),
        CheckConstraint("stock_kind IN ('picture', 'clip')", name="stock_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(Text)
    outline: Mapped[str | None] = mapped_column(Text)
    # [{"heading": ..., "narration": ...}, ...]; None until written or typed in.
    script: Mapped[list[dict[str, str]] | None] = mapped_column(JSONB(none_as_null=True))
    format: Mapped[str] = mapped_column(String(32), server_default="landscape-720")
    voice: Mapped[str] = mapped_column(String(64), server_default="silent")
    theme: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    music_level: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    # Times the voice's own pace (0.75 to 1.5), for every voice (webapp/video/voices.py).
    narration_speed: Mapped[float] = mapped_column(Float, server_default="1")
    burn_subtitles: Mapped[bool] = mapped_column(Boolean, server_default="true")
    # {"style", "position", "size"} (webapp/video/captions.py); {} or a missing key: default.
    captions: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # Where scenes without a picture or clip of their own find one: "" (nowhere: a text
    # scene), "pexels" or "pixabay" (webapp/stock/), and which kind, "picture" or "clip".
    stock_provider: Mapped[str] = mapped_column(String(16), server_default="")
    stock_kind: Mapped[str] = mapped_column(String(8), server_default="picture")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.title!r}>"
