"""Shared rate limits on real Redis: counted before the work, atomically, across processes."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import close_app
from webapp import create_app
from webapp.ratelimit import get_limits, parse_limit


def test_a_limit_refuses_past_its_count_and_says_how_long_to_wait(app):
    with app.app_context():
        limits = get_limits()
        assert [limits.hit("3 per minute", "t", "a") for _ in range(3)] == [None] * 3
        refusal = limits.hit("3 per minute", "t", "a")
        assert refusal is not None and refusal.limit == "3 per minute"
        assert 1 <= refusal.retry_after <= 60
        assert limits.hit("3 per minute", "t", "b") is None  # other keys are untouched
        limits.clear("3 per minute", "t", "a")
        assert limits.hit("3 per minute", "t", "a") is None


def test_parallel_hits_from_two_processes_never_exceed_the_limit(app):
    other = create_app({"TESTING": True})  # a second web process, sharing only Redis
    try:
        def hit(target):
            with target.app_context():
                return get_limits().hit("5 per minute", "t", "parallel")

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(hit, [app, other] * 8))
        assert sum(r is None for r in results) == 5
    finally:
        close_app(other)


def test_malformed_limits_are_rejected():
    with pytest.raises(ValueError):
        parse_limit("five a minute")
