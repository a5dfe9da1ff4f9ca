"""Stock media from Pexels and Pixabay, pluggable like the voices: a pure library (it reads
no environment and no Flask state) except for `app.py`, which binds it to the app.

    terms = scene_terms(heading, narration)                      # "bees honey nectar"
    items = search(settings, "pexels", terms, kind="clip", orientation="portrait",
                   redis=client)                                  # cached by query
    item = choose(items, 1080, 1920, scene_seconds=6.5, used_ids={"pexels:123"})
    download(settings, item, path, max_bytes)                    # then media/inspect.py

A provider without its API key is unavailable (stock_status, and search raises
StockUnavailable naming the setting); every failure a person can act on is a StockError.
Each item keeps its author, author page and page URL for attribution.
"""

from webapp.stock.choose import choose, large_enough
from webapp.stock.download import download
from webapp.stock.items import NoResults, StockError, StockItem, StockUnavailable
from webapp.stock.search import search
from webapp.stock.settings import KINDS, ORIENTATIONS, PROVIDERS, StockSettings
from webapp.stock.status import stock_status
from webapp.stock.terms import scene_terms

__all__ = ["KINDS", "ORIENTATIONS", "PROVIDERS", "NoResults", "StockError", "StockItem",
           "StockSettings", "StockUnavailable", "choose", "download", "large_enough",
           "scene_terms", "search", "stock_status"]
