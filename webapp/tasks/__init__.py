"""Task modules; importing this package registers every task."""

from webapp.tasks import bulk, demo, pictures, video  # noqa: F401
