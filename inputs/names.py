"""Place names: one Latin spelling per place, matching keys, and search by name.

Two jobs share the name columns of a settlements frame (:data:`NAME_FIELDS`
plus ``alt_names``), and one names places as of a date:

* :func:`romanise` and :func:`latin_names` give every place one ASCII Latin
  name, ``name_latn``, in one documented scheme (below);
* :func:`skeleton` and :func:`name_skeletons` reduce names in any script or
  romanisation to a key, so that Ұзынағаш, Узынагач, Uzynagash and Uzunagach
  match (used by gazetteer merging and search);
* :func:`names_in_period` and :func:`period_name` give the names a place
  bore during a period (the capital is "Astana / Nur-Sultan" on the map of
  2018 to June 2022), from the dated, sourced ``[[renames]]`` of the reform specs;
* search by name (most relevant place first) builds on these in
  :mod:`inputs.search`.

The romanisation scheme
-----------------------
Kazakhstan's English place names (the geokz ``ADM1_EN``/``ADM2_EN`` names,
official English usage: Zhezkazgan, Taldykorgan, Kaskelen, Konaev,
Uzynagash, Ekibastuz) follow one practical ASCII habit: the Russian letters as
in English-language maps (ж zh, х kh, ц ts, ч ch, ш sh, ы y, й y, ю yu, я ya,
е always e, soft and hard signs dropped) and each Kazakh letter as its nearest
Russian one (ә a, ғ g, қ k, ң n, ө o, ұ u, ү u, һ h, і i). :data:`ROMANISATION`
is exactly that: the *Moscow Metro* scheme of the ``iuliia`` library (the
Russian scheme whose letters and rules match this habit: е → e in every
position, -ий/-ый → y) extended with those nine Kazakh letters, one Kazakh
rule, й before ы → i (Raiymbek, Moiynkum, Taiynsha, Oiyl, as in geokz), and
щ → shch (Shchuchinsk; the Moscow Metro scheme writes "sch").
No maintained library romanises Kazakh this way (``iuliia`` is Russian and
Uzbek only; the Kazakh Latin alphabet of 2021 writes Qaskeleñ, Jezqazğan,
which English readers do not recognise), hence the nine-letter table here.
On the 248 distinct geokz region, district and centre names this reproduces
the English name from the Kazakh one for about three in four; the rest are
Russian-derived exonyms (Uralsk, Petropavlovsk, Ust-Kamenogorsk, Karaganda)
or one-off spellings (Konaiev, Aqsuat, Zharasemey).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from functools import cache, lru_cache
from importlib import resources
from typing import Protocol

import pandas as pd
from anyascii import anyascii
from iuliia.schema import TranslitSchema

#: Name columns whose skeletons identify a settlement (plus ``alt_names`` if present).
NAME_FIELDS: tuple[str, ...] = ("name", "name_en", "name_kk", "name_ru")

#: Helper column of ``"|"``-joined alternative names.
ALT_NAMES = "alt_names"

#: Column of the one Latin name of each place (see :func:`latin_names`).
NAME_LATN = "name_latn"

#: Skeletons shorter than this are ignored when matching (Шу → "ci" is kept).
MIN_SKELETON = 2

#: The ``iuliia`` Russian scheme the romanisation extends.
BASE_SCHEME = "mosmetro"

#: Kazakh letters as the Latin letters of their nearest Russian counterparts.
KAZAKH_LETTERS: dict[str, str] = {
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}  # fmt: skip

#: Russian letters spelt otherwise than in the base scheme: щ as in Shchuchinsk
#: (the Moscow Metro scheme writes "sch").
RUSSIAN_LETTERS: dict[str, str] = {"щ": "shch"}

#: Letter pairs with their own spelling of the first letter: Райымбек → Raiymbek.
KAZAKH_NEXT: dict[str, str] = {"йы": "i"}

#: One line naming the scheme, for reports and file metadata.
ROMANISATION = (
    "Kazakh and Russian Cyrillic romanised with the iuliia Moscow Metro scheme plus Kazakh "
    "ә a, ғ g, қ k, ң n, ө o, ұ u, ү u, һ h, і i, and щ shch (the practical spelling of Kazakhstan's "
    "English place names: Zhezkazgan, Taldykorgan, Kaskelen, Konaev)"
)

_CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
_BRACKETED = re.compile(r"\s*[(\[][^)\]]*[)\]]")
_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


# --------------------------------------------------------------------------- romanisation


@cache
def _scheme() -> TranslitSchema:
    """Build the iuliia base scheme with the Kazakh letters and rules added."""
    source = resources.files("iuliia") / "schemas" / f"{BASE_SCHEME}.json"
    base = json.loads(source.read_text(encoding="utf-8"))
    return TranslitSchema(
        name=f"{BASE_SCHEME}+kk",
        mapping={**base["mapping"], **RUSSIAN_LETTERS, **KAZAKH_LETTERS},
        prev_mapping=base.get("prev_mapping"),
        next_mapping={**(base.get("next_mapping") or {}), **KAZAKH_NEXT},
        ending_mapping=base.get("ending_mapping"),
        description=ROMANISATION,
    )


@cache
def _letter_table() -> tuple[dict[int, str], re.Pattern[str]]:
    """Return the scheme's letter mapping as a ``str.translate`` table and a pattern of its contexts.

    iuliia translates letter by letter in Python (0.3 s for the names of one analysis
    of the real data); a name in which no context rule can apply (no letter with a
    rule on its previous or next letter: ц ё ь ъ й and capitals; no word ending
    with a rule: ий, ый) is translated by the plain letter mapping alone, which
    ``str.translate`` does in C with the same result (``tests/test_names.py``
    checks that both agree on every name of the real data). Other names still go
    through iuliia.
    """
    scheme = _scheme()
    letters = {key[-1] for key in scheme.prev_map} | {key[0] for key in scheme.next_map}
    letters |= {key[0] for key in scheme.map if len(key) != 1}  # none in this scheme
    alternatives = sorted(map(re.escape, [*letters, *scheme.ending_map]), key=len, reverse=True)
    table = str.maketrans({key: value for key, value in scheme.map.items() if len(key) == 1})
    return table, re.compile("|".join(alternatives))


@lru_cache(maxsize=200_000)
def romanise(name: str) -> str:
    """Spell a Kazakh or Russian name in ASCII Latin letters (:data:`ROMANISATION`).

    Cyrillic goes through the scheme; anything else (Latin with diacritics,
    other scripts, typographic apostrophes) is folded to ASCII by ``anyascii``;
    runs of white space become one space.

    Parameters
    ----------
    name : str
        A name in any script.

    Returns
    -------
    str
        ASCII text, e.g. ``"Uzynagash"`` for Ұзынағаш, ``"Kaskelen"`` for
        Қаскелең, ``"Ust-Kamenogorsk"`` for Усть-Каменогорск.
    """
    text = unicodedata.normalize("NFC", name)
    if _CYRILLIC_LETTER.search(text):
        table, context = _letter_table()
        text = _scheme().translate(text) if context.search(text) else text.translate(table)
    return _SPACES.sub(" ", anyascii(text)).strip()


def latin_names(settlements: pd.DataFrame) -> pd.Series:
    """One ASCII Latin name per place, in one scheme (``name_latn``).

    Rules, per row:

    1. The place's own Cyrillic names are ``name_kk``, ``name`` and
       ``name_ru`` (those holding Cyrillic, bracketed qualifiers dropped); a
       place with none (GeoNames rows) uses the Cyrillic alternative names
       with the same :func:`skeleton` as its ``name``, Kazakh spellings first.
    2. An English name (``name_en`` other than ``name``, i.e. OSM's
       ``name:en``; a GeoNames row's ``name_en`` is its own romanised name)
       is kept when it is the scheme's spelling of the first of those names,
       ignoring case, spaces and punctuation, so that only its capitals and
       hyphens count: "Turar Ryskulov" is kept; "Qaskeleñ", "Borovskoye",
       "Leshoz" (other systems) and "Ust-Kamenogorsk", "Turkestan" (Russian
       forms where the Kazakh one is Oskemen, Turkistan) give way to it.
    3. Otherwise the first Cyrillic name is romanised (:func:`romanise`).
    4. A place without Cyrillic names gets ``name_en``, else ``name``, folded
       to ASCII; one without any name gets "Unnamed <place class>".

    Parameters
    ----------
    settlements : pandas.DataFrame
        Frame with any of :data:`NAME_FIELDS`, ``alt_names`` and ``place``.

    Returns
    -------
    pandas.Series
        ``string`` dtype, named ``name_latn``, on the input index; never
        empty, ASCII only.
    """
    fields = (*NAME_FIELDS, ALT_NAMES, "place")
    columns = {
        c: (
            settlements[c].astype("string").to_numpy(dtype=object, na_value=None)
            if c in settlements.columns
            else [None] * len(settlements)
        )
        for c in fields
    }
    rows = zip(*(columns[c] for c in fields), strict=True)
    values = [_latin_name(*row) for row in rows]
    return pd.Series(values, index=settlements.index, dtype="string", name=NAME_LATN)


def _latin_name(
    name: str | None,
    name_en: str | None,
    name_kk: str | None,
    name_ru: str | None,
    alt_names: str | None,
    place: str | None,
) -> str:
    """``name_latn`` of one place (rules in :func:`latin_names`)."""
    own = [_plain(n) for n in (name_kk, name, name_ru) if n and _CYRILLIC_LETTER.search(n)]
    own = [n for n in own if n] or _cyrillic_alternatives(name or name_en, alt_names)
    if own:
        english = _plain(name_en) if name_en and name_en != name and name_en.isascii() else ""
        latin = romanise(own[0])
        return english if english and _spelling_key(english) == _spelling_key(latin) else latin
    for candidate in (name_en, name):
        latin = romanise(_plain(candidate)) if candidate else ""
        if any(ch.isalnum() for ch in latin):
            return latin
    kind = (place or "place").replace("_", " ").strip() or "place"
    return f"Unnamed {kind}"


def _cyrillic_alternatives(name: str | None, alt_names: str | None) -> list[str]:
    """Cyrillic alternative names spelling ``name`` (same skeleton), best first.

    Alternatives mixing scripts ("Kˌұlsary") are not Cyrillic names and are skipped.

    Kazakh spellings first, then those whose romanisation is ``name`` up to
    case and punctuation, then exactly (Қызылорда before Қызыл Орда for
    "Kyzylorda").
    """
    if not name or not alt_names:
        return []
    key, spelling = skeleton(name), _spelling_key(name)
    found = [
        a
        for a in (_plain(a) for a in alt_names.split("|"))
        if a and _all_cyrillic(a) and skeleton(a) == key
    ]

    def rank(alternative: str) -> tuple[bool, bool, bool]:
        kazakh = any(ch in KAZAKH_LETTERS for ch in alternative.casefold())
        latin = romanise(alternative)
        return (not kazakh, _spelling_key(latin) != spelling, latin != name)

    return sorted(found, key=rank)


def _all_cyrillic(name: str) -> bool:
    """Whether every letter of ``name`` is Cyrillic (or a Latin i, as Kazakh і is often typed)."""
    letters = [ch for ch in name if ch.isalpha()]
    return bool(letters) and all(_CYRILLIC_LETTER.match(ch) or ch in "iI" for ch in letters)


def _plain(name: str) -> str:
    """``name`` without bracketed qualifiers and surplus white space."""
    plain = _SPACES.sub(" ", _BRACKETED.sub("", name)).strip()
    return plain or _SPACES.sub(" ", name).strip()


def _spelling_key(latin: str) -> str:
    """Lower-case letters and digits only: spellings equal up to case and punctuation."""
    return _NOT_ALNUM.sub("", latin.casefold())


# --------------------------------------------------------------------------- matching keys

# Cyrillic (Russian, Kazakh, plus a few Ukrainian/Uzbek letters met in
# alternative names) to Latin for matching keys only: the folds below then
# merge the spellings of every romanisation (so this is not a display scheme).
_CYRILLIC = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "gh", "д": "d",
    "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i", "й": "y", "к": "k",
    "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "ng", "о": "o", "ө": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u",
    "ф": "f", "х": "kh", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "є": "ye", "ї": "yi", "ў": "u", "ҳ": "h",
}  # fmt: skip

# Latin letters that NFKD does not decompose, or whose decomposition loses the
# digraph they stand for (Turkish/Kazakh-Latin ş, ç; ñ for Kazakh ң).
_LATIN = {
    "ş": "sh", "ș": "sh", "ç": "ch", "ñ": "ng", "ı": "i", "ə": "a", "ä": "a",
    "ł": "l", "ø": "o", "ß": "ss", "đ": "d", "ğ": "gh",
}  # fmt: skip

# Folds of romanisation variants, applied in order to [a-z0-9] text.
_FOLDS: tuple[tuple[str, str], ...] = (
    ("shch", "c"),
    ("dzh", "j"),
    ("zh", "j"),
    ("sh", "c"),
    ("ch", "c"),
    ("ts", "c"),
    ("kh", "k"),
    ("gh", "g"),
    ("ng", "n"),
    ("q", "k"),
    ("x", "k"),
    ("w", "v"),
    ("h", ""),
    ("y", "i"),
    ("u", "i"),
)

#: Words naming the kind of settlement (after transliteration), dropped from a
#: name that has other words: "Қасым Қайсенов кенті" = "Qasym Qaysenov".
SETTLEMENT_WORDS: frozenset[str] = frozenset(
    {
        "auyl", "auyly", "aul", "auly", "kenti", "selosy", "stantsiyasy",
        "selo", "s", "pos", "poselok", "posyolok", "p", "stantsiya", "st",
        "razezd", "razyezd", "khutor", "derevnya",
        "village", "settlement", "station",
    }
)  # fmt: skip

_TRANSLATE = str.maketrans({**_CYRILLIC, **_LATIN})
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"(.)\1+")
_MULTI_SPLIT = re.compile(r"[|;]")
# Russian adjective endings after folding (-ский/-ское/-ская/-ские, -ный/-ное/-ная),
# so that Novoishimskiy matches Новоишимское.
_ADJECTIVE_END = re.compile(r"(?<=..)(sk|n)(?:ij|i|oe|oje|aia|aja|e)$")


@lru_cache(maxsize=200_000)
def skeleton(name: str) -> str:
    """Reduce a place name to a spelling-independent key.

    Lower-cases, transliterates Cyrillic (Russian and Kazakh letters
    ә ғ қ ң ө ұ ү һ і) to Latin, strips diacritics, drops settlement-kind
    words (:data:`SETTLEMENT_WORDS`, e.g. "ауылы", "кенті", "село") when other
    words remain, drops everything but ``a-z0-9`` (spaces, hyphens,
    apostrophes …), then folds common romanisation variants:
    ``shch/sh/ch/ts`` → ``c``, ``zh/dzh/j`` → ``j``, ``kh/q/x`` → ``k``,
    ``gh`` → ``g``, ``ng`` → ``n`` (Kazakh ң), remaining ``h`` dropped,
    ``y/u/ы/i`` → ``i``, ``w`` → ``v``; collapses doubled letters; folds
    ``ie`` → ``e`` (Yesik/Esik) and Russian adjective endings (-skiy/-skoye/
    -skaya, -nyy/-noye/-naya) to their stem.

    Parameters
    ----------
    name : str
        A name in any script.

    Returns
    -------
    str
        The skeleton, e.g. ``"izinagac"`` for Ұзынағаш, Узынагач, Uzynagash
        and Uzunagach; empty if nothing Latin or Cyrillic is left.
    """
    text = unicodedata.normalize("NFKC", name).casefold().translate(_TRANSLATE)
    if not text.isascii():  # ASCII text has nothing to decompose (most names, once translated)
        text = "".join(
            ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
        )
    words = [w for w in _WORD_SPLIT.split(text) if w]
    kept = [w for w in words if w not in SETTLEMENT_WORDS]
    text = "".join(kept or words)
    for old, new in _FOLDS:
        text = text.replace(old, new)
    text = _REPEATS.sub(r"\1", text).replace("ie", "e")
    return _ADJECTIVE_END.sub(r"\1", _REPEATS.sub(r"\1", text))


def name_skeletons(settlements: pd.DataFrame) -> pd.Series:
    """Skeletons of every name of every row.

    Parameters
    ----------
    settlements : pandas.DataFrame
        Frame with any of the columns in :data:`NAME_FIELDS` and ``alt_names``
        (``"|"``-joined); names holding several values separated by ``;`` are
        split. ``name_latn`` is left out: it spells one of these names, or is
        the "Unnamed …" label, which must not match.

    Returns
    -------
    pandas.Series
        A ``frozenset`` of skeletons (at least :data:`MIN_SKELETON` characters)
        per row, on the input index.
    """
    fields = [c for c in (*NAME_FIELDS, ALT_NAMES) if c in settlements.columns]
    columns = [
        settlements[c].astype("string").to_numpy(dtype=object, na_value=None) for c in fields
    ]
    rows = zip(*columns, strict=True) if columns else ([] for _ in range(len(settlements)))
    if len(_SKELETON_SETS) >= _MAX_SKELETON_SETS:
        _SKELETON_SETS.clear()
    sets = [_skeleton_set(tuple(n for n in names if n is not None)) for names in rows]
    return pd.Series(sets, index=settlements.index, dtype=object, name="skeletons")


#: The skeleton sets of the name tuples seen (a set depends on the names only): one
#: analysis asks for the same places' skeletons four times (gazetteer merge, official
#: match, claims), 0.1 s each. At most :data:`_MAX_SKELETON_SETS` entries (emptied when
#: full at the start of a call), so a large uploaded file cannot make it grow without bound.
_SKELETON_SETS: dict[tuple[str, ...], frozenset[str]] = {}
_MAX_SKELETON_SETS = 200_000


def skeleton_memo() -> dict[tuple[str, ...], frozenset[str]]:
    """Return a copy of the skeleton sets remembered (name tuple → set), for another process."""
    return dict(_SKELETON_SETS)


def remember_skeletons(memo: dict[tuple[str, ...], frozenset[str]]) -> None:
    """Remember skeleton sets computed elsewhere (:func:`skeleton_memo` of a worker process)."""
    if len(_SKELETON_SETS) + len(memo) > _MAX_SKELETON_SETS:
        _SKELETON_SETS.clear()
    _SKELETON_SETS.update(list(memo.items())[:_MAX_SKELETON_SETS])


def _skeleton_set(names: tuple[str, ...]) -> frozenset[str]:
    found = _SKELETON_SETS.get(names)
    if found is None:
        found = frozenset(_skeletons_of(names))
        if len(_SKELETON_SETS) < _MAX_SKELETON_SETS:
            _SKELETON_SETS[names] = found
    return found


def _skeletons_of(names: Iterable[str | None]) -> Iterable[str]:
    """Yield the skeletons of the non-missing names, splitting on ``|`` and ``;``."""
    for value in names:
        if value is None:
            continue
        for part in _MULTI_SPLIT.split(value):
            key = skeleton(part)
            if len(key) >= MIN_SKELETON:
                yield key


# --------------------------------------------------------------------------- names over time


class Rename(Protocol):
    """A renaming of a place (:class:`boundaries.spec.Rename`, from a spec's ``[[renames]]``)."""

    old: str
    new: str
    on: date


def names_in_period(name: str, start: date, end: date, *, renames: Iterable[Rename]) -> list[str]:
    """List the names a place bore from ``start`` to ``end`` (inclusive), oldest first.

    A place is followed through ``renames`` by any of its names in any script or
    romanisation (:func:`skeleton`): "Nur-Sultan", "Нұр-Сұлтан" and "Astana"
    are one city.

    Parameters
    ----------
    name : str
        Any name the place bore.
    start, end : datetime.date
        The period, e.g. the span an epoch's map shows.
    renames : iterable of Rename
        Renamings to follow: the ``[[renames]]`` of the reform specs
        (:meth:`boundaries.chain.ReformChain.renames`).

    Returns
    -------
    list of str
        Distinct names, oldest first; ``[name]`` for a place never renamed.

    Raises
    ------
    ValueError
        If ``end`` is before ``start``.
    """
    if end < start:
        msg = f"names_in_period: the period ends ({end}) before it starts ({start}); swap them"
        raise ValueError(msg)
    chain = _rename_chain(skeleton(name), tuple(renames))
    if not chain:
        return [name]
    starts = [date.min, *(r.on for r in chain)]
    ends = [*(r.on for r in chain), date.max]
    names = [chain[0].old, *(r.new for r in chain)]
    used = [n for n, s, e in zip(names, starts, ends, strict=True) if s <= end and e > start]
    return list(dict.fromkeys(used))


def period_name(name: str, start: date, end: date, *, renames: Iterable[Rename]) -> str:
    """Name a place for a period: its names then, joined by " / " ("Astana / Nur-Sultan").

    See :func:`names_in_period` for the parameters.
    """
    return " / ".join(names_in_period(name, start, end, renames=renames))


def _rename_chain(key: str, renames: tuple[Rename, ...]) -> list[Rename]:
    """Find the renamings linked to the skeleton ``key`` (directly or via others), by date."""
    keys, chain = {key}, set()
    grew = True
    while grew:
        linked = {r for r in renames if {skeleton(r.old), skeleton(r.new)} & keys}
        grew = bool(linked - chain)
        chain |= linked
        keys |= {skeleton(r.old) for r in linked} | {skeleton(r.new) for r in linked}
    return sorted(chain, key=lambda r: r.on)
