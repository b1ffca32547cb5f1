"""The read-only queries of the HSDS API (Open Referral tools reading Haven): services,
and services at locations, paged as HSDS pages them."""
from __future__ import annotations

from typing import Iterator

from ..domain.confidential import Viewer
from ..domain.search import Listing, SearchQuery
from .commands import HsdsFilter, HsdsNear
from .listings import all_listings, listings
from .ports import ProviderIndex
from .unit_of_work import UnitOfWorkFactory


class HsdsQueries:
    MAX_TEXT_MATCHES = 10_000

    def __init__(self, uow: UnitOfWorkFactory, index: ProviderIndex):
        self.uow = uow
        self.index = index

    def export(self) -> Iterator[Listing]:
        """Every service's listing, for the HSDS export."""
        return all_listings(self.uow)

    def _text_matches(self, filters: HsdsFilter, viewer: Viewer) -> list[str] | None:
        if not filters.text:
            return None
        return self.index.matching_ids(SearchQuery(text=filters.text, kinds=filters.kinds), viewer,
                                       self.MAX_TEXT_MATCHES)

    def services(self, page: int, per_page: int, viewer: Viewer, filters: HsdsFilter) -> tuple[int, list[Listing]]:
        ids = self._text_matches(filters, viewer)
        with self.uow() as uow:
            total, items = uow.services.list((page - 1) * per_page, per_page, filters.organization_id,
                                             filters.modified_after, ids=ids, kinds=filters.kinds)
            return total, listings(uow, items)

    def service_at_locations(self, page: int, per_page: int, viewer: Viewer, filters: HsdsFilter,
                             near: HsdsNear) -> tuple[int, list[tuple[Listing, str]]]:
        ids = self._text_matches(filters, viewer)
        postcode = near.postcode
        with self.uow() as uow:
            around = None
            if postcode and near.proximity_m is not None:
                centre = uow.services.postcode_centroid(postcode)
                if centre is None:
                    return 0, []
                around, postcode = (centre[0], centre[1], near.proximity_m / 1000), None
            total, pairs = uow.services.at_locations(
                (page - 1) * per_page, per_page, organization_id=filters.organization_id,
                modified_after=filters.modified_after, kinds=filters.kinds, ids=ids, postcode=postcode,
                near=around, public_only=not viewer.can_see_confidential)
            services = uow.services.get_many(service_id for service_id, _ in pairs)
            found = {listing.service.id: listing for listing in listings(uow, list(services.values()))}
        return total, [(found[service_id], location_id) for service_id, location_id in pairs]
