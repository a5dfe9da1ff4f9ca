"""The new-project form in a real Chromium, on a phone and a desktop: the colour pickers follow
the theme menu, and the voice and font menus list everything, whole, disabling what cannot
work here."""

from __future__ import annotations

import pytest

from tests.browser import Watch, go_to, sign_in
from tests.support import make_user
from webapp.render.providers import provider_settings
from webapp.video.themes import COLOUR_SLOTS, FONTS, THEMES
from webapp.video.voices import VOICES, voice_status

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# The width of each option's label in the select's font, and the room the closed select has
# for it (its content box less the arrow, which Chromium draws inside it: about 20 px).
MENU = """select => {
  const style = getComputedStyle(select);
  const context = document.createElement("canvas").getContext("2d");
  context.font = `${style.fontSize} ${style.fontFamily}`;
  const room = select.clientWidth - parseFloat(style.paddingLeft)
    - parseFloat(style.paddingRight) - 24;
  return [...select.options].map(o => ({value: o.value, disabled: o.disabled,
                                        fits: context.measureText(o.text).width <= room}));
}"""


def _colours(page) -> dict[str, str]:
    return {slot: page.locator(f"input[name=theme_{slot}]").input_value()
            for slot in COLOUR_SLOTS}


@pytest.mark.parametrize("width", [390, 1440])
def test_pickers_follow_the_theme_and_menus_list_every_voice_and_font(server, browser,
                                                                      secure_app, width):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": 900})
    watch = Watch(page)
    sign_in(page, server, make_user())
    go_to(page, "Projects")  # a boosted visit: htmx swaps the page in
    expect(page.locator("h2", has_text="New project")).to_be_visible()

    assert _colours(page) == THEMES["midnight"].colours()
    page.select_option("#theme_preset", "paper")
    assert _colours(page) == THEMES["paper"].colours()
    custom = page.locator("input[name=theme_custom]")
    custom.check()
    page.select_option("#theme_preset", "sunset")
    assert _colours(page) == THEMES["paper"].colours()  # custom colours stay
    custom.uncheck()
    assert _colours(page) == THEMES["sunset"].colours()
    page.locator("input[name=theme_accent]").fill("#123456")
    expect(custom).to_be_checked()  # a colour picked is a custom colour

    off = {s.name for s in voice_status(provider_settings(secure_app.config)) if not s.available}
    assert "openai" in off  # the app under test has no OpenAI endpoint
    voices = page.locator("#voice").evaluate(MENU)
    assert [o["value"] for o in voices] == list(VOICES)
    assert {o["value"] for o in voices if o["disabled"]} == {
        key for key, voice in VOICES.items() if voice.provider in off}
    fonts = page.locator("#theme_font").evaluate(MENU)
    assert [o["value"] for o in fonts] == list(FONTS)
    # Whichever one is chosen shows whole in the closed menu.
    cut = [o["value"] for o in voices + fonts if not o["disabled"] and not o["fits"]]
    assert cut == []
    expect(page.locator("#voice-help")).to_contain_text("OPENAI_BASE_URL")
    watch.assert_clean()
