"""Validators for the official HSDS 3.0 schemas, copied into tests/fixtures/hsds/schema."""
import json
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hsds"


def _schemas() -> Registry:
    """The official schemas, each under its file name, as their "$ref"s name them."""
    resources = [(path.name, Resource.from_contents(json.loads(path.read_text(encoding="utf-8")),
                                                    default_specification=DRAFT202012))
                 for path in sorted((FIXTURES / "schema").glob("*.json"))]
    return Registry().with_resources(resources)


SCHEMAS = _schemas()


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(SCHEMAS.contents(f"{name}.json"), registry=SCHEMAS, format_checker=FormatChecker())
