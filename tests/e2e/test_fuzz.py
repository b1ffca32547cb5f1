"""Fuzzing: schemathesis generates requests from each service's own OpenAPI document and
sends them to a running Haven (`haven run`), signed in as each role that works with the
service and without a token, and runs every one of its checks on every answer: no server
error, only documented statuses and content types, bodies and headers as the document
describes them, valid data accepted and invalid data refused, tokens not ignored.

Bounded: HAVEN_FUZZ_EXAMPLES examples per operation and mode (valid and invalid), with a
fixed seed (hypothesis' and the global `random`'s), so a failure mostly shows again on the
next run; schemathesis also draws from sources of its own, so two runs can differ a little.
HAVEN_FUZZ_SEED varies them. Every
URL the fuzzer invents points at a closed port on loopback (`_stay_on_this_machine`): a
notify ping queues a real delivery, and the worker must send it nowhere else."""
from __future__ import annotations

import os
import random
import re
import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.auth import bearer
from tests.support.haven_process import RunningHaven

EXAMPLES = int(os.environ.get("HAVEN_FUZZ_EXAMPLES", "8"))
SEED = int(os.environ.get("HAVEN_FUZZ_SEED", "2026"))
ORGANIZATION = "fuzz-agency"

# Who calls each service: without a token, and as each role whose work is there. An
# administrator's token names no organization.
CALLERS = {
    "directory": [(), ("directory_admin",), ("agency_staff",)],
    "referral": [(), ("caseworker",), ("agency_staff",), ("supervisor",), ("admin",)],
    "notify": [(), ("agency_staff",), ("caseworker",), ("supervisor",), ("admin",)],
}

# Well-shaped data the domain refuses for a reason no schema can say. The answer, 412 or
# 422 with its own problem type, is the right one, not a rejected valid request.
DOMAIN_REFUSALS = {
    # A receiving service the fuzzer invented: it is not in the directory.
    "urn:haven:problem:unknown-service",
    # The directory: an organization, location, area, kind or taxonomy term that does not
    # exist, or a record that does not fit another (a shelter at a public location).
    "urn:haven:problem:invalid-reference",
    # Fields each valid that do not fit together (lat without lon, available above maximum):
    # OpenAPI 3.0 has no way to state a rule between two fields or query parameters.
    "urn:haven:problem:inconsistent-fields",
    # An import whose every record was refused (reported per record): which records a CSV
    # file or another system's HSDS document holds is not a request schema's to say.
    "urn:haven:problem:nothing-imported",
    # An If-Match the fuzzer invented for a table that exists (the kind mappings): a
    # well-formed ETag that is not the current one is stale, whatever the document says.
    "urn:haven:problem:stale-version",
}


@pytest.fixture(scope="module")
def haven(tmp_path_factory):
    # Every webhook URL the fuzzer invents is 127.0.0.1:9 (below): notify must take loopback targets.
    running = RunningHaven(tmp_path_factory.mktemp("fuzz") / "data", NOTIFY_WEBHOOK_PRIVATE_TARGETS="true").start()
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


def _senders(case, callers: list[tuple[tuple, dict]]) -> list[tuple[tuple, dict]]:
    """Every caller; but a case whose headers are invalid on purpose (no or a malformed
    Authorization) goes as generated, once: a valid token laid over it would turn a
    request that must be refused into one that is served."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        return [((), {})]
    return callers


def _needs_an_organization(case, roles: tuple) -> bool:
    """An administrator's token names no organization, so a subscription it creates must:
    valid-shaped data rightly refused (422 naming organization_id) for this caller only."""
    return (roles == ("admin",) and case.operation.label == "POST /v1/subscriptions"
            and isinstance(case.body, dict) and not case.body.get("organization_id"))


def _domain_refusal(failure, response) -> bool:
    if not isinstance(failure, RejectedPositiveData) or response.status_code not in (412, 422):
        return False
    try:
        return response.json().get("type") in DOMAIN_REFUSALS
    except ValueError:
        return False


def _check(case, base_url, session, roles, headers, mode) -> tuple[int | None, list[str]]:
    """Send the case as this caller; the answer's status and what every check finds wrong."""
    special = mode is GenerationMode.POSITIVE and _needs_an_organization(case, roles)
    who = f"[{'/'.join(roles) or 'no token'}, {mode.value}]"
    response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
    try:
        case.validate_response(response, headers=headers,
                               excluded_checks=[positive_data_acceptance] if special else None)
        found = []
    except FailureGroup as group:
        found = [failure for failure in group.exceptions if not _domain_refusal(failure, response)]
    except Failure as failure:
        found = [] if _domain_refusal(failure, response) else [failure]
    problems = [f"{who} {case.operation.label} -> {response.status_code}: {failure.title}: "
                f"{(failure.message or '')[:300]}\n{case.as_curl_command(headers=headers)}\n{response.text[:300]}"
                for failure in found]
    if special:
        fields = [e.get("field") for e in (response.json().get("errors") or [])] if response.content else []
        if response.status_code != 422 or "organization_id" not in fields:
            problems.append(f"{who} {case.operation.label} without organization_id -> {response.status_code}")
    return response.status_code, problems


def _fuzz(service: str, base_url: str, data_dir) -> tuple[Counter, list[str]]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    schema.config.checks.update(included_check_names=["all"])
    # The platform refuses NUL and lone surrogates in any text with a documented 400 (tested
    # on every route by test_malformed_json.py); a schema cannot say so of every string.
    schema.config.generation.update(allow_x00=False, codec="utf-8")
    # A body over the route's limit is refused (413) before it is read, whatever it holds.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    callers = [(roles, bearer(data_dir, *roles, organization_id=None if roles == ("admin",) else ORGANIZATION,
                              subject=f"fuzz-{'-'.join(roles)}") if roles else {}) for roles in CALLERS[service]]
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
                for roles, headers in _senders(case, callers):
                    status, problems = _check(case, base_url, session, roles, headers, mode)
                    counts["requests"] += 1
                    counts[f"{status // 100}xx"] += 1
                    if status >= 500:
                        counts["server errors"] += 1
                    failures.extend(problems)

            # schemathesis draws from the global `random` too: seeded here, a run generates the
            # same cases whatever the tests before it did with that state.
            random.seed(f"{SEED}:{operation.label}:{mode.value}")
            try:
                probe()
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                # an operation with no input (GET /healthz) has no invalid form to send
    return counts, failures


@pytest.mark.parametrize("service", sorted(CALLERS))
def test_every_answer_to_a_fuzzed_request_is_what_the_document_says(haven, service):
    started = time.monotonic()
    counts, failures = _fuzz(service, haven.url(service), haven.data_dir)
    # The figures the hardening issue asks for (pytest -s shows them).
    print(f"\nfuzz {service}: {counts['operations']} operations, {counts['requests']} requests "
          f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()) if k.endswith('xx'))}), "
          f"{counts['server errors']} server errors, {len(failures)} failures of any check, "
          f"{time.monotonic() - started:.0f} s")
    assert counts["operations"] >= 5 and counts["requests"] >= counts["operations"] * EXAMPLES
    assert not failures, "\n\n".join(failures[:10])
