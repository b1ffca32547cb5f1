"""Optimistic concurrency over HTTP: versions as ETags, changes only with If-Match.

A change without If-Match is refused (428) rather than applied blindly: that is the only
way to guarantee that two administrators never silently overwrite each other.
"""
from __future__ import annotations

import re

from flask import request

from .errors import Problem, problem_type

_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version() -> int:
    header = request.headers.get("If-Match")
    if not header:
        raise Problem(428, "Send the ETag you last read in an If-Match header, so that a concurrent "
                           "change is not overwritten.", title="Precondition required",
                      type=problem_type("if-match-required"), errors=[
                          {"location": "headers", "field": "If-Match", "message": "Missing header."}])
    match = _ETAG.match(header.strip())
    if not match:
        raise Problem(412, "If-Match does not hold an ETag this service issued.", title="Precondition failed",
                      type=problem_type("stale-version"), errors=[
                          {"location": "headers", "field": "If-Match", "message": "Unknown ETag."}])
    return int(match.group(1))


def stale(current_version: int) -> Problem:
    return Problem(412, f"The resource has changed since you read it; it is now at ETag {etag(current_version)}. "
                        "Read it again and re-apply your change.", title="Precondition failed",
                   type=problem_type("stale-version"),
                   errors=[{"location": "headers", "field": "If-Match", "message": "Stale ETag."}])
