"""Task modules; importing this package registers every task."""

from webapp.tasks import demo, video  # noqa: F401
