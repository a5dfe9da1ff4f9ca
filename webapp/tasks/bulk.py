"""The background job of a bulk action (webapp/explorer/bulk.py): started by the jobs
explorer and `POST /api/v1/jobs/bulk`, never from a launch form."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from webapp.explorer import bulk
from webapp.jobs import RetryPolicy, task
from webapp.jobs.context import current_job_id


class BulkParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["cancel", "retry", "delete"] = Field(title="Action")
    ids: list[uuid.UUID] | None = Field(None, title="Job ids", max_length=bulk.MAX_IDS)
    filter: dict[str, Any] | None = Field(None, title="Filter",
                                          description="As GET /api/v1/jobs takes it.")
    as_of: datetime = Field(title="As of", description="Only jobs created until then.")


@task(bulk.TASK, title="Bulk action", params=BulkParams, queue="default", timeout=3600,
      retry=RetryPolicy(max=3, intervals=(5, 30, 120)), launchable=False, idempotent=True,
      describe=bulk.describe,
      not_launchable="'bulk-action' is started by POST /api/v1/jobs/bulk.")
def bulk_action(action: str, ids: list[str] | None, filter: dict | None,
                as_of: str) -> dict:
    """Cancel, retry or delete every job of a selection, skipping what is done already."""
    return bulk.run(current_job_id(), action, ids, filter, as_of)
