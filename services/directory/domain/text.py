"""Vietnamese-aware text folding, shared by every search adapter.

`nha tam lanh` must find `Nhà tạm lánh` and `Lang Son` must find `Lạng Sơn`. Unicode
decomposition removes the tone and vowel marks, but `đ` is a letter of its own, not a `d`
with a mark, so it is mapped by hand.
"""
from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)


def _fold_slowly(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


# Every precomposed Latin letter (Vietnamese uses those up to U+1EF9) to its folded form,
# so the common case is one str.translate in C; other scripts take the slow path.
_TABLE = {code: _fold_slowly(chr(code)) for code in range(0xC0, 0x2000)
          if _fold_slowly(chr(code)) != chr(code)}
_TABLE.update({code: chr(code).lower() for code in range(ord("A"), ord("Z") + 1)})


def fold(text: str) -> str:
    folded = text.translate(_TABLE)
    if folded.isascii():
        return folded
    return _fold_slowly(folded)


def terms(text: str) -> list[str]:
    """Folded words of a query, in order."""
    return _WORD.findall(fold(text))


def highlight(text: str, query_terms: list[str], prefix_last: bool = True,
              start: str = "<mark>", end: str = "</mark>") -> str | None:
    """`text` with each word matching a query term wrapped in marks; None if none matched.

    Matching is on folded words, so the original spelling (with diacritics) is kept.
    """
    if not text or not query_terms:
        return None
    exact = set(query_terms)
    prefix = query_terms[-1] if prefix_last else None
    folded = fold(text)
    aligned = len(folded) == len(text)  # true for Vietnamese: one letter folds to one letter
    pieces = []
    last = 0
    for match in _WORD.finditer(folded if aligned else text):
        word = match.group() if aligned else fold(match.group())
        if word in exact or (prefix and word.startswith(prefix)):
            pieces.append(text[last:match.start()])
            pieces.append(f"{start}{text[match.start():match.end()]}{end}")
            last = match.end()
    if not pieces:
        return None
    pieces.append(text[last:])
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
