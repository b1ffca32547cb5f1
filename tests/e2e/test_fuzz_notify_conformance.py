"""Conformance fuzzing of notify: schemathesis generates requests from notify's own OpenAPI
document, sends them to a running Haven (`haven run`) as each role that works with notify
(and without a token), and runs **all** its checks on every answer: no server error, only
documented statuses and content types, bodies and headers as the document describes them,
valid data accepted and invalid data refused, tokens not ignored.

Bounded (HAVEN_FUZZ_EXAMPLES examples per operation and mode, a fixed seed: a failure shows
again on the next run; HAVEN_FUZZ_SEED varies them). Every URL the fuzzer invents points at
a closed port on loopback (`_stay_on_this_machine`): a ping queues a real delivery, and the
worker must send it nowhere else."""
from __future__ import annotations

import os
import re
import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.auth import bearer
from tests.support.haven_process import RunningHaven

EXAMPLES = int(os.environ.get("HAVEN_FUZZ_EXAMPLES", "6"))
SEED = int(os.environ.get("HAVEN_FUZZ_SEED", "2026"))
ORGANIZATION = "fuzz-agency"
ROLES = ("agency_staff", "caseworker", "supervisor", "admin")


@pytest.fixture(scope="module")
def haven(tmp_path_factory):
    # The fuzzer's webhook URLs are all 127.0.0.1:9 (below): notify must take loopback targets.
    running = RunningHaven(tmp_path_factory.mktemp("fuzz-notify") / "data",
                           NOTIFY_WEBHOOK_PRIVATE_TARGETS="true").start()
    yield running
    running.stop()


_URL = re.compile(r"(?i)^(\w+)://(?:[^/?#@]*@)?[^/?#]*(.*)$", re.DOTALL)


def _stay_on_this_machine(case) -> None:
    """No invented host name is looked up and no invented address is contacted: every URL
    in a body points at a closed port on loopback. Its scheme, credentials and path stay as
    generated, so an invalid URL stays invalid (the answer must still refuse it)."""
    def visit(value):
        if isinstance(value, dict):
            return {key: visit(item) for key, item in value.items()}
        if isinstance(value, list):
            return [visit(item) for item in value]
        if isinstance(value, str):
            match = _URL.match(value)
            if match:
                credentials = value[len(match.group(1)) + 3:].split("/", 1)[0].rpartition("@")[0]
                return f"{match.group(1)}://{credentials + '@' if credentials else ''}127.0.0.1:9{match.group(2)}"
        return value

    if isinstance(case.body, (dict, list)):
        case.body = visit(case.body)


def _needs_an_organization(case, roles: tuple[str, ...]) -> bool:
    """An administrator's token names no organization, so a subscription it creates must:
    valid-shaped data the API rightly refuses (422 naming organization_id) for this caller
    only. Every other caller's valid data must be accepted."""
    return (roles == ("admin",) and case.operation.label == "POST /v1/subscriptions"
            and isinstance(case.body, dict) and not case.body.get("organization_id"))


def _conform(base_url: str, data_dir) -> tuple[Counter, list[str]]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    schema.config.checks.update(included_check_names=["all"])
    # The platform refuses NUL in any text with a documented 400; a schema cannot say so of
    # every string, so valid data is generated without it (negative data still has it).
    schema.config.generation.update(allow_x00=False, codec="utf-8")
    callers = [((), {})] + [((role,), bearer(data_dir, role, organization_id=None if role == "admin" else ORGANIZATION,
                                             subject=f"fuzz-{role}")) for role in ROLES]
    session = requests.Session()
    counts: Counter = Counter()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        counts["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @seed(SEED)
            @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def probe(case):
                _stay_on_this_machine(case)
                # A case whose headers are invalid on purpose (no or a malformed Authorization)
                # goes as generated, once: a valid token laid over it would make it valid.
                senders = [((), {})] if case.meta is not None and case.meta.is_negative_at(
                    ParameterLocation.HEADER) else callers
                for roles, headers in senders:
                    special = mode is GenerationMode.POSITIVE and _needs_an_organization(case, roles)
                    try:
                        response = case.call_and_validate(
                            base_url=base_url, session=session, headers=headers, timeout=30,
                            excluded_checks=[positive_data_acceptance] if special else None)
                    except FailureGroup as group:  # every check that failed on this answer
                        failures.append(f"[{'/'.join(roles) or 'no token'}, {mode.value}] {group}")
                        continue
                    finally:
                        counts["requests"] += 1
                    if special:
                        fields = [e.get("field") for e in (response.json().get("errors") or [])]
                        if response.status_code != 422 or "organization_id" not in fields:
                            failures.append(f"[admin] {operation.label} without organization_id -> "
                                            f"{response.status_code}: {response.text[:300]}")
                    counts[f"{response.status_code // 100}xx"] += 1

            try:
                probe()
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                # an operation with no input (GET /healthz) has no invalid form to send
    return counts, failures


def test_notify_answers_as_its_document_says(haven):
    started = time.monotonic()
    counts, failures = _conform(haven.url("notify"), haven.data_dir)
    print(f"\nconformance notify: {counts['operations']} operations, {counts['requests']} requests "
          f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()) if k.endswith('xx'))}), "
          f"{len(failures)} failures, {time.monotonic() - started:.0f} s")
    assert counts["operations"] >= 10 and counts["requests"] >= counts["operations"] * EXAMPLES
    assert not failures, "\n\n".join(failures[:10])
