"""Optimistic concurrency over HTTP: versions as ETags, changes only with If-Match.

A change without If-Match is refused (428) rather than applied blindly: that is the only
way to guarantee that two administrators never silently overwrite each other. `If-Match: *`
is a deliberate "whatever version is current" (RFC 9110 section 13.1.1): it matches any
version of a record that exists.
"""
from __future__ import annotations

import re

from flask import request

from .errors import Problem, problem_type

_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')
# What If-Match takes, for the OpenAPI document: an ETag this service issued, or `*`.
IF_MATCH_PATTERN = r'^(\*|(W/)?"[0-9]{1,18}")$'


def if_match_parameter(*, required: bool) -> dict:
    """The If-Match header as an OpenAPI parameter (required: 428 without it)."""
    return {"in": "header", "name": "If-Match", "required": required,
            "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
            "description": "The ETag you read (412 if the record changed since), or `*` for whatever version "
                           "is current." + (" Required (428 without it)." if required else " Optional.")}


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version() -> int | None:
    """The version If-Match names, or None for `*` (any current version: the caller's use
    case then checks no version, only that the record exists)."""
    header = request.headers.get("If-Match")
    if not header:
        raise Problem(428, "Send the ETag you last read in an If-Match header, so that a concurrent "
                           "change is not overwritten.", title="Precondition required",
                      type=problem_type("if-match-required"), errors=[
                          {"location": "headers", "field": "If-Match", "message": "Missing header."}])
    if header.strip() == "*":
        return None
    match = _ETAG.match(header.strip())
    if not match:
        # Not a version at all (a typo, another server's tag): a malformed request, not a
        # stale one; 412 is kept for "someone changed it since you read it".
        raise Problem(400, 'If-Match must be an ETag this service issued (such as "3"), or *.',
                      title="Malformed If-Match", type=problem_type("malformed-if-match"), errors=[
                          {"location": "headers", "field": "If-Match", "message": "Not an ETag of this service."}])
    return int(match.group(1))


def stale(current_version: int) -> Problem:
    return Problem(412, f"The resource has changed since you read it; it is now at ETag {etag(current_version)}. "
                        "Read it again and re-apply your change.", title="Precondition failed",
                   type=problem_type("stale-version"),
                   errors=[{"location": "headers", "field": "If-Match", "message": "Stale ETag."}])
