"""The project settings form: colour pickers showing the colours a render uses, and voices
that cannot work here disabled, saying why, and refused by the form and the API alike."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

import pytest
from PIL import Image

from tests.support import login, make_user
from webapp.extensions import db
from webapp.models import BackgroundJob, Project
from webapp.video import piper_engine
from webapp.video.themes import COLOUR_SLOTS, THEMES

SCRIPT = [{"heading": "Ice", "narration": "Comets are dirty snowballs."}]
PAPER = THEMES["paper"].colours()
MIDNIGHT = THEMES["midnight"].colours()


class _Form(HTMLParser):
    """The fields of the first form posting to `action`, as a browser reads them."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.select, self.option = action, False, None, None
        self.inputs: dict[str, dict] = {}
        self.selects: dict[str, list[dict]] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action and not self.selects
        elif self.inside and tag == "input" and a.get("name"):
            self.inputs[a["name"]] = a
        elif self.inside and tag == "select":
            self.select = self.selects.setdefault(a["name"], [])
        elif self.select is not None and tag == "option":
            self.option = {**a, "label": ""}
            self.select.append(self.option)

    def handle_data(self, data):
        if self.option is not None:
            self.option["label"] += data

    def handle_endtag(self, tag):
        if tag == "option":
            self.option = None
        elif tag == "select":
            self.select = None
        elif tag == "form":
            self.inside = False

    def selected(self, name: str) -> dict:
        """The option shown: the one marked selected, else the first that is not disabled."""
        options = self.selects[name]
        return next((o for o in options if "selected" in o),
                    next(o for o in options if "disabled" not in o))

    def data(self) -> dict[str, str]:
        """What a browser posts: ticked boxes, and no disabled option."""
        posted = {}
        for name, a in self.inputs.items():
            if a.get("type") != "checkbox":
                posted[name] = a.get("value", "")
            elif "checked" in a:
                posted[name] = a.get("value", "on")
        for name in self.selects:
            option = self.selected(name)
            if "disabled" not in option:
                posted[name] = option["value"]
        return posted

    def colours(self) -> dict[str, str]:
        return {slot: self.inputs[f"theme_{slot}"]["value"] for slot in COLOUR_SLOTS}


def _form(html: str, action: str) -> _Form:
    form = _Form(action)
    form.feed(html)
    assert form.inputs, f"no form posting to {action}"
    return form


def _project(user, **fields) -> Project:
    project = Project(user_id=user.id, **{"title": "T", "script": SCRIPT, "voice": "silent",
                                          "theme": {}, **fields})
    db.session.add(project)
    db.session.commit()
    return project


@pytest.fixture
def nothing_but_silence(app, monkeypatch):
    """No voice provider works here but the silent one."""
    monkeypatch.setitem(app.config, "PIPER_MODEL", "/no/such/voice.onnx")
    monkeypatch.setitem(app.config, "ESPEAK_BINARY", "no-such-espeak")
    monkeypatch.setitem(app.config, "OPENAI_BASE_URL", None)


def test_the_new_project_pickers_show_the_default_themes_colours(client, user):
    login(client, user)
    form = _form(client.get("/projects").get_data(as_text=True), "/projects")
    assert form.colours() == MIDNIGHT and "checked" not in form.inputs["theme_custom"]
    presets = {o["value"]: json.loads(o["data-colours"]) for o in form.selects["theme_preset"]}
    assert presets == {key: theme.colours() for key, theme in THEMES.items()}


@pytest.mark.parametrize(("custom", "shown"),
                         [(False, PAPER), (True, {**PAPER, "accent": "#123456"})])
def test_a_form_back_with_errors_shows_the_colours_the_render_would_use(client, user, custom,
                                                                        shown):
    login(client, user)
    posted = {"title": "", "topic": "Comets", "voice": "silent", "theme_preset": "paper",
              **{f"theme_{slot}": colour for slot, colour in PAPER.items()},
              "theme_accent": "#123456", **({"theme_custom": "on"} if custom else {})}
    response = client.post("/projects", data=posted)
    assert response.status_code == 422
    form = _form(response.get_data(as_text=True), "/projects")
    assert form.colours() == shown
    assert ("checked" in form.inputs["theme_custom"]) is custom
    assert form.selected("theme_preset")["value"] == "paper"


def test_saved_custom_colours_show_ticked_and_survive_saving_the_form_again(client, user):
    login(client, user)
    accent = {**PAPER, "accent": "#ff0000"}
    custom = _project(user, theme={"preset": "paper", **accent, "font": "serif"})
    plain = _project(user, theme={})
    action = f"/projects/{custom.id}"
    form = _form(client.get(action).get_data(as_text=True), action)
    assert form.colours() == accent and "checked" in form.inputs["theme_custom"]
    assert client.post(action, data=form.data()).status_code == 303
    db.session.refresh(custom)
    assert custom.theme["accent"] == "#ff0000"
    action = f"/projects/{plain.id}"
    form = _form(client.get(action).get_data(as_text=True), action)
    assert form.colours() == MIDNIGHT and "checked" not in form.inputs["theme_custom"]


def test_voices_that_cannot_work_here_are_disabled_saying_why(client, user,
                                                              nothing_but_silence):
    login(client, user)
    html = client.get("/projects").get_data(as_text=True)
    form = _form(html, "/projects")
    options = {o["value"]: o for o in form.selects["voice"]}
    assert [key for key, o in options.items() if "disabled" not in o] == ["silent"]
    assert options["espeak:en-us"]["label"].endswith(" — not installed here")
    assert options["piper:joe"]["label"].endswith(" — its model is missing here")
    assert options["openai:alloy"]["label"].endswith(" — not configured here")
    help_text = re.search(r'<div id="voice-help">(.*?)</div>', html, re.S).group(1)
    for words in ("apt-get install espeak-ng", "PIPER_MODEL /no/such/voice.onnx is not a file",
                  "OPENAI_BASE_URL and OPENAI_API_KEY"):
        assert words in help_text
    # The configured default (piper:joe) cannot work: a new project starts on one that can.
    assert form.selected("voice")["value"] == "silent"


def test_every_voice_is_enabled_when_every_provider_works(client, user, app, monkeypatch):
    monkeypatch.setitem(app.config, "OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setitem(app.config, "OPENAI_API_KEY", "k")
    monkeypatch.setitem(app.config, "ESPEAK_BINARY", "sh")  # any program on PATH
    login(client, user)
    html = client.get("/projects").get_data(as_text=True)
    disabled = [o["value"] for o in _form(html, "/projects").selects["voice"] if "disabled" in o]
    assert disabled == ([] if piper_engine.problem(None) is None else ["piper:joe"])
    assert ('id="voice-help"' in html) is bool(disabled)


def _create_by_form(client, project):
    return client.post("/projects", data={"title": "X", "topic": "Y", "voice": "openai:alloy"})


def _update_by_form(client, project):
    return client.post(f"/projects/{project.id}", data={
        "part": "settings", "title": "T", "voice": "openai:alloy", "theme_preset": "midnight"})


def _create_by_api(client, project):
    return client.post("/api/v1/projects", json={"title": "X", "topic": "Y",
                                                 "voice": "openai:alloy"})


def _update_by_api(client, project):
    return client.patch(f"/api/v1/projects/{project.id}", json={"voice": "openai:alloy"})


def _create_by_api_with_the_default(client, project):
    return client.post("/api/v1/projects", json={"title": "X", "topic": "Y"})


def _render_by_api(client, project):
    project.voice = "openai:alloy"  # saved when it worked (or on another server)
    db.session.commit()
    return client.post(f"/api/v1/projects/{project.id}/render")


@pytest.mark.parametrize("send", [_create_by_form, _update_by_form, _create_by_api,
                                  _update_by_api, _create_by_api_with_the_default,
                                  _render_by_api])
def test_a_voice_that_cannot_work_here_is_422_naming_the_voice(client, user, app, monkeypatch,
                                                               send):
    monkeypatch.setitem(app.config, "OPENAI_BASE_URL", None)
    monkeypatch.setitem(app.config, "DEFAULT_VOICE", "openai:nova")
    login(client, user)
    project = _project(user)
    count = Project.query.count()
    response = send(client, project)
    assert response.status_code == 422, response.get_data(as_text=True)
    if response.is_json:
        details = {d["field"]: d["message"] for d in response.get_json()["error"]["details"]}
        message = details["voice"]
    else:
        html = response.get_data(as_text=True)
        message = re.search(r'<label for="voice">.*?<p class="error">(.*?)</p>', html,
                            re.S).group(1)
    assert "not configured here" in message and "OPENAI_BASE_URL" in message
    db.session.refresh(project)
    assert Project.query.count() == count and project.voice in ("silent", "openai:alloy")
    assert BackgroundJob.query.count() == 0  # no render started


def test_a_saved_voice_that_cannot_work_here_stays_selected_and_is_kept(client, user, app,
                                                                        monkeypatch):
    monkeypatch.setitem(app.config, "OPENAI_BASE_URL", None)
    login(client, user)
    project = _project(user, voice="openai:onyx")
    action = f"/projects/{project.id}"
    html = client.get(action).get_data(as_text=True)
    form = _form(html, action)
    shown = form.selected("voice")
    assert shown["value"] == "openai:onyx" and "disabled" in shown
    assert 'class="warning">Onyx (OpenAI-compatible) is not configured here' in html
    # A browser posts no disabled option: the settings save, the voice stays.
    data = {**form.data(), "title": "Renamed"}
    assert "voice" not in data
    assert client.post(action, data=data).status_code == 303
    db.session.refresh(project)
    assert (project.title, project.voice) == ("Renamed", "openai:onyx")
    # Nor does a form back with an error switch it.
    again = client.post(action, data={**data, "music_level": "500"})
    assert again.status_code == 422
    assert _form(again.get_data(as_text=True), action).selected("voice")["value"] == "openai:onyx"


def test_the_settings_form_sets_the_narration_speed(client, user):
    login(client, user)
    project = _project(user)
    action = f"/projects/{project.id}"
    form = _form(client.get(action).get_data(as_text=True), action)
    data = {**form.data(), "narration_speed": "1.25"}
    assert client.post(action, data=data).status_code == 303
    db.session.refresh(project)
    assert project.narration_speed == 1.25
    refused = client.post(action, data={**data, "narration_speed": "3"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'field has-error">\n    <label for="narration_speed">' in html
    assert "less than or equal to 1.5" in html
    db.session.refresh(project)
    assert project.narration_speed == 1.25


def test_the_settings_form_sets_the_captions(client, user):
    login(client, user)
    project = _project(user)
    action = f"/projects/{project.id}"
    form = _form(client.get(action).get_data(as_text=True), action)
    assert form.selected("captions_style")["value"] == "outline"  # the default, shown
    data = {**form.data(), "captions_style": "box", "captions_position": "middle",
            "captions_size": "large"}
    assert client.post(action, data=data).status_code == 303
    db.session.refresh(project)
    assert project.captions == {"style": "box", "position": "middle", "size": "large"}
    form = _form(client.get(action).get_data(as_text=True), action)
    assert form.selected("captions_position")["value"] == "middle"
    refused = client.post(action, data={**data, "captions_size": "huge"})
    assert refused.status_code == 422
    assert "must be one of: small, medium, large" in refused.get_data(as_text=True)


def test_the_scene_editor_shows_a_preview_of_each_scene(client, user):
    login(client, user)
    project = _project(user, burn_subtitles=True)
    project.script = [{"heading": "Bees", "narration": "Bees make honey. They work hard."},
                      {"heading": "Hives", "narration": "A hive holds thousands."}]
    db.session.commit()
    html = client.get(f"/projects/{project.id}").get_data(as_text=True)
    urls = re.findall(r'class="scene-preview" src="([^"]+)"', html)
    assert len(urls) == 2 and all("v=" in url for url in urls)
    first = client.get(urls[0].replace("&amp;", "&"))
    assert first.status_code == 200 and first.content_type == "image/png"
    assert "immutable" in first.headers["Cache-Control"]
    image = Image.open(io.BytesIO(first.data))
    assert image.size == (480, 270)
    # A change of what the scene shows changes its URL, and the picture.
    project.captions = {"style": "box", "position": "middle"}
    db.session.commit()
    again = re.findall(r'class="scene-preview" src="([^"]+)"',
                       client.get(f"/projects/{project.id}").get_data(as_text=True))
    assert again[0] != urls[0] and again[1] != urls[1]
    changed = client.get(again[0].replace("&amp;", "&"))
    assert changed.data != first.data
    # A browser holding the current picture is told so, with nothing drawn or sent.
    held = client.get(again[0].replace("&amp;", "&"),
                      headers={"If-None-Match": changed.headers["ETag"]})
    assert held.status_code == 304 and held.data == b""
    # An old URL is answered fresh, not cached for good.
    stale = client.get(urls[0].replace("&amp;", "&"))
    assert stale.data == changed.data and "no-cache" in stale.headers["Cache-Control"]
    assert client.get(f"/projects/{project.id}/scenes/3/preview.png").status_code == 404
    client.post("/logout")
    login(client, make_user())
    assert client.get(urls[0].replace("&amp;", "&")).status_code == 404
