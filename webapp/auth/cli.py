"""`flask users ...` and `flask tokens ...`: manage accounts from the command line."""

from __future__ import annotations

import secrets

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from webapp.auth.services import (
    AccountError,
    create_token,
    create_user,
    find_user,
    revoke_token,
    set_password,
)
from webapp.extensions import db
from webapp.models import User

users_cli = AppGroup("users", help="Manage accounts.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")


@users_cli.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="Give the account admin rights.")
def create_user_command(email: str, password: str, admin: bool) -> None:
    """Create an account."""
    try:
        user = create_user(email, password, is_admin=admin)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Created {'admin ' if admin else ''}account {user.email}")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True)
def set_password_command(email: str, password: str) -> None:
    """Set an account's password and sign out all its sessions (API tokens keep working)."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    try:
        ended = set_password(user, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Changed the password of {user.email}; signed out {ended} session(s).")


@users_cli.command("bootstrap-admin")
@click.option("--email", envvar="ADMIN_EMAIL", default="admin@example.com", show_default=True)
@click.option("--password", envvar="ADMIN_PASSWORD", default=None,
              help="Password for the first admin (default: a random one, printed).")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True)
def bootstrap_admin_command(email: str, password: str | None, url: str) -> None:
    """Create a first admin account when there are no accounts at all."""
    if db.session.scalar(select(func.count()).select_from(User)):
        click.echo(f"Sign in at {url}/login (accounts exist already).")
        return
    password = password or secrets.token_urlsafe(12)
    try:
        user = create_user(email, password, is_admin=True)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo("=" * 64)
    click.echo(f"Created the first admin account. Sign in at {url}/login")
    click.echo(f"  email:    {user.email}")
    click.echo(f"  password: {password}")
    click.echo("=" * 64)


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="A name to recognise the token by.")
def create_token_command(email: str, name: str) -> None:
    """Create an API token; the token is printed alone on the last line."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    try:
        token, secret = create_token(user, name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Created token {token.name!r} for {user.email}; it is shown only once:")
    click.echo(secret)


@tokens_cli.command("list")
@click.argument("email")
def list_tokens_command(email: str) -> None:
    """List an account's tokens: id, name, start, created, last used, revoked."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    for token in sorted(user.tokens, key=lambda t: t.created_at):
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(f"{token.id}\t{token.name}\t{token.prefix}…\tcreated "
                   f"{token.created_at:%Y-%m-%d}\tlast used {used}\t{state}")


@tokens_cli.command("revoke")
@click.argument("email")
@click.argument("token_id", type=int)
def revoke_token_command(email: str, token_id: int) -> None:
    """Revoke one of an account's tokens by its id (see `tokens list`)."""
    user = find_user(email)
    token = next((t for t in user.tokens if t.id == token_id), None) if user else None
    if token is None:
        raise click.ClickException(f"{email} has no token {token_id}.")
    revoke_token(token)
    db.session.commit()
    click.echo(f"Revoked token {token.name!r}.")
