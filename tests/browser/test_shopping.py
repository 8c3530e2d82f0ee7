"""Buying as a new member would: two shops in one checkout paid in the sandbox, one parcel
shipped, one order picked up in a store, one unit of a three-unit line returned and refunded."""
import json
import re
import urllib.request

from playwright.sync_api import expect

from conftest import submit
from test_consoles import staff_login
from test_member import finish_registration, member_login, request_code

PHONES = {"phone": "13700002001", "desktop": "13700002002"}


def api(server, path, token=None, body=None):
    request = urllib.request.Request(server + path, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", **({"Authorization": "Bearer " + token} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def pickup_candidate(server):
    """A SKU of 暖暖母婴 held in one of its stores: product id, the SKU's specs, the store's name."""
    token = api(server, "/api/v1/auth/staff-login", body={"username": "nuannuan", "password": "Shop2026", "console": "merchant"})["accessToken"]
    products = {p["title"]: p["id"] for p in api(server, "/api/v1/merchant/products", token)}
    for store in api(server, "/api/v1/merchant/stores", token):
        for row in api(server, f"/api/v1/merchant/stores/{store['id']}/stock", token):
            if row["stock"] >= 1 and row["productTitle"] in products:
                product = api(server, "/api/v1/merchant/products/" + products[row["productTitle"]], token)
                sku = next(s for s in product["skus"] if s["id"].lower() == row["skuId"].lower())
                if product["kind"] == "physical":
                    return product["id"], sku["specs"], store["name"]
    raise AssertionError("no SKU of 暖暖母婴 is held in a store")


def choose(page, specs):
    for name, value in specs.items():
        page.locator(f'fieldset[data-spec="{name}"] button[data-value="{value}"]').click()


def platform_promotions(server, action):
    """Pauses or resumes the demo's running platform promotions (the mall-wide 满减), so this walk's
    amounts are the plain prices; promotions have their own tests."""
    token = api(server, "/api/v1/auth/staff-login", body={"username": "admin", "password": "Admin2026", "console": "platform"})["accessToken"]
    wanted = "active" if action == "pause" else "paused"
    for promotion in api(server, "/api/v1/admin/promotions", token):
        if promotion["status"] == wanted:
            api(server, f"/api/v1/admin/promotions/{promotion['id']}/{action}", token, body={})


def test_two_shops_sandbox_ship_pickup_and_refund_one_unit(page, new_context, server, device, sms_code, snap):
    platform_promotions(server, "pause")
    try:
        walk_two_shops(page, new_context, server, device, sms_code, snap)
    finally:
        platform_promotions(server, "resume")


def walk_two_shops(page, new_context, server, device, sms_code, snap):
    # A new member with an address.
    phone = PHONES[device]
    assert request_code(page, phone) == 200
    assert finish_registration(page, sms_code(phone)) == 200
    page.goto("/member/addresses")
    page.fill("#address-form [name=receiverName]", "李雷")
    page.fill("#address-form [name=phone]", "13912345678")
    page.select_option("#address-form [name=provinceCode]", "31")
    page.fill("#address-form [name=city]", "上海市")
    page.fill("#address-form [name=district]", "黄浦区")
    page.fill("#address-form [name=detail]", "人民大道 200 号")
    assert submit(page, "#address-form") == 200
    expect(page.locator("#address-list")).to_contain_text("139****5678")

    # Three lip balms from the mall's own shop, and a 暖暖母婴 item to pick up in its store.
    page.goto("/search?q=润唇膏")
    page.locator(".product-card a, a.card").filter(has_text="润唇膏").first.click()
    page.fill("#buy-quantity", "3")
    with page.expect_navigation():
        page.locator("#add-to-cart").click()
    expect(page.locator(".notice")).to_contain_text("已加入购物车")
    snap(page, "product-added")
    product_id, specs, store_name = pickup_candidate(server)
    page.goto("/products/" + product_id)
    choose(page, specs)
    with page.expect_navigation():
        page.locator("#add-to-cart").click()
    expect(page.locator("#cart-count")).to_have_text("2")

    page.goto("/cart")
    expect(page.locator("#cart-total")).to_be_visible()
    snap(page, "cart")
    with page.expect_navigation():
        page.locator("#to-checkout").click()
    # The store group picks up: choose the store, recalculate, then place the order.
    group = page.locator(".checkout-group").filter(has_text="暖暖母婴")
    group.locator("input[value=pickup]").check()
    group.locator("select").select_option(label=store_name)
    with page.expect_navigation():
        page.locator("button[value=recalculate]").click()
    group = page.locator(".checkout-group").filter(has_text="暖暖母婴")
    expect(group.locator("input[value=pickup]")).to_be_checked()
    expect(group.locator(".shipping")).to_have_text("¥0.00")
    snap(page, "checkout")
    with page.expect_navigation():
        page.locator("#place-order").click()
    assert "/pay/" in page.url
    page.locator("input[value=sandbox]").check()
    with page.expect_navigation():
        page.locator("#pay-now").click()
    expect(page.locator("#sandbox-amount")).to_be_visible()
    snap(page, "sandbox")
    with page.expect_navigation():
        page.locator("#sandbox-pay").click()
    expect(page.locator(".notice")).to_contain_text("支付成功")

    page.goto("/orders?tab=awaiting_shipment")
    cards = page.locator(".order-card")
    expect(cards).to_have_count(2)
    snap(page, "orders")
    balm = cards.filter(has_text="润唇膏")
    expect(balm.locator(".price").last).to_have_text("¥117.00")
    balm_url = balm.locator("a.button.ghost").get_attribute("href")
    pickup_url = cards.filter(has_text="暖暖母婴").locator("a.button.ghost").get_attribute("href")
    balm_id = balm_url.rsplit("/", 1)[1]

    # The store verifies the pickup code once.
    page.goto(pickup_url)
    expect(page.locator("#order-state")).to_have_text("待自提")
    code = page.locator(".code-text").first.inner_text().strip()
    snap(page, "pickup-code")
    shop = new_context().new_page()
    assert staff_login(shop, "merchant", "nuannuan", "Shop2026") == 200
    shop.goto("/merchant/redeem")
    shop.select_option("#redeem-form [name=store]", label=store_name)
    shop.fill("#redeem-form [name=code]", code)
    assert submit(shop, "#redeem-form") == 200
    expect(shop.locator("#redeem-result")).to_contain_text("核销成功")
    shop.select_option("#redeem-form [name=store]", label=store_name)
    shop.fill("#redeem-form [name=code]", code)
    assert submit(shop, "#redeem-form") == 409
    page.goto(pickup_url)
    expect(page.locator("#order-state")).to_have_text("已收货")

    # The mall's own shop ships the lip balms; the buyer confirms receipt.
    own = new_context().new_page()
    assert staff_login(own, "merchant", "ziying", "Shop2026") == 200
    own.goto(f"/merchant/orders/{balm_id}")
    own.fill("#ship-form [name=trackingNo]", "SF" + phone)
    assert submit(own, "#ship-form") == 200
    expect(own.locator("#order-state")).to_have_text("已发货")
    page.goto(balm_url)
    with page.expect_navigation():
        page.locator("#confirm-receipt").click()
    expect(page.locator("#order-state")).to_have_text("已收货")

    # One of the three goes back: returned, received by the shop, refunded ¥39.00.
    page.locator("a", has_text="申请售后").first.click()
    page.wait_for_url(re.compile(r"/after-sale"))
    page.fill("#after-sale-form [name=units]", "1")
    page.fill("#after-sale-form [name=reason]", "多买了一支")
    assert submit(page, "#after-sale-form") == 200
    expect(page.locator("#after-sale-amount")).to_have_text("¥39.00")
    sale_url = page.url
    own.goto("/merchant/after-sales")
    own.locator("[data-after-sale] button[value=approve]").first.click()
    own.wait_for_load_state()
    page.goto(sale_url)
    page.fill("#return-form [name=carrier]", "中通快递")
    page.fill("#return-form [name=trackingNo]", "ZT" + phone)
    assert submit(page, "#return-form") == 200
    own.goto("/merchant/after-sales")
    own.locator("[data-after-sale] button[value=confirm_return]").first.click()
    own.wait_for_load_state()
    page.goto(sale_url)
    expect(page.locator("#after-sale-state")).to_have_text("已退款")
    page.goto(balm_url)
    expect(page.locator("#order-payable")).to_have_text("¥117.00")
    expect(page.locator("#order-refunded")).to_have_text("¥39.00")
    expect(page.locator("#timeline")).to_contain_text("已收货")
    snap(page, "order-refunded")


def test_price_change_then_pay_then_review(page, new_context, server, device, snap):
    # The demo member buys one item of the mall's own shop and leaves it unpaid.
    assert member_login(page, "13800138000", "Member2026") == 200
    page.goto("/member/addresses")
    if page.locator("#address-list li").count() == 0:
        page.fill("#address-form [name=receiverName]", "王芳")
        page.fill("#address-form [name=phone]", "13800138000")
        page.select_option("#address-form [name=provinceCode]", "11")
        page.fill("#address-form [name=city]", "北京市")
        page.fill("#address-form [name=district]", "朝阳区")
        page.fill("#address-form [name=detail]", "建国路 1 号")
        assert submit(page, "#address-form") == 200
    page.goto("/search?q=润唇膏")
    page.locator(".product-card a, a.card").filter(has_text="润唇膏").first.click()
    with page.expect_navigation():
        page.locator("#buy-now").click()
    with page.expect_navigation():
        page.locator("#place-order").click()
    assert "/pay/" in page.url
    pay_url = page.url

    # The shop's owner changes the price to ¥9.90 with free shipping; a wrong amount is refused.
    own = new_context().new_page()
    assert staff_login(own, "merchant", "ziying", "Shop2026") == 200
    own.goto("/merchant/orders?tab=pending_payment")
    own.locator("#shop-orders a").first.click()
    own.fill("#price-form [name=goodsTotal]", "9,9")
    assert submit(own, "#price-form") == 200
    expect(own.locator(".notice")).to_contain_text("金额格式不正确")
    own.fill("#price-form [name=goodsTotal]", "9.90")
    own.fill("#price-form [name=shippingFee]", "0")
    own.fill("#price-form [name=reason]", "老客户")
    assert submit(own, "#price-form") == 200
    expect(own.locator(".timeline")).to_contain_text("商家改价")
    snap(own, "price-changed")
    order_url = own.url.replace("/merchant", "")

    # The buyer pays the new amount from the balance and sees it on the order.
    page.goto(pay_url)
    expect(page.locator("#pay-amount")).to_have_text("¥9.90")
    with page.expect_navigation():
        page.locator("#pay-now").click()
    expect(page.locator(".notice")).to_contain_text("支付成功")
    page.goto(order_url)
    expect(page.locator("#order-payable")).to_have_text("¥9.90")
    expect(page.locator("#order-adjustment")).to_be_visible()

    # Shipped and received, the buyer rates it four stars; the operator sees the review.
    own.goto(order_url.replace("/orders", "/merchant/orders"))
    own.fill("#ship-form [name=trackingNo]", "SF" + device)
    assert submit(own, "#ship-form") == 200
    page.goto(order_url)
    with page.expect_navigation():
        page.locator("#confirm-receipt").click()
    with page.expect_navigation():
        page.locator("#write-review").click()
    form = page.locator("form.review-form").first
    form.locator("input[name=stars][value='4']").check()
    form.locator("textarea[name=text]").fill("包装很好 " + device)
    with page.expect_navigation():
        form.locator("[type=submit]").click()
    expect(page.locator(".notice")).to_contain_text("评价成功")
    snap(page, "reviewed")
    boss = new_context().new_page()
    assert staff_login(boss, "admin", "admin", "Admin2026") == 200
    boss.goto("/admin/reviews")
    expect(boss.locator("[data-review]").filter(has_text="包装很好 " + device)).to_have_count(1)
