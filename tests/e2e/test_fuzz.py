"""Fuzzing: schemathesis generates requests from each service's own OpenAPI document and
sends them to a running Haven (`haven run`), signed in as the roles that use the service
and not signed in at all. No request may be answered with a server error, and on a
service whose document is exact (CONFORMING) every answer must match it: every one of
schemathesis' checks (status codes, content types, response schemas and headers, valid
data accepted, invalid data refused, authentication enforced) runs on it.

Valid and invalid examples are generated (schemathesis' positive and negative modes), a
bounded number per operation, with a fixed seed so a failure shows again on the next run.
HAVEN_FUZZ_EXAMPLES raises the count; HAVEN_FUZZ_SEED varies the examples."""
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
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import RejectedPositiveData

from tests.support.auth import bearer
from tests.support.haven_process import RunningHaven

EXAMPLES = int(os.environ.get("HAVEN_FUZZ_EXAMPLES", "8"))
SEED = int(os.environ.get("HAVEN_FUZZ_SEED", "2026"))
ORGANIZATION = "fuzz-agency"
CONFORMING = {"referral"}

# Well-shaped data the domain refuses for a reason no schema can say: it names a record
# that does not exist elsewhere (a directory service the fuzzer invented). 422 naming the
# field is the right answer, not a rejected valid request.
DOMAIN_REFUSALS = {
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
    # 412: an If-Match the fuzzer invented for a table that exists (the kind mappings): a
    # well-formed ETag that is not the current one is stale, whatever the document says.
    "urn:haven:problem:stale-version",
}

# Who calls each service: without a token, and as each role whose work is there.
CALLERS = {
    "directory": [(), ("directory_admin",)],
    "referral": [(), ("caseworker",), ("agency_staff",), ("supervisor",), ("admin",)],
    "notify": [(), ("agency_staff",), ("admin",)],
}


@pytest.fixture(scope="module")
def haven(tmp_path_factory):
    # Webhook URLs the fuzzer invents are pointed at 127.0.0.1 (below), so notify must take
    # loopback targets; nothing is ever sent, because no fuzzed referral reaches a real service.
    running = RunningHaven(tmp_path_factory.mktemp("fuzz") / "data", NOTIFY_WEBHOOK_PRIVATE_TARGETS="true").start()
    yield running
    running.stop()


def _stay_on_this_machine(case) -> None:
    """No invented host name is looked up and no invented address is contacted: every URL
    in a body points at a closed port on loopback (a fuzzer must send traffic nowhere else)."""
    def visit(value):
        if isinstance(value, dict):
            return {key: visit(item) for key, item in value.items()}
        if isinstance(value, list):
            return [visit(item) for item in value]
        if isinstance(value, str) and re.match(r"(?i)^\w+://", value):
            return "http://127.0.0.1:9/fuzz"
        return value

    if isinstance(case.body, (dict, list)):
        case.body = visit(case.body)


def _callers(case, headers: list[dict], service: str) -> list[dict]:
    """Who sends this case: every caller; but a case whose headers are invalid on purpose
    (a missing or malformed Authorization, say) goes as generated, once: a valid token
    laid over it would turn a request that must be refused into one that is served."""
    if service in CONFORMING and case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        return [{}]
    return headers


def _nonconformities(case, response, caller) -> list[str]:
    """What schemathesis' checks find wrong with this answer (none: an empty list)."""
    try:
        case.validate_response(response, headers=caller)
    except FailureGroup as group:
        found = [failure for failure in group.exceptions if not _domain_refusal(failure, response)]
    except Failure as failure:
        found = [] if _domain_refusal(failure, response) else [failure]
    else:
        return []
    return [f"{case.operation.label} -> {response.status_code}: {failure.title}: {failure.message[:300]}\n"
            f"{case.as_curl_command(headers=caller)}\n{response.text[:300]}" for failure in found]


def _domain_refusal(failure, response) -> bool:
    if not isinstance(failure, RejectedPositiveData) or response.status_code not in (412, 422):
        return False
    try:
        return response.json().get("type") in DOMAIN_REFUSALS
    except ValueError:
        return False


def _fuzz(service: str, base_url: str, data_dir) -> tuple[Counter, list[str]]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    headers = [bearer(data_dir, *roles, organization_id=ORGANIZATION, subject=f"fuzz-{'-'.join(roles)}")
               if roles else {} for roles in CALLERS[service]]
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
                for caller in _callers(case, headers, service):
                    response = case.call(base_url=base_url, session=session, headers=caller, timeout=30)
                    counts["requests"] += 1
                    counts[f"{response.status_code // 100}xx"] += 1
                    if response.status_code >= 500:
                        failures.append(f"{operation.label} -> {response.status_code}: "
                                        f"{case.as_curl_command(headers=caller)}\n{response.text[:300]}")
                    elif service in CONFORMING:
                        failures.extend(_nonconformities(case, response, caller))

            try:
                probe()
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                # an operation with no input (GET /healthz) has no invalid form to send
    return counts, failures


@pytest.mark.parametrize("service", sorted(CALLERS))
def test_no_fuzzed_request_is_answered_with_a_server_error(haven, service):
    started = time.monotonic()
    counts, failures = _fuzz(service, haven.url(service), haven.data_dir)
    # The figures the hardening issue asks for (pytest -s shows them; -rA keeps them).
    print(f"\nfuzz {service}: {counts['operations']} operations, {counts['requests']} requests "
          f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()) if k.endswith('xx'))}), "
          f"{len(failures)} {'failures of any check' if service in CONFORMING else 'server errors'}, "
          f"{time.monotonic() - started:.0f} s")
    assert counts["operations"] >= 5 and counts["requests"] >= counts["operations"] * EXAMPLES
    assert not failures, "\n\n".join(failures[:10])
