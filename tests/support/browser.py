"""Debian's Chromium, driven by Playwright (no browser download: `deploy/system-deps.sh
test` installs the `chromium` package), with axe-core scans and screenshots.

Every page a journey visits gets `check_page(page, name)`: an axe scan that fails on any
serious or critical violation, and screenshots at 360 px and 1280 px saved under
test-artifacts/screenshots/ (kept by CI as artifacts, looked at by people).

A page opened with JavaScript disabled is scanned too, as a person without JavaScript gets
it: Chromium then runs no microtask, so axe (all promises) would wait for ever inside it.
Its DOM (`page.content()` needs no page script) is loaded into a scanning page of its own
at the same address, width and style sheets, with every script removed, and axe runs there.
A page laid out wider than a width it is shot at is noted in test-artifacts/too-wide.txt.
"""
from __future__ import annotations

import re
import struct
import warnings
import weakref
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
TOO_WIDE = ARTIFACTS / "too-wide.txt"  # pages that scroll sideways at a width (a phone must not)
WIDTHS = (360, 1280)


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def new_context(browser, base_url: str, *, java_script: bool = True, width: int = 1280, locale: str = "vi-VN"):
    context = browser.new_context(base_url=base_url, java_script_enabled=java_script, locale=locale,
                                  viewport={"width": width, "height": 900}, timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(10_000)
    _RUNS_SCRIPTS[context] = java_script
    # Nothing may be asked of any other host: fail the test that tries.
    context.route(re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*"), lambda route: _foreign(route))
    return context


FOREIGN_REQUESTS: list[str] = []


def _foreign(route) -> None:
    FOREIGN_REQUESTS.append(route.request.url)
    route.abort()


AXE_SECONDS = 30  # a scan takes 1-3 s here; a hung one fails in this time, not at the test's timeout
AXE_RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
             "resultTypes": ["violations"]}
_RUNS_SCRIPTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # what new_context opened, JS on or off
_SCRIPT = re.compile(r"(?is)<script\b.*?</script\s*>")
_NOSCRIPT = re.compile(r"(?i)<(/?)noscript\b")


def runs_scripts(page) -> bool:
    """Whether the page's own scripts run. Contexts from new_context say so; for any other,
    a microtask is asked for (it never runs with JavaScript off) and waited on briefly."""
    if page.context in _RUNS_SCRIPTS:
        return _RUNS_SCRIPTS[page.context]
    try:
        page.wait_for_function("() => new Promise(done => queueMicrotask(() => done(true)))", timeout=1500)
        return True
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: no microtask ran
        return False


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.1 A and AA)."""
    if runs_scripts(page):
        return _scan(page)
    return _scan_without_scripts(page)


def _scan(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    # Started, then waited on with a deadline: a scan that never ends fails here, clearly.
    page.evaluate(Axe().axe_script)
    page.evaluate("""options => { window.__havenAxe = undefined;
        axe.run(document, options).then(found => { window.__havenAxe = {violations: found.violations}; },
                                         failed => { window.__havenAxe = {error: String(failed)}; }); }""",
                  AXE_RULES)
    try:
        page.wait_for_function("() => window.__havenAxe !== undefined", timeout=AXE_SECONDS * 1000, polling=100)
    except Exception as exc:  # noqa: BLE001 - playwright's TimeoutError, said in plain words
        raise AssertionError(f"the axe scan of {page.url} did not finish in {AXE_SECONDS} s") from exc
    found = page.evaluate("() => window.__havenAxe")
    assert "error" not in found, f"the axe scan of {page.url} failed: {found['error']}"
    return [v for v in found["violations"] if v.get("impact") in ("serious", "critical")]


def _scan_without_scripts(page) -> list[dict]:
    """Scan what a person without JavaScript sees: the page's DOM with no script in it,
    served at its own address (so its style sheets and relative links are the same), in a
    scanning page that runs only axe. <noscript> content is what she sees, so it is kept
    as an ordinary element (a page that runs scripts would not show it)."""
    html = _NOSCRIPT.sub(lambda tag: "</div" if tag.group(1) else "<div data-noscript",
                         _SCRIPT.sub("", page.content()))
    url = page.url
    scanner = page.context.browser.new_context(java_script_enabled=True, locale="vi-VN",
                                               viewport=page.viewport_size or {"width": 1280, "height": 900},
                                               timezone_id="Asia/Ho_Chi_Minh")
    try:
        scanner.set_default_timeout(10_000)
        scanner.route(re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*"), lambda route: _foreign(route))
        scanner.route(re.compile(r".*\.js(\?.*)?$"), lambda route: route.abort())  # none should be asked; none runs
        scanner_page = scanner.new_page()
        scanner_page.route(lambda asked: asked == url,
                           lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
        scanner_page.goto(url)
        return _scan(scanner_page)
    finally:
        scanner.close()


def describe(violations: list[dict]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — "
                     + "; ".join(", ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                                 for n in v["nodes"][:5]) for v in violations)


def check_page(page, name: str) -> None:
    """axe scan (no serious or critical violation) and screenshots at 360 and 1280 px."""
    violations = axe_violations(page)
    assert not violations, f"accessibility violations on {name} ({page.url}):\n{describe(violations)}"
    screenshot(page, name)


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size or {"width": 1280, "height": 900}
    safe = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            path = SCREENSHOTS / f"{safe}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            _note_if_too_wide(path, page.url, width)
    finally:
        page.set_viewport_size(original)


def _note_if_too_wide(path: Path, url: str, width: int) -> None:
    """A page wider than the screen makes a phone user scroll sideways for every line. The
    full-page screenshot is as wide as the page is laid out (no page script needed, so this
    works with JavaScript off): a wider one is said as a warning and in
    test-artifacts/too-wide.txt, for people to look at."""
    with path.open("rb") as png:
        laid_out = struct.unpack(">I", png.read(24)[16:20])[0]  # the IHDR width
    if laid_out > width:
        line = f"{path.name}: the page is {laid_out} px wide at {width} px ({url})"
        with TOO_WIDE.open("a", encoding="utf-8") as notes:
            notes.write(line + "\n")
        warnings.warn(f"page scrolls sideways: {line}", stacklevel=3)


def sign_in(page, username: str, password: str = "haven-demo") -> None:
    page.goto("/sign-in")
    page.locator("#field-username").fill(username)
    page.locator("#field-password").fill(password)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    page.wait_for_load_state()


