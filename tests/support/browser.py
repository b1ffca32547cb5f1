"""Debian's Chromium, driven by Playwright (no browser download: `deploy/system-deps.sh
test` installs the `chromium` package), with axe-core scans and screenshots.

Every page a journey visits gets `check_page(page, name)`: an axe scan that fails on any
serious or critical violation, and screenshots at 360 px and 1280 px saved under
test-artifacts/screenshots/ (kept by CI as artifacts, looked at by people).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
WIDTHS = (360, 1280)


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def new_context(browser, base_url: str, *, java_script: bool = True, width: int = 1280, locale: str = "vi-VN"):
    context = browser.new_context(base_url=base_url, java_script_enabled=java_script, locale=locale,
                                  viewport={"width": width, "height": 900}, timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(10_000)
    # Nothing may be asked of any other host: fail the test that tries.
    context.route(re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*"), lambda route: _foreign(route))
    return context


FOREIGN_REQUESTS: list[str] = []


def _foreign(route) -> None:
    FOREIGN_REQUESTS.append(route.request.url)
    route.abort()


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.1 A and AA)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a",
                                                                              "wcag21aa", "best-practice"]}})
    return [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]


def describe(violations: list[dict]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — "
                     + "; ".join(", ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                                 for n in v["nodes"][:5]) for v in violations)


def check_page(page, name: str) -> None:
    """axe scan (no serious or critical violation) and screenshots at 360 and 1280 px."""
    violations = axe_violations(page)
    assert not violations, f"accessibility violations on {name}:\n{describe(violations)}"
    screenshot(page, name)


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size or {"width": 1280, "height": 900}
    safe = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            page.screenshot(path=str(SCREENSHOTS / f"{safe}-{width}.png"), full_page=True)
    finally:
        page.set_viewport_size(original)


def sign_in(page, username: str, password: str = "haven-demo") -> None:
    page.goto("/sign-in")
    page.locator("#field-username").fill(username)
    page.locator("#field-password").fill(password)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    page.wait_for_load_state()


