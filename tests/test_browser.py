"""The rendered edition in a real browser: Debian's headless Chromium driven by Selenium.

Opens the 15-story edition at phone (375 px) and desktop (800 px) widths, light and dark:
nothing scrolls sideways on the phone, key points are visible, text is at least 16 px, tap
targets at least 44 px tall, dark mode really changes the colours. Screenshots go to the
folder printed by the test (under pytest's tmp_path). Never downloads a browser.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from digest.config import Settings
from digest.models import Subscriber
from digest.render import EditionRenderer
from digest.render.sample import sample_edition

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = Settings(postal_address="Digest Ltd, 1 Harbour Street, Portsmouth PO1 2AB, United Kingdom")
    edition = sample_edition(intro="Good morning. Fifteen stories today, from fish stocks to a cup final.")
    html = EditionRenderer(edition, settings, secret=b"browser", now=datetime(2026, 11, 26, 7, tzinfo=UTC))
    path = tmp_path_factory.mktemp("email") / "edition.html"
    path.write_text(html.preview(Subscriber("alice@example.com", "Alice Wonderland")).html, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots: {folder}")
    return folder


def _open(driver: Any, page: Path, width: int, scheme: str) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500},
    )
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
    )
    driver.get(page.as_uri())


def _screenshot(driver: Any, width: int, path: Path) -> None:
    height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), 4000)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500},
    )
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("width", [375, 800])
def test_layout_at_phone_and_desktop_width(driver: Any, page: Path, shots: Path, width: int) -> None:
    _open(driver, page, width, "light")
    scroll_width, inner_width = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, "the email scrolls sideways"
    points = driver.execute_script(
        "return Array.from(document.querySelectorAll('.dg-point')).map(e => {"
        "  const r = e.getBoundingClientRect(), s = getComputedStyle(e);"
        "  return [r.width, r.height, r.right, s.visibility, s.display, s.fontSize]; })"
    )
    assert len(points) >= 40
    for w, h, right, visibility, display, size in points:
        assert w > 100
        assert h > 10
        assert right <= inner_width
        assert visibility == "visible"
        assert display != "none"
        assert float(size.removesuffix("px")) >= 16
    _screenshot(driver, width, shots / f"edition-{width}px.png")


def test_text_size_and_tap_targets(driver: Any, page: Path) -> None:
    _open(driver, page, 375, "light")
    small_text = driver.execute_script(
        "return Array.from(document.querySelectorAll('body *')).filter(e => {"
        "  const own = Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());"
        "  const r = e.getBoundingClientRect();"
        "  return own && r.height > 0 && parseFloat(getComputedStyle(e).fontSize) < 16; })"
        ".map(e => e.className + ': ' + e.textContent.trim().slice(0, 40))"
    )
    assert small_text == []
    small_targets = driver.execute_script(
        "return Array.from(document.querySelectorAll('a')).map(a => {"
        "  const r = a.getBoundingClientRect(); return [a.textContent.trim(), r.width, r.height]; })"
        ".filter(([t, w, h]) => h < 44)"
    )
    assert small_targets == []


def test_dark_mode_changes_colours(driver: Any, page: Path, shots: Path) -> None:
    script = (
        "const s = getComputedStyle(document.querySelector('.dg-summary'));"
        "const c = getComputedStyle(document.querySelector('.dg-card')).backgroundColor;"
        "return [s.color, c];"
    )
    _open(driver, page, 375, "light")
    light_text, light_bg = driver.execute_script(script)
    _open(driver, page, 375, "dark")
    dark_text, dark_bg = driver.execute_script(script)
    assert (light_text, light_bg) != (dark_text, dark_bg)

    def luminance(rgb: str) -> float:
        r, g, b = (int(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert luminance(dark_text) > 180
    assert luminance(dark_bg) < 60
    _screenshot(driver, 375, shots / "edition-375px-dark.png")
    _screenshot(driver, 800, shots / "edition-800px-dark.png")
