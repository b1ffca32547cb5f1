"""Search over every service, and the suggestions of the search box."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Callable

from ..domain.errors import InvalidReference
from ..domain.confidential import Viewer
from ..domain.search import AreaFilter, SearchQuery, SearchResult, Suggestion
from .listings import ancestors
from .ports import ProviderIndex
from .reference import Reference


class Search:
    def __init__(self, index: ProviderIndex, reference: Reference, today: Callable[[], date] = date.today):
        self.index = index
        self.reference = reference
        self.today = today

    def search(self, query: SearchQuery, viewer: Viewer, area_codes: dict[str, str]) -> SearchResult:
        """`area_codes`: the province / district / commune the caller filtered on, by level."""
        known_kinds, areas = self.reference.current()
        if any(k not in known_kinds for k in query.kinds) or any(c not in areas for c in area_codes.values()):
            known_kinds, areas = self.reference.current(fresh=True)  # perhaps added through another worker
        for kind in query.kinds:
            if kind not in known_kinds:
                raise InvalidReference("kind", f"unknown kind {kind!r}; known: {', '.join(sorted(known_kinds))}")
        filters = []
        for level, code in area_codes.items():
            area = areas.get(code)
            if area is None or area.level != level:
                raise InvalidReference(level, f"no {level} has the code {code!r}")
            filters.append(AreaFilter(code, ancestors(areas, code)))
        return self.index.search(replace(query, areas=tuple(filters)), viewer, self.today())

    def suggest(self, text: str, viewer: Viewer, limit: int) -> list[Suggestion]:
        return self.index.suggest(text, viewer, limit)
