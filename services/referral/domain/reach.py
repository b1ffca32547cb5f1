"""Which referrals a caller reaches, as data: the service layer decides it from the
caller's roles, the domain applies it to one referral, and the repository turns the very
same value into the query's condition (so a list and a read never disagree)."""
from __future__ import annotations

from dataclasses import dataclass

from .model import RECEIVING, REFERRING, Referral


@dataclass(frozen=True)
class Reach:
    """`sides`: the sides of a referral (REFERRING, RECEIVING) on which the caller's
    `organization_id` must stand; None: every referral (operations staff)."""

    sides: frozenset[str] | None
    organization_id: str | None = None

    @property
    def everything(self) -> bool:
        return self.sides is None

    def covers(self, referral: Referral) -> bool:
        if self.sides is None:
            return True
        org = self.organization_id
        return bool(org) and ((REFERRING in self.sides and referral.referring_organization_id == org)
                              or (RECEIVING in self.sides and referral.receiving_organization_id == org))


EVERYTHING = Reach(None)

__all__ = ["EVERYTHING", "Reach"]
