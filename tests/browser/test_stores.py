"""A store's QR code, decoded as a phone camera would, opens the store's page."""
import subprocess
import tempfile
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect


@pytest.mark.parametrize("device", ["phone"])
def test_store_qr_code_scans_to_its_page(page, snap):
    stores = page.request.get("/api/v1/stores?lat=31.2235&lng=121.4456").json()
    assert [s["name"] for s in stores][:2] == ["暖暖母婴 静安店", "裂变商城 人民广场体验店"]
    store = stores[0]

    png = page.request.get(f"/api/v1/stores/{store['id']}/qrcode.png")
    assert png.status == 200 and png.headers["content-type"] == "image/png"
    with tempfile.NamedTemporaryFile(suffix=".png") as image:
        image.write(png.body())
        image.flush()
        decoded = subprocess.run(["zbarimg", "--raw", "-q", image.name], capture_output=True, text=True, check=True).stdout.strip()
    # The code carries the public address; its path is the store page on this server.
    url = urlparse(decoded)
    assert url.path == f"/stores/{store['id'].lower()}"

    page.goto(url.path)
    expect(page.locator("#store-name")).to_have_text(store["name"])
    expect(page.locator("#store-address")).to_have_text(store["address"])
    expect(page.locator("#store-qr")).to_be_visible()
    snap(page, "store-page")
