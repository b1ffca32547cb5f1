"""Each deployment file passes the tool that will read it, and each tool really fails on a
broken copy (so that a green run means something). No engine, no cluster: see render.py."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.deploy import render

ROOT = render.ROOT


def k8s_copy(tmp_path: Path) -> Path:
    """A copy of k8s/ (and the files its tools read) to break on purpose."""
    shutil.copytree(render.K8S, tmp_path / "k8s")
    return tmp_path / "k8s"


def break_yaml(path: Path, change) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    change(documents)
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))


# --- Compose ---------------------------------------------------------------------------

def test_compose_file_passes_docker_compose_config():
    done = render.compose_config(quiet=True)
    assert done.returncode == 0, done.stderr
    assert "level=warning" not in done.stderr, done.stderr


def test_every_file_compose_mounts_is_in_the_repository():
    """Docker would create a missing bind source as an empty folder and the service would
    start without its configuration (Prometheus without rules, Grafana without dashboards)."""
    for name, service in render.compose()["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name} mounts {volume['source']}, which does not exist"
                assert volume.get("read_only"), f"{name} may write into the repository at {volume['source']}"


def test_docker_compose_config_rejects_a_broken_compose_file(tmp_path):
    for name in ("docker-compose.yml", ".env.example"):
        shutil.copy(ROOT / name, tmp_path / name)
    text = (tmp_path / "docker-compose.yml").read_text()
    assert "\n    healthcheck:\n" in text
    (tmp_path / "docker-compose.yml").write_text(text.replace("\n    healthcheck:\n", "\n    helthcheck:\n", 1))
    done = render.compose_config(root=tmp_path, quiet=True)
    assert done.returncode != 0 and "helthcheck" in done.stderr, done.stderr


# --- Kubernetes ------------------------------------------------------------------------

@pytest.mark.parametrize("folder", render.APPLIED)
def test_each_overlay_and_job_renders_and_passes_kubernetes_validate_strict(folder, tmp_path):
    objects = render.rendered(render.K8S / folder)
    assert objects, f"{folder} renders nothing"
    (tmp_path / "rendered.yaml").write_text(render.kustomize(render.K8S / folder).stdout)
    done = render.kubernetes_validate(tmp_path / "rendered.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ERROR" not in done.stdout, done.stdout
    # Only the operators' kinds are unknown to it; the next test checks those.
    unchecked = {line.split("kind ")[1].split(" ")[0] for line in done.stdout.splitlines() if "Couldn't find schema" in line}
    assert unchecked == {o["kind"] for o in objects if render.is_custom(o)}, done.stdout


@pytest.mark.parametrize("overlay", render.OVERLAYS)
def test_operators_resources_match_their_published_crd_schemas(overlay):
    custom = [o for o in render.deployment(overlay) if render.is_custom(o)]
    assert {o["kind"] for o in custom} >= {"ServiceMonitor", "PrometheusRule"}
    errors = [error for resource in custom for error in render.custom_resource_errors(resource)]
    assert not errors, "\n".join(errors)


def test_the_bundled_crd_schemas_cover_every_operator_kind_used_and_say_where_they_come_from():
    kinds = {o["kind"] for overlay in render.OVERLAYS for o in render.deployment(overlay) if render.is_custom(o)}
    assert kinds == {"ServiceMonitor", "PrometheusRule", "Kafka", "KafkaNodePool", "KafkaTopic", "Elasticsearch",
                     "Cluster"}
    bundled = {kind for _, kind in render.crd_schemas()}
    assert kinds <= bundled
    readme = (render.CRDS / "README.md").read_text()
    for path in render.CRDS.glob("*.json"):
        assert path.name in readme, f"tests/fixtures/crds/README.md does not say where {path.name} comes from"


def test_kubernetes_validate_rejects_a_broken_deployment(tmp_path):
    k8s = k8s_copy(tmp_path)

    def misspell_a_field(documents):
        container = documents[0]["spec"]["template"]["spec"]["containers"][0]
        container["readinessProbe"]["httpGet"]["paht"] = container["readinessProbe"]["httpGet"].pop("path")

    break_yaml(k8s / "base" / "directory.yaml", misspell_a_field)
    (tmp_path / "rendered.yaml").write_text(render.kustomize(k8s / "overlays" / "dev").stdout)
    done = render.kubernetes_validate(tmp_path / "rendered.yaml")
    assert done.returncode != 0 and "paht" in done.stdout, done.stdout


def test_kustomize_rejects_an_overlay_naming_a_missing_resource(tmp_path):
    k8s = k8s_copy(tmp_path)
    (k8s / "base" / "ingress.yaml").unlink()
    done = render.kustomize(k8s / "overlays" / "production")
    assert done.returncode != 0 and "ingress.yaml" in done.stderr, done.stderr


@pytest.mark.parametrize("kind, break_it, complaint", [
    ("KafkaTopic", lambda r: r["spec"].update(partitons=8), "partitons"),
    ("KafkaTopic", lambda r: r["spec"].update(replicas=0), "minimum"),
    ("Kafka", lambda r: r["spec"]["kafka"]["listeners"][0].pop("tls"), "'tls' is a required property"),
    ("KafkaNodePool", lambda r: r["spec"].update(roles=["leader"]), "leader"),
    ("Elasticsearch", lambda r: r["spec"]["nodeSets"][0].update(count="three"), "three"),
    ("Cluster", lambda r: r["spec"].update(instances=0), "minimum"),
    ("Cluster", lambda r: r["spec"]["bootstrap"]["initdb"].update(databse="x"), "databse"),
    ("ServiceMonitor", lambda r: r["spec"]["endpoints"][0].update(interval="often"), "often"),
    ("PrometheusRule", lambda r: r["spec"]["groups"][0].pop("name"), "'name' is a required property"),
])
def test_crd_schema_check_rejects_a_broken_custom_resource(kind, break_it, complaint):
    resource = next(o for o in render.deployment("production") if o["kind"] == kind)
    assert not render.custom_resource_errors(resource)
    broken = yaml.safe_load(yaml.safe_dump(resource))
    break_it(broken)
    errors = render.custom_resource_errors(broken)
    assert any(complaint in error for error in errors), errors


# --- Dockerfile ------------------------------------------------------------------------

def test_dockerfile_passes_hadolint():
    done = render.hadolint(ROOT / "Dockerfile")
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_rejects_a_broken_dockerfile(tmp_path):
    text = (ROOT / "Dockerfile").read_text()
    assert "WORKDIR /\nRUN /opt/haven/bin/python -m services.portal.catalogs" in text
    broken = text.replace("WORKDIR /\nRUN /opt/haven/bin/python -m services.portal.catalogs",
                          "RUN cd / && /opt/haven/bin/python -m services.portal.catalogs")
    (tmp_path / "Dockerfile").write_text(broken)
    done = render.hadolint(tmp_path / "Dockerfile")
    assert done.returncode != 0 and "DL3003" in done.stdout, done.stdout


# --- the alert rules: one source for Compose and Kubernetes ------------------------------

def _prometheus_rule_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("prometheus_rule", render.K8S / "tools" / "prometheus_rule.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("overlay", render.OVERLAYS)
def test_the_prometheus_rule_carries_exactly_the_alert_rules_compose_prometheus_loads(overlay):
    alerts = ROOT / "deploy" / "prometheus" / "alerts.yml"
    groups = yaml.safe_load(alerts.read_text())["groups"]
    assert sum(len(g["rules"]) for g in groups) > 0
    (rule,) = [o for o in render.deployment(overlay) if o["kind"] == "PrometheusRule"]
    assert rule["spec"]["groups"] == groups, "the PrometheusRule is stale: run python k8s/tools/prometheus_rule.py"
    compose_prometheus = render.compose()["services"]["prometheus"]
    mounted = {v["target"]: Path(v["source"]) for v in compose_prometheus["volumes"] if v["type"] == "bind"}
    scrape_config = yaml.safe_load(mounted["/etc/prometheus/prometheus.yml"].read_text())
    assert [mounted[f] for f in scrape_config["rule_files"]] == [alerts], "Compose's Prometheus loads other rules"


def test_a_changed_alert_rule_makes_the_prometheus_rule_stale(tmp_path):
    tool = _prometheus_rule_tool()
    assert tool.main(["--check"]) == 0
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    rules["groups"][0]["rules"][0]["expr"] = "vector(1)"
    changed = tmp_path / "alerts.yml"
    changed.write_text(yaml.safe_dump(rules))
    assert tool.render(changed) != tool.TARGET.read_text()
    assert tool.render() == tool.TARGET.read_text()
