"""A shared link on a phone: the visitor browses, registers, pays, and is bound to the sharer, who
sees the commission — once for each binding trigger. Then the sharer's poster and share block."""
import json
import time
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from conftest import submit
from test_member import finish_registration, member_login, request_code

TRIGGERS = ["visit", "registration", "first_paid_order"]


def api(server, path, token=None, body=None, method=None):
    request = urllib.request.Request(server + path, data=json.dumps(body).encode() if body is not None else None, method=method,
                                     headers={"Content-Type": "application/json", **({"Authorization": "Bearer " + token} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response) if response.status != 204 else None


def boss(server):
    return api(server, "/api/v1/auth/staff-login", body={"username": "admin", "password": "Admin2026", "console": "platform"})["accessToken"]


def member(server, phone, password):
    return api(server, "/api/v1/auth/login", body={"phone": phone, "password": password})["accessToken"]


def sharer(server):
    """The demo member 13900139000 as an approved distributor: its token and link code."""
    token = member(server, "13900139000", "Member2026")
    mine = api(server, "/api/v1/distribution/me", token)
    if mine.get("distributor") is None:
        agreement = api(server, "/api/v1/distribution/agreement", token)
        answers = {field: "demo-wechat" for field in agreement["formFields"]}
        applied = api(server, "/api/v1/distribution/apply", token, {"kind": "individual", "realName": "韩梅梅", "idNumber": "11010519491231002X",
                                                                   "answers": answers, "agreementVersion": agreement["version"], "agree": True})
        api(server, f"/api/v1/admin/distribution/distributors/{applied['memberId']}/decision", boss(server), {"decision": "approve"})
        mine = api(server, "/api/v1/distribution/me", token)
    assert mine["distributor"]["status"] == "active"
    return token, mine["distributor"]["code"]


def set_trigger(server, trigger):
    token = boss(server)
    config = api(server, "/api/v1/admin/distribution/settings", token)
    config["binding"]["trigger"] = trigger
    api(server, "/api/v1/admin/distribution/settings", token, config, method="PUT")


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_shared_link_binds_through_registration_and_payment(page, server, device, sms_code, snap, trigger):
    # Phones are where shared links are opened; registrations also share one address's SMS budget.
    if device != "phone":
        pytest.skip("a shared link is followed on a phone")
    set_trigger(server, trigger)
    sharer_token, code = sharer(server)
    before = {c["id"] for c in api(server, "/api/v1/distribution/commissions", sharer_token)}

    # The visitor opens the shared product link, anonymous, and browses.
    page.goto("/search?q=润唇膏")
    product_url = page.locator(".product-card a, a.card").filter(has_text="润唇膏").first.get_attribute("href")
    product_id = product_url.rstrip("/").rsplit("/", 1)[1]
    page.goto(f"/s/{code}/p/{product_id}")
    assert page.url.lower().endswith(f"/products/{product_id}".lower())
    page.goto("/")
    page.goto(product_url)

    # Registers, adds an address, buys one and pays in the sandbox.
    phone = "1370003" + str(TRIGGERS.index(trigger)) + ("1" if device == "phone" else "2") + "00"
    assert request_code(page, phone) == 200
    assert finish_registration(page, sms_code(phone)) == 200
    buyer_token = member(server, phone, "Fission2026")
    buyer_id = api(server, "/api/v1/me", buyer_token)["member"]["id"]
    binding = api(server, f"/api/v1/admin/distribution/bindings/{buyer_id}", boss(server))
    if trigger == "first_paid_order":
        assert binding.get("distributorId") is None, "bound before the first paid order"
    else:
        assert binding.get("distributorId") is not None, f"not bound at {trigger}"
    page.goto("/member/addresses")
    page.fill("#address-form [name=receiverName]", "李雷")
    page.fill("#address-form [name=phone]", "13912345678")
    page.select_option("#address-form [name=provinceCode]", "31")
    page.fill("#address-form [name=city]", "上海市")
    page.fill("#address-form [name=district]", "黄浦区")
    page.fill("#address-form [name=detail]", "人民大道 200 号")
    assert submit(page, "#address-form") == 200
    page.goto(product_url)
    with page.expect_navigation():
        page.locator("#buy-now").click()
    with page.expect_navigation():
        page.locator("#place-order").click()
    assert "/pay/" in page.url
    page.locator("input[value=sandbox]").check()
    with page.expect_navigation():
        page.locator("#pay-now").click()
    with page.expect_navigation():
        page.locator("#sandbox-pay").click()
    expect(page.locator(".notice")).to_contain_text("支付成功")
    snap(page, f"bound-paid-{trigger}")

    # Bound to the sharer, who sees a pending commission of 10 % of what was paid within seconds.
    mine = api(server, "/api/v1/me/orders", buyer_token)
    order_ids = {o["id"].lower() for o in (mine["items"] if isinstance(mine, dict) else mine)}
    deadline = time.monotonic() + 20
    fresh = []
    while time.monotonic() < deadline and not fresh:
        fresh = [c for c in api(server, "/api/v1/distribution/commissions", sharer_token) if c["orderId"].lower() in order_ids]
        time.sleep(0.5)
    assert len(fresh) == 1, "no commission appeared"
    binding = api(server, f"/api/v1/admin/distribution/bindings/{buyer_id}", boss(server))
    sharer_id = api(server, "/api/v1/distribution/me", sharer_token)["distributor"]["memberId"]
    assert binding["distributorId"].lower() == sharer_id.lower()
    # An anonymous visitor is known from registration on: with "visit" the link's cookie binds then.
    assert binding["history"][-1]["trigger"] == ("registration" if trigger == "visit" else trigger)
    order = api(server, "/api/v1/me/orders/" + fresh[0]["orderId"], buyer_token)
    goods = sum(line["paidAmount"]["fen"] for line in order["lines"])
    assert fresh[0]["amount"]["fen"] == goods // 10
    assert fresh[0]["state"] == "pending"
    assert "*" in fresh[0]["buyer"]


def test_distributor_centre_share_block_and_poster(page, server, device, snap):
    sharer(server)
    assert member_login(page, "13900139000", "Member2026") == 200
    page.goto("/distribution")
    expect(page.locator("#dist-status")).to_have_attribute("data-status", "active")
    expect(page.locator("#dist-link")).to_contain_text("/s/")
    snap(page, "distributor-centre")
    page.goto("/search?q=润唇膏")
    page.locator(".product-card a, a.card").filter(has_text="润唇膏").first.click()
    expect(page.locator("#share-earn")).to_contain_text("¥")
    page.locator("#share-block summary").click()
    expect(page.locator("#share-qr")).to_be_visible()
    poster = page.locator("#share-poster").get_attribute("href")
    response = page.request.get(poster)
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.body()[:8] == b"\x89PNG\r\n\x1a\n"
    snap(page, "share-block")
