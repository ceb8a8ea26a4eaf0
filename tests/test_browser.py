"""The rendered edition in a real browser: Debian's headless Chromium driven by Selenium.

Opens the 15-story sample edition and the demo's email (``examples/digest.toml``, delivered as
``make demo`` does) at phone (375 px) and desktop (800 px) widths, light and dark: every text
reaches 4.5:1 contrast against its effective background, as Chromium computes the colours;
nothing scrolls sideways on the phone and the text column is at least 320 px wide there; key
points are visible, text is at least 16 px, tap targets at least 44 px tall. The web archive's
pages too. Screenshots go to the folder printed by the test (under pytest's tmp_path). Never
downloads a browser.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from digest.archive import Archive, write_archive
from digest.config import Settings, load_config
from digest.models import Subscriber
from digest.pipeline import RunContext, run_edition
from digest.render import EditionRenderer
from digest.render.sample import sample_edition
from digest.store import open_store

pytestmark = pytest.mark.browser

# Every visible text node: its computed colour over the background it really sits on (the
# nearest ancestors' background colours composited down to an opaque one, else the canvas,
# which Chromium paints dark in dark mode), and the WCAG 2 contrast ratio of the two.
CONTRAST_JS = """
const parse = c => {
  const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
  const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
const lin = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
const lum = c => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
const ratio = (a, b) => {
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05);
};
const probe = document.createElement('div');
probe.style.backgroundColor = 'Canvas';
document.documentElement.appendChild(probe);
const canvas = parse(getComputedStyle(probe).backgroundColor);
probe.remove();
const out = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  if (!n.textContent.replace(/[\\s\\u034f\\u200c\\u00a0]+/g, '')) continue;
  const el = n.parentElement, style = getComputedStyle(el);
  const range = document.createRange(); range.selectNodeContents(n);
  const shown = Array.from(range.getClientRects()).some(r => r.width > 0 && r.height > 0);
  if (!shown || style.visibility !== 'visible' || parseFloat(style.opacity) === 0) continue;
  const layers = [];
  let image = false;
  for (let e = el; e; e = e.parentElement) {
    const cs = getComputedStyle(e);
    if (cs.backgroundImage !== 'none') image = true;
    const bg = parse(cs.backgroundColor);
    if (bg && bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
  }
  let bg = canvas;
  for (const layer of layers.reverse()) bg = over(layer, bg);
  const fg = over(parse(style.color), bg);
  const shade = 'rgb(' + bg.slice(0, 3).map(Math.round) + ')';
  out.push([Math.round(ratio(fg, bg) * 100) / 100, el.tagName + '.' + el.className,
            n.textContent.trim().slice(0, 40), style.color, shade, image]);
}
return out;
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = Settings(postal_address="Digest Ltd, 1 Harbour Street, Portsmouth PO1 2AB, United Kingdom")
    edition = sample_edition(intro="Good morning. Fifteen stories today, from fish stocks to a cup final.")
    html = EditionRenderer(edition, settings, secret=b"browser", now=datetime(2026, 11, 26, 7, tzinfo=UTC))
    path = tmp_path_factory.mktemp("email") / "edition.html"
    path.write_text(html.preview(Subscriber("alice@example.com", "Alice Wonderland")).html, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """The demo's email as Ada gets it: ``examples/digest.toml`` run into a file outbox."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(repo_root / "examples", root / "examples")
    shutil.copy(repo_root / "subscribers.example.csv", root)
    settings = load_config(root / "examples" / "digest.toml")
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    with open_store(root / "demo.db") as store:
        summary = asyncio.run(
            run_edition(
                RunContext(settings, store, now=now, environ={}, transport_url=f"file:{root / 'outbox'}")
            )
        )
        write_archive(
            Archive(settings, store, base_url="https://example.org/brief/", secret=b"k"),
            root / "site",
            now=now,
        )
    assert summary.exit_code == 0
    msg = email.message_from_bytes(
        (root / "outbox" / "2026-11-26--ada@example.org.eml").read_bytes(), policy=email.policy.default
    )
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(("html",))
    assert part is not None
    path = root / "ada.html"
    path.write_text(part.get_content(), encoding="utf-8")
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


LOWEST: dict[str, float] = {}  # the lowest contrast found per page and view, for the log


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 800])
@pytest.mark.parametrize("which", ["demo", "sample"])
def test_every_text_reaches_4_5_to_1(
    driver: Any, request: pytest.FixtureRequest, shots: Path, which: str, width: int, scheme: str
) -> None:
    page: Path = request.getfixturevalue("demo" if which == "demo" else "page")
    _open(driver, page, width, scheme)
    texts = driver.execute_script(CONTRAST_JS)
    assert len(texts) > 100
    assert not [t for t in texts if t[5]], "a background image: the contrast cannot be computed"
    low = [t for t in texts if t[0] < 4.5]
    assert low == [], f"{which} at {width} px, {scheme}: {low[:5]}"
    lowest = min(t[0] for t in texts)
    LOWEST[f"{which} {width}px {scheme}"] = lowest
    print(f"\n{which} at {width} px, {scheme}: {len(texts)} texts, lowest contrast {lowest}:1")
    if which == "demo":
        _screenshot(driver, width, shots / f"demo-{width}px-{scheme}.png")


def test_dark_mode_darkens_the_footer_and_the_strip_above_the_masthead(driver: Any, demo: Path) -> None:
    _open(driver, demo, 800, "dark")
    backgrounds = driver.execute_script(
        "return ['.dg-top td', '.dg-footer td', '.dg-footer-link'].map(s => {"
        "  let e = document.querySelector(s);"
        "  for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;"
        "    if (c !== 'rgba(0, 0, 0, 0)') return c; } return 'canvas'; })"
    )
    for colour in backgrounds:
        r, g, b = (int(x) for x in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3])
        assert max(r, g, b) < 40, backgrounds


@pytest.mark.parametrize("which", ["demo", "sample"])
def test_phone_margins_and_text_column(driver: Any, request: pytest.FixtureRequest, which: str) -> None:
    _open(driver, request.getfixturevalue("demo" if which == "demo" else "page"), 375, "light")
    scroll_width, inner_width = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width == 375, "the email scrolls sideways"
    columns = driver.execute_script(
        "return Array.from(document.querySelectorAll('.dg-story, .dg-greeting, .dg-title')).map(e => {"
        "  const r = e.getBoundingClientRect(); return [r.left, r.width, 375 - r.right]; })"
    )
    assert len(columns) > 10
    for left, width, right in columns:
        assert 16 <= left <= 24
        assert 16 <= right <= 24
        assert width >= 320
    narrowest = min(c[1] for c in columns)
    print(f"\n{which} at 375 px: text column {narrowest:.0f} px, margins {columns[0][0]:.0f} px")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", ["index.html", "2026-11-26/index.html"])
def test_archive_pages_on_a_phone(driver: Any, demo: Path, name: str, scheme: str) -> None:
    _open(driver, demo.parent / "site" / name, 375, scheme)
    scroll_width, inner_width = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width
    texts = driver.execute_script(CONTRAST_JS)
    assert len(texts) > 5
    assert [t for t in texts if t[0] < 4.5] == []
