"""Fixtures for the video library: the fake OpenAI-compatible server (tests/fake_openai.py).

Nothing here needs PostgreSQL or Redis; do not use the repository's `app` fixtures. WAV
helpers and readers of what the library writes are in tests/media.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_openai import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A real HTTP server on 127.0.0.1 (a free port), stopped after the test."""
    with FakeOpenAI() as fake:
        yield fake
