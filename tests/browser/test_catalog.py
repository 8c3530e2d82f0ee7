"""Catalog pages: search from the home page, the spec picker, category and shop listings, English labels."""
import re

import pytest
from playwright.sync_api import expect

from conftest import submit

# The demo catalog as `fission seed` creates it (Sources/App/Commands/DemoCatalog.swift): title,
# sub-category, and whether the self-operated shop (裂变商城自营) sells it rather than 暖暖母婴旗舰店.
# Listings sort by sort weight, which falls in this order, so every list below is in page order.
SEED = [
    ("飞鹤星飞帆婴儿奶粉3段 700g", "奶粉", False),
    ("佳贝艾特羊奶粉1段 800g", "奶粉", False),
    ("a2 至初有机奶粉2段", "奶粉", False),
    ("帮宝适一级帮纸尿裤 L码 52片", "纸尿裤", False),
    ("花王妙而舒拉拉裤 XL 38片", "纸尿裤", False),
    ("纯棉婴儿连体衣 A类面料", "童装", False),
    ("宝宝防踢睡袋 恒温款", "童装", False),
    ("儿童摇粒绒外套", "童装", False),
    ("玻尿酸补水面膜 10片", "面膜", True),
    ("清洁泥膜 100g", "面膜", True),
    ("丝绒哑光口红", "口红", True),
    ("润唇膏 无色滋润", "口红", True),
    ("烟酰胺精华液 30ml", "护肤", True),
    ("温和氨基酸洗面奶", "护肤", True),
    ("赣南脐橙 5斤装", "水果", True),
    ("烟台红富士苹果", "水果", True),
    ("海南贵妃芒 3斤", "水果", True),
    ("有机小番茄 500g", "蔬菜", True),
    ("云南高山娃娃菜", "蔬菜", True),
    ("每日坚果 30袋", "零食", True),
    ("手工牛轧糖 500g", "零食", True),
    ("婴儿米饼 无添加", "零食", False),
    ("西湖龙井 明前特级 250g", "茶饮", True),
    ("云南古树普洱茶饼", "茶饮", True),
    ("法式碎花连衣裙", "女装", True),
    ("羊毛针织开衫", "女装", True),
    ("男士纯棉圆领T恤", "男装", True),
    ("男士休闲工装裤", "男装", True),
    ("不粘锅炒锅 32cm", "厨具", True),
    ("宝宝辅食锅 多功能", "厨具", False),
    ("可叠加收纳箱 3个装", "收纳", True),
    ("真空压缩袋 8件套", "收纳", True),
    ("降噪蓝牙耳机", "耳机", True),
    ("运动挂耳式耳机", "耳机", True),
    ("氮化镓快充充电器 65W", "充电", True),
    ("磁吸无线充电宝 10000mAh", "充电", True),
    ("亲子早教体验课 4节", "早教", False),
    ("宝宝游泳 10次卡", "早教", False),
    ("私教课 12节", "健身", True),
    ("瑜伽月卡", "健身", True),
]
MUM_AND_BABY = ["奶粉", "纸尿裤", "童装"]  # the sub-categories of 母婴


def titles(where):
    return [title for title, category, self_operated in SEED if where(category, self_operated)]


# Every seeded product with 奶粉 in its title, subtitle, tags or SKU codes: only the three milk powders
# (the subtitle 奶香浓郁 of 手工牛轧糖 shares a character, not the word).
MILK_POWDER = ["飞鹤星飞帆婴儿奶粉3段 700g", "佳贝艾特羊奶粉1段 800g", "a2 至初有机奶粉2段"]

# 纯棉婴儿连体衣 A类面料 (the sixth product, SKU codes FM006-xx): 颜色 粉色/蓝色 × 尺码 59/66/73,
# ¥59.90 plus ¥10 for each later size; stock per SKU as the seed computes it (5 + (185 + 11 × position) % 90).
ONESIE = "纯棉婴儿连体衣 A类面料"
ONESIE_SKUS = {
    ("粉色", "59"): ("59.90", "10", "FM006-01"),
    ("粉色", "66"): ("69.90", "21", "FM006-02"),
    ("粉色", "73"): ("79.90", "32", "FM006-03"),
    ("蓝色", "59"): ("59.90", "43", "FM006-04"),
    ("蓝色", "66"): ("69.90", "54", "FM006-05"),
    ("蓝色", "73"): ("79.90", "65", "FM006-06"),
}


def card_titles(page):
    return page.locator("#product-grid .product-title")


def open_product(page, query, title):
    """Searches for QUERY and opens the result called TITLE."""
    page.goto(f"/search?q={query}")
    page.locator("#product-grid .product-card").filter(has=page.locator(".product-title", has_text=title)).locator("a").first.click()
    expect(page.locator("#product-title")).to_have_text(title)
    assert re.search(r"/products/[0-9A-Fa-f-]{36}$", page.url), page.url


def choose(page, spec, value):
    page.locator(f'fieldset.spec[data-spec="{spec}"] button.spec-value[data-value="{value}"]').click()


def test_search_from_home(page, snap):
    page.goto("/")
    page.fill("form.searchbar input[name=q]", "奶粉")
    assert submit(page, "form.searchbar") == 200
    assert re.search(r"/search\?q=%E5%A5%B6%E7%B2%89$", page.url), page.url
    expect(page.locator("h1.page-heading")).to_have_text("搜索结果：“奶粉”")
    expect(page.locator("form.searchbar input[name=q]")).to_have_value("奶粉")
    expect(card_titles(page)).to_have_text(MILK_POWDER)
    expect(page.locator("#product-grid .product-card").first.locator(".price")).to_have_text("¥258.00")
    expect(page.locator("#product-grid")).not_to_contain_text("面膜")
    expect(page.locator("#no-products")).to_have_count(0)
    expect(page.locator("#next-page")).to_have_count(0)
    snap(page, "catalog-search")

    # A search for a fruit the mall does not sell, from the results page's own search box.
    page.fill("form.searchbar input[name=q]", "榴莲")
    with page.expect_navigation():
        page.locator("form.searchbar input[name=q]").press("Enter")
    expect(page.locator("h1.page-heading")).to_have_text("搜索结果：“榴莲”")
    expect(page.locator("#no-products")).to_have_text("没有找到相关商品")
    expect(page.locator("#product-grid .product-card")).to_have_count(0)
    snap(page, "catalog-search-empty")


def test_spec_picker_shows_the_chosen_sku(page, snap):
    open_product(page, "连体衣", ONESIE)
    expect(page.locator("fieldset.spec legend")).to_have_text(["颜色", "尺码"])
    expect(page.locator('fieldset.spec[data-spec="颜色"] button.spec-value')).to_have_text(["粉色", "蓝色"])
    expect(page.locator('fieldset.spec[data-spec="尺码"] button.spec-value')).to_have_text(["59", "66", "73"])
    # Before a choice: the lowest price, the stock of all SKUs together, and the hint.
    expect(page.locator("#sku-price")).to_have_text("¥59.90")
    expect(page.locator("#sku-stock")).to_have_text(str(sum(int(stock) for _, stock, _ in ONESIE_SKUS.values())))
    expect(page.locator("#sku-hint")).to_have_text("请选择规格")
    snap(page, "product-specs")

    # One spec alone names no SKU yet.
    choose(page, "颜色", "粉色")
    expect(page.locator('button.spec-value[data-value="粉色"]')).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator("#sku-hint")).to_have_text("请选择规格")
    expect(page.locator("#sku-price")).to_have_text("¥59.90")

    for colour, size in [("粉色", "66"), ("蓝色", "73"), ("蓝色", "59")]:
        choose(page, "颜色", colour)
        choose(page, "尺码", size)
        price, stock, code = ONESIE_SKUS[(colour, size)]
        expect(page.locator("#sku-price")).to_have_text(f"¥{price}")
        expect(page.locator("#sku-stock")).to_have_text(stock)
        expect(page.locator("#sku-hint")).to_have_text(code)
        expect(page.locator("fieldset.spec button.spec-value.selected")).to_have_text([colour, size])
    snap(page, "product-specs-chosen")


def test_categories_include_their_sub_categories(page, snap):
    page.goto("/")
    page.locator("#category-entrances a", has_text="母婴").click()
    expect(page.locator("h1.page-heading")).to_have_text("母婴")
    expected = titles(lambda category, _: category in MUM_AND_BABY)
    assert len(expected) == 8
    expect(card_titles(page)).to_have_text(expected)
    # Baby products filed elsewhere (零食, 厨具, 早教) are not in 母婴.
    for elsewhere in ["婴儿米饼 无添加", "宝宝辅食锅 多功能", "亲子早教体验课 4节"]:
        expect(page.locator("#product-grid")).not_to_contain_text(elsewhere)
    snap(page, "category-root")

    page.locator("header .nav a", has_text="分类").click()
    expect(page.locator("h1.page-heading")).to_have_text("分类")
    expect(page.locator("section.card h2")).to_have_text(["🍼 母婴", "💄 美妆", "🥬 生鲜", "🍪 食品", "👗 服饰", "🏠 家居", "📱 数码", "🎓 课程与服务"])
    snap(page, "categories")
    page.get_by_role("link", name="童装", exact=True).click()
    expect(page.locator("h1.page-heading")).to_have_text("童装")
    expect(card_titles(page)).to_have_text(titles(lambda category, _: category == "童装"))
    expect(page.locator("#product-grid")).not_to_contain_text("奶粉")
    snap(page, "category-sub")


@pytest.mark.parametrize("query, product, merchant, self_operated", [
    ("奶粉", "飞鹤星飞帆婴儿奶粉3段 700g", "暖暖母婴旗舰店", False),
    ("面膜", "玻尿酸补水面膜 10片", "裂变商城自营", True),
])
def test_shop_lists_only_its_merchants_products(page, snap, query, product, merchant, self_operated):
    open_product(page, query, product)
    expect(page.locator("#shop-link")).to_have_text(merchant)
    page.locator("#shop-link").click()
    expect(page.locator("#shop-name")).to_have_text(merchant)
    assert re.search(r"/shops/[0-9A-Fa-f-]{36}$", page.url), page.url
    if self_operated:
        expect(page.locator(".shop-head .badge")).to_have_text("自营")
    else:
        expect(page.locator(".shop-head .badge")).to_have_count(0)
    own = titles(lambda _, s: s == self_operated)
    assert len(own) == (28 if self_operated else 12)
    expect(card_titles(page)).to_have_text(own)
    others = titles(lambda _, s: s != self_operated)
    for title in [others[0], others[-1]]:
        expect(page.locator("#product-grid")).not_to_contain_text(title)
    snap(page, f"shop-{'self-operated' if self_operated else 'onboarded'}")


def english_product_labels(page):
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#product-title")).to_have_text(ONESIE)  # product data stays as the merchant wrote it
    expect(page.locator("#sku-stock-label")).to_have_text("Stock")
    expect(page.locator("#sku-hint")).to_have_text("Choose options")
    expect(page.locator("#sku-price")).to_have_text("CN¥59.90")
    expect(page.locator("#shop-link").locator("xpath=..")).to_have_text("Sold by 暖暖母婴旗舰店")
    expect(page.locator(".description h2")).to_have_text("Details")
    expect(page.locator("header .nav a[href='/categories']")).to_have_text("Categories")
    choose(page, "颜色", "蓝色")
    choose(page, "尺码", "66")
    price, stock, code = ONESIE_SKUS[("蓝色", "66")]
    expect(page.locator("#sku-price")).to_have_text(f"CN¥{price}")
    expect(page.locator("#sku-stock")).to_have_text(stock)
    expect(page.locator("#sku-hint")).to_have_text(code)


def test_product_page_in_english_by_switcher(page, snap):
    open_product(page, "连体衣", ONESIE)
    product_url = page.url
    expect(page.locator("#sku-stock-label")).to_have_text("库存")
    page.locator("a.lang").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.url == product_url
    assert any(c["name"] == "lang" and c["value"] == "en" for c in page.context.cookies())
    english_product_labels(page)
    snap(page, "product-en")

    page.locator("a.lang").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("#sku-stock-label")).to_have_text("库存")
    expect(page.locator("#sku-price")).to_have_text("¥59.90")


def test_product_page_in_english_by_accept_language(new_context):
    page = new_context(locale="en-US").new_page()
    open_product(page, "连体衣", ONESIE)
    english_product_labels(page)
