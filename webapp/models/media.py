"""Files a user uploaded for a project: a picture or a clip for a scene, a music track.

A scene names its picture or clip by id (`"media"` in the project's script), so a scene
keeps its media when scenes before it are removed or the script is edited; the project has
at most one music track. The file itself is in the media store under `key`; its sender's
name is kept for display only, never used as a path.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db

MEDIA_KINDS = ("image", "clip", "music")


class MediaFile(db.Model):
    """One uploaded file, validated by content (webapp/media/inspect.py) before it was kept."""

    __tablename__ = "media_files"
    __table_args__ = (
        CheckConstraint("kind IN ('image', 'clip', 'music')", name="kind"),
        CheckConstraint("size >= 0", name="size"),
        # One music track per project: a new one replaces it.
        Index("media_files_one_music", "project_id", unique=True,
              postgresql_where=text("kind = 'music'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(300), unique=True)
    name: Mapped[str] = mapped_column(String(200))  # as sent, for display only
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)  # bytes
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())

    @property
    def label(self) -> str:
        """What the file is, for people: "picture", "video clip" or "music track"."""
        return {"image": "picture", "clip": "video clip", "music": "music track"}[self.kind]

    def __repr__(self) -> str:
        return f"<MediaFile {self.id} {self.kind} of project {self.project_id}>"
