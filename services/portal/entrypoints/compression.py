"""gzip for pages, CSS and JavaScript: a caseworker on 3G waits for every byte."""
from __future__ import annotations

import gzip

from flask import Flask, Response, request

COMPRESSIBLE = ("text/html", "text/css", "text/javascript", "application/javascript", "application/json",
                "image/svg+xml")
MIN_BYTES = 512


def install(app: Flask) -> None:
    @app.after_request
    def compress(response: Response) -> Response:
        if (response.direct_passthrough or response.status_code < 200 or response.status_code in (204, 304)
                or "Content-Encoding" in response.headers
                or "gzip" not in request.headers.get("Accept-Encoding", "").lower()
                or not (response.mimetype or "").startswith(COMPRESSIBLE)):
            if response.mimetype and response.mimetype.startswith(COMPRESSIBLE):
                response.vary.add("Accept-Encoding")
            return response
        body = response.get_data()
        if len(body) < MIN_BYTES:
            return response
        response.set_data(gzip.compress(body, compresslevel=6))
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
        if response.headers.get("ETag"):  # a weak tag: the bytes differ from the uncompressed ones
            response.headers["ETag"] = "W/" + response.headers["ETag"].removeprefix("W/")
        return response
