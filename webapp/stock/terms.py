"""A short stock search query (2-4 words) from a scene's heading and narration.

The heading's content words come first, in their order; a heading that is too short or only
says where the scene sits ("Introduction", "Why it matters", "Scene 3") is topped up with the
narration's most telling words: those it repeats most, earliest first. Stop words, filler
and common verbs are never search terms, and a plural counts as its singular. Deterministic:
the same scene always gives the same query, so the cache answers it.
"""

from __future__ import annotations

import re
from collections import Counter

WANTED = 3  # words when the heading has fewer
MOST = 4
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOP = _set("""
a about above after again against all almost also although always am among an and another
any anyone anything are aren't around as at away back be became because become becomes been
before behind being below between both but by can can't cannot could couldn't did didn't do
does doesn't doing don't done down during each either else enough even ever every everyone
everything few for from further get gets getting give given gives go goes going gone got had
hadn't has hasn't have haven't having he her here hers herself him himself his how however i
if in into is isn't it it's its itself just keep keeps know known lets let's like made make
makes making many may me might more most much must my myself near need needs never new next
no nor not nothing now of off often on once one only onto or other others our ours ourselves
out over own put really same say says see seen she should shouldn't show shows so some
something sometimes soon still such take takes taken than that that's the their theirs them
themselves then there there's these they they're thing things this those though through thus
to today together too took toward towards turn turns under until up upon us use used uses
using very want wants was wasn't way ways we well were weren't what what's when where whether
which while who whom whose why will with within without won't would wouldn't yet you your
yours yourself carry carries carried bring brings brought come comes came call called find
finds found look looks looked tell tells told think thinks work works worked start starts
helps help happen happens happened become became begin begins began mean means meant try
tries tried feel feels felt lot lots kind kinds sort part parts piece pieces bit
""")
# Words that say where a scene sits or what it does, never what it shows.
FILLER = _set("""
introduction intro overview summary conclusion conclusions outro recap welcome hello chapter
scene section step steps stage final finally first second third last lastly matter matters
important importance why basics basic question questions answer answers closing opening
thoughts takeaway takeaways review background today's let's example examples idea ideas fact
facts reason reasons point points tip tips quick look next part more wrap wrapping up
quarter half percent dozen hundred hundreds thousand thousands million millions billion
number numbers amount total thanks thank watching listening subscribe
""")
# Describing words: a search for "old lighthouse" finds old things, not lighthouses.
ADJECTIVES = _set("""
old new big small large little great good bad long short high low tiny huge best better
worst early late real simple easy hard whole different same certain main common special
""")
# A word right after one of these is most likely a noun ("the hive", "of nectar").
BEFORE_NOUNS = _set("""
the a an this that these those its their his her our my your each every of in on into onto
from with at by for about
""")


def scene_terms(heading: str, narration: str) -> str:
    """A 2-4 word search query for the scene (may be shorter when the text has fewer
    content words, empty when it has none)."""
    chosen: list[str] = []
    for word in _content_words(heading):
        _add(chosen, word)
    chosen = chosen[:MOST]
    if len(chosen) < WANTED:
        for word in _telling(narration):
            if len(chosen) >= WANTED:
                break
            _add(chosen, word)
    return " ".join(chosen)


def _words(text: str) -> list[str]:
    return [w.removesuffix("'s").strip("'-") for w in _WORD.findall(text.lower())]


def _is_content(word: str) -> bool:
    return (len(word) > 2 and word not in STOP and word not in FILLER
            and word not in ADJECTIVES and not word.endswith("ly")
            and not (word.endswith("ed") and not word.endswith("eed") and len(word) > 4))


def _content_words(text: str) -> list[str]:
    """The words of the text that could be search terms, in order."""
    return [w for w in _words(text) if _is_content(w)]


def _telling(text: str) -> list[str]:
    """The narration's content words: the most repeated first, then those that read as
    nouns (after "the", "of"...), then the earliest."""
    words = _words(text)
    counts: Counter[str] = Counter()
    nounish: Counter[str] = Counter()
    first: dict[str, tuple[int, str]] = {}
    for position, word in enumerate(words):
        if not _is_content(word):
            continue
        stem = _stem(word)
        counts[stem] += 1
        nounish[stem] += position > 0 and (words[position - 1] in BEFORE_NOUNS
                                            or words[position - 1] in ADJECTIVES)
        first.setdefault(stem, (position, word))
    order = sorted(counts, key=lambda s: (-counts[s], -nounish[s], first[s][0]))
    return [first[stem][1] for stem in order]


def _add(chosen: list[str], word: str) -> None:
    if all(_stem(word) != _stem(c) for c in chosen):
        chosen.append(word)


def _stem(word: str) -> str:
    """A plural's singular, roughly: bees -> bee, volcanoes -> volcano, glass stays."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("oes", "ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word
