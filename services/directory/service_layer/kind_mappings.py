"""The kind mapping table (which Haven kind another system's taxonomy term stands for),
read and replaced as a whole under one version."""
from __future__ import annotations

from ..domain.errors import InvalidReference, NotFound, VersionConflict
from ..domain.kind_mappings import KindMappings, Term, check_mappings
from ..domain.model import now
from .commands import RemoveKindMapping, ReplaceKindMappings
from .unit_of_work import UnitOfWorkFactory


class KindMappingTable:
    def __init__(self, uow: UnitOfWorkFactory):
        self.uow = uow

    def current(self) -> KindMappings:
        with self.uow() as uow:
            return uow.kind_mappings.get()

    def replace(self, command: ReplaceKindMappings) -> KindMappings:
        """The whole table at once (what an administrator loads from a file)."""
        with self.uow() as uow:
            table = uow.kind_mappings
            current = table.get()
            expected = current.version if command.expected_version is None else command.expected_version
            if current.version != expected:
                raise VersionConflict("kind mappings", "table", expected, current.version)
            problems = check_mappings(command.mappings, uow.kinds.all())
            if problems:
                raise InvalidReference(*problems[0])
            if not table.replace(command.mappings, expected, now()):
                raise VersionConflict("kind mappings", "table", expected, table.get().version)
            uow.commit()
        return KindMappings(command.mappings, expected + 1)

    def remove(self, command: RemoveKindMapping) -> KindMappings:
        current = self.current()
        found = current.lookup(Term((command.taxonomy,), command.code))
        if found is None:
            raise NotFound("kind mapping", f"{command.taxonomy}:{command.code}")
        return self.replace(ReplaceKindMappings(tuple(m for m in current.mappings if m != found),
                                                command.expected_version))
