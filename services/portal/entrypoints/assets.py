"""The portal's own CSS and JavaScript, served under names that carry their content hash.

A name changes whenever its content does, so a browser may keep a file for a year without
asking again (a repeat visit over 3G then costs only the page itself), and an update is
never hidden behind a stale copy. Nothing is fetched from any other host: no CDN, no web
fonts, no analytics (a survivor's visit must not be told to anyone, and an isolated
network must work).
"""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, request

YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Asset:
    mimetype: str
    body: bytes
    gzipped: bytes  # compressed once at start, not on every request


class Assets:
    def __init__(self, folder: Path):
        self.folder = folder
        self.by_logical: dict[str, str] = {}  # "portal.css" -> "portal.3f2a9c1b0d2e.css"
        self.by_hashed: dict[str, Asset] = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            logical = path.relative_to(folder).as_posix()
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:12]
            stem, dot, suffix = logical.rpartition(".")
            hashed = f"{stem}.{digest}.{suffix}" if dot else f"{logical}.{digest}"
            mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if mimetype.startswith("text/") or mimetype.endswith("javascript"):
                mimetype += "; charset=utf-8"
            self.by_logical[logical] = hashed
            self.by_hashed[hashed] = Asset(mimetype, body, gzip.compress(body, compresslevel=9, mtime=0))

    def url(self, logical: str) -> str:
        return f"/assets/{self.by_logical[logical]}"


def install(app: Flask, folder: Path) -> Assets:
    assets = Assets(folder)
    blueprint = Blueprint("assets", __name__)

    @blueprint.route("/assets/<path:name>")
    def asset(name: str):
        found = assets.by_hashed.get(name)
        if found is None:
            abort(404)
        if request.if_none_match.contains(name):  # the name is the content's hash
            response = Response(status=304)
        elif "gzip" in request.headers.get("Accept-Encoding", "").lower():
            response = Response(found.gzipped, content_type=found.mimetype)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = Response(found.body, content_type=found.mimetype)
        response.headers["ETag"] = f'"{name}"'
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        response.vary.add("Accept-Encoding")
        return response

    app.register_blueprint(blueprint)
    app.jinja_env.globals["asset_url"] = assets.url
    return assets
