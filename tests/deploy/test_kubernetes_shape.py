"""What each overlay promises an operator, read from the manifests as kustomize renders
them: locked-down pods, scaling where it is safe and nowhere else, only Haven's network
flows, Haven's topics as the code names and shapes them, the operators' clusters wired to
the settings that reach them."""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import pytest

from haven.cli import PROCESSES, SERVICES
from haven.platform.eventlog.worker import dead_letter_topic
from tests.deploy import render

WORKERS = {f"{name}-worker" for name, spec in SERVICES.items() if spec.has_worker}
TRAFFIC = set(PROCESSES)  # the Deployments that take requests: the three services and the portal
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
                                              "127.0.0.0/8", "100.64.0.0/10", "fc00::/7", "fe80::/10")]


@pytest.fixture(scope="module", params=render.OVERLAYS)
def overlay(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def objects(overlay) -> list[dict]:
    return render.deployment(overlay)


def of_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def named(objects, kind, name):
    found = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def workloads(objects):
    return of_kind(objects, "Deployment") + of_kind(objects, "Job")


def config_map(objects) -> dict:
    return named(objects, "ConfigMap", "haven-config")["data"]


# --- pods --------------------------------------------------------------------------------

def test_every_haven_pod_is_locked_down_with_its_own_service_account_and_no_token(objects):
    accounts = {a["metadata"]["name"]: a for a in of_kind(objects, "ServiceAccount")}
    used = []
    for workload in workloads(objects):
        name, pod = workload["metadata"]["name"], workload["spec"]["template"]["spec"]
        account = pod.get("serviceAccountName")
        assert account in accounts, f"{name} runs as ServiceAccount {account}, which no manifest defines"
        assert accounts[account].get("automountServiceAccountToken") is False, account
        assert pod.get("automountServiceAccountToken") is False, f"{name} mounts a token"
        used.append(account)
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in pod["containers"]:
            security = {**pod["securityContext"], **container.get("securityContext", {})}
            assert security.get("runAsNonRoot") is True, name
            assert security.get("readOnlyRootFilesystem") is True, name
            assert security.get("allowPrivilegeEscalation") is False, name
            assert security.get("capabilities", {}).get("drop") == ["ALL"], name
            assert not security.get("capabilities", {}).get("add"), name
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{name}: {kind}"
            written = {m["mountPath"] for m in container.get("volumeMounts", []) if not m.get("readOnly")}
            scratch = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
            assert {m["name"] for m in container["volumeMounts"] if m["mountPath"] in written} <= scratch, (
                f"{name}: a writable mount that is not an emptyDir")
            assert "/tmp" in written, f"{name}: no writable /tmp"
    assert len(used) == len(set(used)), f"processes share ServiceAccounts: {sorted(used)}"


def test_every_deployment_has_startup_liveness_and_readiness_probes(objects):
    for deployment in of_kind(objects, "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container.get(probe, {}).get("httpGet"), f"{deployment['metadata']['name']} has no {probe}"


def test_no_secret_is_committed_only_referenced(objects):
    assert not of_kind(objects, "Secret"), "a Secret in the manifests would be committed with its values"
    for path in render.K8S.rglob("*.yaml"):
        if path.name != "secret.example.yaml":
            assert not re.search(r"^kind:\s*Secret\s*$", path.read_text(), re.M), path


# --- scaling -----------------------------------------------------------------------------

def test_workers_run_exactly_one_replica_replaced_with_recreate_and_are_never_autoscaled(objects):
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(objects, "HorizontalPodAutoscaler")}
    for name in WORKERS:
        deployment = named(objects, "Deployment", name)
        assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
        assert name not in scaled, f"an HPA would run two {name}s: two relays interleave one aggregate's events"


def test_production_autoscales_every_deployment_that_takes_traffic_and_budgets_its_disruptions(overlay, objects):
    pdbs = {p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]: p
            for p in of_kind(objects, "PodDisruptionBudget")}
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(objects, "HorizontalPodAutoscaler")}
    for name in TRAFFIC:
        deployment = named(objects, "Deployment", name)
        pod_name = deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        assert pod_name in pdbs, f"{name} has no PodDisruptionBudget"
        assert pdbs[pod_name]["spec"].get("maxUnavailable") == 1, "a budget must never block a node drain outright"
        if overlay == "production":
            hpa = hpas.get(name)
            assert hpa and hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment", f"{name} has no HPA"
            assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    if overlay == "dev":
        assert not hpas, "the dev overlay keeps a fixed, small shape"


def test_the_directory_scales_only_on_elasticsearch(overlay, objects):
    search = config_map(objects)["SEARCH_BACKEND"]
    directory = named(objects, "Deployment", "directory")
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(objects, "HorizontalPodAutoscaler")}
    if search == "embedded":  # the index lives in the pod: a second pod would not see the first's writes
        assert directory["spec"]["replicas"] == 1 and "directory" not in scaled
    assert search == {"dev": "embedded", "production": "elasticsearch"}[overlay]


# --- network -----------------------------------------------------------------------------

def _selects(selector: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and expression["key"] not in labels:
            return False
    return True


class Network:
    """NetworkPolicy semantics for one namespace: a pod selected by a policy of a direction
    may do in that direction only what one of those policies allows."""

    def __init__(self, objects):
        self.policies = of_kind(objects, "NetworkPolicy")
        self.pods = {}
        for workload in workloads(objects):
            template = workload["spec"]["template"]
            ports = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
            self.pods[workload["metadata"]["name"]] = (template["metadata"]["labels"], ports)

    def _rules(self, labels, direction):
        selecting = [p for p in self.policies
                     if _selects(p["spec"]["podSelector"], labels) and direction in p["spec"]["policyTypes"]]
        key = "egress" if direction == "Egress" else "ingress"
        return selecting, [rule for p in selecting for rule in p["spec"].get(key, [])]

    @staticmethod
    def _port_allowed(rule, port, named_ports):
        if "ports" not in rule:
            return True
        return any(p.get("port") in (port, *[n for n, number in named_ports.items() if number == port])
                   for p in rule["ports"])

    @staticmethod
    def _peer_allowed(rule, key, peer_labels=None, address=None, namespace_labels=None):
        if key not in rule:
            return True
        for peer in rule[key]:
            if "ipBlock" in peer and address is not None:
                block = peer["ipBlock"]
                ip = ipaddress.ip_address(address)
                network = ipaddress.ip_network(block["cidr"])
                if ip.version == network.version and ip in network and not any(
                        ip in ipaddress.ip_network(e) for e in block.get("except", [])
                        if ipaddress.ip_network(e).version == ip.version):
                    return True
            elif "ipBlock" not in peer and peer_labels is not None:
                same_namespace = "namespaceSelector" not in peer
                namespace_ok = (same_namespace and namespace_labels is None) or (
                    not same_namespace and namespace_labels is not None
                    and _selects(peer["namespaceSelector"], namespace_labels))
                if namespace_ok and _selects(peer.get("podSelector", {}), peer_labels):
                    return True
        return False

    def egress(self, source, port, to_labels=None, to_address=None, to_namespace=None):
        labels, _ = self.pods[source]
        selecting, rules = self._rules(labels, "Egress")
        if not selecting:
            return True
        target_ports = self.pods.get(to_labels, ({}, {}))[1] if isinstance(to_labels, str) else {}
        peer = self.pods[to_labels][0] if isinstance(to_labels, str) else to_labels
        return any(self._port_allowed(r, port, target_ports)
                   and self._peer_allowed(r, "to", peer, to_address, to_namespace) for r in rules)

    def ingress(self, target, port, from_labels=None, from_namespace=None):
        labels, named_ports = self.pods[target]
        selecting, rules = self._rules(labels, "Ingress")
        if not selecting:
            return True
        peer = self.pods[from_labels][0] if isinstance(from_labels, str) else from_labels
        return any(self._port_allowed(r, port, named_ports)
                   and self._peer_allowed(r, "from", peer, None, from_namespace) for r in rules)

    def flow(self, source, target, port):
        return self.egress(source, port, to_labels=target) and self.ingress(target, port, from_labels=source)


@pytest.fixture(scope="module")
def network(objects):
    return Network(objects)


def test_network_policies_deny_every_haven_pod_by_default(objects, network):
    deny_all = [p for p in of_kind(objects, "NetworkPolicy")
                if set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
                and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny_all, "no default-deny NetworkPolicy"
    for name, (labels, _) in network.pods.items():
        assert any(_selects(p["spec"]["podSelector"], labels) for p in deny_all), f"{name} is not denied by default"
        assert network.egress(name, 53, to_labels={"k8s-app": "kube-dns"},
                              to_namespace={"kubernetes.io/metadata.name": "kube-system"}), f"{name}: no DNS"


def test_network_policies_allow_havens_own_flows_and_nothing_else_between_its_pods(network):
    allowed = {("portal", "directory", 8001), ("portal", "referral", 8002), ("portal", "notify", 8003),
               ("referral", "directory", 8001), ("referral-worker", "directory", 8001),
               ("notify", "directory", 8001), ("notify-worker", "directory", 8001)}
    ports = {"portal": 8000, "directory": 8001, "referral": 8002, "notify": 8003}
    pods = set(network.pods)
    for source in pods:
        for target, port in ports.items():
            if source != target:
                assert network.flow(source, target, port) == ((source, target, port) in allowed), (
                    f"{source} -> {target}:{port} should {'' if (source, target, port) in allowed else 'not '}be allowed")
    ingress_controller = {"kubernetes.io/metadata.name": "ingress-nginx"}
    assert network.ingress("portal", 8000, from_labels={}, from_namespace=ingress_controller)
    assert not network.ingress("directory", 8001, from_labels={}, from_namespace=ingress_controller)
    prometheus = {"kubernetes.io/metadata.name": "monitoring"}
    for name, (_, named_ports) in network.pods.items():
        for port in named_ports.values():
            assert network.ingress(name, port, from_labels={}, from_namespace=prometheus), f"{name} is not scraped"


def test_only_notify_worker_reaches_webhooks_and_never_a_private_address(network):
    public, private = "203.0.113.10", ["10.1.2.3", "172.20.0.5", "192.168.1.1", "169.254.169.254", "fd00::1"]
    for name in network.pods:
        reaches = network.egress(name, 8443, to_address=public)
        assert reaches == (name == "notify-worker"), f"{name} {'cannot' if not reaches else 'can'} reach webhooks"
        for address in private:
            for port in (80, 443, 5432, 8443):
                if port == 5432 and name not in ("portal",):
                    continue  # PostgreSQL is brought: the base allows its port to wherever it is
                assert not network.egress(name, port, to_address=address), f"{name} reaches {address}:{port}"
    assert network.egress("notify-worker", 587, to_address=public), "notify-worker cannot send e-mail"


def test_network_policies_exclude_every_private_range_from_public_egress(objects):
    for policy in of_kind(objects, "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                block = peer.get("ipBlock")
                if block and ipaddress.ip_network(block["cidr"]).prefixlen == 0:
                    excluded = [ipaddress.ip_network(e) for e in block.get("except", [])]
                    for network in PRIVATE:
                        if network.version == ipaddress.ip_network(block["cidr"]).version:
                            assert any(network.subnet_of(e) for e in excluded), (
                                f"{policy['metadata']['name']}: {network} is not excluded")


# --- ingress, monitoring -----------------------------------------------------------------

def test_the_portal_is_published_over_tls_and_nothing_else_is(objects):
    (ingress,) = of_kind(objects, "Ingress")
    hosts = {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]}
    assert all(tls.get("secretName") for tls in ingress["spec"]["tls"])
    services = {s["metadata"]["name"]: s for s in of_kind(objects, "Service")}
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in hosts, f"{rule['host']} is served without TLS"
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "portal"
            assert backend["port"]["name"] in {p["name"] for p in services["portal"]["spec"]["ports"]}
    portal_env = {e["name"]: e.get("value") for e in named(objects, "Deployment", "portal")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert portal_env.get("HAVEN_PROXY_HOPS") == "1", "the portal must count the ingress controller in front"


def test_the_service_monitor_scrapes_every_haven_service(objects):
    (monitor,) = of_kind(objects, "ServiceMonitor")
    ports = {e["port"] for e in monitor["spec"]["endpoints"]}
    for service in of_kind(objects, "Service"):
        assert _selects(monitor["spec"]["selector"], service["metadata"]["labels"]), service["metadata"]["name"]
        assert {p["name"] for p in service["spec"]["ports"]} & ports, f"{service['metadata']['name']} is not scraped"
        assert all(e["path"] == "/metrics" for e in monitor["spec"]["endpoints"])


# --- the operators' clusters (production) --------------------------------------------------

@pytest.fixture(scope="module")
def production():
    return render.deployment("production")


def haven_topics() -> set[str]:
    from services.directory import contract as directory
    from services.directory.entrypoints.consumers import GROUP as DIRECTORY_GROUP
    from services.notify import contract as notify
    from services.notify.entrypoints.consumers import GROUP as NOTIFY_GROUP
    from services.referral import contract as referral
    from services.referral.entrypoints.consumers import DELIVERY_STATUS_GROUP

    groups = (DIRECTORY_GROUP, NOTIFY_GROUP, DELIVERY_STATUS_GROUP)
    return {directory.TOPIC, referral.TOPIC, notify.TOPIC} | {dead_letter_topic(g) for g in groups}


def test_kafka_topics_are_havens_topics_shaped_as_the_event_settings_say(production):
    (kafka,) = of_kind(production, "Kafka")
    settings = config_map(production)
    topics = of_kind(production, "KafkaTopic")
    assert {t["spec"].get("topicName", t["metadata"]["name"]) for t in topics} == haven_topics()
    for topic in topics:
        spec = topic["spec"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert spec["partitions"] == int(settings["EVENT_PARTITIONS"])
        assert spec["replicas"] == int(settings["KAFKA_REPLICATION_FACTOR"]) == 3
        assert int(spec["config"]["retention.ms"]) == int(settings["EVENT_RETENTION_HOURS"]) * 3_600_000
        assert int(spec["config"]["min.insync.replicas"]) == 2


def test_the_kafka_cluster_is_kraft_on_node_pools_and_haven_reaches_it_over_tls(production):
    (kafka,) = of_kind(production, "Kafka")
    name = kafka["metadata"]["name"]
    pools = [p for p in of_kind(production, "KafkaNodePool") if p["metadata"]["labels"]["strimzi.io/cluster"] == name]
    assert sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"]) >= 3
    assert sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"]) in (3, 5)
    assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False
    settings = config_map(production)
    host, port = settings["KAFKA_BOOTSTRAP_SERVERS"].split(":")
    (listener,) = [li for li in kafka["spec"]["kafka"]["listeners"] if li["port"] == int(port)]
    assert host == f"{name}-kafka-bootstrap" and listener["tls"] is True and settings["KAFKA_SECURITY_PROTOCOL"] == "ssl"
    for deployment in ("referral", "directory-worker", "referral-worker", "notify-worker"):
        assert _mounted_secret_file(production, deployment, settings["KAFKA_SSL_CAFILE"]) == f"{name}-cluster-ca-cert"
    client_pods = [named(production, "Deployment", d)["spec"]["template"]["metadata"]["labels"]
                   for d in ("referral", "directory-worker", "referral-worker", "notify-worker")]
    peers = [peer["podSelector"] for peer in listener["networkPolicyPeers"]]
    assert all(any(_selects(peer, pod) for peer in peers) for pod in client_pods), "Strimzi's policy shuts a client out"


def _mounted_secret_file(objects, workload_name, path):
    """The Secret whose key the container sees at `path`."""
    workload = next(w for w in workloads(objects) if w["metadata"]["name"] == workload_name)
    pod = workload["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in pod["containers"][0]["volumeMounts"]:
        if path.startswith(mount["mountPath"].rstrip("/") + "/"):
            secret = volumes[mount["name"]]["secret"]
            assert any(item["path"] == path[len(mount["mountPath"]):].lstrip("/") for item in secret["items"])
            return secret["secretName"]
    return None


def test_elasticsearch_runs_three_nodes_of_the_image_clients_major_and_the_directory_reaches_it(production):
    (cluster,) = of_kind(production, "Elasticsearch")
    name = cluster["metadata"]["name"]
    assert sum(n["count"] for n in cluster["spec"]["nodeSets"]) == 3
    dockerfile = (render.ROOT / "Dockerfile").read_text()
    client_major = re.search(r"^ARG ELASTICSEARCH_MAJOR=(\d+)$", dockerfile, re.M).group(1)
    assert cluster["spec"]["version"].split(".")[0] == client_major, "the client refuses a cluster of another major"
    compose_image = render.compose()["services"]["elasticsearch"]["image"]
    assert compose_image.rsplit(":", 1)[1].split(".")[0] == client_major
    settings = config_map(production)
    assert urlsplit(settings["ELASTICSEARCH_URL"]).hostname == f"{name}-es-http"
    assert urlsplit(settings["ELASTICSEARCH_URL"]).scheme == "https"
    for workload in ("directory", "directory-worker", "haven-reindex"):
        assert _mounted_secret_file(production, workload, settings["ELASTICSEARCH_CA_CERTS"]) == f"{name}-es-http-certs-public"
        container = next(w for w in workloads(production) if w["metadata"]["name"] == workload)["spec"]["template"]["spec"]["containers"][0]
        password = {e["name"]: e for e in container["env"]}["ELASTICSEARCH_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": f"{name}-es-elastic-user", "key": settings["ELASTICSEARCH_USERNAME"]}


def test_the_reindex_job_runs_haven_reindex_on_the_directorys_database(production):
    job = named(production, "Job", "haven-reindex")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["reindex"]
    directory = named(production, "Deployment", "directory")["spec"]["template"]["spec"]["containers"][0]
    url = {e["name"]: e for e in directory["env"]}["DIRECTORY_DATABASE_URL"]
    assert {e["name"]: e for e in container["env"]}["DIRECTORY_DATABASE_URL"] == url
    assert container["envFrom"] == directory["envFrom"], "reindex must read the directory's search settings"


def test_each_service_has_its_own_postgresql_cluster_and_every_process_of_it_uses_that_one(production):
    clusters = {c["metadata"]["name"]: c for c in of_kind(production, "Cluster")}
    network = Network(production)
    for service in SERVICES:
        name = f"haven-{service}-db"
        cluster = clusters.get(name)
        assert cluster, f"{service} has no CloudNativePG cluster"
        assert cluster["spec"]["instances"] >= 3, "a primary and two replicas: failover without data loss"
        assert cluster["spec"]["bootstrap"]["initdb"]["database"] == f"haven_{service}"
        assert ":" in cluster["spec"]["imageName"], "pin PostgreSQL's version"
        users = [w for w in workloads(production)
                 if any(e["name"] == f"{service.upper()}_DATABASE_URL" for e in w["spec"]["template"]["spec"]["containers"][0].get("env", []))]
        assert {w["metadata"]["name"] for w in users} >= {service, "haven-migrate"}
        for workload in users:
            env = {e["name"]: e for e in workload["spec"]["template"]["spec"]["containers"][0]["env"]}
            assert env[f"{service.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": f"{name}-app", "key": "uri"}
            assert network.egress(workload["metadata"]["name"], 5432, to_labels={"cnpg.io/cluster": name})
    assert not network.egress("portal", 5432, to_labels={"cnpg.io/cluster": "haven-referral-db"}), "the portal has no database"
    assert not network.egress("referral", 5432, to_address="10.0.0.5"), "production reaches only its own clusters"
