"""The Blueprint every Haven API is built from: flask-smorest's, with a query parser that
refuses what it does not know.

webargs drops unknown query parameters by default. A misspelt filter
(`?organisation_id=`) then silently returns everything — how a caller once failed to
find their own services, and why a client generator or a fuzzer cannot trust the
document. Here an unknown query parameter is a 422 naming it, like an unknown JSON field.
"""
from __future__ import annotations

import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser


class StrictParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE,
                                   "querystring": ma.RAISE}


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()


__all__ = ["Blueprint"]
