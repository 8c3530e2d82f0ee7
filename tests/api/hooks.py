"""schemathesis hooks for scripts/api-fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

Two things a contract cannot say:

* Each request comes from its own address. The server throttles anonymous applications, licence
  uploads, SMS codes and logins per client address; a fuzzer sending everything from loopback
  would mostly be answered 429 and test nothing behind the limit. The fuzz server trusts
  X-Forwarded-For, so every request gets a random one.
* Which rows exist. An id in a path or body must name a row of this database (a product, a
  pending application, the merchant's own store or SKU), SKUs must cover every combination of
  the specs, SKU codes and logins must be unused, and an import must be a CSV of this shop. For
  schema-valid cases of those operations, the first of each phase and most later ones get such
  values; the rest keep what was generated, so refusals are still exercised.

Environment: FUZZ_BASE (server), FUZZ_TOKEN (bearer token of the audience, may be empty),
FUZZ_SEED and FUZZ_ROLE (make the choices here repeatable), FUZZ_SERVER_LOG (the server's log, where SMS
codes go), FUZZ_LICENCE_IMAGE (from `python hooks.py prepare`, which also creates a brand and
the pending merchant applications the operator's links start from), FUZZ_DISTRIBUTION_FILE (where
`prepare` writes the distributors' codes, plain members, refundable lines and a payment proof).
"""

from __future__ import annotations

import copy
import csv
import datetime
import io
import itertools
import json
import math
import os
import random
import re
import struct
import sys
import time
import uuid
import zlib

import requests

BASE = os.environ.get("FUZZ_BASE", "http://127.0.0.1:18081").rstrip("/")
TOKEN = os.environ.get("FUZZ_TOKEN", "")
# Per audience, so that the runs of one seed do not repeat each other's logins and addresses.
rng = random.Random("%s/%s" % (os.environ.get("FUZZ_SEED", "0"), os.environ.get("FUZZ_ROLE", "")))

# Share of later schema-valid cases that get real values.
REAL_SHARE = 0.7
# Swift's CharacterSet.whitespacesAndNewlines, which the server trims with.
SWIFT_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000"
# Fewer combinations keep product requests small; the server takes up to 600.
MAX_COMBINATIONS = 24

_session = requests.Session()


def random_address() -> str:
    return "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))


def token(n: int = 10) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def api(method: str, path: str, *, auth: bool = True, **kwargs):
    headers = kwargs.pop("headers", {})
    headers.setdefault("X-Forwarded-For", random_address())
    if auth and TOKEN:
        headers["Authorization"] = "Bearer " + TOKEN
    response = _session.request(method, BASE + path, headers=headers, timeout=30, **kwargs)
    response.raise_for_status()
    return response.json()


def png(width: int = 8, height: int = 8) -> bytes:
    colour = bytes(rng.randrange(256) for _ in range(3))
    raw = b"".join(b"\x00" + colour * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# ------------------------------------------------------------------ what exists, cached briefly

_cache: dict[str, tuple[float, object]] = {}


def cached(name: str, load, ttl: float = 10.0):
    hit = _cache.get(name)
    if hit is not None and time.monotonic() - hit[0] < ttl:
        return hit[1]
    value = load()
    _cache[name] = (time.monotonic(), value)
    return value


def ids(rows) -> list[str]:
    return [row["id"].lower() for row in rows]


def categories() -> list[dict]:
    return cached("categories", lambda: api("GET", "/api/v1/categories", auth=False))


def brand_ids() -> list[str]:
    return cached("brands", lambda: ids(api("GET", "/api/v1/brands", auth=False)))


def public_product_ids() -> list[str]:
    return cached("products", lambda: ids(api("GET", "/api/v1/products?limit=50", auth=False)["items"]))


def own_product_ids() -> list[str]:
    return cached("own-products", lambda: ids(api("GET", "/api/v1/merchant/products")))


def own_store_ids() -> list[str]:
    return cached("own-stores", lambda: ids(api("GET", "/api/v1/merchant/stores")))


def own_sku_ids() -> list[str]:
    def load():
        found = []
        for product in own_product_ids()[:10]:
            found += ids(api("GET", "/api/v1/merchant/products/" + product)["skus"])
        return found
    return cached("own-skus", load)


def public_sku_prices() -> list[tuple[str, int]]:
    """(id, price in fen) of public SKUs in stock: what a points-mall goods item may name."""
    def load():
        found = []
        for product in public_product_ids()[:10]:
            found += [(sku["id"].lower(), sku["price"]["fen"]) for sku in api("GET", "/api/v1/products/" + product, auth=False)["skus"] if sku["stock"] > 0]
        return found
    return cached("public-sku-prices", load)


def public_sku_ids() -> list[str]:
    def load():
        found = []
        for product in public_product_ids()[:10]:
            found += [sku["id"].lower() for sku in api("GET", "/api/v1/products/" + product, auth=False)["skus"] if sku["stock"] > 0]
        return found
    return cached("public-skus", load)


def own_address_ids() -> list[str]:
    """Addresses the member's run may delete: any but the one checkouts and flash tickets go to."""
    kept = own_address_id()
    return [found for found in cached("own-addresses", lambda: ids(api("GET", "/api/v1/me/addresses")), ttl=2.0) if found != kept]


def own_cart_item_ids() -> list[str]:
    def load():
        return [item["id"].lower() for group in api("GET", "/api/v1/me/cart")["groups"] for item in group["items"]]
    return cached("own-cart-items", load, ttl=2.0)


def own_address_id() -> str:
    def load():
        found = ids(api("GET", "/api/v1/me/addresses"))
        if found:
            return found[0]
        body = {"receiverName": "测试", "phone": "13800138000", "provinceCode": "31", "city": "上海市",
                "district": "静安区", "detail": "南京西路 1 号"}
        return api("POST", "/api/v1/me/addresses", json=body)["id"].lower()
    return cached("own-address", load, ttl=float("inf"))


def place_order(token_value: str = "", skus: list[str] | None = None) -> dict:
    """A fresh checkout of one unit of a public SKU (or one of `skus`), placed by the member whose token is given."""
    headers = {"Authorization": "Bearer " + token_value} if token_value else {}
    auth = not token_value
    addresses = api("GET", "/api/v1/me/addresses", auth=auth, headers=dict(headers))
    if addresses:
        address = addresses[0]["id"]
    else:
        body = {"receiverName": "测试", "phone": "13800138000", "provinceCode": "31", "city": "上海市",
                "district": "静安区", "detail": "南京西路 1 号"}
        address = api("POST", "/api/v1/me/addresses", auth=auth, headers=dict(headers), json=body)["id"]
    # A SKU may sell out while the data is made: the next one is tried.
    choices = list(skus or public_sku_ids())
    rng.shuffle(choices)
    for sku in choices[:-1]:
        try:
            return api("POST", "/api/v1/checkout", auth=auth, headers=dict(headers),
                       json={"items": [{"skuId": sku, "quantity": 1}], "addressId": address})
        except requests.HTTPError as refused:
            if refused.response is None or refused.response.status_code != 409:
                raise
    return api("POST", "/api/v1/checkout", auth=auth, headers=dict(headers),
               json={"items": [{"skuId": choices[-1], "quantity": 1}], "addressId": address})


def own_order_ids() -> list[str]:
    def load():
        found = ids(api("GET", "/api/v1/me/orders?limit=200"))
        return found or ids(place_order()["orders"])
    return cached("own-orders", load, ttl=5.0)


def own_payment_ids() -> list[str]:
    """Checkouts still to pay; when the run has paid or cancelled them all, a fresh one."""
    def load():
        orders = api("GET", "/api/v1/me/orders?limit=50")
        return ([o["paymentId"].lower() for o in orders if o["state"] == "pending_payment"] or
                [place_order()["payment"]["id"].lower()])
    return cached("own-payments", load, ttl=5.0)


def own_address_id_for(member_token: str) -> str:
    headers = {"Authorization": "Bearer " + member_token}
    found = api("GET", "/api/v1/me/addresses", auth=False, headers=dict(headers))
    if found:
        return found[0]["id"]
    body = {"receiverName": "测试", "phone": "13800138000", "provinceCode": "31", "city": "上海市", "district": "静安区", "detail": "南京西路 1 号"}
    return api("POST", "/api/v1/me/addresses", auth=False, headers=dict(headers), json=body)["id"]


def after_sales_in(path: str, *states: str):
    """After-sales in the given states, so each operation meets the state it acts on."""
    def pool() -> list[str]:
        def load():
            return [s["id"].lower() for s in api("GET", path) if s["state"] in states]
        return cached(path + "|" + ",".join(states), load, ttl=3.0)
    return pool


def counter_codes() -> list[str]:
    path = os.environ.get("FUZZ_CODES_FILE", "")
    if not path or not os.path.exists(path):
        return []
    with open(path) as codes:
        return [line.strip() for line in codes if line.strip()]


def appealed_ids() -> list[str]:
    return cached("appeals", lambda: ids(api("GET", "/api/v1/admin/after-sales?state=appealed&limit=50")), ttl=5.0)


def own_paid_order_ids() -> list[str]:
    def load():
        found = []
        for tab in ("awaiting_shipment", "awaiting_receipt"):
            found += [o["id"].lower() for o in api("GET", "/api/v1/me/orders?tab=%s&limit=200" % tab)]
        return found
    return cached("own-paid-orders", load, ttl=5.0)


def own_shipped_order_ids() -> list[str]:
    return cached("own-shipped-orders", lambda: ids(api("GET", "/api/v1/me/orders?tab=awaiting_receipt&limit=50")), ttl=5.0)


def fix_redeem(case) -> None:
    """One of the pickup codes `prepare` made: the first use of each succeeds, later ones are refused."""
    if isinstance(case.body, dict) and counter_codes():
        code, store = rng.choice(counter_codes()).split()
        case.body["code"] = code
        case.body["storeId"] = store


def fix_after_sale(case) -> None:
    """A line of one of the member's orders; photos the member uploaded."""
    if not isinstance(case.body, dict):
        return
    order_id = str((case.path_parameters or {}).get("orderID", "")).lower()
    orders = [api("GET", "/api/v1/me/orders/" + order_id)] if order_id in own_paid_order_ids() else []
    if orders and orders[0]["lines"]:
        case.body["lineId"] = orders[0]["lines"][0]["id"]
        # A request the line can take: one unit back before shipment, or a return after it.
        case.body["kind"] = "refund_only" if orders[0]["state"] == "paid" else "return_and_refund"
        case.body["units"] = 1
        case.body["amountFen"] = None
    if case.body.get("photos"):
        case.body["photos"] = [member_image()]


def member_image() -> str:
    return cached("member-image", lambda: api("POST", "/api/v1/me/images", data=png(), headers={"Content-Type": "image/png"})["key"], ttl=float("inf"))


def shop_order_ids() -> list[str]:
    return cached("shop-orders", lambda: ids(api("GET", "/api/v1/merchant/orders?limit=50")), ttl=5.0)


def shop_paid_orders() -> list[dict]:
    """The shop's delivery orders waiting to ship."""
    def load():
        return [o for o in api("GET", "/api/v1/merchant/orders?tab=awaiting_shipment&limit=50") if o["fulfilment"] == "express"]
    return cached("shop-paid-orders", load, ttl=2.0)


def shop_paid_order_ids() -> list[str]:
    return ids(shop_paid_orders()) or shop_order_ids()


def shop_unpaid_order_ids() -> list[str]:
    """An order of the shop's own SKUs placed for the price change and left unpaid: no other run knows it."""
    def load():
        member = os.environ.get("FUZZ_MEMBER_TOKEN", "")
        skus = []
        for product in own_product_ids()[:10]:
            detail = api("GET", "/api/v1/merchant/products/" + product)
            if detail.get("onShelf", True):
                skus += [sku["id"].lower() for sku in detail["skus"] if sku["stock"] > 0]
        if not member or not skus:
            return shop_order_ids()
        try:
            return ids(place_order(member, skus)["orders"])
        except requests.HTTPError:
            return shop_order_ids()
    return cached("shop-unpaid-orders", load, ttl=float("inf"))


def shop_unshipped_order_ids() -> list[str]:
    return shop_unpaid_order_ids() + ids(shop_paid_orders())


def tracking_no() -> str:
    return "FZ" + "".join(rng.choice("0123456789") for _ in range(12))


def fix_ship(case) -> None:
    """One parcel with a fresh number; the generated carrier and contents stay in the rest."""
    if isinstance(case.body, dict):
        case.body = {"parcels": [{"carrierCode": rng.choice(["SF", "ZTO", "JD"]), "trackingNo": tracking_no()}], "useWaybill": False}


_fresh_paid_orders = [0]


def shippable_order() -> dict | None:
    """A paid delivery order of the shop that no batch has named yet. When the prepared ones are
    used up, the member pays for a new one of the shop's cheapest physical SKU still on sale
    (a few dozen at most)."""
    orders = [o for o in shop_paid_orders() if o["orderNo"] not in _batched]
    if orders:
        return orders[0]
    member = os.environ.get("FUZZ_MEMBER_TOKEN", "")
    if not member or _fresh_paid_orders[0] >= 40:
        return None
    def load():
        found = []
        for product in own_product_ids()[:20]:
            detail = api("GET", "/api/v1/merchant/products/" + product)
            if detail.get("onShelf", True) and detail.get("kind") == "physical":
                found += [(sku["price"]["fen"], sku["id"].lower()) for sku in detail["skus"] if sku["stock"] > 0]
        return [sku for _, sku in sorted(found)[:5]]
    skus = cached("cheap-physical-skus", load, ttl=float("inf"))
    if not skus:
        return None
    _fresh_paid_orders[0] += 1
    try:
        placed = place_order(member, skus)
        api("POST", "/api/v1/payments/%s/pay" % placed["payment"]["id"], auth=False,
            headers={"Authorization": "Bearer " + member}, json={"method": "balance"})
    except requests.HTTPError:
        return None
    return placed["orders"][0]


_batched: set[str] = set()


def fix_ship_batch(case) -> None:
    order = shippable_order()
    rows = ["order_no,carrier,tracking_no"]
    if order is not None:
        _batched.add(order["orderNo"])
        rows.append("%s,SF,%s" % (order["orderNo"], tracking_no()))
    case.body = "\r\n".join(rows) + "\r\n"


def shop_shipments() -> list[tuple[str, str]]:
    """(order, parcel) pairs of the shop's shipped orders."""
    def load():
        found = []
        for order in api("GET", "/api/v1/merchant/orders?limit=50"):
            if order["state"] in ("shipped", "received", "completed"):
                found += [(order["id"].lower(), p["id"].lower()) for p in api("GET", "/api/v1/merchant/orders/%s/shipments" % order["id"])]
            if len(found) >= 10:
                break
        return found
    return cached("shop-shipments", load, ttl=5.0)


def fix_shipment_path(case) -> None:
    if case.path_parameters and "shipmentID" in case.path_parameters and shop_shipments():
        order, parcel = rng.choice(shop_shipments())
        case.path_parameters["orderID"] = order
        case.path_parameters["shipmentID"] = parcel


def fix_shipment_event(case) -> None:
    """Now, rather than a generated time that is before the shipment or in the future."""
    if isinstance(case.body, dict):
        case.body["occurredAt"] = None


def open_difference_ids() -> list[str]:
    """The demo data's reconciliation differences (sandbox charges whose notifications were lost)."""
    return cached("differences", lambda: ids(api("GET", "/api/v1/admin/reconciliation/differences?status=open&limit=100")), ttl=5.0)


def fix_reconcile(case) -> None:
    """A real day in China time, today or up to a month before, for every provider or the sandbox."""
    china = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
    day = china - datetime.timedelta(days=rng.randrange(0, 31))
    case.body = {"date": day.isoformat()}
    if rng.random() < 0.5:
        case.body["provider"] = "sandbox"


def own_reviewable_order_ids() -> list[str]:
    return cached("own-reviewable", lambda: ids(api("GET", "/api/v1/me/orders?tab=awaiting_review&limit=50")), ttl=2.0) or own_order_ids()


def fix_review(case) -> None:
    """A line of the order in the path; photos the member uploaded."""
    if not isinstance(case.body, dict):
        return
    wanted = str((case.path_parameters or {}).get("orderID", "")).lower()
    orders = [api("GET", "/api/v1/me/orders/" + wanted)] if wanted in own_reviewable_order_ids() else []
    if orders and orders[0]["lines"]:
        case.body["lineId"] = rng.choice(orders[0]["lines"])["id"]
    if case.body.get("photos"):
        case.body["photos"] = [member_image()]


def shop_review_ids() -> list[str]:
    def load():
        rows = api("GET", "/api/v1/merchant/reviews?limit=50")
        return ids([r for r in rows if not r.get("reply")]) or ids(rows)
    return cached("shop-reviews", load, ttl=2.0)


def moderated_review_ids(hidden: bool) -> list[str]:
    def load():
        rows = api("GET", "/api/v1/admin/reviews?limit=50")
        return ids([r for r in rows if r["hidden"] == hidden]) or ids(rows)
    return cached("reviews-hidden-%s" % hidden, load, ttl=2.0)


def public_store_ids() -> list[str]:
    return cached("stores", lambda: ids(api("GET", "/api/v1/stores?limit=100", auth=False)))


def own_staff_ids() -> list[str]:
    return cached("own-staff", lambda: ids(api("GET", "/api/v1/merchant/staff")))


def merchant_ids() -> list[str]:
    return cached("merchants", lambda: ids(api("GET", "/api/v1/admin/merchants")))


def message_ids() -> list[str]:
    return cached("messages", lambda: ids(api("GET", "/api/v1/merchant/messages")))


def merchant_image() -> str:
    def load():
        return api("POST", "/api/v1/merchant/images", data=png(), headers={"Content-Type": "image/png"})["key"]
    return cached("merchant-image", load, ttl=float("inf"))


def licence_image() -> str:
    """Uploaded once by `prepare`: the fuzzer itself soon uses up the day's licence uploads."""
    def load():
        return os.environ.get("FUZZ_LICENCE_IMAGE") or api(
            "POST", "/api/v1/merchant-applications/licence-images", auth=False, data=png(),
            headers={"Content-Type": "image/png"})["key"]
    return cached("licence-image", load, ttl=float("inf"))


def sms_code(phone: str) -> str:
    """Development sends SMS to the server's log; the code for `phone` is read back from there."""
    api("POST", "/api/v1/auth/sms-codes", auth=False, json={"phone": phone})
    masked = phone[:3] + "****" + phone[-4:]
    for _ in range(50):
        with open(os.environ["FUZZ_SERVER_LOG"], encoding="utf-8", errors="replace") as log:
            found = re.findall(re.escape(masked) + r": .*?Fission Mall code: ([0-9]+)", log.read())
        if found:
            return found[-1]
        time.sleep(0.1)
    raise RuntimeError("no SMS code for %s in the server log" % masked)


def pending_application() -> str:
    """A new application for the operator to review: each can be approved or rejected once."""
    body = {
        "companyName": "测试商贸有限公司 " + token(4), "contactName": "测试", "contactPhone": "13700000000",
        "licenceNumber": "91310000" + token(10).upper(), "businessCategory": "母婴",
        "username": "fz-" + token(12), "password": "Fuzz2026pw", "licenceImage": licence_image(),
    }
    return api("POST", "/api/v1/merchant-applications", auth=False, json=body)["id"].lower()


def category_paths() -> dict[str, str]:
    """Category id → "母婴/奶粉", as the CSV import names categories."""
    rows = categories()
    by_id = {row["id"]: row for row in rows}
    paths = {}
    for row in rows:
        names, node, steps = [row["name"]], row, 0
        while node.get("parentId") in by_id and steps < len(rows):
            node = by_id[node["parentId"]]
            names.insert(0, node["name"])
            steps += 1
        paths[row["id"].lower()] = "/".join(names)
    return paths


def descendants_or_self(category: str) -> set[str]:
    rows = [(row["id"].lower(), (row.get("parentId") or "").lower()) for row in categories()]
    found, grew = {category}, True
    while grew:
        grew = False
        for child, parent in rows:
            if parent in found and child not in found:
                found.add(child)
                grew = True
    return found


# ------------------------------------------------------------------ fixes per operation

def trimmed(text: str) -> str:
    return text.strip(SWIFT_WS)


def fix_product(case) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    body["categoryId"] = rng.choice(ids(categories()))
    if body.get("brandId") is not None:
        body["brandId"] = rng.choice(brand_ids()) if brand_ids() else None
    if body.get("mainImage"):
        body["mainImage"] = merchant_image()
    if body.get("gallery"):
        body["gallery"] = [merchant_image()]
    if body.get("redeemStoreIds"):
        body["redeemStoreIds"] = own_store_ids()[:1]

    # Spec names and values are compared trimmed: drop repeats, then cap the combinations.
    specs, names = [], set()
    for spec in body.get("specs") or []:
        name = trimmed(spec["name"])
        if name in names:
            continue
        names.add(name)
        values, seen = [], set()
        for value in spec["values"]:
            if trimmed(value) not in seen:
                seen.add(trimmed(value))
                values.append(value)
        specs.append({**spec, "values": values})
    while math.prod(len(s["values"]) for s in specs) > MAX_COMBINATIONS:
        longest = max(specs, key=lambda s: len(s["values"]))
        longest["values"] = longest["values"][: max(1, len(longest["values"]) // 2)]
    if body.get("specs") is not None:
        body["specs"] = specs
    combinations = [dict(zip((trimmed(s["name"]) for s in specs), (trimmed(v) for v in values)))
                    for values in itertools.product(*(s["values"] for s in specs))] if specs else [None]

    # One SKU per combination, each with a code no other product uses.
    templates, skus, suffix = body["skus"], [], token(8)
    for index, combination in enumerate(combinations):
        sku = copy.deepcopy(templates[index % len(templates)])
        if combination is None:
            sku.pop("specs", None)
        else:
            sku["specs"] = combination
        sku["code"] = "%s-%s%d" % (sku["code"][:40], suffix, index)
        if sku.get("memberPriceFen") is not None and sku["memberPriceFen"] > sku["priceFen"]:
            sku["memberPriceFen"] = sku["priceFen"]
        if sku.get("image"):
            sku["image"] = merchant_image()
        skus.append(sku)
    body["skus"] = skus


def fix_staff(case) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    body["username"] = (body["username"][:20] + "-" + token(8))
    if body.get("role") == "store_clerk" or body.get("storeId") is not None:
        body["storeId"] = rng.choice(own_store_ids())


def fix_application(case) -> None:
    if isinstance(case.body, dict):
        case.body["licenceImage"] = licence_image()
        case.body["username"] = case.body["username"][:20] + "-" + token(8)


def fix_registration(case) -> None:
    """A number nobody has, and the code sent to it."""
    if isinstance(case.body, dict):
        phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        case.body["phone"] = phone
        case.body["smsCode"] = sms_code(phone)


def fix_stock(case) -> None:
    if isinstance(case.body, dict):
        for item in case.body.get("items") or []:
            item["skuId"] = rng.choice(own_sku_ids())


def fix_cart_add(case) -> None:
    if isinstance(case.body, dict) and public_sku_ids():
        case.body["skuId"] = rng.choice(public_sku_ids())
        case.body["quantity"] = 1


def fix_cart_change(case) -> None:
    if isinstance(case.body, dict) and case.body.get("quantity") is not None:
        case.body["quantity"] = 1


def fix_cart_selection(case) -> None:
    if isinstance(case.body, dict) and case.body.get("itemIds") is not None:
        case.body["itemIds"] = own_cart_item_ids()[:3]


def fix_checkout(case) -> None:
    if isinstance(case.body, dict) and public_sku_ids():
        case.body["items"] = [{"skuId": rng.choice(public_sku_ids()), "quantity": 1}]
        case.body["addressId"] = own_address_id()
        # A made-up group-buy activity or bargain is a 422 with the reason; a plain checkout names neither.
        case.body["groupBuy"] = None
        case.body["bargainId"] = None
        case.body["deliveries"] = None
        case.body["flashSaleItemId"] = None
        case.body["pointsMallItemId"] = None


def fix_flash_ticket(case) -> None:
    """A place in a flash sale's queue goes to the member's own address (another's is a 422)."""
    if isinstance(case.body, dict):
        case.body["addressId"] = own_address_id()
        if case.body.get("quantity") is not None:
            case.body["quantity"] = 1


def flash_item_ids() -> list[str]:
    """Items of today's sessions on sale now (a made-up item is a 422 with the reason)."""
    def load():
        board = api("GET", "/api/v1/flash-sales")
        return [item["id"].lower() for session in board["sessions"] for item in session["items"] if item["state"] == "on_sale"]
    return cached("flash-items", load, ttl=2.0)


def fix_category(case) -> None:
    body = case.body
    if not isinstance(body, dict) or body.get("parentId") is None:
        return
    moving = (case.path_parameters or {}).get("categoryID", "")
    allowed = [c for c in ids(categories()) if c not in descendants_or_self(str(moving).lower())]
    if allowed:
        body["parentId"] = rng.choice(allowed)


def csv_text(case) -> str:
    """A small import of this shop: real category paths, fresh codes, generated text as description."""
    paths = [p for p in category_paths().values() if p == trimmed(p) and not p.startswith(("=", "+", "-", "@"))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["product_ref", "title", "category", "sku_code", "price", "stock", "description"])
    generated = case.body if isinstance(case.body, str) else ""
    description = "".join(c for c in generated[:500] if c != "\x00" and not 0xD800 <= ord(c) <= 0xDFFF)
    suffix = token(8)
    for ref in range(1 + rng.randrange(3)):
        writer.writerow(["P%d" % ref, "导入商品 %s %d" % (suffix, ref), rng.choice(paths),
                         "IMP-%s-%d" % (suffix, ref), "%d.%02d" % (rng.randrange(1, 999), rng.randrange(100)),
                         str(rng.randrange(1000)), description])
    return out.getvalue()


def fix_import(case) -> None:
    case.body = csv_text(case)


# ------------------------------------------------------------------ distribution

def distribution_data() -> dict:
    """What `prepare` made for the distribution operations (see prepare_distribution)."""
    def load():
        path = os.environ.get("FUZZ_DISTRIBUTION_FILE", "")
        if not path or not os.path.exists(path):
            return {}
        with open(path, encoding="utf-8") as data:
            return json.load(data)
    return cached("distribution-data", load, ttl=float("inf"))


def distributors(state: str = "") -> list[dict]:
    query = "?limit=200" + ("&state=" + state if state else "")
    return cached("distributors|" + state, lambda: api("GET", "/api/v1/admin/distribution/distributors" + query), ttl=2.0)


def distributor_member_ids(*states: str) -> list[str]:
    found = []
    for state in states or ("",):
        found += [d["memberId"].lower() for d in distributors(state)]
    return found


def grade_ids() -> list[str]:
    return cached("grades", lambda: ids(api("GET", "/api/v1/admin/distribution/grades")), ttl=2.0)


def commissions_where(held: bool) -> list[str]:
    """Commissions that can be held (pending or frozen, not held), or that are held."""
    def load():
        rows = api("GET", "/api/v1/admin/distribution/commissions?limit=200")
        return [c["id"].lower() for c in rows if c["held"] == held and c["state"] in ("pending", "frozen")] or ids(rows)
    return cached("commissions-held-%s" % held, load, ttl=2.0)


def withdrawals_in(*states: str):
    def pool() -> list[str]:
        def load():
            rows = api("GET", "/api/v1/admin/distribution/withdrawals?limit=200")
            return [w["id"].lower() for w in rows if w["state"] in states] or ids(rows)
        return cached("withdrawals|" + ",".join(states), load, ttl=2.0)
    return pool


def batch_ids() -> list[str]:
    def load():
        rows = api("GET", "/api/v1/admin/distribution/batches?limit=200")
        return [b["id"].lower() for b in rows if b["state"] == "awaiting_approval"] or ids(rows)
    return cached("batches", load, ttl=2.0)


def shop_batch_ids() -> list[str]:
    """The shop's own batches, waiting ones first: another shop's would be a 404."""
    def load():
        rows = api("GET", "/api/v1/merchant/distribution/batches?limit=200")
        return [b["id"].lower() for b in rows if b["state"] == "awaiting_approval"] or ids(rows)
    return cached("shop-batches", load, ttl=2.0)


def fix_store_distribution(case) -> None:
    """An active distributor's code for the store's staff, or none."""
    if isinstance(case.body, dict) and case.body.get("staffDistributorCode"):
        codes = distribution_data().get("codes", [])
        case.body["staffDistributorCode"] = codes[0] if codes else ""  # the demo distributor, active


def fix_avatar(case) -> None:
    """A picture the member uploaded."""
    if isinstance(case.body, dict):
        case.body["imageKey"] = member_image()


def platform_rule_ids() -> list[str]:
    """Every rule but the global default, which the other operations keep computing with."""
    return cached("platform-rules", lambda: [r["id"].lower() for r in api("GET", "/api/v1/admin/distribution/rules") if r["scope"] != "global"], ttl=2.0)


def shop_rule_ids() -> list[str]:
    return cached("shop-rules", lambda: ids(api("GET", "/api/v1/merchant/distribution/rules")), ttl=2.0)


def plain_member_ids() -> list[str]:
    return list(distribution_data().get("members", []))


def fix_touch(case) -> None:
    """The code of a distributor: the member's own (no one binds to themselves) or another's."""
    if isinstance(case.body, dict) and distribution_data().get("codes"):
        code = rng.choice(distribution_data()["codes"])
        case.body["code"] = code.lower() if rng.random() < 0.3 else code


def fix_earn(case) -> None:
    if case.query is not None and public_product_ids():
        case.query["productId"] = rng.choice(public_product_ids())


def fix_apply(case) -> None:
    """A complete application: the member is a distributor already, so it is refused with 409."""
    if not isinstance(case.body, dict):
        return
    agreement = cached("agreement", lambda: api("GET", "/api/v1/distribution/agreement", auth=False), ttl=float("inf"))
    case.body.update({"kind": "individual", "realName": "张三", "idNumber": "11010519491231002X", "documents": None,
                      "answers": {field: "fz" + token(6) for field in agreement["formFields"]},
                      "agreementVersion": agreement["version"], "agree": True})


def fix_withdrawal(case) -> None:
    """A small amount through an enabled channel, with a payee where the channel needs one."""
    if not isinstance(case.body, dict):
        return
    channel = rng.choice(["balance", "balance", "wechat_transfer", "alipay_transfer", "bank_card"])
    case.body.update({"amountFen": rng.randrange(100, 300), "channel": channel, "accountName": None, "accountNumber": None, "bankName": None})
    if channel != "balance":
        case.body["accountName"] = "张三"
        case.body["accountNumber"] = "6222" + "".join(rng.choice("0123456789") for _ in range(rng.randrange(8, 16)))
        case.body["bankName"] = "工商银行" if channel == "bank_card" else None


def small_levels(levels: int) -> dict:
    return {str(level): {"rateBp": rng.randrange(0, 800 if level == 1 else 300), "perUnitFen": rng.choice([None, 0, rng.randrange(1, 500)]),
                         "perOrderFen": None, "tiers": None} for level in range(1, levels + 1)}


def fix_shop_rule(case) -> None:
    """One of the shop's products or SKUs, within the platform's limits for shops."""
    if not isinstance(case.body, dict):
        return
    if case.body.get("scope") == "sku" and own_sku_ids():
        case.body["scopeId"] = rng.choice(own_sku_ids())
    elif own_product_ids():
        case.body["scope"] = "product"
        case.body["scopeId"] = rng.choice(own_product_ids())
    case.body["levels"] = small_levels(rng.choice([1, 2]))


def fix_platform_rule(case) -> None:
    """A scope that exists, with rates that leave room under the cap."""
    if not isinstance(case.body, dict):
        return
    pools = {"grade": grade_ids, "category": lambda: ids(categories()), "product": public_product_ids, "sku": public_sku_ids}
    scope = case.body.get("scope")
    if scope in pools and pools[scope]():
        case.body["scopeId"] = rng.choice(pools[scope]())
    case.body["levels"] = small_levels(rng.choice([1, 2]))


def fix_settings(case) -> None:
    """The generated settings, with what one field says of another made true."""
    body = case.body
    if not isinstance(body, dict) or not all(isinstance(body.get(k), dict) for k in ("admission", "binding", "commission", "withdrawal")):
        return
    admission, binding, commission, withdrawal = body["admission"], body["binding"], body["commission"], body["withdrawal"]
    if admission.get("mode") == "spend_threshold" and admission.get("spendThresholdFen", 0) <= 0:
        admission["spendThresholdFen"] = 10_000
    if admission.get("mode") == "received_orders" and admission.get("receivedOrderThreshold", 0) <= 0:
        admission["receivedOrderThreshold"] = 1
    if admission.get("mode") == "product_purchase" and not admission.get("productIds"):
        admission["productIds"] = public_product_ids()[:1]
    if binding.get("mode") == "expiring":
        binding["expiringDays"] = min(max(binding.get("expiringDays", 30), 1), 3650)
    # The rules saved meanwhile must still fit: no lower cap and no more paying levels than now.
    current = api("GET", "/api/v1/admin/distribution/settings")["commission"]
    commission["capRateBp"] = max(commission.get("capRateBp", 0), current["capRateBp"])
    commission["merchantMaxTotalRateBp"] = min(commission.get("merchantMaxTotalRateBp", 0), commission["capRateBp"])
    commission["levelCount"] = min(commission.get("levelCount", 1), current["levelCount"])
    withdrawal["minimumFen"] = min(withdrawal.get("minimumFen", 1), 10_000_000_000)
    withdrawal["maximumFen"] = min(max(withdrawal.get("maximumFen", 0), withdrawal["minimumFen"]), 10_000_000_000)
    withdrawal["maxPerMonth"] = max(withdrawal.get("maxPerMonth", 1), withdrawal.get("maxPerDay", 1))
    if withdrawal.get("allowedDays") == "weekdays":
        withdrawal["days"] = sorted(rng.sample(range(1, 8), rng.randrange(1, 8)))
    elif withdrawal.get("allowedDays") == "days_of_month":
        withdrawal["days"] = sorted(rng.sample(range(1, 32), rng.randrange(1, 32)))
    minimum = withdrawal.get("minimumFen", 1)
    by_rate = (minimum * withdrawal.get("feeRateBp", 0) + 5_000) // 10_000
    if max(by_rate, withdrawal.get("minimumFeeFen", 0)) >= minimum:
        withdrawal["feeRateBp"], withdrawal["minimumFeeFen"] = 0, 0


def fix_grades(case) -> None:
    """The ladder as it stands, renamed: a grade that still has distributors cannot go."""
    if not isinstance(case.body, list) or not case.body:
        return
    current = api("GET", "/api/v1/admin/distribution/grades")
    ladder = current or [{"id": str(uuid.uuid4()), "rank": 1}]
    suffix = token(4)
    grades = []
    for index, grade in enumerate(sorted(ladder, key=lambda g: g["rank"])):
        template = case.body[index % len(case.body)]
        grades.append({"id": grade["id"], "name": "等级%d-%s" % (index + 1, suffix), "honourTitle": template.get("honourTitle", "")[:20],
                       "rank": grade["rank"], "promotionMatch": template.get("promotionMatch", "all"),
                       "promotion": [] if index == 0 else [{"metric": "own_sales", "window": "cumulative", "threshold": 100_000 * index}],
                       "minimum": template.get("minimum", [])[:2] if index > 0 else []})
    case.body = grades


def fix_preview(case) -> None:
    if not isinstance(case.body, dict) or not public_sku_ids():
        return
    case.body["skuId"] = rng.choice(public_sku_ids())
    case.body["quantity"] = rng.randrange(1, 5)
    case.body["paidAmountFen"] = None
    if case.body.get("buyerId") is not None:
        case.body["buyerId"] = rng.choice(plain_member_ids() + distributor_member_ids("active")) if plain_member_ids() else None
    if case.body.get("distributorId") is not None:
        case.body["distributorId"] = rng.choice(distributor_member_ids("active") or [None])


# The statuses each decision starts from.
DECIDES_FROM = {"approve": ("applied",), "reject": ("applied",), "freeze": ("active",), "unfreeze": ("frozen",), "remove": ("active", "frozen")}


def fix_decision(case) -> None:
    """A distributor the decision can be made on; a rejection with its reason."""
    if not isinstance(case.body, dict) or case.body.get("decision") not in DECIDES_FROM:
        return
    # Not the demo distributor, whose withdrawals and commissions the other operations use.
    sharer = distribution_data().get("sharer", "")
    pool = [m for m in distributor_member_ids(*DECIDES_FROM[case.body["decision"]]) if m != sharer] or distributor_member_ids()
    if pool and case.path_parameters is not None:
        case.path_parameters["memberID"] = rng.choice(pool)
    if case.body["decision"] == "reject" and not trimmed(case.body.get("note") or ""):
        case.body["note"] = "资料不全"


def fix_set_grade(case) -> None:
    if isinstance(case.body, dict) and grade_ids():
        case.body["gradeId"] = rng.choice(grade_ids())


def fix_move_binding(case) -> None:
    """A plain member moved to an active distributor other than the member."""
    moving = str((case.path_parameters or {}).get("memberID", "")).lower()
    targets = [m for m in distributor_member_ids("active") if m != moving]
    if isinstance(case.body, dict) and targets:
        case.body["distributorId"] = rng.choice(targets)


def fix_payout(case) -> None:
    """An approved withdrawal with the proof `prepare` uploaded; without a body, one that needs no proof."""
    def load():
        return [(w["id"].lower(), w["channel"]) for w in api("GET", "/api/v1/admin/distribution/withdrawals?state=approved&limit=200")]
    approved = cached("approved-withdrawals", load, ttl=2.0)
    if isinstance(case.body, dict) and distribution_data().get("proof"):
        case.body["proofImage"] = distribution_data()["proof"]
    else:
        approved = [(w, channel) for w, channel in approved if channel != "bank_card"]
    if approved and case.path_parameters is not None:
        case.path_parameters["withdrawalID"] = rng.choice(approved)[0]


def fix_refund(case) -> None:
    """A line of one of the buyer's paid orders, one unit at a time."""
    pairs = distribution_data().get("refunds", [])
    if not isinstance(case.body, dict) or not pairs or case.path_parameters is None:
        return
    order, line = rng.choice(pairs)
    case.path_parameters["orderID"] = order
    case.body.update({"lineId": line, "units": 1})
    if case.body.get("amountFen") is not None:
        case.body["amountFen"] = rng.randrange(1, 100)


def path_id(name: str, pool):
    def fix(case) -> None:
        if case.path_parameters and name in case.path_parameters:
            choices = pool()
            if choices:
                case.path_parameters[name] = rng.choice(choices)
    return fix


def both(*fixes):
    def fix(case) -> None:
        for each in fixes:
            each(case)
    return fix


def fix_coupon(case) -> None:
    """A template the rules accept: a kind with what it needs, a threshold above the amount off,
    days after receipt rather than a window, and the whole mall (or the whole shop) in scope."""
    body = case.body if isinstance(case.body, dict) else {}
    kind = rng.choice(["full_reduction", "discount", "no_threshold", "new_user", "shipping"])
    off = rng.randint(1, 5_000)
    body.update({"name": body.get("name") if isinstance(body.get("name"), str) and body["name"].strip(SWIFT_WS) else "券" + token(6),
                 "kind": kind, "scope": "all", "scopeIds": None, "startsAt": None, "endsAt": None,
                 "validDays": rng.randint(1, 365)})
    if kind == "discount":
        body.update({"payRateBp": rng.randint(1, 9_999), "amountOffFen": None, "thresholdFen": rng.randint(0, 100_000)})
    elif kind == "shipping":
        body.update({"payRateBp": None, "maximumOffFen": None, "amountOffFen": rng.choice([None, off]), "thresholdFen": rng.randint(0, 100_000)})
    else:
        body.update({"payRateBp": None, "maximumOffFen": None, "amountOffFen": off,
                     "thresholdFen": 0 if kind == "no_threshold" else off + rng.randint(1, 100_000)})
    case.body = body


def coupon_offer_ids() -> list[str]:
    """Coupons in the coupon centre; the member holds at most the limit of each, then a 409 says so."""
    return cached("coupon-offers", lambda: ids(api("GET", "/api/v1/coupons")), ttl=2.0)


def admin_coupon_ids() -> list[str]:
    """The operator's templates that are not stopped (a stopped one answers resume with a 409)."""
    def load():
        return [row["id"] for row in api("GET", "/api/v1/admin/coupons") if row.get("status") != "stopped"]
    return cached("admin-coupons", load, ttl=2.0)


def shop_coupon_ids() -> list[str]:
    return cached("shop-coupons", lambda: ids(api("GET", "/api/v1/merchant/coupons")), ttl=2.0)


def unclaimed_coupon_ids(shop: bool):
    """Templates nobody holds yet, whose every field may change (a held one's terms are a 409)."""
    path = "/api/v1/merchant/coupons" if shop else "/api/v1/admin/coupons"

    def load():
        rows = [row for row in api("GET", path) if row.get("status") != "stopped"]
        return [row["id"] for row in rows if row.get("issued") == 0] or [row["id"] for row in rows]
    return lambda: cached("unclaimed-" + path, load, ttl=2.0)


def shop_open_coupon_ids() -> list[str]:
    """The shop's templates that are not stopped (a stopped one answers resume with a 409)."""
    def load():
        return [row["id"] for row in api("GET", "/api/v1/merchant/coupons") if row.get("status") != "stopped"]
    return cached("shop-open-coupons", load, ttl=2.0)


def fix_promotion(case) -> None:
    """An activity the rules accept: 满减 over the whole mall (or the whole shop) with ascending
    tiers, each amount below its threshold, in a window that has started and ends within days."""
    body = case.body if isinstance(case.body, dict) else {}
    now = datetime.datetime.now(datetime.timezone.utc)
    first = rng.randint(1_000, 100_000)
    off = rng.randint(1, first - 1)
    tiers = [{"thresholdFen": first, "amountOffFen": off}]
    if rng.random() < 0.5:
        tiers.append({"thresholdFen": first + rng.randint(1, 100_000), "amountOffFen": off + rng.randint(1, first - off)})
    body.update({"name": body.get("name") if isinstance(body.get("name"), str) and body["name"].strip(SWIFT_WS) else "满减" + token(6),
                 "kind": "full_reduction", "scope": "all", "merchantId": None, "productIds": None, "skus": None, "perMemberLimit": None, "giftSkuId": None, "giftQuantity": None,
                 "startsAt": (now - datetime.timedelta(minutes=1)).isoformat(timespec="seconds"),
                 "endsAt": (now + datetime.timedelta(days=rng.randint(1, 30))).isoformat(timespec="seconds"),
                 "tiers": tiers})
    case.body = body


def fix_group_buy(pool):
    """A group buy the rules accept: a real SKU (the shop's own for a shop) at 1 fen, a window that has started."""
    def fix(case) -> None:
        body = case.body if isinstance(case.body, dict) else {}
        skus = pool()
        if not skus:
            return
        now = datetime.datetime.now(datetime.timezone.utc)
        body.update({"name": body.get("name") if isinstance(body.get("name"), str) and body["name"].strip(SWIFT_WS) else "拼团" + token(6),
                     "skuId": rng.choice(skus), "priceFen": 1, "size": rng.randint(2, 100), "durationMinutes": rng.randint(1, 10_080),
                     "startsAt": (now - datetime.timedelta(minutes=1)).isoformat(timespec="seconds"),
                     "endsAt": (now + datetime.timedelta(days=rng.randint(1, 30))).isoformat(timespec="seconds")})
        case.body = body
    return fix


def fix_bargain(pool):
    """A bargain the rules accept: a real SKU (the shop's own for a shop) cut down to 0 fen."""
    def fix(case) -> None:
        body = case.body if isinstance(case.body, dict) else {}
        skus = pool()
        if not skus:
            return
        now = datetime.datetime.now(datetime.timezone.utc)
        body.update({"name": body.get("name") if isinstance(body.get("name"), str) and body["name"].strip(SWIFT_WS) else "砍价" + token(6),
                     "skuId": rng.choice(skus), "floorPriceFen": 0, "maxCuts": rng.randint(1, 1_000), "durationMinutes": rng.randint(1, 10_080),
                     "dailyCutLimit": rng.randint(1, 100),
                     "startsAt": (now - datetime.timedelta(minutes=1)).isoformat(timespec="seconds"),
                     "endsAt": (now + datetime.timedelta(days=rng.randint(1, 30))).isoformat(timespec="seconds")})
        case.body = body
    return fix


def activity_ids(path: str, running_only: bool = True):
    """Activities of a console list that are not stopped (a stopped one answers resume with a 409)."""
    def load():
        return [row["id"] for row in api("GET", path) if not running_only or row.get("status") != "stopped"]
    return lambda: cached(path, load, ttl=2.0)


def member_bargain_ids() -> list[str]:
    """Bargains of the prepared member, one per running bargain activity (starting again returns the running one)."""
    def load():
        member = os.environ.get("FUZZ_MEMBER_TOKEN", "")
        if not member:
            return []
        found = []
        try:
            for activity in api("GET", "/api/v1/bargain-activities", auth=False):
                started = api("POST", "/api/v1/bargains", auth=False, headers={"Authorization": "Bearer " + member}, json={"activityId": activity["id"]})
                found.append(started["id"])
        except requests.HTTPError:
            pass
        return found
    return cached("member-bargains", load, ttl=30.0)


def running_group_buy_ids() -> list[str]:
    return cached("group-buys", lambda: ids(api("GET", "/api/v1/group-buys", auth=False)), ttl=5.0)


def open_group_ids() -> list[str]:
    def load():
        found = []
        for activity in running_group_buy_ids():
            found += ids(api("GET", "/api/v1/group-buys/%s/groups" % activity, auth=False))
        return found
    return cached("open-groups", load, ttl=5.0)


def fix_bargain_start(case) -> None:
    running = cached("bargain-activities", lambda: ids(api("GET", "/api/v1/bargain-activities", auth=False)), ttl=2.0)
    if running:
        case.body = {"activityId": rng.choice(running)}


def admin_promotion_ids() -> list[str]:
    """The operator's activities that are not stopped (a stopped one answers resume with a 409)."""
    def load():
        return [row["id"] for row in api("GET", "/api/v1/admin/promotions") if row.get("status") != "stopped"]
    return cached("admin-promotions", load, ttl=2.0)


def shop_promotion_ids() -> list[str]:
    def load():
        return [row["id"] for row in api("GET", "/api/v1/merchant/promotions") if row.get("status") != "stopped"]
    return cached("shop-promotions", load, ttl=2.0)


def fix_points_adjustment(case) -> None:
    """Mostly additions: a member with no points answers a taking with a 409."""
    if isinstance(case.body, dict) and isinstance(case.body.get("delta"), int) and rng.random() < 0.8:
        case.body["delta"] = rng.randint(1, 1_000)


def fix_points_mall_item(case) -> None:
    """An item the rules accept: a platform coupon that is not stopped, or a public SKU with a cash
    part between one fen and its price; and no window or a window that ends after it starts."""
    body = case.body if isinstance(case.body, dict) else {}
    templates = platform_coupon_ids()
    skus = public_sku_prices()
    if skus and (rng.random() < 0.5 or not templates):
        sku, price = rng.choice(skus)
        body.update({"kind": "goods", "skuId": sku, "cashFen": rng.randint(1, max(1, price)), "couponTemplateId": None})
    else:
        if templates:
            body["couponTemplateId"] = rng.choice(templates)
        body.update({"kind": "coupon", "skuId": None, "cashFen": None})
    if not (isinstance(body.get("name"), str) and body["name"].strip(SWIFT_WS)):
        body["name"] = "兑换" + token(6)
    if rng.random() < 0.5:
        body.update({"startsAt": None, "endsAt": None})
    else:
        now = datetime.datetime.now(datetime.timezone.utc)
        body.update({"startsAt": (now - datetime.timedelta(minutes=1)).isoformat(timespec="seconds"),
                     "endsAt": (now + datetime.timedelta(days=rng.randint(1, 30))).isoformat(timespec="seconds")})
    case.body = body


def platform_coupon_ids() -> list[str]:
    """The operator's own templates that are not stopped: what a points-mall item may redeem."""
    def load():
        return [row["id"] for row in api("GET", "/api/v1/admin/coupons") if row.get("status") != "stopped" and not row.get("merchantId")]
    return cached("platform-coupons", load, ttl=2.0)


def points_mall_item_ids() -> list[str]:
    # Goods are redeemed through checkout; the redeem operation takes coupon items.
    def load():
        return [row["id"] for row in api("GET", "/api/v1/points-mall/items") if row.get("kind") == "coupon"]
    return cached("points-mall-items", load, ttl=2.0)


def admin_points_mall_item_ids(status: str):
    def load():
        return [row["id"] for row in api("GET", "/api/v1/admin/points-mall/items") if row.get("status") == status]
    return lambda: cached("admin-points-mall-" + status, load, ttl=2.0)


def fix_members_settings(case) -> None:
    """Generated levels made into a ladder: the first from growth 0, each higher than the last, ids unique."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("levels"), list) or not body["levels"]:
        return
    growth = 0
    for index, level in enumerate(body["levels"]):
        if not isinstance(level, dict):
            return
        level["id"] = f"l{index}"
        level["minimumGrowth"] = growth
        # The server trims names as Swift does (a lone no-break space is empty): such a name is a 422.
        if not isinstance(level.get("name"), str) or not trimmed(level["name"]):
            level["name"] = f"等级{index}"
        growth += rng.randrange(1, 10_000)


def fix_farming_settings(case) -> None:
    """Generous farming limits: generated ones (often 1) would have the guard refuse the fuzzer's
    own claims and cuts with 409/429 and leave those operations untested behind it."""
    body = case.body
    if not isinstance(body, dict):
        return
    body.update({"newUserCouponMembersPerDevice": 100, "newUserCouponMembersPerIpPerDay": 10_000,
                 "cutsPerDevicePerDay": 1_000, "cutsPerIpPerDay": 100_000})


def sellable_skus(own: bool) -> list[tuple[str, int]]:
    """SKUs (id, price in fen) with a unit to spare and a price a flash price can go below. Each
    flash sale the run makes takes a unit: once none is spare, SKUs without (a flash sale is then a
    409 with the reason, a group buy or bargain does not need one)."""
    def load():
        stocked, priced = [], []
        products = own_product_ids() if own else public_product_ids()
        # The newest products are often the run's own, priced at a fen: the oldest (the demo's) too.
        for product in list(dict.fromkeys(products[:10] + products[-10:])):
            try:
                detail = api("GET", ("/api/v1/merchant/products/" if own else "/api/v1/products/") + product, auth=own)
            except requests.HTTPError:
                continue  # deleted or taken off the shelf by the run
            for sku in detail["skus"]:
                if sku["price"]["fen"] > 1:
                    priced.append((sku["id"].lower(), sku["price"]["fen"]))
                    if sku["stock"] > 1:
                        stocked.append(priced[-1])
        return stocked or priced
    return cached("flash-skus-own" if own else "flash-skus-public", load, ttl=5.0)


def flash_sale_fix(own: bool):
    """A flash sale the rules accept: one session from a minute ago for an hour, one unit of a
    real SKU (the shop's own for a shop) at half its price."""
    def fix(case) -> None:
        body = case.body if isinstance(case.body, dict) else {}
        skus = sellable_skus(own)
        if not skus:
            return
        name = body.get("name") if isinstance(body.get("name"), str) and body["name"].strip(SWIFT_WS) else None
        body.update(flash_sale_body(skus, name=name))
        case.body = body
    return fix


def flash_sale_body(skus: list[tuple[str, int]], name=None, stock: int = 1) -> dict:
    sku, price = rng.choice(skus)
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"name": name or "秒杀" + token(6), "unpaidMinutes": rng.randint(1, 30), "paysCommission": rng.random() < 0.5,
            "sessions": [{"startsAt": (now - datetime.timedelta(minutes=1)).isoformat(timespec="seconds"),
                          "endsAt": (now + datetime.timedelta(hours=1)).isoformat(timespec="seconds"),
                          "items": [{"skuId": sku, "priceFen": price // 2, "stock": stock, "perMemberLimit": 1}]}]}


def own_ticket_ids() -> list[str]:
    """The member's places in a flash sale's queue, taken by prepare (a made-up ticket is a 404)."""
    path = os.environ.get("FUZZ_TICKETS_FILE", "")
    if not path or not os.path.exists(path):
        return []
    with open(path) as tickets:
        return [line.strip() for line in tickets if line.strip()]


def admin_flash_sale_ids() -> list[str]:
    """The operator's flash sales that are not stopped (a stopped one answers resume with a 409)."""
    def load():
        return [row["id"] for row in api("GET", "/api/v1/admin/flash-sales") if row.get("status") != "stopped"]
    return cached("admin-flash-sales", load, ttl=2.0)


def shop_flash_sale_ids() -> list[str]:
    def load():
        return [row["id"] for row in api("GET", "/api/v1/merchant/flash-sales") if row.get("status") != "stopped"]
    return cached("shop-flash-sales", load, ttl=2.0)


def shop_flash_sale_all_ids() -> list[str]:
    return cached("shop-flash-sales-all", lambda: ids(api("GET", "/api/v1/merchant/flash-sales")), ttl=2.0)


def admin_flash_sale_all_ids() -> list[str]:
    return cached("admin-flash-sales-all", lambda: ids(api("GET", "/api/v1/admin/flash-sales")), ttl=2.0)


def member_tags(kind: str | None = None) -> list[dict]:
    """The operator's member tags (of one kind), making one of each kind when there is none, so
    the operations on a tag reach a tag of the kind they act on."""
    def load():
        return api("GET", "/api/v1/admin/member-tags")
    rows = cached("member-tags", load, ttl=2.0)
    for wanted, body in (("manual", {"name": "标签" + token(6)}), ("rule", {"name": "规则" + token(6), "rule": {"inactiveDays": 30}})):
        if not any(row.get("kind") == wanted for row in rows):
            api("POST", "/api/v1/admin/member-tags", json=body)
            _cache.pop("member-tags", None)
            rows = cached("member-tags", load, ttl=2.0)
    return [row for row in rows if kind is None or row.get("kind") == kind]


def member_tag_ids(kind: str | None = None):
    return lambda: [row["id"].lower() for row in member_tags(kind)]


def fix_member_tag(case) -> None:
    """A fresh name (a taken one is a 409) and a category that exists."""
    body = case.body
    if not isinstance(body, dict):
        return
    if "name" in body or case.method.upper() == "POST":
        body["name"] = "标签" + token(8)
    rule = body.get("rule")
    if isinstance(rule, dict) and rule.get("categoryId") is not None:
        found = ids(categories())
        if found:
            rule["categoryId"] = rng.choice(found)
        else:
            rule.pop("categoryId")
            rule.setdefault("inactiveDays", 30)


def fix_member_tag_members(case) -> None:
    """Real members, so most additions add someone."""
    body = case.body
    members = plain_member_ids()
    if isinstance(body, dict) and members and isinstance(body.get("memberIds"), list) and body["memberIds"]:
        body["memberIds"] = rng.sample(members, min(len(members), len(body["memberIds"])))


def fix_member_tag_member_path(case) -> None:
    """A manual tag and one of its members (one is added when the tag is empty)."""
    if not case.path_parameters:
        return
    tags = member_tags("manual")
    if not tags:
        return
    tag = rng.choice(tags)["id"].lower()
    rows = api("GET", f"/api/v1/admin/member-tags/{tag}/members?limit=100").get("items", [])
    if not rows and plain_member_ids():
        api("POST", f"/api/v1/admin/member-tags/{tag}/members", json={"memberIds": [rng.choice(plain_member_ids())]})
        rows = api("GET", f"/api/v1/admin/member-tags/{tag}/members?limit=100").get("items", [])
    case.path_parameters["tagID"] = tag
    if rows:
        case.path_parameters["memberID"] = rng.choice(rows)["memberId"].lower()


def fix_coupon_send(case) -> None:
    """A tag that exists when one is named (the shop reads the tags through its own list)."""
    body = case.body
    if isinstance(body, dict) and body.get("tagId") is not None:
        path = "/api/v1/admin/member-tags" if os.environ.get("FUZZ_ROLE") == "platform" else "/api/v1/merchant/member-tags"
        found = ids(cached("send-tags-" + path, lambda: api("GET", path), ttl=2.0))
        if found:
            body["tagId"] = rng.choice(found)


def coupon_send_ids(shop: bool):
    """Send jobs the role reads (prepare queues one for the platform and one for the shop)."""
    path = "/api/v1/merchant/coupon-sends?limit=100" if shop else "/api/v1/admin/coupon-sends?limit=100"
    return lambda: cached("coupon-sends-" + path, lambda: ids(api("GET", path)), ttl=2.0)


def fix_pay(case) -> None:
    """A method this server has: WeChat Pay and Alipay are not configured here (a 422 with the reason)."""
    if isinstance(case.body, dict):
        case.body = {"method": rng.choice(["balance", "sandbox"])}


def fix_birthday(case) -> None:
    """A day the month has (April 31 is a 422); 29 February is allowed."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("month"), int) and 1 <= body["month"] <= 12 and isinstance(body.get("day"), int):
        body["day"] = min(max(body["day"], 1), [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][body["month"] - 1])


def fix_birthday_settings(case) -> None:
    """A platform coupon that is not stopped, or none."""
    body = case.body
    if isinstance(body, dict) and body.get("couponTemplateId") is not None:
        found = admin_coupon_ids()
        body["couponTemplateId"] = rng.choice(found) if found else None


BODY_FIXES = {
    "createMemberTag": fix_member_tag,
    "updateMemberTag": fix_member_tag,
    "addMemberTagMembers": fix_member_tag_members,
    "sendAdminCoupon": fix_coupon_send,
    "sendShopCoupon": fix_coupon_send,
    "putBirthdaySettings": fix_birthday_settings,
    "setMyBirthday": fix_birthday,
    "payPayment": fix_pay,
    "putMembersSettings": fix_members_settings,
    "adjustMemberPoints": fix_points_adjustment,
    "putFarmingSettings": fix_farming_settings,
    "createProduct": fix_product,
    "updateProduct": fix_product,
    "createMerchantStaff": fix_staff,
    "applyAsMerchant": fix_application,
    "registerMember": fix_registration,
    "setStoreStock": fix_stock,
    "createCategory": fix_category,
    "updateCategory": fix_category,
    "importProducts": fix_import,
    "addToCart": fix_cart_add,
    "changeCartItem": fix_cart_change,
    "selectCartItems": fix_cart_selection,
    "previewCheckout": fix_checkout,
    "requestAfterSale": fix_after_sale,
    "redeemCode": fix_redeem,
    "placeCheckout": fix_checkout,
    "joinFlashSaleQueue": fix_flash_ticket,
    "shipOrder": fix_ship,
    "shipOrdersBatch": fix_ship_batch,
    "addShipmentEvent": fix_shipment_event,
    "createReview": fix_review,
    "runReconciliation": fix_reconcile,
    "applyAsDistributor": fix_apply,
    "touchDistributorLink": fix_touch,
    "getShareEarning": fix_earn,
    "requestWithdrawal": fix_withdrawal,
    "putShopCommissionRule": fix_shop_rule,
    "putDistributionSettings": fix_settings,
    "putCommissionRule": fix_platform_rule,
    "putDistributorGrades": fix_grades,
    "previewCommission": fix_preview,
    "decideDistributor": fix_decision,
    "setDistributorGrade": fix_set_grade,
    "moveCustomerBinding": fix_move_binding,
    "payWithdrawal": fix_payout,
    "refundOrderLine": fix_refund,
    "setStoreDistribution": fix_store_distribution,
    "setDistributorAvatar": fix_avatar,
    "createAdminCoupon": fix_coupon,
    "createShopCoupon": fix_coupon,
    "updateAdminCoupon": fix_coupon,
    "updateShopCoupon": fix_coupon,
    "createAdminPromotion": fix_promotion,
    "createShopPromotion": fix_promotion,
    # A group price of 1 fen must be below the SKU's: SKUs priced above 1 fen only.
    "createAdminGroupBuy": fix_group_buy(lambda: [sku for sku, _ in sellable_skus(False)]),
    "createShopGroupBuy": fix_group_buy(lambda: [sku for sku, _ in sellable_skus(True)]),
    "createAdminBargain": fix_bargain(public_sku_ids),
    "createShopBargain": fix_bargain(own_sku_ids),
    "startBargain": fix_bargain_start,
    "createAdminFlashSale": flash_sale_fix(own=False),
    "createAdminPointsMallItem": fix_points_mall_item,
    "createShopFlashSale": flash_sale_fix(own=True),
    # An edit sends the whole activity, as a create does.
    "updateAdminPromotion": fix_promotion,
    "updateShopPromotion": fix_promotion,
    "updateAdminFlashSale": flash_sale_fix(own=False),
    "updateShopFlashSale": flash_sale_fix(own=True),
    "updateAdminGroupBuy": fix_group_buy(lambda: [sku for sku, _ in sellable_skus(False)]),
    "updateShopGroupBuy": fix_group_buy(lambda: [sku for sku, _ in sellable_skus(True)]),
    "updateAdminBargain": fix_bargain(public_sku_ids),
    "updateShopBargain": fix_bargain(own_sku_ids),
}
PATH_FIXES = {
    "getMemberTag": path_id("tagID", member_tag_ids()),
    "updateMemberTag": path_id("tagID", member_tag_ids("rule")),
    "deleteMemberTag": path_id("tagID", member_tag_ids()),
    "listMemberTagMembers": path_id("tagID", member_tag_ids()),
    "addMemberTagMembers": path_id("tagID", member_tag_ids("manual")),
    "removeMemberTagMember": fix_member_tag_member_path,
    "recomputeMemberTag": path_id("tagID", member_tag_ids("rule")),
    "getProduct": path_id("productID", public_product_ids),
    "getStore": path_id("storeID", public_store_ids),
    "getStoreQRCodePNG": path_id("storeID", public_store_ids),
    "getStoreQRCodeSVG": path_id("storeID", public_store_ids),
    "getMerchantStaff": path_id("staffID", own_staff_ids),
    "updateMerchant": path_id("merchantID", merchant_ids),
    "updateCategory": path_id("categoryID", lambda: ids(categories())),
    "getMerchantProduct": path_id("productID", own_product_ids),
    "updateProduct": path_id("productID", own_product_ids),
    "setProductShelf": path_id("productID", own_product_ids),
    "markMerchantMessageRead": path_id("messageID", message_ids),
    "updateStore": path_id("storeID", own_store_ids),
    "getStoreStock": path_id("storeID", own_store_ids),
    "setStoreStock": path_id("storeID", own_store_ids),
    "updateAddress": path_id("addressID", own_address_ids),
    "deleteAddress": path_id("addressID", own_address_ids),
    "changeCartItem": path_id("itemID", own_cart_item_ids),
    "removeCartItem": path_id("itemID", own_cart_item_ids),
    "getMyOrder": path_id("orderID", own_order_ids),
    "cancelMyOrder": path_id("orderID", own_order_ids),
    "confirmReceipt": path_id("orderID", own_shipped_order_ids),
    "getPayment": path_id("paymentID", own_payment_ids),
    "payPayment": path_id("paymentID", own_payment_ids),
    "requestAfterSale": path_id("orderID", own_paid_order_ids),
    "listOrderCodes": path_id("orderID", own_order_ids),
    "getMyAfterSale": path_id("afterSaleID", after_sales_in("/api/v1/me/after-sales?limit=100", "requested", "rejected", "appealed", "awaiting_return", "refunded", "cancelled")),
    "cancelAfterSale": path_id("afterSaleID", after_sales_in("/api/v1/me/after-sales?limit=100", "requested")),
    "appealAfterSale": path_id("afterSaleID", after_sales_in("/api/v1/me/after-sales?limit=100", "rejected")),
    "shipAfterSaleReturn": path_id("afterSaleID", after_sales_in("/api/v1/me/after-sales?limit=100", "awaiting_return")),
    "approveAfterSale": path_id("afterSaleID", after_sales_in("/api/v1/merchant/after-sales?limit=100", "requested")),
    "rejectAfterSale": path_id("afterSaleID", after_sales_in("/api/v1/merchant/after-sales?limit=100", "requested")),
    "confirmAfterSaleReturn": path_id("afterSaleID", after_sales_in("/api/v1/merchant/after-sales?limit=100", "return_shipped")),
    "decideAppeal": path_id("afterSaleID", appealed_ids),
    "getMerchantOrder": path_id("orderID", shop_order_ids),
    "shipOrder": path_id("orderID", shop_paid_order_ids),
    "changeOrderPrice": path_id("orderID", shop_unpaid_order_ids),
    "changeOrderAddress": path_id("orderID", shop_unshipped_order_ids),
    "listMyShipments": path_id("orderID", own_order_ids),
    "listMerchantShipments": path_id("orderID", shop_order_ids),
    "addShipmentEvent": fix_shipment_path,
    "listProductReviews": path_id("productID", public_product_ids),
    "createReview": path_id("orderID", own_reviewable_order_ids),
    "listMyOrderReviews": path_id("orderID", own_order_ids),
    "replyToReview": path_id("reviewID", shop_review_ids),
    "hideReview": path_id("reviewID", lambda: moderated_review_ids(False)),
    "unhideReview": path_id("reviewID", lambda: moderated_review_ids(True)),
    "approveMerchantApplication": path_id("applicationID", lambda: [pending_application()]),
    "rejectMerchantApplication": path_id("applicationID", lambda: [pending_application()]),
    "resolveReconciliationDifference": path_id("differenceID", open_difference_ids),
    "getDistributionPoster": path_id("productID", public_product_ids),
    "deleteShopCommissionRule": path_id("ruleID", shop_rule_ids),
    "deleteCommissionRule": path_id("ruleID", platform_rule_ids),
    "setDistributorGrade": path_id("memberID", lambda: distributor_member_ids()),
    "appointDistributor": path_id("memberID", plain_member_ids),
    "getCustomerBinding": path_id("memberID", plain_member_ids),
    "adjustMemberPoints": path_id("memberID", plain_member_ids),
    "resetMemberBirthday": path_id("memberID", plain_member_ids),
    "moveCustomerBinding": path_id("memberID", plain_member_ids),
    "holdCommission": path_id("commissionID", lambda: commissions_where(False)),
    "releaseCommission": path_id("commissionID", lambda: commissions_where(True)),
    "approveCommissionBatch": path_id("batchID", batch_ids),
    "approveWithdrawal": path_id("withdrawalID", withdrawals_in("requested")),
    "rejectWithdrawal": path_id("withdrawalID", withdrawals_in("requested")),
    "payWithdrawal": path_id("withdrawalID", withdrawals_in("approved")),
    "failWithdrawal": path_id("withdrawalID", withdrawals_in("approved")),
    "syncWithdrawal": path_id("withdrawalID", withdrawals_in("transferring")),
    "approveShopCommissionBatch": path_id("batchID", shop_batch_ids),
    "setStoreDistribution": path_id("storeID", own_store_ids),
    "claimCoupon": path_id("templateID", coupon_offer_ids),
    "redeemPointsMallItem": path_id("itemID", points_mall_item_ids),
    "pauseAdminPointsMallItem": path_id("itemID", admin_points_mall_item_ids("active")),
    "resumeAdminPointsMallItem": path_id("itemID", admin_points_mall_item_ids("paused")),
    "stopAdminPointsMallItem": path_id("itemID", admin_points_mall_item_ids("active")),
    "pauseAdminCoupon": path_id("templateID", admin_coupon_ids),
    "updateAdminCoupon": path_id("templateID", unclaimed_coupon_ids(shop=False)),
    "updateShopCoupon": path_id("templateID", unclaimed_coupon_ids(shop=True)),
    "resumeAdminCoupon": path_id("templateID", admin_coupon_ids),
    "stopAdminCoupon": path_id("templateID", admin_coupon_ids),
    "sendAdminCoupon": path_id("templateID", admin_coupon_ids),
    "sendShopCoupon": path_id("templateID", shop_coupon_ids),
    "getAdminCouponSend": path_id("jobID", coupon_send_ids(shop=False)),
    "cancelAdminCouponSend": path_id("jobID", coupon_send_ids(shop=False)),
    "getShopCouponSend": path_id("jobID", coupon_send_ids(shop=True)),
    "cancelShopCouponSend": path_id("jobID", coupon_send_ids(shop=True)),
    "pauseShopCoupon": path_id("templateID", shop_open_coupon_ids),
    "resumeShopCoupon": path_id("templateID", shop_open_coupon_ids),
    "stopShopCoupon": path_id("templateID", shop_open_coupon_ids),
    "couponAdminResults": path_id("templateID", admin_coupon_ids),
    "couponShopResults": path_id("templateID", shop_coupon_ids),
    "promotionAdminResults": path_id("promotionID", admin_promotion_ids),
    "promotionShopResults": path_id("promotionID", shop_promotion_ids),
    "getBargain": path_id("bargainID", member_bargain_ids),
    "cutBargain": path_id("bargainID", member_bargain_ids),
    "getGroup": path_id("groupID", open_group_ids),
    "listOpenGroups": path_id("activityID", running_group_buy_ids),
    "pauseAdminPromotion": path_id("promotionID", admin_promotion_ids),
    "updateAdminPromotion": path_id("promotionID", admin_promotion_ids),
    "updateShopPromotion": path_id("promotionID", shop_promotion_ids),
    "updateAdminFlashSale": path_id("flashSaleID", admin_flash_sale_ids),
    "updateShopFlashSale": path_id("flashSaleID", shop_flash_sale_ids),
    "updateAdminGroupBuy": path_id("activityID", activity_ids("/api/v1/admin/group-buys")),
    "updateShopGroupBuy": path_id("activityID", activity_ids("/api/v1/merchant/group-buys")),
    "updateAdminBargain": path_id("activityID", activity_ids("/api/v1/admin/bargains")),
    "updateShopBargain": path_id("activityID", activity_ids("/api/v1/merchant/bargains")),
    "resumeAdminPromotion": path_id("promotionID", admin_promotion_ids),
    "stopAdminPromotion": path_id("promotionID", admin_promotion_ids),
    "pauseShopPromotion": path_id("promotionID", shop_promotion_ids),
    "resumeShopPromotion": path_id("promotionID", shop_promotion_ids),
    "stopShopPromotion": path_id("promotionID", shop_promotion_ids),
    "pauseAdminGroupBuy": path_id("activityID", activity_ids("/api/v1/admin/group-buys")),
    "resumeAdminGroupBuy": path_id("activityID", activity_ids("/api/v1/admin/group-buys")),
    "stopAdminGroupBuy": path_id("activityID", activity_ids("/api/v1/admin/group-buys")),
    "groupBuyAdminResults": path_id("activityID", activity_ids("/api/v1/admin/group-buys", running_only=False)),
    "pauseAdminBargain": path_id("activityID", activity_ids("/api/v1/admin/bargains")),
    "resumeAdminBargain": path_id("activityID", activity_ids("/api/v1/admin/bargains")),
    "stopAdminBargain": path_id("activityID", activity_ids("/api/v1/admin/bargains")),
    "bargainAdminResults": path_id("activityID", activity_ids("/api/v1/admin/bargains", running_only=False)),
    "pauseShopGroupBuy": path_id("activityID", activity_ids("/api/v1/merchant/group-buys")),
    "resumeShopGroupBuy": path_id("activityID", activity_ids("/api/v1/merchant/group-buys")),
    "stopShopGroupBuy": path_id("activityID", activity_ids("/api/v1/merchant/group-buys")),
    "groupBuyShopResults": path_id("activityID", activity_ids("/api/v1/merchant/group-buys", running_only=False)),
    "pauseShopBargain": path_id("activityID", activity_ids("/api/v1/merchant/bargains")),
    "resumeShopBargain": path_id("activityID", activity_ids("/api/v1/merchant/bargains")),
    "stopShopBargain": path_id("activityID", activity_ids("/api/v1/merchant/bargains")),
    "bargainShopResults": path_id("activityID", activity_ids("/api/v1/merchant/bargains", running_only=False)),
    "pauseAdminFlashSale": path_id("flashSaleID", admin_flash_sale_ids),
    "resumeAdminFlashSale": path_id("flashSaleID", admin_flash_sale_ids),
    "stopAdminFlashSale": path_id("flashSaleID", admin_flash_sale_ids),
    "getAdminFlashSaleResults": path_id("flashSaleID", admin_flash_sale_all_ids),
    "pauseShopFlashSale": path_id("flashSaleID", shop_flash_sale_ids),
    "resumeShopFlashSale": path_id("flashSaleID", shop_flash_sale_ids),
    "stopShopFlashSale": path_id("flashSaleID", shop_flash_sale_ids),
    "getShopFlashSaleResults": path_id("flashSaleID", shop_flash_sale_all_ids),
    "joinFlashSaleQueue": path_id("itemID", flash_item_ids),
    "getFlashSaleTicket": path_id("ticketID", own_ticket_ids),
}

_seen_phases: set[tuple[str, str]] = set()

# Operations that use a row up (an order ships once, a code redeems once, an after-sale moves on):
# every schema-valid case names a real row, so once the prepared rows are used the answer is a
# 409 with the reason, never a 404 for an id that was made up.
ALWAYS_REAL = {
    "shipOrder", "shipOrdersBatch", "redeemCode", "confirmReceipt", "cancelMyOrder", "payPayment",
    "requestAfterSale", "cancelAfterSale", "appealAfterSale", "shipAfterSaleReturn",
    "approveAfterSale", "rejectAfterSale", "confirmAfterSaleReturn", "decideAppeal",
    "createReview", "replyToReview", "hideReview", "unhideReview", "addShipmentEvent",
    "changeOrderPrice", "changeOrderAddress",
    "resolveReconciliationDifference",
    # A distributor is decided on or appointed once, a commission held or released once, a batch or a
    # withdrawal decided once; a refund takes a line's units until none is left (then a 422 on units).
    "decideDistributor", "appointDistributor", "holdCommission", "releaseCommission", "approveCommissionBatch", "approveShopCommissionBatch",
    "approveWithdrawal", "rejectWithdrawal", "payWithdrawal", "failWithdrawal", "refundOrderLine",
    # Without a transfer provider (the fuzzed server has none) no withdrawal is in transit: asking
    # about a real one is a 409 with the reason.
    "syncWithdrawal",
    # A member applies once, and the member's run is a distributor's: a complete application is a 409.
    "applyAsDistributor",
    # An avatar must be the member's own upload: any other key is a 422 with the reason.
    "setDistributorAvatar",
    # A store's staff distributor is named by a real, active code: any other is a 422 with the reason.
    "setStoreDistribution",
    # Member levels must form a ladder from growth 0: any other is a 422 with the reason.
    "putMembersSettings",
    # Activities need a window in ISO 8601 and rules that fit together: made-up ones are a 422 with the reasons.
    "createAdminPromotion", "createShopPromotion", "createAdminGroupBuy", "createShopGroupBuy",
    "createAdminBargain", "createShopBargain", "createAdminFlashSale", "createShopFlashSale",
    # A checkout names real SKUs and at most one real activity: a made-up activity is a 422 with the reason.
    "previewCheckout", "placeCheckout",
    # A bargain and a group are real ones (made-up ids are 404s).
    "getBargain", "cutBargain", "getGroup", "listOpenGroups",
    # So are a send job to cancel, a flash ticket and a coupon to claim: the fuzzer's own ids are 404s.
    "cancelAdminCouponSend", "cancelShopCouponSend", "getFlashSaleTicket", "claimCoupon", "resetMemberBirthday",
    # A place in a flash queue goes to the member's own address: a made-up one is a 422 with the reason.
    "joinFlashSaleQueue",
    # A coupon's whole body is checked as for creating one, and its id is one nobody holds yet.
    "updateAdminCoupon", "updateShopCoupon",
    # An activity's edit is checked as its create is, on one not stopped: once it has started, a
    # change of its terms is a 409 with the reason.
    "updateAdminPromotion", "updateShopPromotion", "updateAdminFlashSale", "updateShopFlashSale",
    "updateAdminGroupBuy", "updateShopGroupBuy", "updateAdminBargain", "updateShopBargain",
    # A birthday is set once: after that every valid day is a 409, and only a day the month lacks is not.
    "setMyBirthday",
    # Tight farming limits would refuse the fuzzer's own claims and cuts for the rest of the run.
    "putFarmingSettings",
    # A points-mall item's window is ISO 8601 and its coupon a real platform one; a tag sent to is a real one.
    "createAdminPointsMallItem", "sendAdminCoupon", "sendShopCoupon",
}


def _gets_real_values(case, phase: str) -> bool:
    key = (case.operation.label, phase)
    if key not in _seen_phases:
        _seen_phases.add(key)
        return True
    return rng.random() < REAL_SHARE


if __name__ != "__main__":
    import schemathesis
    from schemathesis import GenerationMode

    # The address goes in below the case: a header added to the case would count as an edit of
    # its generated headers, and a case meant to lack `Authorization` would be sent as valid.
    _send = requests.Session.request

    def _request_from_own_address(self, method, url, *args, **kwargs):
        if str(url).startswith(BASE):
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "X-Forwarded-For": random_address()}
        return _send(self, method, url, *args, **kwargs)

    requests.Session.request = _request_from_own_address

    @schemathesis.hook
    def before_call(context, case, kwargs):
        meta = case.meta
        if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
            return
        operation_id = case.operation.definition.raw.get("operationId")
        phase = meta.phase.name.value
        body_fix = BODY_FIXES.get(operation_id)
        # Ids in the stateful phase come from links and must stay as linked.
        path_fix = None if phase == "stateful" else PATH_FIXES.get(operation_id)
        if (body_fix or path_fix) and (operation_id in ALWAYS_REAL or _gets_real_values(case, phase)):
            for fix in (path_fix, body_fix):
                if fix is not None:
                    fix(case)


def prepare(count: int = 3) -> None:
    """The demo data has no brand and no application waiting for review; prints the licence key."""
    print(licence_image())
    for _ in range(count):
        pending_application()
    # Orders in the shops, for the merchant's order operations.
    member = os.environ.get("FUZZ_MEMBER_TOKEN", "")
    merchant = os.environ.get("FUZZ_MERCHANT_TOKEN", "")
    if member and merchant:
        as_member = {"Authorization": "Bearer " + member}
        as_shop = {"Authorization": "Bearer " + merchant}
        # The shop's cheapest SKUs in stock, so the demo balance pays for them.
        shop_skus = []
        for product in api("GET", "/api/v1/merchant/products", auth=False, headers=dict(as_shop)):
            detail = api("GET", "/api/v1/merchant/products/" + product["id"], auth=False, headers=dict(as_shop))
            if detail.get("onShelf", True):
                shop_skus += [(sku["price"]["fen"], sku["id"]) for sku in detail["skus"] if sku["stock"] > 0]
        cheap = [sku for _, sku in sorted(shop_skus)[:10]]
        for _ in range(count):
            place_order(member, cheap)
        # Paid orders for every after-sales step, each state in a few copies: the runs of the
        # member, the shop and the operator each find what their operations act on.
        def paid_order(body=None):
            placed = api("POST", "/api/v1/checkout", auth=False, headers=dict(as_member), json=body) if body else place_order(member, cheap)
            api("POST", "/api/v1/payments/%s/pay" % placed["payment"]["id"], auth=False, headers=dict(as_member), json={"method": "balance"})
            return placed["orders"][0]

        def as_member_post(path, body):
            return api("POST", path, auth=False, headers=dict(as_member), json=body)

        def as_shop_post(path, body):
            return api("POST", path, auth=False, headers=dict(as_shop), json=body)

        def ship(order):
            as_shop_post("/api/v1/merchant/orders/%s/ship" % order["id"], {"carrier": "顺丰速运", "trackingNo": "SF" + token(10)})

        # An open group (the member leads it), for the group page and the open-group list.
        for activity in running_group_buy_ids()[:1]:
            try:
                paid_order({"groupBuy": {"activityId": activity}, "addressId": own_address_id_for(member)})
            except requests.HTTPError as error:
                print("no group opened:", error)
        for step in range(12):
            order = paid_order()
            sale = as_member_post("/api/v1/me/orders/%s/after-sales" % order["id"],
                                  {"lineId": order["lines"][0]["id"], "kind": "refund_only", "units": 1, "reason": "不想要了"})
            if step >= 6:
                as_shop_post("/api/v1/merchant/after-sales/%s/reject" % sale["id"], {"reason": "已备货"})
            if step >= 9:
                as_member_post("/api/v1/me/after-sales/%s/appeal" % sale["id"], {"reason": "还没发货"})
        for step in range(6):
            order = paid_order()
            ship(order)
            sale = as_member_post("/api/v1/me/orders/%s/after-sales" % order["id"],
                                  {"lineId": order["lines"][0]["id"], "kind": "return_and_refund", "units": 1, "reason": "尺码不合适"})
            as_shop_post("/api/v1/merchant/after-sales/%s/approve" % sale["id"], {})
            if step >= 3:
                as_member_post("/api/v1/me/after-sales/%s/return-shipment" % sale["id"], {"carrier": "中通快递", "trackingNo": "ZT" + token(10)})
        # Paid orders to ship (one by one and from a CSV), a shipped one for tracking events, a
        # received one to review and a reviewed one for the shop's reply and the operator's moderation.
        for step in range(6):
            placed = place_order(member, cheap)
            api("POST", "/api/v1/payments/%s/pay" % placed["payment"]["id"], auth=False, headers=dict(as_member), json={"method": "balance"})
            order = placed["orders"][0]
            if step < 3:
                continue
            api("POST", "/api/v1/merchant/orders/%s/ship" % order["id"], auth=False, headers=dict(as_shop),
                json={"parcels": [{"carrierCode": "SF", "trackingNo": tracking_no()}]})
            if step < 4:
                continue
            api("POST", "/api/v1/me/orders/%s/confirm-receipt" % order["id"], auth=False, headers=dict(as_member), json={})
            if step < 5:
                continue
            api("POST", "/api/v1/me/orders/%s/reviews" % order["id"], auth=False, headers=dict(as_member),
                json={"lineId": order["lines"][0]["id"], "stars": 5, "text": "很好"})
        for _ in range(3):
            ship(paid_order())
        # Paid orders kept for batch shipping: by the shop's run its products may be off the
        # shelf, so none could be bought then.
        for _ in range(24):
            paid_order()
        # Pickup orders in a store that holds the SKU: their codes are for the counter.
        codes = []
        address = own_address_id_for(member)
        price = {sku_id.lower(): fen for fen, sku_id in shop_skus}
        held = []
        for store in api("GET", "/api/v1/merchant/stores", auth=False, headers=dict(as_shop)):
            for row in api("GET", "/api/v1/merchant/stores/%s/stock" % store["id"], auth=False, headers=dict(as_shop)):
                if row["stock"] >= 1 and row["skuId"].lower() in price:
                    held.append((price[row["skuId"].lower()], row["skuId"], store))
        for _, sku_id, store in sorted(held, key=lambda h: h[0])[:5]:
            order = paid_order({"items": [{"skuId": sku_id, "quantity": 1}], "addressId": address,
                                "deliveries": [{"merchantId": store["merchantId"], "method": "pickup", "storeId": store["id"]}]})
            codes += ["%s %s" % (c["code"], store["id"]) for c in api("GET", "/api/v1/me/orders/%s/codes" % order["id"], auth=False, headers=dict(as_member))]
        if os.environ.get("FUZZ_CODES_FILE"):
            with open(os.environ["FUZZ_CODES_FILE"], "w") as out:
                out.write("\n".join(codes))
    operator = os.environ.get("FUZZ_OPERATOR_TOKEN", "")
    if operator:
        api("POST", "/api/v1/admin/brands", auth=False, json={"name": "测试品牌 " + token(4)},
            headers={"Authorization": "Bearer " + operator})
    if operator and member and merchant:
        prepare_distribution(member, merchant, operator)
    if operator and merchant:
        # A tag of the demo members and a send job of a platform coupon and of the shop's, for the job operations.
        as_operator = {"Authorization": "Bearer " + operator}
        try:
            tag = api("POST", "/api/v1/admin/member-tags", auth=False, headers=dict(as_operator), json={"name": "发券任务" + token(6)})
            api("POST", "/api/v1/admin/member-tags/%s/members" % tag["id"], auth=False, headers=dict(as_operator),
                json={"phones": ["13800138000", "13900139000"]})
            for who, path in ((operator, "/api/v1/admin/coupons"), (merchant, "/api/v1/merchant/coupons")):
                coupons = [row["id"] for row in api("GET", path, auth=False, headers={"Authorization": "Bearer " + who})
                           if row.get("status") == "active" and (path.startswith("/api/v1/merchant") or not row.get("merchantId"))]
                if coupons:
                    api("POST", "%s/%s/send" % (path, coupons[0]), auth=False, headers={"Authorization": "Bearer " + who}, json={"tagId": tag["id"]})
        except requests.HTTPError as error:
            print("coupon send job not prepared: %s" % error, file=sys.stderr)
    if operator and member and os.environ.get("FUZZ_TICKETS_FILE"):
        # A place in a flash sale's queue, for the member's ticket operation.
        try:
            sale = api("POST", "/api/v1/admin/flash-sales", auth=False, headers={"Authorization": "Bearer " + operator},
                       json=flash_sale_body(sellable_skus(own=False), stock=5))
            item = sale["sessions"][0]["items"][0]["id"]
            ticket = api("POST", "/api/v1/flash-sales/items/%s/tickets" % item, auth=False,
                         headers={"Authorization": "Bearer " + member}, json={"quantity": 1, "addressId": own_address_id_for(member)})
            with open(os.environ["FUZZ_TICKETS_FILE"], "w") as out:
                out.write(ticket["id"])
        except (requests.HTTPError, KeyError, IndexError) as error:
            print("flash ticket not prepared: %s" % error, file=sys.stderr)
    if operator and merchant:
        # Coupons nobody holds (not in the coupon centre), so changing one reaches every field.
        for who, path in ((operator, "/api/v1/admin/coupons"), (merchant, "/api/v1/merchant/coupons")):
            try:
                api("POST", path, auth=False, headers={"Authorization": "Bearer " + who},
                    json={"name": "待改券" + token(4), "kind": "no_threshold", "amountOffFen": 100, "validDays": 7, "claimable": False})
            except requests.HTTPError as error:
                print("coupon to change not prepared: %s" % error, file=sys.stderr)
    if operator and merchant:
        # One activity of each kind per console starting tomorrow: an edit of one reaches every
        # field (a started one keeps its terms), and no edit finds its console's list empty.
        tomorrow = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        window = {"startsAt": tomorrow.isoformat(timespec="seconds"),
                  "endsAt": (tomorrow + datetime.timedelta(days=7)).isoformat(timespec="seconds")}
        as_shop = {"Authorization": "Bearer " + merchant}
        shop_priced = []
        for product in api("GET", "/api/v1/merchant/products", auth=False, headers=dict(as_shop))[:10]:
            detail = api("GET", "/api/v1/merchant/products/" + product["id"], auth=False, headers=dict(as_shop))
            shop_priced += [(sku["id"], sku["price"]["fen"]) for sku in detail["skus"] if sku["stock"] > 1 and sku["price"]["fen"] > 1]
        for who, prefix, skus in ((operator, "/api/v1/admin", sellable_skus(own=False)), (merchant, "/api/v1/merchant", shop_priced)):
            if not skus:
                continue
            sku, price = skus[0]
            bodies = {
                "promotions": {"name": "明日满减" + token(4), "kind": "full_reduction", "scope": "all",
                               "tiers": [{"thresholdFen": 10_000, "amountOffFen": 1_000}], **window},
                "group-buys": {"name": "明日拼团" + token(4), "skuId": sku, "priceFen": 1, "size": 2, **window},
                "bargains": {"name": "明日砍价" + token(4), "skuId": sku, "floorPriceFen": 0, "maxCuts": 10, **window},
                "flash-sales": {"name": "明日秒杀" + token(4),
                                "sessions": [{**window, "items": [{"skuId": sku, "priceFen": price // 2, "stock": 1, "perMemberLimit": 1}]}]},
            }
            for path, body in bodies.items():
                try:
                    api("POST", prefix + "/" + path, auth=False, headers={"Authorization": "Bearer " + who}, json=body)
                except requests.HTTPError as error:
                    print("activity to change not prepared: %s" % error, file=sys.stderr)
    if operator and member:
        # Points for the points mall, so the member's redemptions reach the item rather than a 409 for points.
        me = api("GET", "/api/v1/me", auth=False, headers={"Authorization": "Bearer " + member})["member"]["id"]
        api("POST", "/api/v1/admin/members/%s/points" % me, auth=False, json={"delta": 1_000_000, "reason": "积分商城测试"},
            headers={"Authorization": "Bearer " + operator, "Idempotency-Key": "fz-points-" + token(12)})


def register_member() -> tuple[str, str]:
    """A new member with a number nobody has: (token, id)."""
    phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    body = {"phone": phone, "password": "Fuzz2026pw", "smsCode": sms_code(phone), "acceptAgreements": True}
    access = api("POST", "/api/v1/auth/register", auth=False, json=body)["accessToken"]
    me = api("GET", "/api/v1/me", auth=False, headers={"Authorization": "Bearer " + access})
    return access, me["member"]["id"].lower()


def prepare_distribution(member: str, merchant: str, operator: str) -> None:
    """Rows for the distribution operations, made through the API. The demo data has the history
    that needs time to pass: 13800138000 is a distributor with settled commission and one held,
    13900139000 its customer with a balance. Here: more withdrawals a day, a grade ladder, shop
    rules, applicants and distributors in every status, orders of the customer in every state with
    their commission, commissions held, a batch awaiting approval, withdrawals waiting for review
    and for payout, and the file the runs read (FUZZ_DISTRIBUTION_FILE)."""
    def call(who: str, method: str, path: str, body=None):
        return api(method, path, auth=False, headers={"Authorization": "Bearer " + who}, json=body)

    settings = call(operator, "GET", "/api/v1/admin/distribution/settings")
    settings["withdrawal"]["maxPerDay"] = 1_000
    settings["withdrawal"]["maxPerMonth"] = 10_000
    call(operator, "PUT", "/api/v1/admin/distribution/settings", settings)
    if not call(operator, "GET", "/api/v1/admin/distribution/grades"):
        call(operator, "PUT", "/api/v1/admin/distribution/grades", [
            {"id": str(uuid.uuid4()), "name": "普通", "honourTitle": "推广员", "rank": 1, "promotion": [], "promotionMatch": "all", "minimum": []},
            {"id": str(uuid.uuid4()), "name": "高级", "honourTitle": "优秀推广官", "rank": 2, "promotionMatch": "all", "minimum": [],
             "promotion": [{"metric": "own_sales", "window": "cumulative", "threshold": 500_000}]}])
    if not any(r["scope"] == "global" for r in call(operator, "GET", "/api/v1/admin/distribution/rules")):
        call(operator, "PUT", "/api/v1/admin/distribution/rules", {"scope": "global", "levels": {"1": {"rateBp": 1000}, "2": {"rateBp": 500}}})
    for product in call(merchant, "GET", "/api/v1/merchant/products")[:6]:
        call(merchant, "PUT", "/api/v1/merchant/distribution/rules", {"scope": "product", "scopeId": product["id"], "levels": {"1": {"rateBp": 1200}}})

    agreement = api("GET", "/api/v1/distribution/agreement", auth=False)
    application = {"kind": "individual", "realName": "张三", "idNumber": "11010519491231002X",
                   "answers": {field: "fuzz" for field in agreement["formFields"]}, "agreementVersion": agreement["version"], "agree": True}

    def decide(member_id: str, decision: str) -> None:
        call(operator, "POST", "/api/v1/admin/distribution/distributors/%s/decision" % member_id, {"decision": decision, "note": "fuzz"})

    mine = call(member, "GET", "/api/v1/distribution/me")
    if not mine.get("distributor"):
        decide(call(member, "POST", "/api/v1/distribution/apply", application)["memberId"], "approve")
        mine = call(member, "GET", "/api/v1/distribution/me")
    sharer = mine["distributor"]["memberId"].lower()
    codes = [mine["distributor"]["code"]]
    # Applicants to approve or reject, distributors to freeze or remove, a frozen one, members to appoint.
    plain = []
    for index in range(10):
        access, member_id = register_member()
        if index >= 7:
            plain.append(member_id)
            continue
        if index >= 4:
            call(access, "POST", "/api/v1/distribution/touch", {"code": codes[0]})
        applied = call(access, "POST", "/api/v1/distribution/apply", application)
        if index >= 4:
            decide(member_id, "approve")
            codes.append(applied["code"])
        if index == 6:
            decide(member_id, "freeze")

    # The customer buys from the shop: orders paid, shipped and received, each line with commission.
    buyer = login_member("13900139000")
    buyer_id = call(buyer, "GET", "/api/v1/me")["member"]["id"].lower()
    skus = []
    for product in call(merchant, "GET", "/api/v1/merchant/products"):
        detail = call(merchant, "GET", "/api/v1/merchant/products/" + product["id"])
        if detail.get("onShelf", True) and detail.get("kind") == "physical":
            skus += [(sku["price"]["fen"], sku["id"]) for sku in detail["skus"] if sku["stock"] >= 10]
    address = own_address_id_for(buyer)
    for step, (_, sku_id) in enumerate(sorted(skus)[:6]):
        placed = call(buyer, "POST", "/api/v1/checkout", {"items": [{"skuId": sku_id, "quantity": 5}], "addressId": address})
        call(buyer, "POST", "/api/v1/payments/%s/pay" % placed["payment"]["id"], {"method": "balance"})
        order = placed["orders"][0]["id"]
        if step >= 2:
            call(merchant, "POST", "/api/v1/merchant/orders/%s/ship" % order, {"parcels": [{"carrierCode": "SF", "trackingNo": tracking_no()}]})
        if step >= 4:
            call(buyer, "POST", "/api/v1/me/orders/%s/confirm-receipt" % order, {})
    # Commission is booked from the order events within seconds.
    for _ in range(100):
        rows = call(operator, "GET", "/api/v1/admin/distribution/commissions?limit=200&distributorId=" + sharer)
        if len([c for c in rows if c["state"] in ("pending", "frozen") and not c["held"]]) >= 6:
            break
        time.sleep(0.3)
    for commission in [c for c in rows if c["state"] in ("pending", "frozen") and not c["held"]][:3]:
        call(operator, "POST", "/api/v1/admin/distribution/commissions/%s/hold" % commission["id"], {"reason": "风控复核"})
    # The demo's held commission of a completed order, released under manual settlement: a batch to approve.
    settings["settlement"]["approval"] = "manual"
    call(operator, "PUT", "/api/v1/admin/distribution/settings", settings)
    for commission in rows:
        if commission["held"] and commission["state"] == "frozen":
            call(operator, "POST", "/api/v1/admin/distribution/commissions/%s/release" % commission["id"], {"reason": "复核通过"})
    call(operator, "POST", "/api/v1/admin/distribution/settlement/run")

    # Withdrawals from the settled commission: waiting for review, and approved waiting for the payout.
    payees = {"balance": {}, "wechat_transfer": {"accountName": "张三", "accountNumber": "wx-zhang3"},
              "bank_card": {"accountName": "张三", "accountNumber": "6222020200112233445", "bankName": "工商银行"}}
    for step in range(8):
        channel = ["balance", "wechat_transfer", "bank_card"][step % 3]
        withdrawal = api("POST", "/api/v1/distribution/withdrawals", auth=False, json={"amountFen": 100 + step, "channel": channel, **payees[channel]},
                         headers={"Authorization": "Bearer " + member, "Idempotency-Key": "fz-prepare-" + token(12)})
        if step >= 4 and channel != "balance":
            call(operator, "POST", "/api/v1/admin/distribution/withdrawals/%s/approve" % withdrawal["id"])

    refunds = []
    for order in call(buyer, "GET", "/api/v1/me/orders?limit=50"):
        if order["state"] in ("paid", "shipped", "received", "completed"):
            refunds += [[order["id"].lower(), line["id"].lower()] for line in order["lines"]]
    proof = api("POST", "/api/v1/me/images", auth=False, data=png(), headers={"Content-Type": "image/png", "Authorization": "Bearer " + member})["key"]
    if os.environ.get("FUZZ_DISTRIBUTION_FILE"):
        with open(os.environ["FUZZ_DISTRIBUTION_FILE"], "w", encoding="utf-8") as out:
            json.dump({"sharer": sharer, "codes": codes, "members": plain + [buyer_id], "refunds": refunds, "proof": proof}, out)


def login_member(phone: str) -> str:
    return api("POST", "/api/v1/auth/login", auth=False, json={"phone": phone, "password": "Member2026"})["accessToken"]


if __name__ == "__main__" and sys.argv[1:] == ["prepare"]:
    prepare()
