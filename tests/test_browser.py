"""The email and the web page in a real browser, as published: fetched from the bucket over
HTTP by Debian's chromium, at phone and desktop widths, in light and dark. Screenshots go to
build/screenshots/ (not committed) for a developer to open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser import ARGS, MEASURE, axe_source, axe_violations, box, chromium_path, line_measure, vnu_jar
from tests.conftest import EXAMPLE, ROOT, Project

REVIEWS = ROOT / "tests" / "reviews"
ISSUES = {
    "example": EXAMPLE,
    "raw-html": REVIEWS / "2024-04-28-oke-oka.md",
    "tables": REVIEWS / "2024-05-06-book-shelf.md",
}
SHOTS = ROOT / "build" / "screenshots"
WIDTHS = (375, 800)
SCHEMES = ("light", "dark")


@pytest.fixture(scope="module")
def published(s3_server, speech_cache, tmp_path_factory):
    """The three reviews published with audio to a bucket of their own: {name: (email URL, page URL)}."""
    root = tmp_path_factory.mktemp("browser")
    project = Project(root, s3_server, "browser-pages", speech_cache)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
        env.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
            env.delenv(name, raising=False)
        project.config(email={"address": "Screen Reviews, 1 Example Street, Springfield"})
        with (root / "publish.toml").open("a") as config:  # the sign-up form on every page, measured too
            config.write('[subscriptions]\nservice_url = "https://list.example.com"\n')
        urls = {}
        for name, path in ISSUES.items():
            result = project.publish(path)
            assert result.exit_code == 0, result.output
            summary = json.loads(result.stdout)
            urls[name] = (summary["web_url"].replace("index.html", "email.html"), summary["web_url"])
    return urls


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield launched
        launched.close()


def open_page(browser, url: str, width: int, scheme: str):
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme, device_scale_factor=1)
    page = context.new_page()
    page.goto(url, wait_until="load")
    return context, page


def readable(page) -> dict:
    """What every page must be: no sideways scroll, no broken image, every text at 4.5:1 or better."""
    found = page.evaluate(MEASURE)
    assert found["scrollWidth"] <= found["width"], "the reader must scroll sideways"
    assert found["broken"] == [], "broken images"
    assert found["faint"] == [], f"text under 4.5:1 contrast (lowest {found['minimum']:.2f})"
    return found


CASES = [
    (name, kind, width, scheme)
    for name in ISSUES
    for kind in ("email", "page")
    for width in WIDTHS
    for scheme in SCHEMES
]


@pytest.mark.parametrize("name,kind,width,scheme", CASES, ids=["-".join(map(str, c)) for c in CASES])
def test_what_a_reader_sees(published, browser, name, kind, width, scheme):
    email_url, page_url = published[name]
    context, page = open_page(browser, email_url if kind == "email" else page_url, width, scheme)
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{kind}-{width}-{scheme}.png"), full_page=True)
        found = readable(page)
        if scheme == "dark":
            light = [r for r in found["lightRules"] if r["lum"] > 0.6 and r["bg"] < 0.1]
            assert light == [], "rules that stay near-white on the dark page"
        if kind == "email":
            listen = page.get_by_role("link", name="Listen to this review")
            assert listen.count() == 1
            unsubscribe = page.get_by_role("link", name="Unsubscribe")
            assert page.get_by_role("link", name="Subscribe", exact=True).get_attribute("href") == (
                "https://list.example.com/subscribe"
            )
            targets = [listen, unsubscribe]
        else:
            targets = [page.locator("audio"), page.get_by_role("button", name="Subscribe", exact=True)]
        for target in targets:
            where = box(page, target.first)
            assert where["x"] >= 0 and where["x"] + where["width"] <= width, "outside the viewport"
        if kind == "email" and width == 375:
            size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.review p')).fontSize)")
            assert 17 <= size <= 18
        if kind == "email" and width == 800 and name == "example":
            assert 60 <= line_measure(page, ".review p") <= 75
    finally:
        context.close()


HOME_CASES = [(width, scheme) for width in WIDTHS for scheme in SCHEMES]


@pytest.mark.parametrize("width,scheme", HOME_CASES, ids=[f"{w}-{s}" for w, s in HOME_CASES])
def test_the_shows_home_page(published, browser, width, scheme):
    home = published["example"][1].split("/episodes/")[0] + "/index.html"
    context, page = open_page(browser, home, width, scheme)
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"home-{width}-{scheme}.png"), full_page=True)
        readable(page)
        titles = page.locator("ol.issues h3").all_text_contents()
        assert len(titles) == 3 and "All of Us Are Dead" in titles
        assert page.locator("ol.issues audio").count() == 3
        # Issue 29, item 8: each player shows its length before it is played (it said 0:00 / 0:00).
        page.wait_for_function("[...document.querySelectorAll('ol.issues audio')].every((a) => a.duration > 0)")
        assert page.locator("#feed-url").input_value().endswith("/feed.xml")
        signup = page.get_by_label("Get Screen Reviews by email")
        assert signup.is_visible() and signup.get_attribute("type") == "email"
        assert page.locator("form.signup").get_attribute("action") == "https://list.example.com/subscribe"
        trap = page.locator("#signup-website").bounding_box()  # the honeypot: off-screen, never in the way
        assert trap is None or trap["x"] + trap["width"] <= 0
        subscribe = page.get_by_role("button", name="Subscribe", exact=True)
        for target in (page.locator("#copy-feed"), page.locator("ol.issues audio").first, signup, subscribe):
            where = box(page, target)
            assert where["x"] >= 0 and where["x"] + where["width"] <= width, "outside the viewport"
    finally:
        context.close()


def test_axe_finds_nothing_on_the_email_the_pages_and_the_service(published, browser):
    """Issue 29, item 9: axe-core found landmark-one-main and region on the email. Every page a
    reader meets, as published (and the service's, as it answers), in light and dark."""
    from pipeline.config import load_config
    from pipeline.mail.notices import confirmation_notice
    from pipeline.mail.pages import service_page

    source = axe_source()
    home = published["example"][1].split("/episodes/")[0] + "/index.html"
    urls = [home, *(url for pair in published.values() for url in pair)]
    config = load_config(None)
    local = {
        "confirmation email": confirmation_notice(config).html,
        "unsubscribe page": service_page(
            config,
            200,
            "Unsubscribe?",
            "No more emails.",
            address="a@example.com",
            hidden={"token": "t"},
            button="Unsubscribe",
        ).body.decode(),
        "sign-up page": service_page(config, 200, "Subscribe", "Each new issue.", signup=True).body.decode(),
    }
    found = {}
    for scheme in SCHEMES:
        context = browser.new_context(color_scheme=scheme)
        try:
            for url in urls:
                page = context.new_page()
                page.goto(url, wait_until="load")
                found[f"{url} {scheme}"] = axe_violations(page, source)
            for name, html in local.items():
                page = context.new_page()
                page.set_content(html)
                found[f"{name} {scheme}"] = axe_violations(page, source)
        finally:
            context.close()
    assert {where: v for where, v in found.items() if v} == {}


# What MJML writes for Outlook and Apple Mail, which a validator of web pages does not know:
# the VML and Office namespaces, mso-* CSS, and Apple's supported-color-schemes.
MAIL_CLIENT_MARKUP = (
    "Attribute “xmlns:v” not allowed",
    "Attribute “xmlns:o” not allowed",
    "CSS: “mso-",
    "CSS: “supported-color-schemes”",
)


def test_the_w3c_validator_finds_no_error_of_ours(published, tmp_path):
    """Issue 29, item 9: the Nu validator found <time>0:23</time> without a datetime in the
    chapter list and MJML's vertical-align attribute on the Listen button's <td>."""
    import subprocess

    from tests.conftest import http_get

    home = published["example"][1].split("/episodes/")[0] + "/index.html"
    files = []
    for n, url in enumerate([home, *(url for pair in published.values() for url in pair)]):
        files.append(tmp_path / f"{n}.html")
        files[-1].write_bytes(http_get(url)[2])
    report = subprocess.run(
        ["java", "-jar", vnu_jar(), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(report.stderr or report.stdout)["messages"]
    ours = [m for m in messages if not any(m["message"].startswith(skip) for skip in MAIL_CLIENT_MARKUP)]
    assert ours == [], [(Path(m["url"]).name, m.get("lastLine"), m["message"]) for m in ours]


# An MP3 seek lands on a frame boundary (26 ms): some browsers land before the time asked for.
# The page must mark what was clicked all the same, so the test's audio lands 20 ms early.
EARLY_SEEK = """() => {
  const own = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'currentTime');
  Object.defineProperty(HTMLMediaElement.prototype, 'currentTime', {configurable: true,
    get() { return own.get.call(this); }, set(t) { own.set.call(this, Math.max(0, t - 0.02)); }});
}"""


def test_the_page_follows_the_audio_and_seeks_on_a_click(published, browser):
    """A click on a sentence or a word of the transcript seeks there and marks what was
    clicked, every time: each wait is for the exact state asserted, never for "something
    marked" (the mark from the click before already satisfies that)."""
    context, page = open_page(browser, published["example"][1], 800, "light")
    try:
        page.locator(".transcript summary").click()
        cues = page.locator(".transcript .cue")
        assert cues.count() > 50
        chapters = page.locator(".chapters li")
        assert chapters.count() == 0 or chapters.count() >= 2
        page.evaluate("() => { HTMLMediaElement.prototype.play = function () { return Promise.resolve(); }; }")
        page.evaluate(EARLY_SEEK)
        for n in (10, 3, 25):
            target = cues.nth(n)
            start = float(target.get_attribute("data-seek"))
            target.click()
            page.wait_for_function(
                "(t) => Math.abs(document.querySelector('audio').currentTime - t) < 0.1", arg=start, timeout=10_000
            )
            page.wait_for_function(
                "(el) => el.classList.contains('current') && document.querySelectorAll('.cue.current').length === 1",
                arg=target.element_handle(),
                timeout=10_000,
            )
        page.wait_for_function("() => document.querySelectorAll('.cue .w').length > 500", timeout=10_000)
        # The first word of a sentence (its start is the end of the word before: a seek that lands
        # a frame early must still mark it), words inside sentences, and back again.
        for n, w in ((12, 2), (12, 0), (20, 0), (20, 3), (12, 2), (30, 0), (5, 1), (31, 0)):
            word = cues.nth(n).locator(".w").nth(w)
            word.click()
            page.wait_for_function(
                "(el) => el.classList.contains('now') && document.querySelectorAll('.w.now').length === 1",
                arg=word.element_handle(),
                timeout=10_000,
            )
        assert cues.nth(12).text_content().split() == [w.text_content() for w in cues.nth(12).locator(".w").all()]
    finally:
        context.close()


def test_an_embedded_video_loads_nothing_from_its_host_until_the_reader_presses_play(published, browser):
    """Issue 29, item 8: the raw-HTML review's YouTube embed is a click-to-load player on the
    page (the email keeps the link): no request leaves for YouTube before the click."""
    context = browser.new_context(viewport={"width": 800, "height": 800})
    hosts: list[str] = []

    def answer(route):
        hosts.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>player</title>")

    context.route("**/*", lambda route: answer(route) if "youtube" in route.request.url else route.continue_())
    try:
        page = context.new_page()
        page.goto(published["raw-html"][1], wait_until="networkidle")
        figure = page.locator("figure.embed")
        assert figure.count() == 1 and hosts == []
        assert "Loads from YouTube when you press play" in figure.inner_text()
        assert figure.locator("a").get_attribute("href") == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
        figure.locator("button").click()
        frame = page.locator("figure.embed iframe")
        frame.wait_for(timeout=10_000)
        assert frame.get_attribute("title") == "Player from YouTube"
        page.wait_for_function("() => document.activeElement.tagName === 'IFRAME'", timeout=10_000)
        assert hosts and all(h.startswith("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ") for h in hosts)
        email = page.context.new_page()
        email.goto(published["raw-html"][0], wait_until="load")
        assert email.locator("figure.embed").count() == 0
        assert email.get_by_text("Watch on YouTube").get_attribute("href").startswith("https://www.youtube.com/")
    finally:
        context.close()


def test_reference_screenshots_are_committed():
    """The README shows these; regenerate with `make screenshots` after a change of design."""
    for name in ("email-phone.png", "email-desktop.png", "page-phone.png"):
        assert (ROOT / "docs" / "screenshots" / name).stat().st_size > 10_000, name
    assert "docs/screenshots/email-phone.png" in (ROOT / "README.md").read_text()
