"""One Haven (`haven run`: the portal and the three services, demo data) for the portal's
browser journeys (the one Chromium is tests/conftest.py's `chromium`). Each journey takes fresh browser contexts (a context is
one person's browser: its own cookies)."""
from __future__ import annotations

import pytest

from tests.support import browser as browsers
from tests.support.haven_process import RunningHaven


@pytest.fixture(scope="session")
def haven(tmp_path_factory):
    running = RunningHaven(tmp_path_factory.mktemp("portal-haven"), REFERRAL_SLA_CHECK_SECONDS="1").start(timeout=120)
    yield running
    try:
        running.stop()
    finally:
        running.kill_everything()


@pytest.fixture(scope="session")
def portal_url(haven) -> str:
    return haven.url("portal")


@pytest.fixture
def new_person(chromium, portal_url):
    """`new_person(java_script=True, width=1280)`: a fresh browser context (one person's
    browser, its own cookies) on the portal; closed after the test."""
    opened = []

    def open_context(**options):
        context = browsers.new_context(chromium, portal_url, **options)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()
    assert not browsers.FOREIGN_REQUESTS, f"pages asked other hosts: {browsers.FOREIGN_REQUESTS}"
