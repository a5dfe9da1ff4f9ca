"""Migrations: an empty database upgrades to exactly the models' schema and back down."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from tests.support import close_app
from webapp import create_app
from webapp.devservices import ensure_database
from webapp.extensions import db
from webapp.models.job import TRIGRAM_INDEXES, include_object


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
                                      "audit_events", "user_sessions", "saved_views"}
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": include_object})
            assert compare_metadata(context, db.metadata) == []
        _assert_trigram_indexes_where_pg_trgm_is()
        downgrade(revision="base")
        assert _tables(empty_app) == set()
        upgrade()
        assert "background_jobs" in _tables(empty_app)


def _assert_trigram_indexes_where_pg_trgm_is():
    """The search's trigram indexes are left out of the comparison above: they exist exactly
    when the server has pg_trgm (the embedded development server does not)."""
    with db.engine.connect() as conn:
        available = conn.execute(text(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
        found = set(conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'background_jobs'")).scalars())
    assert (found >= TRIGRAM_INDEXES) if available else not (TRIGRAM_INDEXES & found)
