"""Stock media (webapp/stock/) against a fake Pexels and Pixabay on 127.0.0.1, with the
search cache in the tests' real Redis."""

from __future__ import annotations

import logging

import pytest
from redis import Redis

from tests.fake_stock import FakeStock
from webapp.config import ConfigError, from_env
from webapp.media.inspect import MediaLimits, inspect
from webapp.stock import (
    NoResults,
    StockError,
    StockItem,
    StockUnavailable,
    choose,
    download,
    scene_terms,
    search,
    stock_status,
)
from webapp.stock.app import stock_problem, stock_settings
from webapp.stock.cache import cache_key

BASE = {"DATABASE_URL": "postgresql://u:p@db:5432/app", "REDIS_URL": "redis://r:6379/0",
        "CUTROOM_ENV": "development"}


@pytest.fixture(scope="module")
def server():
    with FakeStock() as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.mode, server.delay = None, 2.0
    server.searches.clear()
    return server


# Settings


def test_settings_default_to_the_real_apis_with_no_keys():
    config = from_env(BASE)
    assert config["PEXELS_BASE_URL"] == "https://api.pexels.com"
    assert config["PIXABAY_BASE_URL"] == "https://pixabay.com/api"
    assert config["PEXELS_API_KEY"] is None and config["PIXABAY_API_KEY"] is None
    assert config["STOCK_CACHE_TTL"] == 86400
    settings = stock_settings(config)
    assert settings.key("pexels") is None and settings.http_timeout == 60.0


def test_settings_are_read_and_base_urls_lose_their_trailing_slash():
    config = from_env({**BASE, "PEXELS_API_KEY": " abc ", "PIXABAY_API_KEY": "1-2",
                       "PIXABAY_BASE_URL": "http://127.0.0.1:9/pixabay/api/",
                       "STOCK_CACHE_TTL": "0"})
    assert (config["PEXELS_API_KEY"], config["PIXABAY_API_KEY"]) == ("abc", "1-2")
    assert config["PIXABAY_BASE_URL"] == "http://127.0.0.1:9/pixabay/api"
    assert config["STOCK_CACHE_TTL"] == 0


@pytest.mark.parametrize(("name", "value"), [
    ("PEXELS_BASE_URL", "ftp://api.pexels.com"), ("PIXABAY_BASE_URL", "pixabay.com/api"),
    ("PEXELS_BASE_URL", "https://api.pexels.com/?x=1"), ("STOCK_CACHE_TTL", "-1"),
    ("STOCK_CACHE_TTL", "a day"), ("PEXELS_API_KEY", "two words"),
])
def test_bad_settings_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        from_env({**BASE, name: value})


# Searching


def test_pexels_pictures_are_the_2x_large_size_or_the_original(fake):
    found = search(fake.settings(), "pexels", "Honey  Bees", orientation="landscape")
    assert [i.id for i in found] == ["101", "102", "103"]
    big, wide, small = found
    assert (big.width, big.height) == (1880, 1253) and "dpr=2" in big.url
    assert (wide.width, wide.height) == (1880, 1058)
    assert (small.width, small.height) == (800, 533) and small.url.endswith("id=103")
    assert big.author == "Photographer 101" and big.author_url == "https://www.pexels.com/@p101"
    assert big.page_url == "https://www.pexels.com/photo/a-photo-101/"
    assert big.description == "A photo number 101" and big.kind == "picture"
    path, query = fake.searches[0]
    assert path == "/pexels/v1/search"
    assert query == {"query": "honey bees", "orientation": "landscape", "per_page": "15"}
    portrait = search(fake.settings(), "pexels", "bees", orientation="portrait")[0]
    assert (portrait.width, portrait.height) == (3000, 4500)  # large2x would be 867 wide


def test_pexels_clips_take_the_mp4_nearest_1280_not_below(fake):
    found = search(fake.settings(), "pexels", "bees", kind="clip", limit=5)
    assert [(i.id, i.width, i.height, i.duration) for i in found] == [
        ("401", 1280, 720, 12.0), ("402", 1280, 720, 5.0)]
    assert found[0].url.endswith("id=401&w=1280") and found[0].author == "Filmer 401"
    assert fake.searches[0] == ("/pexels/videos/search", {
        "query": "bees", "orientation": "landscape", "per_page": "5"})


def test_pixabay_pictures_are_the_largest_offered(fake):
    found = search(fake.settings(), "pixabay", "bees", orientation="portrait", limit=2)
    assert [(i.id, i.width, i.height) for i in found] == [("201", 853, 1280),
                                                          ("202", 720, 1280)]
    assert found[0].url.endswith("id=201&s=1280")
    assert found[0].author == "snapper201"
    assert found[0].author_url == "https://pixabay.com/users/snapper201-9201/"
    assert found[0].description == "bee, honey, flower"
    path, query = fake.searches[0]
    assert path == "/pixabay/api/"
    assert {k: query[k] for k in ("q", "image_type", "orientation", "per_page")} == {
        "q": "bees", "image_type": "photo", "orientation": "vertical", "per_page": "3"}


def test_pixabay_clips_drop_the_opposite_orientation(fake):
    landscape = search(fake.settings(), "pixabay", "bees", kind="clip")
    assert [(i.id, i.width, i.height) for i in landscape] == [("401", 1280, 720),
                                                              ("402", 1920, 1080)]
    portrait = search(fake.settings(), "pixabay", "bees", kind="clip", orientation="portrait")
    assert [(i.id, i.width, i.height, i.duration) for i in portrait] == [
        ("403", 1080, 1920, 30.0)]
    assert fake.searches[0][0] == "/pixabay/api/videos/"


def test_a_search_is_cached_by_query_kind_and_orientation(fake, redis):
    settings = fake.settings()
    first = search(settings, "pexels", "bees honey", redis=redis)
    again = search(settings, "pexels", "  Bees   HONEY ", redis=redis)
    assert again == first and fake.count("pexels") == 1
    search(settings, "pexels", "bees honey", orientation="portrait", redis=redis)
    search(settings, "pexels", "bees honey", kind="clip", redis=redis)
    search(settings, "pixabay", "bees honey", redis=redis)
    assert fake.count("pexels") == 3 and fake.count("pixabay") == 1
    key = cache_key("pexels", "picture", "landscape", 15, "bees honey")
    assert 86000 < redis.ttl(key) <= 86400


def test_no_cache_without_redis_a_ttl_or_with_redis_down(fake, redis):
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    for _ in range(2):
        assert search(fake.settings(), "pexels", "bees", redis=down)
        search(fake.settings(), "pexels", "bees")
        search(fake.settings(cache_ttl=0), "pexels", "bees", redis=redis)
    assert fake.count("pexels") == 6
    assert not redis.keys("cutroom:stock:*")


def test_nothing_found_is_no_results_and_is_cached_too(fake, redis):
    fake.mode = "empty"
    for _ in range(2):
        with pytest.raises(NoResults, match="Pixabay has no clips for 'bees'"):
            search(fake.settings(), "pixabay", "bees", kind="clip", redis=redis)
    assert fake.count("pixabay") == 1


def test_a_provider_without_a_key_is_unavailable_and_search_refuses(fake):
    settings = fake.settings(pexels_api_key=None)
    pexels, pixabay = stock_status(settings)
    assert (pexels.name, pexels.available, pexels.reason) == ("pexels", False,
                                                              "not configured here")
    assert "PEXELS_API_KEY" in pexels.detail
    assert pixabay.available and pixabay.reason is None
    with pytest.raises(StockUnavailable, match="set PEXELS_API_KEY"):
        search(settings, "pexels", "bees")
    assert fake.searches == []


def test_stock_problem_says_which_setting_to_set(app, monkeypatch):
    with app.app_context():
        monkeypatch.setitem(app.config, "PEXELS_API_KEY", None)
        assert "PEXELS_API_KEY" in stock_problem("pexels")
        assert "known: pexels, pixabay" in stock_problem("shutterstock")
        monkeypatch.setitem(app.config, "PEXELS_API_KEY", "set")
        assert stock_problem("pexels") is None


@pytest.mark.parametrize(("provider", "setting"), [("pexels", "PEXELS_API_KEY"),
                                                   ("pixabay", "PIXABAY_API_KEY")])
def test_a_refused_key_names_its_setting(fake, provider, setting):
    settings = fake.settings(pexels_api_key="wrong", pixabay_api_key="wrong")
    label = provider.capitalize()
    with pytest.raises(StockError, match=f"^The {label} key was refused: check {setting}$"):
        search(settings, provider, "bees")


def test_rate_limiting_says_so_and_when_to_try_again(fake):
    fake.mode = "rate-limit"
    with pytest.raises(StockError, match=r"Pexels is rate limiting .*HTTP 429.* in 30 s"):
        search(fake.settings(), "pexels", "bees")
    assert fake.count("pexels") == 1  # no retries


def test_a_slow_provider_times_out(fake):
    fake.mode, fake.delay = "slow", 1.0
    with pytest.raises(StockError, match="Pixabay did not answer within 0.2 s"):
        search(fake.settings(http_timeout=0.2), "pixabay", "bees")


def test_the_pixabay_key_stays_out_of_logs_and_messages(fake, caplog):
    caplog.set_level(logging.INFO, logger="httpx")
    search(fake.settings(), "pixabay", "bees")
    with pytest.raises(StockError) as refused:
        search(fake.settings(pixabay_api_key="secret-wrong-key"), "pixabay", "bees")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "key=***" in logged and "test-key" not in logged and "secret" not in logged
    assert "secret" not in str(refused.value)


@pytest.mark.parametrize("bad", [{"provider": "flickr"}, {"kind": "gif"},
                                 {"orientation": "wide"}, {"limit": 0}])
def test_bad_arguments_are_programming_errors(fake, bad):
    arguments = {"provider": "pexels", "kind": "picture", "orientation": "square",
                 "limit": 3, **bad}
    with pytest.raises(ValueError):
        search(fake.settings(), arguments.pop("provider"), "bees", **arguments)


# Choosing


def item(id_: str, width: int, height: int, duration: float | None = None,
         provider: str = "pexels") -> StockItem:
    kind = "picture" if duration is None else "clip"
    return StockItem(provider, id_, kind, width, height, f"https://images.pexels.com/{id_}",
                     "Someone", f"https://www.pexels.com/photo/{id_}/", duration=duration)


def test_choose_prefers_the_videos_orientation_and_never_the_opposite():
    items = [item("wide", 1920, 1280), item("square", 2000, 2000), item("tall", 1280, 1920)]
    assert choose(items, 1080, 1920, 5).id == "tall"
    assert choose(items, 1920, 1080, 5).id == "wide"
    assert choose(items, 1080, 1080, 5).id == "square"
    assert choose(items[1:], 1920, 1080, 5).id == "square"  # rather than the tall one
    assert choose(items[2:], 1920, 1080, 5) is None


def test_choose_prefers_items_large_enough_to_cover_the_frame():
    small, large2x, big = item("s", 1280, 853), item("l", 1880, 1057), item("b", 6000, 4000)
    assert choose([small, large2x, big], 1920, 1080, 5).id == "l"  # 2 % enlarged is fine
    assert choose([small, big], 1920, 1080, 5).id == "b"
    assert choose([small], 1920, 1080, 5).id == "s"  # the largest there is
    assert choose([item("t", 960, 540), small], 1920, 1080, 5).id == "s"
    assert choose([small, big], 1280, 720, 5).id == "s"  # first is the most relevant


def test_choose_takes_a_clip_long_enough_else_the_longest():
    clips = [item("3s", 1920, 1080, 3), item("20s", 1920, 1080, 20), item("9s", 1920, 1080, 9)]
    assert choose(clips, 1920, 1080, 8).id == "9s"
    assert choose(clips, 1920, 1080, 15).id == "20s"
    assert choose(clips, 1920, 1080, 2.5).id == "3s"
    assert choose(clips[::2], 1920, 1080, 30).id == "9s"


def test_choose_skips_items_other_scenes_use():
    items = [item("1", 1920, 1080), item("2", 1920, 1080), item("1", 1920, 1080, None,
                                                                  "pixabay")]
    assert choose(items, 1920, 1080, 5, used_ids={"pexels:1"}).key == "pexels:2"
    assert choose(items, 1920, 1080, 5, {"pexels:1", "pexels:2"}).key == "pixabay:1"
    assert choose(items, 1920, 1080, 5, {i.key for i in items}) is None
    assert choose([], 1920, 1080, 5) is None


# Downloading


def test_download_writes_files_the_upload_checks_accept(fake, tmp_path):
    picture, clip = (search(fake.settings(), "pexels", "bees", kind=kind)[0]
                     for kind in ("picture", "clip"))
    for found, kind in ((picture, "image"), (clip, "clip")):
        path = download(fake.settings(), found, tmp_path / f"{kind}.bin", 10 << 20)
        assert path.read_bytes() == fake.files["photo.jpg" if kind == "image" else "clip.mp4"]
        accepted = inspect(kind, path, None, MediaLimits(), tmp_path)
        assert accepted.kind == kind


def test_download_follows_a_redirect_within_the_provider(fake, tmp_path):
    hop = replace_url(fake, "/files/hop")
    assert download(fake.settings(), hop, tmp_path / "a.jpg", 1 << 20).stat().st_size > 0


@pytest.mark.parametrize(("url", "why"), [
    ("https://example.com/photo.jpg", "https://example.com"),
    ("http://images.pexels.com/photos/1/x.jpg", "http://images.pexels.com"),
    ("https://cdn.pixabay.com/photo/x.jpg", "https://cdn.pixabay.com"),  # not Pexels'
    ("file:///etc/passwd", "'file:///etc/passwd'"),
])
def test_download_refuses_other_hosts_without_asking_them(fake, tmp_path, url, why):
    target = tmp_path / "x.jpg"
    with pytest.raises(StockError, match=f"Refusing to download from {why}"):
        download(fake.settings(), replace_url(fake, url), target, 1 << 20)
    assert not target.exists()


def test_download_refuses_a_redirect_to_another_host(fake, tmp_path):
    target = tmp_path / "x.jpg"
    with pytest.raises(StockError, match=r"Refusing to download from http://localhost:\d+"):
        download(fake.settings(), replace_url(fake, "/files/away"), target, 1 << 20)
    assert not target.exists()


@pytest.mark.parametrize("path", ["/files/photo.jpg", "/files/stream.jpg"])
def test_download_refuses_a_file_over_the_limit_and_leaves_nothing(fake, tmp_path, path):
    target = tmp_path / "x.jpg"
    size = len(fake.files["photo.jpg"])
    with pytest.raises(StockError, match="The Pexels picture is larger than"):
        download(fake.settings(), replace_url(fake, path), target, size - 1)
    assert not target.exists()
    assert download(fake.settings(), replace_url(fake, path), target, size).exists()


def test_download_errors_and_timeouts_are_stock_errors(fake, tmp_path):
    target = tmp_path / "x.jpg"
    with pytest.raises(StockError, match="Pexels download failed with HTTP 404"):
        download(fake.settings(), replace_url(fake, "/files/gone.jpg"), target, 1 << 20)
    fake.mode = "refuse"
    with pytest.raises(StockError, match="^The Pexels download failed with HTTP 403: Forb"):
        download(fake.settings(), replace_url(fake, "/files/photo.jpg"), target, 1 << 20)
    fake.mode, fake.delay = "slow", 1.0
    with pytest.raises(StockError, match="did not arrive within 0.2 s"):
        download(fake.settings(http_timeout=0.2), replace_url(fake, "/files/photo.jpg"),
                 target, 1 << 20)
    assert not target.exists()


def replace_url(fake: FakeStock, url: str) -> StockItem:
    """A Pexels picture whose file is at `url` (a path: on the fake server)."""
    full = fake.origin + url if url.startswith("/") else url
    return StockItem("pexels", "1", "picture", 1920, 1080, full, "Someone", "")


# Terms


@pytest.mark.parametrize(("heading", "narration", "terms"), [
    ("How bees make honey", "Worker bees carry nectar back to the hive. In the hive they "
     "pass the nectar from bee to bee until it thickens.", "bees honey hive"),
    ("Introduction", "Volcanoes form where magma rises through the crust. Each volcano is "
     "a vent.", "volcanoes crust vent"),
    ("Why it matters", "Coral reefs shelter a quarter of all sea life, yet reefs cover less "
     "than one percent of the ocean floor.", "reefs ocean coral"),
    ("Scene 3", "The old lighthouse keeper climbed the stairs every night to light the "
     "lamp.", "lighthouse stairs night"),
    ("The water cycle: evaporation, condensation and rain clouds", "Water evaporates.",
     "water cycle evaporation condensation"),
    ("Tides", "The moon pulls the sea. Water bulges toward the moon.", "tides moon sea"),
    ("Final thoughts", "Thanks for watching!", ""),
])
def test_scene_terms_prefer_the_heading_and_top_up_from_the_narration(heading, narration,
                                                                      terms):
    assert scene_terms(heading, narration) == terms
    assert scene_terms(heading, narration) == terms  # the same every time


def test_scene_terms_are_two_to_four_words_without_repeats():
    query = scene_terms("Paris in spring: the Eiffel Tower, the Seine and the Louvre museum",
                        "Paris is lovely.")
    assert query == "paris spring eiffel tower"
    query = scene_terms("Bees", "A bee visits flowers. Bees love flowers.")
    assert query.startswith("bees flowers ") and " bee" not in query  # bee is bees
