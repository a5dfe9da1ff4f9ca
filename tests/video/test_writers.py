"""Script providers: the offline template writer and an OpenAI-compatible endpoint."""

from __future__ import annotations

import json

import pytest

from tests.fake_openai import API_KEY, FakeOpenAI
from webapp.video.script import Scene
from webapp.video.settings import ProviderSettings
from webapp.video.writers import ScriptWriterError, write_script, writer_status

OFFLINE = ProviderSettings()
OUTLINE = "- Borrowing\n\n* Lifetimes\n3. The borrow checker.\n   \n# Smart pointers"


def template(**kwargs) -> list[Scene]:
    args = {
        "title": "Rust ownership",
        "topic": "memory safety",
        "outline": None,
        "max_scenes": 10,
        **kwargs,
    }
    return write_script("template", settings=OFFLINE, **args)


def settings_for(fake: FakeOpenAI, **kwargs) -> ProviderSettings:
    return ProviderSettings(openai_base_url=fake.base_url, openai_api_key=API_KEY, **kwargs)


def openai(settings: ProviderSettings, max_scenes: int = 5) -> list[Scene]:
    return write_script(
        "openai",
        title="Tides",
        topic="why the sea rises and falls",
        outline="Gravity\nThe moon",
        max_scenes=max_scenes,
        settings=settings,
    )


def test_template_is_deterministic() -> None:
    assert template(outline=OUTLINE) == template(outline=OUTLINE)
    assert template() == template()


def test_template_outline_gives_intro_one_scene_per_line_and_closing() -> None:
    scenes = template(outline=OUTLINE)
    headings = [s.heading for s in scenes]
    assert headings == [
        "Rust ownership",
        "Borrowing",
        "Lifetimes",
        "The borrow checker",
        "Smart pointers",
        "Wrapping up",
    ]
    assert "memory safety" in scenes[0].narration
    for scene in scenes[1:-1]:
        assert scene.heading in scene.narration and "memory safety" in scene.narration
        assert len(scene.narration.split(". ")) >= 3  # a few sentences
    # Plain text for the voice: no markup from the templates.
    assert not any(c in s.narration for s in scenes for c in "*#<>{}[]_`")


def test_template_without_outline_uses_generic_sections_from_the_topic() -> None:
    scenes = template()
    assert len(scenes) == 7
    assert scenes[1].heading == "What is memory safety?"
    assert all(s.narration.strip() for s in scenes)


@pytest.mark.parametrize("max_scenes", [1, 2, 3, 4, 6, 50])
def test_template_never_exceeds_max_scenes(max_scenes: int) -> None:
    scenes = template(outline=OUTLINE, max_scenes=max_scenes)
    assert 1 <= len(scenes) <= max_scenes
    assert scenes[0].heading == "Rust ownership"
    if max_scenes >= 2:
        assert scenes[-1].heading == "Wrapping up"


def test_template_rejects_bad_arguments() -> None:
    with pytest.raises(ScriptWriterError, match="max_scenes"):
        template(max_scenes=0)
    with pytest.raises(ScriptWriterError, match="title"):
        template(title="  ")


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ScriptWriterError, match="known providers: template, openai"):
        write_script(
            "gpt-local", title="T", topic="t", outline=None, max_scenes=3, settings=OFFLINE
        )


def test_openai_needs_base_url_and_key() -> None:
    message = "The openai script provider needs OPENAI_BASE_URL and OPENAI_API_KEY set"
    for settings in (
        OFFLINE,
        ProviderSettings(openai_base_url="http://x/v1"),
        ProviderSettings(openai_api_key="k"),
    ):
        with pytest.raises(ScriptWriterError) as caught:
            openai(settings)
        assert str(caught.value) == message


def test_openai_success(fake_openai: FakeOpenAI) -> None:
    scenes = [
        {"heading": "Gravity", "narration": "The moon pulls.  The sea follows."},
        {"heading": "The moon", "narration": "Twice a day."},
    ]
    fake_openai.chat(json.dumps({"scenes": scenes}))
    settings = settings_for(fake_openai, openai_script_model="tiny-model")
    assert openai(settings) == [
        Scene("Gravity", "The moon pulls. The sea follows."),
        Scene("The moon", "Twice a day."),
    ]
    (request,) = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    body = request.json()
    assert body["model"] == "tiny-model"
    assert body["response_format"] == {"type": "json_object"}
    assert "Tides" in body["messages"][-1]["content"]
    assert "The moon" in body["messages"][-1]["content"]


def test_openai_trailing_slash_fenced_json_and_cap(fake_openai: FakeOpenAI) -> None:
    scenes = [{"heading": f"H{i}", "narration": f"Sentence {i}."} for i in range(8)]
    fake_openai.chat("```json\n" + json.dumps({"scenes": scenes}) + "\n```")
    settings = ProviderSettings(openai_base_url=fake_openai.base_url + "/", openai_api_key=API_KEY)
    assert [s.heading for s in openai(settings, max_scenes=3)] == ["H0", "H1", "H2"]
    assert fake_openai.requests[0].path == "/v1/chat/completions"


def test_openai_http_error_names_status_and_body(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("chat/completions", status=500, body=b'{"error": "model overloaded"}')
    with pytest.raises(ScriptWriterError, match=r"HTTP 500: .*model overloaded"):
        openai(settings_for(fake_openai))


def test_openai_key_never_appears_in_errors(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("chat/completions", status=401, body=b"unauthorized")
    with pytest.raises(ScriptWriterError) as caught:
        openai(settings_for(fake_openai))
    assert "HTTP 401" in str(caught.value) and API_KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("this is not json", "did not reply with JSON"),
        ('{"chapters": []}', 'no "scenes" list'),
        ('{"scenes": []}', "no scenes"),
        ('{"scenes": [{"heading": "Only a heading"}]}', "Scene 1 .* has no narration"),
        ('{"scenes": [{"heading": "", "narration": "x"}]}', "Scene 1 .* has no heading"),
        ('{"scenes": ["just text"]}', "Scene 1 .* has no heading"),
    ],
)
def test_openai_bad_replies(fake_openai: FakeOpenAI, content: str, problem: str) -> None:
    fake_openai.chat(content)
    with pytest.raises(ScriptWriterError, match=problem):
        openai(settings_for(fake_openai))


def test_openai_reply_that_is_not_a_completion(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("chat/completions", body=b'{"id": "x"}')
    with pytest.raises(ScriptWriterError, match="not a chat completion"):
        openai(settings_for(fake_openai))
    fake_openai.reply("chat/completions", body=b"<html>gateway</html>", content_type="text/html")
    with pytest.raises(ScriptWriterError, match="not a chat completion"):
        openai(settings_for(fake_openai))


def test_openai_timeout(fake_openai: FakeOpenAI) -> None:
    fake_openai.chat('{"scenes": []}')
    fake_openai.replies["/v1/chat/completions"].delay = 1.0
    with pytest.raises(ScriptWriterError, match="did not answer within 0.2 s"):
        openai(settings_for(fake_openai, http_timeout=0.2))


def test_openai_unreachable() -> None:
    settings = ProviderSettings(openai_base_url="http://127.0.0.1:9/v1", openai_api_key="k")
    with pytest.raises(ScriptWriterError, match="Could not reach http://127.0.0.1:9/v1"):
        openai(settings)


def test_writer_status() -> None:
    offline = {s.name: s for s in writer_status(OFFLINE)}
    assert offline["template"].available
    assert not offline["openai"].available
    assert "OPENAI_BASE_URL" in offline["openai"].detail
    configured = ProviderSettings(openai_base_url="http://h/v1", openai_api_key="k")
    assert {s.name: s.available for s in writer_status(configured)}["openai"]
