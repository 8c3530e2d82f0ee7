"""Member pages: password login and logout, registration, and login throttling."""
import pytest
from playwright.sync_api import expect

from conftest import submit

REGISTER_PHONES = {"phone": "13700001001", "desktop": "13700001002"}


def member_login(page, phone, password):
    page.goto("/login")
    page.fill("#password-login [name=phone]", phone)
    page.fill("#password-login [name=password]", password)
    return submit(page, "#password-login")


def request_code(page, phone):
    page.goto("/register")
    page.fill("#register-code [name=phone]", phone)
    return submit(page, "#register-code")


def finish_registration(page, code, password="Fission2026", agree=True):
    page.fill("#register-form [name=code]", code)
    page.fill("#register-form [name=password]", password)
    page.locator("#register-form [name=agree]").set_checked(agree)
    return submit(page, "#register-form")


def test_member_login_and_logout(page, snap):
    page.goto("/login")
    expect(page.locator("#send-code [name=phone]")).to_be_visible()
    snap(page, "member-login")
    assert member_login(page, "13800138000", "Member2026") == 200
    assert page.url.endswith("/member")
    expect(page.locator("#member-phone")).to_have_text("138****8000")
    expect(page.locator("#member-balance")).to_have_text("¥10,000.00")
    assert "13800138000" not in page.content()
    snap(page, "member-centre")

    with page.expect_navigation():
        page.locator('form[action="/logout"] button').click()
    assert page.url.endswith("/login")
    expect(page.locator("#password-login")).to_be_visible()
    expect(page.locator('form[action="/logout"]')).to_have_count(0)


def test_registration(page, snap, device, registered, sms_code):
    phone = REGISTER_PHONES[device]
    page.goto("/register")
    snap(page, "register")

    assert request_code(page, "12345") == 422
    expect(page.locator("#register-code .field-error")).to_be_visible()
    snap(page, "register-bad-phone")

    # The number is proved with the code sent to it before anything is registered.
    assert request_code(page, phone) == 200
    expect(page.locator("#register-form")).to_be_visible()
    code = sms_code(phone)
    assert finish_registration(page, "000000") == 401
    expect(page.locator(".alert")).to_contain_text("验证码错误或已失效")
    assert finish_registration(page, code, agree=False) == 422
    expect(page.locator("#register-form .field-error")).to_be_visible()
    assert page.url.endswith("/register")
    snap(page, "register-no-agreement")

    assert finish_registration(page, code) == 200
    registered.append(phone)
    assert page.url.endswith("/member")
    expect(page.locator("#member-phone")).to_have_text(f"{phone[:3]}****{phone[-4:]}")
    expect(page.locator("#member-balance")).to_have_text("¥0.00")
    assert phone not in page.content()
    snap(page, "register-member-centre")


@pytest.mark.parametrize("device", ["phone"])
def test_login_throttled_after_five_failures(page, snap, registered, sms_code):
    # A member of its own, so no other test's logins count here.
    phone = "13700001009"
    assert request_code(page, phone) == 200
    assert finish_registration(page, sms_code(phone), password="Throttle2026") == 200
    registered.append(phone)
    with page.expect_navigation():
        page.locator('form[action="/logout"] button').click()
    for _ in range(5):
        assert member_login(page, phone, "Wrong2026") == 401
        expect(page.locator(".alert")).to_contain_text("账号或密码错误")
    snap(page, "member-login-wrong-password")
    assert member_login(page, phone, "Throttle2026") == 429
    expect(page.locator(".alert")).to_contain_text("登录失败次数过多")
    snap(page, "member-login-throttled")
