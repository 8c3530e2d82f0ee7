"""A new merchant from application to shelf: licence picture, approval, a 2 × 3 product with
pictures made on the console, 100 more from CSV, and a shopper finding them."""
import struct
import tempfile
import zlib
from pathlib import Path

from playwright.sync_api import expect

from conftest import submit
from test_consoles import staff_login


def png(width, height, rgb):
    """A real PNG of one colour, as a phone camera roll would hold (any valid picture serves)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def press(page, button):
    """Clicks a submit button (for forms with more than one) and returns the landing page's status."""
    with page.expect_navigation() as nav:
        page.locator(button).click()
    return nav.value.status


def test_a_new_merchant_sells_from_application_to_search(page, new_context, snap, device, tmp_path):
    suffix = device
    licence = tmp_path / "licence.png"
    licence.write_bytes(png(60, 40, (200, 200, 200)))

    # The applicant: a text file posing as a picture is refused, the real licence goes through.
    page.goto("/merchant/apply")
    fields = {"companyName": f"青禾有机农场{suffix}", "contactName": "李青", "contactPhone": "13612345678",
              "licenceNumber": "91330100MA2XXXXX1A", "businessCategory": "生鲜", "username": f"qinghe-{suffix}", "password": "Farm2026ok"}
    for name, value in fields.items():
        page.fill(f"#apply-form [name={name}]", value)
    fake = tmp_path / "licence-fake.png"
    fake.write_text("not a picture")
    page.set_input_files("#apply-form [name=licenceFile]", str(fake))
    assert submit(page, "#apply-form") == 415
    expect(page.locator(".alert")).to_contain_text("只能上传 JPG、PNG、GIF 或 WebP 图片")
    page.fill("#apply-form [name=password]", "Farm2026ok")
    page.set_input_files("#apply-form [name=licenceFile]", str(licence))
    assert submit(page, "#apply-form") == 200
    expect(page.locator("#apply-done")).to_be_visible()

    # The operator sees the licence and approves at 6 %.
    operator = new_context().new_page()
    assert staff_login(operator, "admin", "admin", "Admin2026") == 200
    row = operator.locator(f'tr[data-application="青禾有机农场{suffix}"]')
    assert operator.request.get(row.locator("a.licence-link").get_attribute("href")).body() == licence.read_bytes()
    with operator.expect_navigation():
        row.locator(".approve-form button").click()
    expect(operator.locator(".notice, .flash").first).to_contain_text(f"已通过：青禾有机农场{suffix}")

    # The new merchant makes a 2 × 3 product on the console.
    assert staff_login(page, "merchant", f"qinghe-{suffix}", "Farm2026ok") == 200
    page.click("#new-product")
    page.fill("#product-form [name=title]", f"有机苹果礼盒{suffix}")
    page.select_option("#product-form [name=categoryId]", label="生鲜 › 水果")
    page.fill("[name=spec1Name]", "规格")
    page.fill("[name=spec1Values]", "5斤, 10斤")
    page.fill("[name=spec2Name]", "果径")
    page.fill("[name=spec2Values]", "75mm、80mm、85mm")
    assert press(page, "#generate-skus") == 200
    rows = page.locator("#sku-editor tbody tr[data-key]")
    expect(rows).to_have_count(6)
    expect(rows.locator("td:first-child")).to_have_text(["5斤 / 75mm", "5斤 / 80mm", "5斤 / 85mm", "10斤 / 75mm", "10斤 / 80mm", "10斤 / 85mm"])
    for i in range(6):
        rows.nth(i).locator("[name='skuCode[]']").fill(f"APPLE-{suffix}-{i + 1}")
        rows.nth(i).locator("[name='skuPrice[]']").fill(f"{59 + 10 * i}.90")
        rows.nth(i).locator("[name='skuStock[]']").fill(str(20 + i))
    page.check("#product-form [name=onShelf]")
    snap(page, "product-editor")
    assert press(page, "#save-product") == 200
    expect(page.locator(".notice, .flash").first).to_contain_text(f"已保存：有机苹果礼盒{suffix}")

    # Two pictures: the first becomes the main image.
    for colour in [(220, 60, 60), (60, 160, 60)]:
        picture = tmp_path / f"apple-{colour[0]}.png"
        picture.write_bytes(png(120, 120, colour))
        page.set_input_files("#image-upload [name=file]", str(picture))
        assert submit(page, "#image-upload") == 200
    expect(page.locator(".picture-list img")).to_have_count(2)
    expect(page.locator(".picture-list li.main")).to_have_count(1)
    snap(page, "product-editor-pictures")

    # 100 more from a CSV saved by Excel (UTF-8 with BOM).
    page.goto("/merchant")
    csv = tmp_path / "products.csv"
    lines = ["商品编号,商品名称,分类,规格,SKU编码,售价,库存,上架"]
    lines += [f"P{n},有机蔬菜{suffix}第{n}号,生鲜/蔬菜,,VEG-{suffix}-{n},{n}.80,{n},是" for n in range(1, 101)]
    csv.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode())
    page.set_input_files("#import-form [name=file]", str(csv))
    assert submit(page, "#import-form") == 200
    expect(page.locator("#import-created strong")).to_have_text("100")

    # A shopper finds the product by a two-character word and sees its picture and prices.
    shopper = new_context().new_page()
    shopper.goto("/")
    shopper.fill(".searchbar input[name=q]", "苹果")
    shopper.keyboard.press("Enter")
    card = shopper.locator(".product-card", has_text=f"有机苹果礼盒{suffix}")
    expect(card).to_be_visible()
    expect(card.locator("img.thumb")).to_be_visible()
    card.locator("a").first.click()
    expect(shopper.locator("#gallery-main")).to_be_visible()
    assert shopper.evaluate("document.getElementById('gallery-main').naturalWidth") == 120
    shopper.locator('fieldset[data-spec="规格"] button', has_text="10斤").click()
    shopper.locator('fieldset[data-spec="果径"] button', has_text="80mm").click()
    expect(shopper.locator("#sku-price")).to_have_text("¥99.90")
    expect(shopper.locator("#sku-stock")).to_have_text("24")
    snap(shopper, "new-merchant-product")

    merchant = shopper.locator("#shop-link").get_attribute("href").rsplit("/", 1)[-1]
    imported = shopper.request.get(f"/api/v1/products?q=蔬菜&merchantId={merchant}&limit=100").json()["items"]
    assert sorted(p["title"] for p in imported) == sorted(f"有机蔬菜{suffix}第{n}号" for n in range(1, 101))
