"""The one shape of every service (README "Architecture"), checked on the code itself: a
newcomer who knows one service finds each kind of thing in the same place in the others."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "bootstrap.py").exists())
FRAMEWORKS = {"flask", "werkzeug", "sqlalchemy", "marshmallow", "webargs", "flask_smorest", "requests",
              "prometheus_client", "kafka", "elasticsearch", "alembic"}


def imports(path: Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def modules(service: str, layer: str) -> list[Path]:
    folder = ROOT / "services" / service / layer
    return sorted(folder.rglob("*.py")) if folder.is_dir() else []


def keeps_data(service: str) -> bool:
    """A service with a database of its own (the portal has none: it is a client of the APIs)."""
    return (ROOT / "services" / service / "migrations").is_dir()


def test_every_service_has_the_same_places():
    for service in SERVICES:
        folder = ROOT / "services" / service
        places = ["domain/errors.py", "service_layer/ports.py", "service_layer/commands.py",
                  "entrypoints/problems.py", "entrypoints/context.py", "bootstrap.py"]
        if keeps_data(service):
            places += ["service_layer/unit_of_work.py", "adapters/repository.py", "adapters/unit_of_work.py"]
        for place in places:
            assert (folder / place).is_file(), f"services/{service}/{place} is missing"


def test_the_portal_reads_no_database():
    """It holds no survivor data of its own: everything it shows comes from the APIs."""
    for path in sorted((ROOT / "services" / "portal").rglob("*.py")):
        for name in imports(path):
            assert name.split(".")[0] not in {"sqlalchemy", "alembic", "psycopg", "sqlite3"}, \
                f"{path.relative_to(ROOT)} imports {name}"
            assert not name.startswith(("services.directory", "services.referral", "services.notify",
                                        "haven.platform.db")), f"{path.relative_to(ROOT)} imports {name}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_is_pure_python(service):
    for path in modules(service, "domain"):
        for name in imports(path):
            top = name.split(".")[0]
            assert top not in FRAMEWORKS, f"{path.relative_to(ROOT)} imports {name}"
            assert not name.startswith((f"services.{service}.adapters", f"services.{service}.service_layer",
                                        f"services.{service}.entrypoints")), f"{path.relative_to(ROOT)} imports {name}"


def platform_closure(names: set[str]) -> set[str]:
    """`names` and everything the haven modules among them import, transitively: a
    service layer that imports a platform module which imports Flask depends on Flask."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name.startswith("haven."):
            path = ROOT / Path(*name.split("."))
            for candidate in (path.with_suffix(".py"), path / "__init__.py"):
                if candidate.is_file():
                    todo.extend(imports(candidate))
    return seen


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_layer_imports_no_adapter_and_no_framework(service):
    for path in modules(service, "service_layer"):
        for name in imports(path):
            assert not name.startswith(f"services.{service}.adapters"), f"{path.relative_to(ROOT)} imports {name}"
            assert not name.startswith(("services.", "haven.platform.sql_unit_of_work")) or \
                name.startswith(f"services.{service}."), f"{path.relative_to(ROOT)} imports {name}"
            assert name.split(".")[0] not in FRAMEWORKS, f"{path.relative_to(ROOT)} imports {name}"
        # The event envelope validates its data with marshmallow schemas (the contract), and
        # a use case may make one; nothing else of a framework may come in through haven/.
        for name in platform_closure({n for n in imports(path) if n.startswith("haven.")}):
            assert name.split(".")[0] not in FRAMEWORKS - {"marshmallow"}, f"{path.relative_to(ROOT)} depends on {name}"


@pytest.mark.parametrize("service", SERVICES)
def test_bootstrap_only_wires(service):
    """No loop, no thread, no request handling: those are entrypoints."""
    path = ROOT / "services" / service / "bootstrap.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.While), f"a loop in {path.relative_to(ROOT)}: a timer is an entrypoint"
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("Thread", "errorhandler", "after_request", "before_request"), \
                f"{path.relative_to(ROOT)} uses {node.attr}"
    assert "threading" not in imports(path)
