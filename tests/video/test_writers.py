"""Script providers: the offline template writer and an OpenAI-compatible endpoint."""

from __future__ import annotations

import json

import pytest

from tests.fake_openai import API_KEY, FakeOpenAI
from webapp.video.script import Scene, split_sentences
from webapp.video.settings import ProviderSettings
from webapp.video.topic import phrase
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
    assert scenes[0].narration.startswith("Welcome! Today's topic: Memory safety.")
    assert "four key points" in scenes[0].narration
    for scene in scenes[1:-1]:
        assert scene.heading in scene.narration
        assert len(split_sentences(scene.narration)) >= 3  # a few sentences
    assert scenes[1].narration.startswith("First: Borrowing.")
    assert scenes[4].narration.startswith("Finally: Smart pointers.")
    assert "To recap: Borrowing. Lifetimes. The borrow checker." in scenes[-1].narration
    # Plain text for the voice: no markup from the templates.
    assert not any(c in s.narration for s in scenes for c in "*#<>{}[]_`")


def test_neighbouring_outline_scenes_never_say_the_same() -> None:
    scenes = template(outline="\n".join(f"Point {n}" for n in range(1, 9)))[1:-1]
    for before, after in zip(scenes, scenes[1:], strict=False):
        shared = set(split_sentences(before.narration)[1:]) & set(split_sentences(after.narration))
        assert not shared, (before, after)


def test_template_without_outline_uses_sections_suited_to_the_topic() -> None:
    scenes = template()
    assert len(scenes) == 7
    assert [s.heading for s in scenes[1:3]] == ["The basic idea", "Why it matters"]
    assert all(s.narration.strip() for s in scenes)
    explained = template(topic="Why is the sky blue?")
    assert [s.heading for s in explained[1:3]] == ["The short answer", "Step by step"]
    assert "We covered the short answer, the steps and what makes it work." in \
        explained[-1].narration


@pytest.mark.parametrize(("topic", "opening"), [
    # A how/why clause is the fact it explains, then its question (with "?" typed or not).
    ("How honeybees turn flower nectar into honey?",
     "Honeybees turn flower nectar into honey. But how?"),
    ("why the sky is blue", "The sky is blue. But why?"),
    # A real question is asked as it is, a missing question mark added.
    ("How do bees make honey?", "How do bees make honey? That is what this video answers."),
    ("Is coffee bad for you", "Is coffee bad for you? That is what this video answers."),
    ("How many bees live in a hive", "How many bees live in a hive?"),
    ("What makes a good password", "What makes a good password?"),
    ("how to bake sourdough bread", "How do you bake sourdough bread?"),
    # A phrase is named after a colon, its case as typed.
    ("SQL joins", "Welcome! Today's topic: SQL joins."),
    ("the history of jazz", "Welcome! Today's topic: The history of jazz."),
])
def test_template_opens_with_the_topic_in_a_sentence_made_for_its_kind(topic: str,
                                                                       opening: str) -> None:
    scenes = template(title="Explainer", topic=topic)
    assert scenes[0].heading == "Explainer"
    assert scenes[0].narration.startswith(opening)


@pytest.mark.parametrize("topic", [
    "How honeybees turn flower nectar into honey?", "memory safety", "Why is the sky blue",
    "how to bake sourdough bread", "The history of jazz"])
def test_template_never_repeats_the_topic(topic: str) -> None:
    """The issue's report: "What is How honeybees ...?", "Let's see how How honeybees ...
    works". The topic's words open the script once and are never pasted in again."""
    for outline in (None, OUTLINE, "What about the sun?\nGravity pulls the oceans along."):
        scenes = template(title="Explainer", topic=topic, outline=outline)
        said = [s.narration.lower() for s in scenes]
        core = phrase(topic).lower()
        core = core.split(" ", 1)[1] if core.startswith(("how ", "why ")) else core
        assert sum(text.count(core) for text in said) <= 1, said
        assert not any(text.count(core) for text in said[1:]), said
        for text in said:
            words = text.split()
            assert all(a != b for a, b in zip(words, words[1:], strict=False)), text


def test_outline_questions_and_sentences_are_said_as_they_are() -> None:
    scenes = template(outline="How long should it rise?\nGravity pulls the oceans along.\n"
                              "Spring tides")
    assert scenes[1].heading == "How long should it rise"
    assert scenes[1].narration.startswith("How long should it rise? Let's take it step")
    assert scenes[2].narration.startswith("Gravity pulls the oceans along. ")
    assert scenes[3].narration.startswith("Finally: Spring tides.")
    assert "To recap: How long should it rise? Gravity pulls the oceans along. Spring " \
        "tides." in scenes[-1].narration


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
