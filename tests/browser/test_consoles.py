"""Operator and merchant consoles: login, what each sees, and refusal at the wrong console."""
import datetime
import re

import pytest
from playwright.sync_api import expect

from conftest import submit


def staff_login(page, console, username, password):
    page.goto(f"/{console}/login")
    page.fill("#staff-login [name=username]", username)
    page.fill("#staff-login [name=password]", password)
    return submit(page, "#staff-login")


def test_operator_console(page, snap, registered):
    page.goto("/admin/login")
    snap(page, "admin-login")
    assert staff_login(page, "admin", "admin", "Admin2026") == 200
    assert page.url.endswith("/admin")
    expect(page.locator("#member-count")).to_have_text(str(2 + len(registered)))
    expect(page.locator("#merchant-count")).to_have_text("2")
    expect(page.locator("#ledger-status")).to_have_text("账本平衡")
    merchants = page.locator("table:not(#audit-log)")
    expect(merchants).to_contain_text("裂变商城自营")
    expect(merchants).to_contain_text("暖暖母婴旗舰店")
    newest = page.locator("#audit-log tbody tr").first.locator("td")
    expect(newest).to_have_text([re.compile(r"^\d{4}-\d\d-\d\d "), "admin", "staff.login", "staff:admin"])
    expect(page.locator('form[action="/logout"] button')).to_be_visible()
    snap(page, "admin-console")

    page.locator("a.lang").click()
    expect(page.locator("#ledger-status")).to_have_text("Ledger balanced")
    snap(page, "admin-console-en")


@pytest.mark.parametrize("username, merchant, own, others", [
    ("nuannuan", "暖暖母婴旗舰店", ["nuannuan", "nuannuan-kefu"], ["ziying"]),
    ("ziying", "裂变商城自营", ["ziying"], ["nuannuan", "nuannuan-kefu"]),
])
def test_merchant_console(page, snap, username, merchant, own, others):
    page.goto("/merchant/login")
    snap(page, "merchant-login")
    assert staff_login(page, "merchant", username, "Shop2026") == 200
    assert page.url.endswith("/merchant")
    expect(page.locator("#merchant-name")).to_have_text(merchant)
    expect(page.locator("#staff-list tbody td:first-child")).to_have_text(own)
    for name in others:
        expect(page.locator("#staff-list")).not_to_contain_text(name)
    snap(page, f"merchant-console-{username}")


@pytest.mark.parametrize("console, username, password", [
    ("merchant", "admin", "Admin2026"),
    ("admin", "nuannuan", "Shop2026"),
])
def test_wrong_console_is_refused(page, snap, console, username, password):
    assert staff_login(page, console, username, password) == 403
    expect(page.locator(".alert")).to_contain_text("该账号不能登录此后台")
    assert page.url.endswith(f"/{console}/login")
    snap(page, f"{console}-login-refused")


def test_merchant_creates_a_group_buy_on_the_marketing_console(page, snap):
    assert staff_login(page, "merchant", "nuannuan", "Shop2026") == 200
    page.goto("/merchant/marketing")
    form = "#group-buy-create"
    page.fill(f"{form} [name=name]", "浏览器拼团")
    page.fill(f"{form} [name=price]", "abc")
    assert submit(page, form) == 422
    expect(page.locator("#groupbuy-error")).to_contain_text("请输入金额，如 20 或 19.90")
    expect(page.locator(f"{form} [name=name]")).to_have_value("浏览器拼团")
    expect(page.locator(f"{form} [name=price]")).to_have_value("abc")
    snap(page, "merchant-marketing-refused")
    page.fill(f"{form} [name=price]", "0.01")
    assert submit(page, form) == 200
    assert page.url.endswith("/merchant/marketing")
    expect(page.locator("#activities")).to_contain_text("浏览器拼团")
    snap(page, "merchant-marketing-created")


def test_merchant_changes_a_group_buy_before_it_starts(page, snap):
    assert staff_login(page, "merchant", "nuannuan", "Shop2026") == 200
    page.goto("/merchant/marketing")
    form = "#group-buy-create"
    china = datetime.timezone(datetime.timedelta(hours=8))
    start = datetime.datetime.now(china) + datetime.timedelta(days=1)
    page.fill(f"{form} [name=name]", "明日拼团")
    page.fill(f"{form} [name=price]", "0.01")
    page.fill(f"{form} [name=startsAt]", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill(f"{form} [name=endsAt]", (start + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    assert submit(page, form) == 200
    page.locator("#activities a", has_text="明日拼团").click()
    edit = "#activity-edit-form"
    expect(page.locator("#activity-edit")).to_contain_text("活动开始前可以修改任何内容")
    expect(page.locator(f"{edit} [name=price]")).to_have_value("0.01")
    page.fill(f"{edit} [name=price]", "abc")
    assert submit(page, edit) == 200
    expect(page.locator(".notice")).to_contain_text("请输入金额，如 20 或 19.90")
    expect(page.locator(f"{edit} [name=price]")).to_have_value("0.01")
    page.fill(f"{edit} [name=name]", "明日三人团")
    page.fill(f"{edit} [name=price]", "0.02")
    page.fill(f"{edit} [name=size]", "3")
    assert submit(page, edit) == 200
    expect(page.locator(".notice")).to_contain_text("已保存")
    expect(page.locator("h1")).to_contain_text("明日三人团")
    expect(page.locator(f"{edit} [name=price]")).to_have_value("0.02")
    expect(page.locator(f"{edit} [name=size]")).to_have_value("3")
    snap(page, "merchant-marketing-edited")
