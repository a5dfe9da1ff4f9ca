"""Uploading in a real browser, with htmx on the page: a scene's picture through its form
(the file input sits in the script editor and belongs to the upload form by its `form`
attribute), then a refused file shown beside its field."""

from __future__ import annotations

import pytest

from tests.browser import sign_in, watch_problems
from tests.media import sample_files
from tests.support import make_user
from webapp.extensions import db
from webapp.models import Project

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_a_scene_picture_uploads_and_a_refused_file_says_why(server, browser, tmp_path):
    from playwright.sync_api import expect

    files = sample_files(tmp_path)
    owner = make_user()
    project = Project(user_id=owner.id, title="Bees", voice="silent", theme={},
                      script=[{"heading": "The hive", "narration": "Bees live in a hive."}])
    db.session.add(project)
    db.session.commit()
    page = browser.new_page()
    problems = watch_problems(page)
    sign_in(page, server, owner)
    page.goto(f"{server}/projects/{project.id}")
    scene = page.locator("#scene-1")
    scene.locator("input[type=file]").set_input_files(str(files["photo.png"]))
    scene.locator("button:has-text('Upload to scene 1')").click()
    expect(page.locator("#scene-1")).to_contain_text("photo.png")
    expect(page.locator("#scene-1")).to_contain_text("640×360")
    expect(page.locator("#scene-1 button:has-text('Remove the picture')")).to_be_visible()
    # The preview now shows the picture (loaded, not broken).
    preview = page.locator("img.scene-preview").first
    expect(preview).to_have_js_property("complete", True)
    assert page.evaluate("document.querySelector('img.scene-preview').naturalWidth") > 0

    music = page.locator("#music ~ .card input[type=file]")
    music.set_input_files(str(files["photo.png"]))
    page.locator("button:has-text('Upload music')").click()
    expect(page.locator("#music-file-error")).to_contain_text("not a music track")
    # The refused upload is the one error response: a 422 page (Chromium logs it).
    assert len(problems) == 1 and "status of 422" in problems[0], problems
