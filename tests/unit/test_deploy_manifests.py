"""The deployment files agree with the application and with each other.

Dockerfile, docker-compose.yml and k8s/ repeat facts the code owns: variable names, ports,
health endpoints, the `haven` command line. A mismatch shows up only when a container
does not start or never becomes ready; these tests read the files as the tools do (no
Docker, no cluster: `docker compose config` resolves the compose file, kustomize renders
every overlay with its Jobs, see tests/deploy/render.py) and catch it first.
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from haven.cli import PROCESSES, SERVICES
from haven.platform.config import ConfigError
from tests.deploy import render

ROOT = render.ROOT
K8S = render.K8S
EXAMPLE_SECRET = "secret.example.yaml"
# Secrets an operator makes and names after its cluster (production overlay): the keys each
# one holds, with a value of the shape it makes. Referenced, never written in the repository.
OPERATOR_SECRETS = {
    "haven-search-es-elastic-user": {"elastic": "made-by-eck"},
    **{f"haven-{service}-db-app": {"uri": f"postgresql://haven_{service}:made-by-cnpg@haven-{service}-db-rw.haven:5432/"
                                          f"haven_{service}"} for service in SERVICES},
}
# The compose services that run Haven's image (the others are PostgreSQL, Kafka, ...).
HAVEN_IMAGE = "haven:dev"

# Read by the processes but not Haven settings: prometheus-client and gunicorn read these.
EXTRA_VARIABLES = {"PROMETHEUS_MULTIPROC_DIR", "FORWARDED_ALLOW_IPS"}
DECLARED = {setting.name for spec in PROCESSES.values() for setting in spec.settings} | EXTRA_VARIABLES
# The portal is held to the services' rules where they apply: it has no database, no worker
# and no migration (SERVICES are the three services; PROCESSES adds the portal).
PORTAL = "portal"
# Files the image builds itself: the local copies stay out of the build context.
BUILT_IN_THE_IMAGE = ("services/portal/translations/vi/LC_MESSAGES/messages.mo",)
# The image's own runtime variables, not Haven's.
IMAGE_RUNTIME_VARIABLES = {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}


def port_setting(service: str) -> str:
    return f"{service.upper()}_PORT"


def database_setting(service: str) -> str:
    return f"{service.upper()}_DATABASE_URL"


# --- Dockerfile ------------------------------------------------------------------------

def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _substitute(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)",
                  lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), value)


def _final_stage() -> list[tuple[str, str]]:
    """Instructions of the last stage, with ${ARG} references replaced by their defaults."""
    instructions = _dockerfile_instructions()
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "Dockerfile has no FROM"
    args: dict[str, str] = {}
    resolved = []
    for keyword, rest in instructions[starts[-1] + 1:]:
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
            continue
        resolved.append((keyword, _substitute(rest, args)))
    return resolved


def _exec_form(keyword: str) -> list[str]:
    values = [rest for kw, rest in _final_stage() if kw == keyword]
    assert values, f"the final stage of the Dockerfile has no {keyword}"
    try:
        argv = json.loads(values[-1])
    except json.JSONDecodeError:
        pytest.fail(f"{keyword} {values[-1]} is in shell form: /bin/sh would be PID 1 and "
                    f"gunicorn would never see SIGTERM; use the exec form [\"...\"]")
    assert isinstance(argv, list) and all(isinstance(part, str) for part in argv)
    return argv


def image_entrypoint() -> list[str]:
    return _exec_form("ENTRYPOINT")


def image_cmd() -> list[str]:
    return _exec_form("CMD")


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in _final_stage():
        if keyword != "ENV":
            continue
        tokens = shlex.split(rest)
        if tokens and "=" not in tokens[0]:  # legacy `ENV NAME value`
            env[tokens[0]] = " ".join(tokens[1:])
            continue
        for token in tokens:
            name, _, value = token.partition("=")
            env[name] = _substitute(value, env)
    return env


def image_user() -> str:
    users = [rest for keyword, rest in _final_stage() if keyword == "USER"]
    assert users, "the Dockerfile never switches away from root (no USER)"
    return users[-1]


def dockerignore_patterns() -> list[str]:
    path = ROOT / ".dockerignore"
    assert path.exists(), ".dockerignore is missing: .venv, var/ and .git would be sent to the build"
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.strip().startswith("#")]


def _dockerignore_regex(pattern: str) -> re.Pattern:
    """Docker's matching: `*` and `?` stay within one path segment, `**` spans any number."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i:end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def dockerignored(relative: str, patterns: list[str]) -> bool:
    """The last matching pattern wins; excluding a folder excludes what is in it."""
    parts = relative.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _dockerignore_regex(pattern.lstrip("!").strip("/"))
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negate
    return excluded


# --- compose ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict:
    """docker-compose.yml as Compose resolves it with .env.example (merge keys, ${...})."""
    return render.compose()


def compose_env(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {name: "" if value is None else str(value) for name, value in environment.items()}


def compose_argv(service: dict) -> list[str]:
    """What the container runs: `entrypoint` replaces the image's, `command` its CMD."""
    def as_list(value):
        return shlex.split(value) if isinstance(value, str) else list(value)

    entrypoint = as_list(service["entrypoint"]) if service.get("entrypoint") is not None else image_entrypoint()
    command = as_list(service["command"]) if service.get("command") is not None else image_cmd()
    return entrypoint + command


def compose_container_ports(service: dict) -> set[int]:
    ports = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def healthcheck_command(service: dict) -> str:
    test = service.get("healthcheck", {}).get("test")
    assert test, "no healthcheck"
    return test if isinstance(test, str) else " ".join(test)


# --- Kubernetes ------------------------------------------------------------------------

def k8s_manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def image_kustomizations() -> list[Path]:
    """The kustomizations that set Haven's image (the base does not: each overlay does)."""
    return [k for k in kustomizations() if "images" in yaml.safe_load(k.read_text())]


@pytest.fixture(scope="module", params=render.OVERLAYS)
def k8s_objects(request) -> list[dict]:
    """Everything applied for one overlay (and its Jobs), as kustomize renders it."""
    return render.deployment(request.param)


@pytest.fixture(scope="module")
def example_secret() -> dict:
    documents = [d for d in yaml.safe_load_all((K8S / EXAMPLE_SECRET).read_text()) if d]
    assert len(documents) == 1 and documents[0]["kind"] == "Secret"
    return documents[0]


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def deployment_for(objects: list[dict], service: str) -> dict:
    found = [d for d in of_kind(objects, "Deployment") if d["metadata"]["name"] == service]
    assert len(found) == 1, f"expected one Deployment named {service}, found {len(found)}"
    return found[0]


def migration_job(objects: list[dict]) -> dict:
    jobs = [j for j in of_kind(objects, "Job") if k8s_argv(only_container(j))[1:2] == ["migrate"]]
    assert len(jobs) == 1, f"expected one migration Job, found {len(jobs)}"
    return jobs[0]


def only_container(workload: dict) -> dict:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{workload['metadata']['name']}: expected one container"
    return containers[0]


def k8s_argv(container: dict) -> list[str]:
    """`command` replaces the image's ENTRYPOINT (and drops its CMD), `args` its CMD."""
    if "command" in container:
        return list(container["command"]) + list(container.get("args", []))
    return image_entrypoint() + list(container.get("args", image_cmd()))


def k8s_env(container: dict, objects: list[dict], secret: dict) -> dict[str, str]:
    """The container's environment as the kubelet builds it, over the image's ENV."""
    config_maps = {o["metadata"]["name"]: o for o in of_kind(objects, "ConfigMap")}
    env = dict(image_env())
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            assert name in config_maps, f"envFrom names ConfigMap {name}, which no manifest defines"
            env.update({k: str(v) for k, v in config_maps[name].get("data", {}).items()})
        else:
            pytest.fail(f"unexpected envFrom source {source}: name the keys one by one")
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = str(variable["value"])
        else:
            ref = variable["valueFrom"]["secretKeyRef"]
            if ref["name"] in OPERATOR_SECRETS:
                assert ref["key"] in OPERATOR_SECRETS[ref["name"]], f"{ref['name']} holds no key {ref['key']}"
                env[variable["name"]] = OPERATOR_SECRETS[ref["name"]][ref["key"]]
                continue
            assert ref["name"] == secret["metadata"]["name"], (
                f"{variable['name']} reads Secret {ref['name']}, but the documented Secret "
                f"(secret.example.yaml) is {secret['metadata']['name']}")
            assert ref["key"] in secret["stringData"], (
                f"{variable['name']} reads key {ref['key']}, which secret.example.yaml does not show")
            env[variable["name"]] = secret["stringData"][ref["key"]]
    return env


def named_port(container: dict, port) -> int:
    if isinstance(port, int):
        return port
    matches = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == port]
    assert matches, f"port name {port!r} is not declared by the container"
    return matches[0]


def under(path: str, mount: str) -> bool:
    return path == mount or path.startswith(mount.rstrip("/") + "/")


# === Dockerfile ========================================================================

def test_image_runs_haven_with_a_service_as_default_command():
    assert image_entrypoint() == ["haven"]
    cmd = image_cmd()
    assert cmd[0] in ("serve", "migrate"), cmd
    if cmd[0] == "serve":
        assert len(cmd) == 2 and cmd[1] in PROCESSES, cmd


def test_image_environment_names_are_ones_haven_reads():
    unknown = set(image_env()) - DECLARED - IMAGE_RUNTIME_VARIABLES
    assert not unknown, f"Dockerfile sets variables nothing reads (misspelt?): {sorted(unknown)}"


def test_image_listens_on_all_interfaces_and_exposes_every_default_port():
    env = image_env()
    assert env.get("HAVEN_BIND_HOST") == "0.0.0.0", "on 127.0.0.1 nothing outside the container can connect"
    for spec in PROCESSES.values():  # the values must also be valid settings
        spec.load_config(env)
    exposed = {int(port.split("/")[0]) for kw, rest in _final_stage() if kw == "EXPOSE" for port in rest.split()}
    assert exposed == {spec.default_port for spec in PROCESSES.values()}


def test_image_runs_as_a_non_root_user():
    user = image_user().split(":")[0]
    assert user not in ("root", "0", ""), f"USER {user} is root"


def test_dockerfile_copies_exist_and_are_not_dockerignored():
    patterns = dockerignore_patterns()
    sources = []
    for keyword, rest in _dockerfile_instructions():
        if keyword in ("COPY", "ADD") and "--from" not in rest:
            sources += [s for s in shlex.split(rest)[:-1] if not s.startswith("--")]
    assert sources, "the Dockerfile copies nothing from the repository"
    for source in sorted(set(sources)):
        path = ROOT / source
        assert path.exists(), f"COPY {source}: no such file in the repository"
        files = [path] if path.is_file() else [
            p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if relative in BUILT_IN_THE_IMAGE:
                continue
            assert not dockerignored(relative, patterns), f"{relative} is copied but .dockerignore excludes it"


def test_dockerignore_keeps_local_state_out_of_the_build_context():
    patterns = dockerignore_patterns()
    for path in (".venv/bin/python", "var/directory.sqlite3", ".git/config", "haven/__pycache__/cli.pyc", ".env",
                 *BUILT_IN_THE_IMAGE):
        assert dockerignored(path, patterns), f"{path} would be sent to the Docker build"


# === docker-compose.yml ================================================================

def test_compose_has_postgres_migrate_and_every_service(compose):
    services = compose["services"]
    missing = ({"postgres", "migrate"} | set(PROCESSES)) - set(services)
    assert not missing, f"docker-compose.yml lacks {sorted(missing)}"


def test_compose_environment_names_are_declared(compose):
    for name, service in compose["services"].items():
        if service.get("image") != HAVEN_IMAGE:
            continue  # PostgreSQL, Kafka, Elasticsearch...: their own settings
        unknown = set(compose_env(service)) - DECLARED
        assert not unknown, f"compose service {name} sets variables nothing reads: {sorted(unknown)}"


def test_compose_pins_every_image_and_publishes_on_loopback_only(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{name}: pin {image}"
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond this machine"


def test_compose_checks_the_health_of_every_long_running_service_and_waits_for_it(compose):
    services = compose["services"]
    for name, service in services.items():
        if name != "migrate":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dependency, how in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            assert how["condition"] == expected, f"{name} waits for {dependency} to be {how['condition']}"


def test_compose_prometheus_scrapes_every_haven_process_on_its_port(compose):
    services = compose["services"]
    mounts = {v["target"]: v["source"] for v in services["prometheus"]["volumes"] if v["type"] == "bind"}
    scrape = yaml.safe_load(Path(mounts["/etc/prometheus/prometheus.yml"]).read_text())
    targets = {job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]] for job in scrape["scrape_configs"]}
    for name, service in services.items():
        if service.get("image") != HAVEN_IMAGE or name == "migrate":
            continue
        spec = PROCESSES[name.removesuffix("-worker")]
        config = spec.load_config({**image_env(), **compose_env(service)})
        port = spec.worker_port(config) if name.endswith("-worker") else spec.port(config)
        assert targets.get(name) == [f"{name}:{port}"], f"Prometheus scrapes {name} at {targets.get(name)}, it listens on {port}"


def test_compose_needs_every_credential_from_the_env_file(tmp_path, monkeypatch):
    """A trial never runs on a password written in docker-compose.yml: without .env (or
    with a value missing from it), `docker compose` refuses to start and says which."""
    empty = tmp_path / ".env"
    empty.write_text("# nothing set\n")
    for line in (ROOT / ".env.example").read_text().splitlines():
        monkeypatch.delenv(line.partition("=")[0], raising=False)
    done = render.compose_config(env_file=empty, quiet=True)
    assert done.returncode != 0 and "in .env" in done.stderr, done.stderr
    compose_text = (ROOT / "docker-compose.yml").read_text()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            assert "${" + name in compose_text, f".env.example sets {name}, which docker-compose.yml never reads"
            assert value not in compose_text, f"docker-compose.yml repeats the value of {name}"


@pytest.mark.parametrize("service", sorted(PROCESSES))
def test_compose_service_command_port_and_readiness_check(compose, service):
    spec = PROCESSES[service]
    definition = compose["services"][service]
    assert compose_argv(definition) == ["haven", "serve", service]
    env = {**image_env(), **compose_env(definition)}
    try:
        config = spec.load_config(env)
    except ConfigError as exc:
        pytest.fail(f"compose service {service}: {exc}")
    port = spec.port(config)
    assert compose_container_ports(definition) == {port}, (
        f"{service} listens on {port} ({port_setting(service)}) but publishes container "
        f"port(s) {compose_container_ports(definition)}")
    check = healthcheck_command(definition)
    assert f"127.0.0.1:{port}/readyz" in check, f"{service} healthcheck is not /readyz on port {port}: {check}"


def _created_databases() -> set[str]:
    sql = (ROOT / "deploy" / "postgres" / "init-databases.sql").read_text()
    sql = re.sub(r"--[^\n]*", "", sql)
    return set(re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)\"?", sql, flags=re.IGNORECASE))


def test_compose_each_service_has_its_own_postgres_database(compose):
    services = compose["services"]
    init_mounts = [v for v in services["postgres"].get("volumes", [])
                   if "init-databases" in v["source"] and v["target"].startswith("/docker-entrypoint-initdb.d/")]
    assert init_mounts, "postgres does not mount deploy/postgres/init-databases.* into /docker-entrypoint-initdb.d"
    source = init_mounts[0]["source"]
    assert (ROOT / source).exists(), f"{source} does not exist"
    created = _created_databases()
    databases = {}
    for service in SERVICES:
        url = compose_env(services[service]).get(database_setting(service))
        assert url, f"{service} has no {database_setting(service)}: it would use SQLite in a throw-away tmpfs"
        parts = urlsplit(url)
        assert parts.scheme.startswith("postgresql") and parts.hostname in services, url
        databases[service] = parts.path.lstrip("/")
        assert databases[service] in created, (
            f"{service} uses database {databases[service]}, which init-databases.sql does not create")
    assert len(set(databases.values())) == len(databases), f"services share a database: {databases}"


def test_compose_migrate_runs_haven_migrate_on_the_services_databases(compose):
    services = compose["services"]
    migrate = services["migrate"]
    assert compose_argv(migrate) == ["haven", "migrate"]
    migrate_env = compose_env(migrate)
    for service in SERVICES:
        variable = database_setting(service)
        assert migrate_env.get(variable) == compose_env(services[service]).get(variable), (
            f"migrate and {service} disagree on {variable}: the service would never become ready")
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in healthcheck_command(services["postgres"])


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_compose_service_starts_after_migrations_succeeded(compose, service):
    depends_on = compose["services"][service].get("depends_on", {})
    assert isinstance(depends_on, dict) and "migrate" in depends_on, f"{service} does not wait for migrate"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def test_compose_services_share_the_embedded_token_signing_key(compose):
    """A token from `haven token` in one container must be accepted by all three services."""
    from haven.platform.auth import LocalKeys

    services, named_volumes = compose["services"], set(compose.get("volumes") or {})
    used = set()
    for service in SERVICES:
        definition = services[service]
        config = SERVICES[service].load_config({**image_env(), **compose_env(definition)})
        if config.haven_auth_jwks_url:
            continue  # tokens come from an identity provider
        folder = os.path.dirname(LocalKeys(config.haven_data_dir).path)
        sources = [v["source"] for v in definition.get("volumes", [])
                   if v["type"] == "volume" and v["target"] == folder]
        assert sources and sources[0] in named_volumes, (
            f"{service}: the signing key folder {folder} is not on a named volume; each container "
            f"would make its own key and refuse the others' tokens")
        used.add(sources[0])
        # A fresh named volume takes its owner from the image's folder: the image must create
        # it as the haven user, or the key cannot be written.
        assert any(keyword == "RUN" and folder in rest for keyword, rest in _final_stage()), (
            f"the Dockerfile does not create {folder}")
    assert len(used) <= 1, f"the services keep their signing keys on different volumes: {sorted(used)}"


# === k8s/ ==============================================================================

def test_every_manifest_is_listed_in_its_kustomization_except_the_example_secret():
    assert kustomizations(), "k8s/ has no kustomization.yaml"
    directories = {k.parent for k in kustomizations()}
    for path in k8s_manifest_files():
        if path.name != EXAMPLE_SECRET:
            assert path.parent in directories, f"{path.relative_to(ROOT)} is in no kustomization's folder"
    for kustomization in kustomizations():
        definition = yaml.safe_load(kustomization.read_text())
        listed = definition.get("resources", [])
        patches = [patch["path"] for patch in definition.get("patches", []) if "path" in patch]
        for resource in listed + patches:
            assert (kustomization.parent / resource).exists(), f"{kustomization}: {resource} does not exist"
        here = {p.name for p in kustomization.parent.glob("*.yaml")} - {"kustomization.yaml", EXAMPLE_SECRET}
        files = {r for r in listed + patches if not (kustomization.parent / r).is_dir()}
        assert files == here, f"{kustomization.relative_to(ROOT)}: lists {sorted(files)}, folder has {sorted(here)}"
        assert EXAMPLE_SECRET not in listed, "the example Secret must never be applied"


def test_kustomizations_override_the_same_image_for_every_container(k8s_objects):
    setting = image_kustomizations()
    assert {K8S / "overlays" / o / "kustomization.yaml" for o in render.OVERLAYS} <= set(setting)
    images = [yaml.safe_load(k.read_text())["images"] for k in setting]
    assert all(i == images[0] for i in images), (
        f"the kustomizations set different images ({images}): migrations and services would run different code")
    (entry,) = images[0]
    expected = f"{entry.get('newName', entry['name'])}:{entry['newTag']}"
    for workload in of_kind(k8s_objects, "Deployment") + of_kind(k8s_objects, "Job"):
        image = only_container(workload)["image"]
        assert image == expected, f"{workload['metadata']['name']} runs {image}, not the overlay's {expected}"


def test_kustomizations_target_the_namespace_the_manifests_create(k8s_objects, example_secret):
    namespaces = [o["metadata"]["name"] for o in of_kind(k8s_objects, "Namespace")]
    assert len(namespaces) == 1
    for kustomization in kustomizations():
        definition = yaml.safe_load(kustomization.read_text())
        if definition["kind"] != "Component":  # a component takes its includer's namespace
            assert definition.get("namespace") == namespaces[0], kustomization
    assert {o["metadata"].get("namespace") for o in k8s_objects if o["kind"] != "Namespace"} == {namespaces[0]}
    assert example_secret["metadata"].get("namespace") == namespaces[0]


def test_k8s_environment_names_are_declared(k8s_objects, example_secret):
    names = set(example_secret["stringData"])
    for config_map in of_kind(k8s_objects, "ConfigMap"):
        names |= set(config_map.get("data", {}))
    for workload in of_kind(k8s_objects, "Deployment") + of_kind(k8s_objects, "Job"):
        names |= {variable["name"] for variable in only_container(workload).get("env", [])}
    unknown = names - DECLARED
    assert not unknown, f"k8s/ sets variables nothing reads (misspelt?): {sorted(unknown)}"


@pytest.mark.parametrize("service", sorted(PROCESSES))
def test_k8s_deployment_command_port_and_probes(k8s_objects, example_secret, service):
    spec = PROCESSES[service]
    container = only_container(deployment_for(k8s_objects, service))
    assert k8s_argv(container) == ["haven", "serve", service]
    env = k8s_env(container, k8s_objects, example_secret)
    try:
        config = spec.load_config(env)
    except ConfigError as exc:
        pytest.fail(f"Deployment {service}: {exc}")
    assert config.haven_bind_host == "0.0.0.0", "the kubelet's probes come from outside the pod"
    port = spec.port(config)
    declared_ports = [p["containerPort"] for p in container["ports"]]
    assert declared_ports == [port], f"{service} listens on {port} but declares {declared_ports}"
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"),
                        ("readinessProbe", "/readyz")):
        assert probe in container, f"{service} has no {probe}"
        http_get = container[probe]["httpGet"]
        assert http_get["path"] == path, f"{service} {probe} on {http_get['path']}, expected {path}"
        assert named_port(container, http_get["port"]) == port, f"{service} {probe} on the wrong port"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_k8s_tokens_are_verified_against_an_identity_provider(k8s_objects, example_secret, service):
    container = only_container(deployment_for(k8s_objects, service))
    config = SERVICES[service].load_config(k8s_env(container, k8s_objects, example_secret))
    assert config.haven_auth_jwks_url, (
        f"{service}: without HAVEN_AUTH_JWKS_URL every pod is its own token issuer with a key on "
        f"its emptyDir, and a token is accepted by one replica and refused by the next")


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_k8s_database_url_comes_from_the_secret(k8s_objects, service):
    container = only_container(deployment_for(k8s_objects, service))
    variables = {v["name"]: v for v in container.get("env", [])}
    variable = variables.get(database_setting(service))
    assert variable, f"{service} has no {database_setting(service)}: it would use SQLite on an emptyDir"
    assert "secretKeyRef" in variable.get("valueFrom", {}), f"{database_setting(service)} must come from a Secret"
    assert not variable["valueFrom"]["secretKeyRef"].get("optional"), "an optional URL falls back to SQLite"
    for config_map in of_kind(k8s_objects, "ConfigMap"):
        assert not any(key.endswith("_DATABASE_URL") for key in config_map.get("data", {})), (
            "database URLs (with passwords) belong in the Secret, not a ConfigMap")


@pytest.mark.parametrize("service", sorted(PROCESSES))
def test_k8s_pod_is_locked_down_and_can_still_write_where_haven_writes(k8s_objects, example_secret, service):
    deployment = deployment_for(k8s_objects, service)
    pod = deployment["spec"]["template"]["spec"]
    container = only_container(deployment)
    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    assert security.get("runAsNonRoot") is True
    assert security.get("readOnlyRootFilesystem") is True
    user = image_user().split(":")[0]
    if user.isdigit() and "runAsUser" in security:
        assert security["runAsUser"] == int(user), "runAsUser differs from the image's USER (data dir ownership)"
    # Docker-link variables such as DIRECTORY_PORT=tcp://... would collide with Haven's.
    assert pod.get("enableServiceLinks") is False
    empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    writable = [m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in empty_dirs]
    env = k8s_env(container, k8s_objects, example_secret)
    for variable in ("HAVEN_DATA_DIR", "PROMETHEUS_MULTIPROC_DIR"):
        assert variable in env, f"{service}: {variable} unset"
        assert any(under(env[variable], mount) for mount in writable), (
            f"{service}: {variable}={env[variable]} is on the read-only root filesystem")
    assert any(under("/tmp", mount) for mount in writable), f"{service}: /tmp is read-only (gunicorn needs it)"
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container.get("resources", {}).get(kind, {})), f"{service}: {kind}"


@pytest.mark.parametrize("service", sorted(PROCESSES))
def test_k8s_service_selects_the_pods_and_is_scraped_on_their_port(k8s_objects, example_secret, service):
    deployment = deployment_for(k8s_objects, service)
    container = only_container(deployment)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items(), f"{service}: the Deployment's selector misses its pods"
    port = PROCESSES[service].port(PROCESSES[service].load_config(k8s_env(container, k8s_objects, example_secret)))
    services = [s for s in of_kind(k8s_objects, "Service")
                if s["spec"].get("selector") and s["spec"]["selector"].items() <= pod_labels.items()]
    assert len(services) == 1, f"expected one Service selecting the {service} pods, found {len(services)}"
    definition = services[0]
    assert definition["spec"].get("type", "ClusterIP") == "ClusterIP"
    targets = [named_port(container, p.get("targetPort", p["port"])) for p in definition["spec"]["ports"]]
    assert targets == [port], f"Service {definition['metadata']['name']} targets {targets}, pods listen on {port}"
    annotations = definition["metadata"].get("annotations", {})
    assert annotations.get("prometheus.io/scrape") == "true"
    assert annotations.get("prometheus.io/port") == str(port)
    assert annotations.get("prometheus.io/path", "/metrics") == "/metrics"


def test_k8s_migration_job_runs_haven_migrate_on_the_services_databases(k8s_objects):
    job = migration_job(k8s_objects)
    container = only_container(job)
    assert k8s_argv(container) == ["haven", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")
    job_refs = {v["name"]: v["valueFrom"]["secretKeyRef"] for v in container.get("env", []) if "valueFrom" in v}
    for service in SERVICES:
        variable = database_setting(service)
        service_env = {v["name"]: v for v in only_container(deployment_for(k8s_objects, service))["env"]}
        assert job_refs.get(variable) == service_env[variable]["valueFrom"]["secretKeyRef"], (
            f"the Job migrates a different {variable} than the {service} Deployment reads")
    security = {**job["spec"]["template"]["spec"].get("securityContext", {}), **container.get("securityContext", {})}
    assert security.get("runAsNonRoot") is True


# === the portal ==========================================================================

def test_compose_portal_reaches_the_services_shares_its_key_and_is_trusted_to_name_a_persons_address(compose):
    services = compose["services"]
    portal = services[PORTAL]
    config = PROCESSES[PORTAL].load_config({**image_env(), **compose_env(portal)})
    for service in SERVICES:
        url = urlsplit(getattr(config, f"portal_{service}_url"))
        service_config = SERVICES[service].load_config({**image_env(), **compose_env(services[service])})
        assert (url.hostname, url.port) == (service, SERVICES[service].port(service_config)), (
            f"the portal looks for {service} at {url.geturl()}")
        assert portal["depends_on"][service]["condition"] == "service_healthy"
        # the sign-in limits count the person, not the portal: the services trust its address
        trusted = service_config.haven_sign_in_trusted_clients
        address = portal["networks"]["default"]["ipv4_address"]
        assert any(ipaddress.ip_address(address) in network for network in trusted), (
            f"{service} does not trust the portal ({address}) to name a person's address")
    assert config.portal_secret_key, "without a shared key every portal process signs its own sessions"
    assert "migrate" not in portal.get("depends_on", {}), "the portal has no database"
    assert compose_container_ports(portal) == {8000}


def test_k8s_portal_shares_its_secret_key_signs_in_at_the_provider_and_sends_secure_cookies(
        k8s_objects, example_secret):
    container = only_container(deployment_for(k8s_objects, PORTAL))
    variables = {v["name"]: v for v in container.get("env", [])}
    assert "secretKeyRef" in variables.get("PORTAL_SECRET_KEY", {}).get("valueFrom", {}), (
        "PORTAL_SECRET_KEY must come from the Secret: each replica would otherwise refuse the others' sessions")
    assert not variables["PORTAL_SECRET_KEY"]["valueFrom"]["secretKeyRef"].get("optional")
    config = PROCESSES[PORTAL].load_config(k8s_env(container, k8s_objects, example_secret))
    assert config.portal_cookie_secure is True
    assert config.haven_auth_oidc_issuer and config.haven_auth_oidc_client_id, (
        "the services take only the provider's tokens (HAVEN_AUTH_JWKS_URL): people must sign in there")
    service_names = {s["metadata"]["name"] for s in of_kind(k8s_objects, "Service")}
    for service in SERVICES:
        assert urlsplit(getattr(config, f"portal_{service}_url")).hostname in service_names
    assert not any(name.endswith("_DATABASE_URL") for name in variables), "the portal has no database"


def test_notifications_link_to_the_portals_referral_page_by_default():
    from services.notify import SPEC as NOTIFY

    link = NOTIFY.load_config({}).notify_referral_link
    assert urlsplit(link).port == PROCESSES[PORTAL].default_port and urlsplit(link).path == "/referrals/{id}"


def test_example_secret_holds_valid_urls_and_no_real_password(example_secret):
    for service, spec in SERVICES.items():
        url = example_secret["stringData"].get(database_setting(service))
        assert url, f"secret.example.yaml lacks {database_setting(service)}"
        spec.load_config({database_setting(service): url})  # raises on a malformed URL
        assert "CHANGE-ME" in url, "the example must carry a placeholder password, never a real one"


# === background workers =================================================================

WORKERS = sorted(name for name, spec in SERVICES.items() if spec.has_worker)


@pytest.mark.parametrize("service", WORKERS)
def test_compose_runs_each_worker_on_its_service_database_with_a_health_check(compose, service):
    spec = SERVICES[service]
    definition = compose["services"].get(f"{service}-worker")
    assert definition, f"docker-compose.yml has no {service}-worker: {service}'s outbox would never be published"
    assert compose_argv(definition) == ["haven", "worker", service]
    env = compose_env(definition)
    assert env.get(database_setting(service)) == compose_env(compose["services"][service])[database_setting(service)]
    config = spec.load_config({**image_env(), **env})
    assert config.event_backend == "kafka" and config.kafka_bootstrap_servers.split(":")[0] in compose["services"]
    assert f"127.0.0.1:{spec.worker_port(config)}/healthz" in healthcheck_command(definition)
    assert definition["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("service", WORKERS)
def test_k8s_runs_exactly_one_worker_per_service_with_liveness_and_scraping(k8s_objects, example_secret, service):
    spec = SERVICES[service]
    deployment = deployment_for(k8s_objects, f"{service}-worker")
    # Two relays on one database would interleave their events: one replica, never two at once.
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    container = only_container(deployment)
    assert k8s_argv(container) == ["haven", "worker", service]
    config = spec.load_config(k8s_env(container, k8s_objects, example_secret))
    assert config.event_backend == "kafka", "the embedded event log is a file on one host"
    port = spec.worker_port(config)
    assert named_port(container, container["livenessProbe"]["httpGet"]["port"]) == port
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    service_env = {v["name"]: v for v in only_container(deployment_for(k8s_objects, service))["env"]}
    worker_env = {v["name"]: v for v in container["env"]}
    assert worker_env[database_setting(service)] == service_env[database_setting(service)]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    scraped = [s for s in of_kind(k8s_objects, "Service")
               if s["spec"].get("selector") and s["spec"]["selector"].items() <= pod_labels.items()]
    assert len(scraped) == 1 and scraped[0]["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    security = {**deployment["spec"]["template"]["spec"].get("securityContext", {}),
                **container.get("securityContext", {})}
    assert security.get("runAsNonRoot") is True and security.get("readOnlyRootFilesystem") is True


def test_every_referral_and_notify_process_shares_the_field_keys_and_referral_finds_the_directory(
        compose, k8s_objects, example_secret):
    """A replica with a key of its own could not read what the others encrypted: survivors'
    personal fields (referral), webhook signing secrets (notify, whose migration encrypts
    secrets stored in clear, so the migrate job needs them too)."""
    keys, directories = set(), set()
    for name in ("referral", "referral-worker", "notify", "notify-worker", "migrate"):
        env = compose_env(compose["services"][name])
        keys.add(env.get("HAVEN_FIELD_KEYS"))
        if name.startswith("referral"):
            directories.add(env.get("REFERRAL_DIRECTORY_URL"))
        if name == "migrate":
            container = only_container(migration_job(k8s_objects))
        else:
            container = only_container(deployment_for(k8s_objects, name))
        variables = {v["name"]: v for v in container.get("env", [])}
        assert "secretKeyRef" in variables.get("HAVEN_FIELD_KEYS", {}).get("valueFrom", {}), (
            f"k8s {name}: HAVEN_FIELD_KEYS must come from the Secret")
        if name.startswith("referral"):
            config = SERVICES["referral"].load_config(k8s_env(container, k8s_objects, example_secret))
            assert config.referral_directory_url.split("//")[1].split(":")[0] in {
                s["metadata"]["name"] for s in of_kind(k8s_objects, "Service")}
    assert len(keys) == 1 and None not in keys, "compose: every referral and notify process needs the same key"
    from cryptography.fernet import Fernet

    Fernet(keys.pop())  # a usable key
    assert len(directories) == 1 and directories.pop().split("//")[1].split(":")[0] in compose["services"]
