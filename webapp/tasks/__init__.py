"""Task modules; importing this package registers every task."""

from webapp.tasks import bulk, demo, video  # noqa: F401
