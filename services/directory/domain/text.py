"""Vietnamese-aware text folding, shared by every search adapter.

`nha tam lanh` must find `Nhà tạm lánh` and `Lang Son` must find `Lạng Sơn`. Unicode
decomposition removes the tone and vowel marks, but `đ` is a letter of its own, not a `d`
with a mark, so it is mapped by hand.

Text reaches Haven composed (NFC) from most keyboards and decomposed (NFD: a letter, then
its marks) from some phones. `composed` turns every text the domain keeps or is asked for
into NFC, and `terms` splits words only after folding, so a mark never cuts a word in two
and every search engine is handed the same words.
"""
from __future__ import annotations

import html
import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)


def _fold_slowly(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _table() -> dict[int, str | None]:
    """Every character of the Basic Multilingual Plane that folds to something else, and
    every combining mark (dropped): folding is then one str.translate, in C."""
    table: dict[int, str | None] = {}
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates
        char = chr(code)
        if unicodedata.combining(char):
            table[code] = None
            continue
        folded = _fold_slowly(char)
        if folded != char:
            table[code] = folded
    return table


_TABLE = _table()


def fold(text: str) -> str:
    return text.translate(_TABLE)


def composed(text: str) -> str:
    """`text` in Unicode's composed form (NFC): `Sông` typed as `So` + U+0302 + `ng` is stored,
    shown and compared as the `Sông` any other keyboard sends."""
    if text.isascii():  # most codes, ids and many names: nothing to compose (and isascii is O(1))
        return text
    return unicodedata.normalize("NFC", text)


def terms(text: str) -> list[str]:
    """Folded words of a text, in order: folding first, then splitting, so that combining
    marks (dropped by folding) never split a word. Every search adapter indexes and queries
    these words."""
    return _WORD.findall(fold(text))


def highlight(text: str, query_terms: list[str], prefix_last: bool = True,
              start: str = "<mark>", end: str = "</mark>") -> str | None:
    """`text`, HTML-escaped, with each word matching a query term wrapped in marks; None if
    none matched. Matching is on folded words, so the original spelling is kept. The text
    is escaped because a portal shows highlights as HTML, and records come from outside."""
    if not text or not query_terms:
        return None
    exact = set(query_terms)
    prefix = query_terms[-1] if prefix_last else None
    folded = fold(text)
    if not any(term in folded for term in query_terms):
        return None  # cheap test first: most fields of most hits do not match
    aligned = len(folded) == len(text)  # true for Vietnamese: one letter folds to one letter
    spans = []
    for match in _WORD.finditer(folded if aligned else text):
        word = match.group() if aligned else fold(match.group())
        if word in exact or (prefix and word.startswith(prefix)):
            spans.append((match.start(), match.end()))
    if not spans:
        return None
    pieces = []
    last = 0
    for begin, finish in spans:
        if begin > last:
            pieces.append(html.escape(text[last:begin]))
        word = text[begin:finish]
        # A matched word is letters and digits (nothing to escape) but for what folds to one.
        pieces.append(start + (word if word.isalnum() else html.escape(word)) + end)
        last = finish
    pieces.append(html.escape(text[last:]))
    return "".join(pieces)


def within_one_edit(a: str, b: str) -> bool:
    """True if b is a, or a with one letter inserted, deleted, replaced or two swapped."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:]
