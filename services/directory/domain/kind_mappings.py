"""How a service from another Open Referral system gets its Haven kind.

HSDS 3.0 documents written by other systems carry no ``haven-kind`` attribute: they tag a
service with terms of their own taxonomy (AIRS/211, Open Eligibility, a local list). An
installation keeps a table of `KindMapping` rows, taxonomy + code -> kind, and an import asks
`KindMappings.kind_for` about a service's terms.

Taxonomies are named loosely in the wild ("https://211taxonomy.org/", "http://211taxonomy.org",
"211taxonomy.org"), so names are compared by `taxonomy_key`: case, scheme, "www." and a
trailing slash do not matter. Codes are compared without case and surrounding spaces.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_TAXONOMY = 300
MAX_CODE = 200


def taxonomy_key(name: str) -> str:
    text = name.strip().casefold()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = re.sub(r"^www\.", "", text)
    return text.rstrip("/")


def code_key(code: str) -> str:
    return code.strip().casefold()


@dataclass(frozen=True)
class KindMapping:
    taxonomy: str
    code: str
    kind: str
    name: str = ""  # the term's name in its taxonomy, for the people who read the table

    @property
    def key(self) -> tuple[str, str]:
        return taxonomy_key(self.taxonomy), code_key(self.code)

    @property
    def rule(self) -> str:
        """How an import report names this rule."""
        return f"mapping {self.taxonomy}:{self.code}"


@dataclass(frozen=True)
class Term:
    """A taxonomy term of a service, as a document gives it: every name the document uses
    for its taxonomy (``taxonomy``, ``taxonomy_detail.name`` / ``uri``), and its code."""

    taxonomies: tuple[str, ...]
    code: str


@dataclass(frozen=True)
class KindChoice:
    kind: str
    rule: str
    # the other kinds the service's terms map to (the choice is reported as a warning)
    passed_over: tuple[str, ...] = ()


@dataclass(frozen=True)
class KindMappings:
    """The installation's mapping table; `version` is its ETag."""

    mappings: tuple[KindMapping, ...] = ()
    version: int = 1
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        for mapping in self.mappings:
            self._index.setdefault(mapping.key, mapping)

    def lookup(self, term: Term) -> KindMapping | None:
        code = code_key(term.code)
        for name in term.taxonomies:
            found = self._index.get((taxonomy_key(name), code))
            if found is not None:
                return found
        return None

    def kind_for(self, terms: Iterable[Term], confidential_kinds: Iterable[str] = ()) -> KindChoice | None:
        """The kind a service's terms map to, or None. When its terms map to different
        kinds, safety first: a kind whose locations are confidential by default (a
        shelter tagged also as a hotline) wins over the others, then the first term in
        the document's order."""
        matches = [m for m in (self.lookup(t) for t in terms) if m is not None]
        if not matches:
            return None
        confidential = set(confidential_kinds)
        chosen = next((m for m in matches if m.kind in confidential), matches[0])
        others = tuple(dict.fromkeys(m.kind for m in matches if m.kind != chosen.kind))
        return KindChoice(chosen.kind, chosen.rule, others)


def check_mappings(mappings: Iterable[KindMapping], kinds: Iterable[str]) -> list[tuple[str, str]]:
    """(field, message) for each bad row of a table to be stored: an unknown kind, an empty
    or overlong taxonomy or code, or a row that repeats an earlier one (compared as
    `lookup` compares)."""
    known = set(kinds)
    problems: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, mapping in enumerate(mappings):
        if not taxonomy_key(mapping.taxonomy) or len(mapping.taxonomy) > MAX_TAXONOMY:
            problems.append((f"mappings.{i}.taxonomy", f"a taxonomy name of 1 to {MAX_TAXONOMY} characters"))
            continue
        if not code_key(mapping.code) or len(mapping.code) > MAX_CODE:
            problems.append((f"mappings.{i}.code", f"a code of 1 to {MAX_CODE} characters"))
            continue
        if len(mapping.name) > MAX_TAXONOMY:
            problems.append((f"mappings.{i}.name", f"at most {MAX_TAXONOMY} characters"))
        if mapping.kind not in known:
            problems.append((f"mappings.{i}.kind",
                             f"unknown kind {mapping.kind!r}; known kinds: {', '.join(sorted(known))}"))
        if mapping.key in seen:
            problems.append((f"mappings.{i}.code", f"{mapping.taxonomy}:{mapping.code} is already mapped "
                                                   f"(mappings.{seen[mapping.key]})"))
        else:
            seen[mapping.key] = i
    return problems
