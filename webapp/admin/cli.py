"""`flask users limits EMAIL`: show or change one user's limits from the command line."""

from __future__ import annotations

import click

from webapp.auth.services import find_user
from webapp.quotas import LIMITS, own_limits, quotas_for
from webapp.user_limits import change_limits
from webapp.validation import ParamsError


@click.command("limits")
@click.argument("email")
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help=f"Change a limit ({', '.join(LIMITS)}); an empty VALUE restores the "
                   "default. Repeatable.")
def limits_command(email: str, assignments: tuple[str, ...]) -> None:
    """Show a user's limits, or change them with --set."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    data = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.ClickException(f"--set takes NAME=VALUE, got {item!r}")
        data[name.strip()] = value.strip() or None
    if data:
        try:
            change_limits(None, user, data)
        except ParamsError as exc:
            raise click.ClickException("; ".join(f"{d['field'].removeprefix('limits.')}: "
                                                 f"{d['message']}" for d in exc.details)) from None
    effective, own = quotas_for(user), own_limits(user)
    for name in LIMITS:
        note = "" if own[name] is not None else "  (default)"
        click.echo(f"{name:<20} {getattr(effective, name)}{note}")
