"""Migrations: an empty database upgrades to exactly the models' schema and back down."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from tests.support import close_app
from webapp import create_app
from webapp.devservices import ensure_database
from webapp.extensions import db


@pytest.fixture
def empty_app(services):
    url = make_url(services["DATABASE_URL"]).set(database="cutroom_migrations")
    ensure_database(services["ADMIN_URL"], "cutroom_migrations", recreate=True)
    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": url.set(drivername="postgresql+psycopg")})
    yield app
    close_app(app)


def _tables(app) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_gives_the_models_schema_and_downgrade_removes_it(empty_app):
    with empty_app.app_context():
        assert _tables(empty_app) == set()
        upgrade()
        assert _tables(empty_app) == {"users", "api_tokens", "projects", "background_jobs",
                                      "audit_events", "user_sessions", "job_metrics_hourly",
                                      "reconciler_passes", "queue_pauses", "saved_views",
                                      "media_files"}
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        downgrade(revision="base")
        assert _tables(empty_app) == set()
        upgrade()
        assert "background_jobs" in _tables(empty_app)
