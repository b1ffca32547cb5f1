"""Make the README's screenshots from a real Haven with its demo data:

    .venv/bin/python -m tests.e2e.portal.make_readme_screenshots

- docs/screenshots/search-360.png: a caseworker's search results on a phone (360 px);
- docs/screenshots/inbox-1280.png: the demo shelter's inbox on a desktop, with a few
  referrals in it (sent here through the referral API as a caseworker would);
- docs/screenshots/ops-1280.png: the indicators of the programme year that ended last, as ops
  see them, from the demo data's referrals.

Run by hand when the pages change, look at the pictures, and commit them; CI does not
run it (docs/ is not rewritten on every run). It starts its own `haven run` in a temporary
folder on free ports and stops it at the end.
"""
from __future__ import annotations

import sys
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from tests.support import browser as browsers
from tests.support.haven_process import RunningHaven

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
LIMIT = 300_000  # bytes: the README stays light


def login(haven, username: str) -> dict:
    answer = requests.post(haven.url("referral") + "/v1/auth/login", timeout=10,
                           json={"username": username, "password": "haven-demo"})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def fill_the_inbox(haven) -> None:
    """A few referrals to the demo shelter, at different urgencies and steps."""
    agency = login(haven, "demo-agency")
    caseworker = login(haven, "demo-caseworker")
    organization = requests.get(haven.url("referral") + "/v1/auth/me", headers=agency, timeout=10).json()
    services = requests.get(haven.url("directory") + "/v1/services", headers=agency, timeout=10,
                            params={"organization_id": organization["organization_id"]}).json()["items"]
    ours = [s["id"] for s in services if s["status"] == "active"]
    consented = (datetime.now(timezone.utc) - timedelta(minutes=20)).isoformat()
    sent = []
    for n, (urgency, risk) in enumerate([("emergency", "severe"), ("high", "high"), ("normal", "medium"),
                                         ("high", "medium"), ("normal", "low")]):
        answer = requests.post(haven.url("referral") + "/v1/referrals", headers=caseworker, timeout=10, json={
            "receiving_service_id": ours[n % len(ours)], "urgency": urgency, "risk_level": risk,
            "profile": {"client_ref": f"DEMO-{uuid.uuid4().hex[:6]}", "age_group": "25_59", "gender": "female"},
            "consent": {"given": True, "obtained_by": "demo-caseworker", "obtained_at": consented,
                        "scope": ["contact", "needs"]}})
        answer.raise_for_status()
        sent.append(answer.json()["id"])
    for referral, steps in ((sent[1], ["acknowledge"]), (sent[3], ["acknowledge", "accept"])):
        for step in steps:
            requests.post(f"{haven.url('referral')}/v1/referrals/{referral}/{step}", json={}, headers=agency,
                          timeout=10).raise_for_status()


def shoot(page, path: Path) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > page.viewport_size["width"]:  # a clipped picture would show the README a broken page
        print(f"warning: {page.url} is {wide} px wide at {page.viewport_size['width']} px: it scrolls sideways "
              "(see test-artifacts/too-wide.txt); fix the CSS and make the screenshots again", file=sys.stderr)
    page.screenshot(path=str(path), full_page=False)
    size = path.stat().st_size
    print(f"{path} ({size // 1024} KB)")
    if size > LIMIT:
        raise SystemExit(f"{path} is {size} bytes: over {LIMIT}; make the viewport smaller")


def main() -> int:
    from playwright.sync_api import sync_playwright

    DOCS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="haven-screenshots-") as folder:
        haven = RunningHaven(folder).start(timeout=120)
        try:
            fill_the_inbox(haven)
            with sync_playwright() as playwright:
                chromium = browsers.launch(playwright)
                try:
                    phone = browsers.new_context(chromium, haven.url("portal"), width=360)
                    page = phone.new_page()
                    page.set_viewport_size({"width": 360, "height": 1100})
                    browsers.sign_in(page, "demo-caseworker")
                    page.goto("/search?q=nha+tam+lanh&kind=shelter")
                    page.locator("#results-heading").wait_for()
                    shoot(page, DOCS / "search-360.png")

                    desktop = browsers.new_context(chromium, haven.url("portal"), width=1280)
                    page = desktop.new_page()
                    page.set_viewport_size({"width": 1280, "height": 860})
                    browsers.sign_in(page, "demo-agency")
                    page.goto("/inbox")
                    page.locator("#inbox-list").wait_for()
                    shoot(page, DOCS / "inbox-1280.png")

                    ops = browsers.new_context(chromium, haven.url("portal"), width=1280)
                    page = ops.new_page()
                    page.set_viewport_size({"width": 1280, "height": 1500})
                    browsers.sign_in(page, "demo-ops")  # lands on the indicators
                    # the programme year just ended (what agencies report on in December), not
                    # the one that began on 1 December
                    page.locator(".ops-years a").nth(1).click()
                    page.locator("h1").wait_for()
                    shoot(page, DOCS / "ops-1280.png")
                finally:
                    chromium.close()
        finally:
            haven.stop()
            haven.kill_everything()
    return 0


if __name__ == "__main__":
    sys.exit(main())
