"""Database models; import from here."""

from webapp.models.audit import AuditEvent
from webapp.models.job import (
    ACTIVE_STATUSES,
    CANCELED,
    CREATED,
    DEFERRED,
    ENDED_BADLY,
    ERROR_CODES,
    FAILED,
    FINAL_STATUSES,
    FINISHED,
    QUEUED,
    RETRYABLE,
    SCHEDULED,
    STARTED,
    STATUSES,
    STOPPED,
    WAITING,
    BackgroundJob,
)
from webapp.models.media import MEDIA_KINDS, MediaFile
from webapp.models.metrics import JobMetricsHour
from webapp.models.project import Project
from webapp.models.queue import QueuePause
from webapp.models.reconciler import ReconcilerPass
from webapp.models.saved_view import SavedView
from webapp.models.user import ApiToken, User, UserSession

__all__ = [
    "ACTIVE_STATUSES",
    "CANCELED",
    "CREATED",
    "DEFERRED",
    "ENDED_BADLY",
    "ERROR_CODES",
    "FAILED",
    "FINAL_STATUSES",
    "FINISHED",
    "QUEUED",
    "RETRYABLE",
    "SCHEDULED",
    "STARTED",
    "STATUSES",
    "STOPPED",
    "WAITING",
    "ApiToken",
    "AuditEvent",
    "BackgroundJob",
    "JobMetricsHour",
    "MEDIA_KINDS",
    "MediaFile",
    "Project",
    "ReconcilerPass",
    "QueuePause",
    "SavedView",
    "User",
    "UserSession",
]
