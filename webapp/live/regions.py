"""The live parts of pages, and how a poll names them.

A part of a page that can change on its own (a job card that is not final, a job page's
detail, a project's render output) carries a hidden input of class `live-state`: its kind
as the name, and as the value what it shows (`<key>~<tag>`: a job or project id and the tag
of its state when rendered). The page's one poller sends every such input
(`hx-include=".live-state"`), so the poll set is what the page shows now: a part that
turned final is rendered without its input and drops out, a card that a button made live
again comes with one.

A feature registers a renderer per kind (`@region("c")`): given the viewer and what the
page sent, it returns the parts that changed, out of band (`hx-swap-oob`), and whether any
of its parts are still live. The tag is a short hash of every field the part shows, so "did
it change" is a comparison, not a render.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from webapp.jobs.pauses import is_paused
from webapp.models import BackgroundJob, User

CLASS = "live-state"  # what the poller includes
MAX_VALUES = 200  # per kind: more than any page shows


@dataclass
class Changes:
    """What a region's renderer found: the parts to swap in, and whether to keep polling."""

    html: list[str] = field(default_factory=list)
    live: bool = False


Renderer = Callable[[User, "Watched"], Changes]


@dataclass(frozen=True)
class Region:
    kind: str
    render: Renderer
    keeps_polling: bool  # False: its inputs ride along with polls, they cause none


_regions: dict[str, Region] = {}


def region(kind: str, keeps_polling: bool = True) -> Callable[[Renderer], Renderer]:
    """Register the renderer of one kind of live part."""
    def register(render: Renderer) -> Renderer:
        _regions[kind] = Region(kind, render, keeps_polling)
        return render
    return register


def watched_kinds() -> frozenset[str]:
    """The kinds whose inputs keep a page polling."""
    return frozenset(kind for kind, entry in _regions.items() if entry.keeps_polling)


class Watched:
    """What a poll says the page shows: per kind, the values of its live inputs."""

    def __init__(self, args: MultiDict):
        self._values = {kind: args.getlist(kind)[:MAX_VALUES] for kind in _regions}

    def values(self, kind: str) -> list[str]:
        return self._values.get(kind, [])

    def entries(self, kind: str) -> list[tuple[str, str]]:
        """(key, tag) pairs of a kind; malformed values are left out."""
        pairs = (value.partition("~") for value in self.values(kind))
        return [(key, tag) for key, sep, tag in pairs if sep and key and len(tag) <= 16]

    def job_entries(self, kind: str) -> list[tuple[uuid.UUID, str]]:
        """(job id, tag) pairs of a kind whose key is a job id."""
        found = []
        for key, tag in self.entries(kind):
            try:
                found.append((uuid.UUID(hex=key), tag))
            except ValueError:
                continue
        return found

    def anything_live(self) -> bool:
        """Whether the page shows a part that keeps the poll going."""
        return any(self._values[r.kind] for r in _regions.values() if r.keeps_polling)


def changes(user: User, watched: Watched) -> Changes:
    """Every region's changed parts, in registration order, and whether any is still live."""
    found = Changes()
    for entry in _regions.values():
        if watched.values(entry.kind):
            result = entry.render(user, watched)
            found.html.extend(result.html)
            found.live = found.live or result.live
    return found


def tag(parts: Iterable) -> str:
    """A short hash of `parts`: equal for equal states, different (all but surely) else."""
    return hashlib.blake2b(repr(tuple(parts)).encode(), digest_size=4).hexdigest()


def job_tag(job: BackgroundJob) -> str:
    """The tag of what a job's card and detail show (its heartbeat is not shown there)."""
    paused = job.awaits_worker and is_paused(job.queue)
    return tag((job.status, job.progress, job.stage, job.error, job.error_code, job.attempt,
                job.held, job.cancel_requested_at, job.worker_name, job.enqueued_at,
                job.started_at, job.ended_at, job.result is None, paused))
