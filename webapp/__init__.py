"""Cutroom: the job backend and live dashboard for AI video creation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dotenv import load_dotenv
from flask import Flask

from webapp.config import ROOT, from_env


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, job system, blueprints, commands."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    if test_config is None:
        load_dotenv(ROOT / ".env", override=False)
    app.config.from_mapping(from_env())
    if test_config is not None:
        app.config.from_mapping(test_config)
    _init_extensions(app)
    _init_jobs(app)
    _init_live_updates()
    _init_routing(app)
    _register_blueprints(app)
    _init_security(app)
    _register_commands(app)
    return app


def _init_extensions(app: Flask) -> None:
    from webapp import auth, database, storage, templating
    from webapp.extensions import db, htmx, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        database.init_app(app, db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    htmx.init_app(app)
    login_manager.init_app(app)
    auth.init_login(login_manager)
    templating.init_app(app)
    storage.init_app(app)


def _init_jobs(app: Flask) -> None:
    import webapp.tasks  # noqa: F401  (registers every task before any worker forks)
    from webapp import ratelimit
    from webapp.jobs import connection

    connection.init_app(app)
    with app.app_context():
        ratelimit.init_app(app, connection.get_redis())


def _init_live_updates() -> None:
    """After each commit, Redis hears whose jobs changed and which sessions ended, so live
    pages can tell from Redis alone that nothing did (process-wide SQLAlchemy hooks)."""
    from webapp import aftercommit, sessions
    from webapp.jobs import changes
    from webapp.media import pending

    aftercommit.init_app()
    changes.init_app()
    sessions.init_app()
    pending.init_app()  # stored media files follow their rows' transaction


def _init_routing(app: Flask) -> None:
    """Before any route exists: ids in paths are bounded, redirects stay on this site,
    upload routes take larger requests (before the CSRF check reads the form)."""
    from webapp import converters, navigation
    from webapp.media import uploads

    converters.init_app(app)
    navigation.init_app(app)
    uploads.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from webapp import (
        admin,
        api,
        appearance,
        auth,
        consistency,
        dashboard,
        errors,
        explorer,
        health,
        live,
        metrics,
        outages,
        projects,
        queues,
        rq_admin,
    )

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    live.init_app(app)
    app.register_blueprint(explorer.bp)
    app.register_blueprint(projects.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(metrics.bp)
    consistency.init_app(app)
    app.register_blueprint(queues.bp)
    app.register_blueprint(api.bp)
    appearance.init_app(app)
    errors.register(app, unavailable_for=outages.unavailable_for)
    outages.init_app(app)
    rq_admin.init_app(app)


def _init_security(app: Flask) -> None:
    # After the blueprints: rq-dashboard's admin guard must answer before the CSRF check.
    from webapp import security

    security.init_app(app)


def _register_commands(app: Flask) -> None:
    from webapp.admin.cli import limits_command
    from webapp.auth.cli import tokens_cli, users_cli
    from webapp.jobs.cli import jobs_cli

    users_cli.add_command(limits_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(jobs_cli)
