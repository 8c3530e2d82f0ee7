"""Storefront pages: home in both languages, the 404 page, CSRF protection."""
import pytest
from playwright.sync_api import expect


def test_home_switches_language(page, snap):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("h1")).to_have_text("好物分享，人人都是推广员")
    snap(page, "home-zh")

    page.locator("a.lang").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Everyone can be a distributor")
    assert page.url.endswith("/")
    assert any(c["name"] == "lang" and c["value"] == "en" for c in page.context.cookies())
    snap(page, "home-en")

    page.locator("a.lang").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("h1")).to_have_text("好物分享，人人都是推广员")


@pytest.mark.parametrize("device", ["desktop"])
def test_language_switch_stays_on_site(page, server):
    page.goto("/")
    for back in ["https://example.invalid/", "//example.invalid/", "/\\example.invalid/"]:
        response = page.request.get("/lang", params={"to": "en", "back": back}, max_redirects=0)
        target = page.evaluate("to => new URL(to, location.href).origin", response.headers["location"])
        assert target == server, f"back={back!r} redirects to {response.headers['location']!r}"


def test_accept_language_english(new_context, snap):
    page = new_context(locale="en-US").new_page()
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    snap(page, "member-login-en")


def test_unknown_page_is_404(page, snap):
    response = page.goto("/no-such-page")
    assert response.status == 404
    expect(page.locator(".status-code")).to_have_text("404")
    snap(page, "not-found")


def test_post_without_csrf_is_refused(page):
    page.goto("/login")
    response = page.request.post("/login", form={"phone": "13800138000", "password": "Member2026"}, max_redirects=0)
    assert response.status == 403
