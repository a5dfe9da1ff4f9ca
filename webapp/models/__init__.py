"""Database models; import from here."""

from webapp.models.audit import AuditEvent
from webapp.models.job import ACTIVE_STATUSES, FINAL_STATUSES, STATUSES, BackgroundJob
from webapp.models.project import Project
from webapp.models.user import ApiToken, User, UserSession

__all__ = [
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "STATUSES",
    "ApiToken",
    "AuditEvent",
    "BackgroundJob",
    "Project",
    "User",
    "UserSession",
]
