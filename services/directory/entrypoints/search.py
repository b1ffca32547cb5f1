"""GET /v1/search, and the reference lists a search form needs (kinds, areas)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import orjson
from flask import Response
from flask.views import MethodView

from haven.platform.blueprint import Blueprint
from haven.platform.openapi import NO_TOKEN, TOKEN_OPTIONAL, documented

from ..domain.model import DEFAULT_TIMEZONE, Area
from ..domain.search import SearchQuery
from . import schemas as s
from .context import hit_json, reference, require_permission, search, viewer

blp = Blueprint("search", __name__, url_prefix="/v1", description="Search over every service in the directory.")


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(s.SearchQuerySchema(), location="query")  # an instance: not rebuilt per request
    @blp.response(200, s.SearchResultSchema)
    @blp.doc(operationId="search_services")
    @documented(token=TOKEN_OPTIONAL)  # with directory:confidential, confidential addresses too
    def get(self, args):
        """Find services: text (with or without diacritics), kind, area, distance, open now,
        language, age, gender, free places. Confidential locations show neither address nor
        coordinates without directory:confidential; their distance is in whole kilometres."""
        moment = args.get("open_at")
        if args["open_now"]:
            moment = datetime.now(timezone.utc)
        elif moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
        query = SearchQuery(
            text=args.get("q"), kinds=tuple(dict.fromkeys(args.get("kind", ()))), latitude=args.get("lat"),
            longitude=args.get("lon"), radius_km=args.get("radius_km"), sort=args["sort"], open_at=moment,
            languages=tuple(args.get("language", ())), age=args.get("age"), gender=args.get("gender"),
            has_capacity=args["has_capacity"], page=args["page"], per_page=args["per_page"])
        areas = {level: args[level] for level in ("province", "district", "commune") if level in args}
        result = search().search(query, viewer(), areas)  # 422 for a kind or an area that does not exist
        items = [hit_json(hit) for hit in result.hits]
        body = {"total": result.total, "page": query.page, "per_page": query.per_page, "items": items,
                "facets": result.facets}
        # Serialised directly (SearchResultSchema documents this shape): the hot path of
        # the directory, where a schema pass over every hit would cost more than the search,
        # and the json module takes half a millisecond for a page of ten documents.
        return Response(orjson.dumps(body), mimetype="application/json")


@blp.route("/suggest")
class Suggest(MethodView):
    @blp.arguments(s.SuggestQuerySchema(), location="query")
    @blp.response(200, s.SuggestionsSchema)
    @blp.doc(operationId="suggest_names")
    @documented(token=TOKEN_OPTIONAL)  # read with the caller's rights, as search is
    def get(self, args):
        """Autocomplete for the search box: service and organization names containing every
        typed word (the last one may be unfinished), with or without diacritics; names
        starting with the typed words first."""
        found = search().suggest(args["q"], viewer(), args["limit"])
        return {"suggestions": [{"text": x.text, "highlight": x.highlight} for x in found]}


@blp.route("/kinds")
class Kinds(MethodView):
    @blp.response(200, s.KindSchema(many=True))
    @blp.doc(operationId="list_kinds")
    @documented(token=NO_TOKEN)
    def get(self):
        """The provider kinds (taxonomy) services are classified by."""
        return list(reference().kinds().values())


@blp.route("/areas")
class Areas(MethodView):
    @blp.response(200, s.AreaSchema(many=True))
    @blp.doc(operationId="list_areas")
    @documented(token=NO_TOKEN)
    def get(self):
        """Administrative areas (province, district, commune) with their official codes, and
        each one's centre where it is known (to search near it)."""
        order = {"province": 0, "district": 1, "commune": 2}
        return sorted(reference().areas().values(), key=lambda a: (order.get(a.level, 3), a.code))

    @blp.arguments(s.AreaSchema(many=True))
    @blp.response(200, s.AreaSchema(many=True))
    @blp.doc(operationId="add_areas")
    @documented()
    def post(self, areas):
        """Add administrative areas from the official list, each with its centre if known
        (existing codes are kept as they are)."""
        require_permission("directory:write")
        return reference().add_areas(Area(**a) for a in areas)
