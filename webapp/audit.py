"""Writing and reading the audit log of admin actions on other users' things."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEvent, User
from webapp.pagination import Page, paginate

COMMAND_LINE = "command line"


def admin_action(actor: User | None, action: str, target_type: str, target_id: Any, owner_id: int,
                 always: bool = False, **detail: Any) -> bool:
    """Add an audit row to the current transaction when an admin acts on someone else's
    object (on anyone's with `always`, for actions only admins can take); else do nothing.

    Services call it beside the change itself, so the commit that makes the change also
    writes its audit row: an action is never recorded without its audit, nor the reverse.
    `actor` None is the system (the CLI, the reconciler): nothing is recorded.
    """
    if actor is None or not actor.is_admin or (actor.id == owner_id and not always):
        return False
    db.session.add(AuditEvent(actor_id=actor.id, actor_email=actor.email, action=action,
                              target_type=target_type, target_id=str(target_id),
                              owner_id=owner_id, detail=detail))
    return True


def command_line_action(who: str, action: str, target_type: str, target_id: Any,
                        **detail: Any) -> None:
    """Add an audit row for an admin-only action taken on the command line, where there is
    no account: `who` names the OS user and host, `detail` says `via: command line`."""
    db.session.add(AuditEvent(actor_id=None, actor_email=who[:254], action=action,
                              target_type=target_type, target_id=str(target_id),
                              owner_id=None, detail={"via": COMMAND_LINE, **detail}))


def recent(page: int = 1, per_page: int = 50) -> Page:
    """A page of the audit log, newest first."""
    return paginate(select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()),
                    page, per_page)


def emails_of(events: list[AuditEvent]) -> dict[int, str]:
    """{user id: email} of the accounts these events name (actors, owners, users acted on)
    that still exist, in one query."""
    ids = {e.actor_id for e in events} | {e.owner_id for e in events}
    ids |= {int(e.target_id) for e in events if e.target_type == "user" and e.target_id.isdigit()}
    ids.discard(None)
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())
