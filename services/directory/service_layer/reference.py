"""The reference lists every record and search names: provider kinds and administrative
areas. They change rarely (a migration, an administrator loading the official list), so
search reads them from a short-lived copy."""
from __future__ import annotations

import time
from typing import Iterable

from ..domain.errors import InvalidReference
from ..domain.model import AREA_LEVELS, Area, Kind
from .unit_of_work import UnitOfWorkFactory


class Reference:
    TTL = 60.0  # seconds a worker trusts its copy of the kinds and areas

    def __init__(self, uow: UnitOfWorkFactory):
        self.uow = uow
        self._copy: tuple[float, dict[str, Kind], dict[str, Area]] | None = None

    def add_areas(self, areas: Iterable[Area]) -> list[Area]:
        """Add areas from the official list; codes already known are kept as they are. A
        parent must be known (or in the same batch) and of a higher level."""
        areas = list(areas)
        with self.uow() as uow:
            known = uow.areas.all()
            batch = {}
            for i, area in enumerate(areas):
                if area.code in batch:
                    raise InvalidReference(f"{i}.code", f"area {area.code} appears twice")
                batch[area.code] = area
            rank = {level: n for n, level in enumerate(AREA_LEVELS)}
            for i, area in enumerate(areas):
                if area.parent_code is None:
                    continue
                parent = batch.get(area.parent_code) or known.get(area.parent_code)
                if parent is None or area.parent_code == area.code:
                    raise InvalidReference(f"{i}.parent_code", f"parent {area.parent_code} of {area.code} is unknown")
                if rank[parent.level] >= rank[area.level]:
                    raise InvalidReference(f"{i}.parent_code", f"a {area.level} cannot be inside a {parent.level}")
            uow.areas.add_many(areas)
            uow.commit()
        self._copy = None
        return areas

    def areas(self) -> dict[str, Area]:
        with self.uow() as uow:
            return uow.areas.all()

    def kinds(self) -> dict[str, Kind]:
        with self.uow() as uow:
            return uow.kinds.all()

    def current(self, fresh: bool = False) -> tuple[dict[str, Kind], dict[str, Area]]:
        """Kinds and areas as this worker last read them (at most TTL ago), or `fresh`."""
        copy = self._copy
        if fresh or copy is None or time.monotonic() - copy[0] > self.TTL:
            with self.uow() as uow:
                copy = self._copy = (time.monotonic(), uow.kinds.all(), uow.areas.all())
        return copy[1], copy[2]
