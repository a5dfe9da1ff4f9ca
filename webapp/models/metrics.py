"""The hourly rollup of ended jobs that the charts of long windows read (webapp/jobs/rollup.py
keeps it; webapp/metrics/queries.py reads it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class JobMetricsHour(db.Model):
    """Jobs of one task and queue that finished or failed in one hour (UTC): their counts,
    and histograms of their wait and run seconds in the bins of webapp/histogram.py."""

    __tablename__ = "job_metrics_hourly"

    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    task: Mapped[str] = mapped_column(String(64), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    finished: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    wait_counts: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    run_counts: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    wait_sum: Mapped[float] = mapped_column(Float)
    run_sum: Mapped[float] = mapped_column(Float)
