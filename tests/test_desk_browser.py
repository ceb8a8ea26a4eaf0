"""The desk end to end, as an editor uses it: `digest serve` in its own process, Debian's
headless Chromium (Selenium, Debian's chromedriver; nothing is downloaded), a real store, and
the `file:` outbox of the example config.

The edition is held first: with ``approval = "required"`` a `digest run` records the day's
edition and sends nothing. That is the review workflow as deployed (the scheduler's send
finds the edition unapproved), and it makes the desk's approve button the one thing that
sends, so the test can tell that the delivered emails carry exactly the approved edit.

Screenshots (desktop, mobile, dark, plain text, after the edit, after approval) go to the
folder the test prints, under pytest's tmp_path.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

EDITED = "Desk edit: coastal nations sign the fish-stocks plan"


def _project(tmp_path: Path, repo_root: Path) -> Path:
    """The examples with approval required; the outbox is examples/../outbox."""
    shutil.copytree(repo_root / "examples", tmp_path / "examples")
    shutil.copy(repo_root / "subscribers.example.csv", tmp_path / "subscribers.example.csv")
    config = tmp_path / "examples" / "digest.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("max_stories = 15\n", 'max_stories = 15\napproval = "required"\n', 1)
    assert 'approval = "required"' in text
    config.write_text(text, encoding="utf-8")
    return config


def _environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DIGEST_DESK_TOKEN"}  # loopback: no login
    env["DIGEST_SECRET"] = "desk-browser-secret"
    return env


@pytest.fixture
def served(tmp_path: Path, repo_root: Path) -> Iterator[tuple[str, Path]]:
    """`digest run` holds the day's edition, then `digest serve` on a free port; yields (URL, outbox)."""
    config = _project(tmp_path, repo_root)
    db = tmp_path / "desk.db"
    common = ["--config", str(config), "--db", str(db)]
    held = subprocess.run(
        [sys.executable, "-m", "digest", "run", "--quiet", *common],
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert held.returncode == 0, held.stderr
    outbox = tmp_path / "outbox"
    assert not list(outbox.glob("*.eml")), "approval is required: nothing may go out yet"

    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "serve", *common, "--port", "0"],
        env=_environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def collect() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=collect, daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline:
            assert proc.poll() is None, "".join(lines)
            found = re.search(r"desk on (http://127\.0\.0\.1:\d+)/", "".join(lines))
            url = found.group(1) if found else None
            time.sleep(0.05)
        assert url, f"no URL printed: {''.join(lines)}"
        yield url, outbox
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert "Traceback" not in "".join(lines), "".join(lines)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    print(f"\nscreenshots: {folder}")
    return folder


def _size(driver: Any, width: int, height: int = 900) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500},
    )


def _shot(driver: Any, width: int, path: Path) -> None:
    height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), 5000)
    _size(driver, width, height)
    driver.save_screenshot(str(path))
    _size(driver, width)
    assert path.stat().st_size > 10_000


def _wait_for(driver: Any, css: str, text: str, timeout: float = 60) -> str:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def seen(d: Any) -> str | bool:
        found = [e.text for e in d.find_elements(By.CSS_SELECTOR, css) if text in e.text]
        return found[0] if found else False

    try:
        # the old page's elements go stale while the form's answer loads
        wait = WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))
        result: str = wait.until(seen)
    except Exception:
        print(driver.current_url, driver.page_source[:3000])
        raise
    return result


def _follow(driver: Any, link_text: str, url_part: str) -> None:
    """Click a link of the page and wait until its page is the one shown."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.PARTIAL_LINK_TEXT, link_text).click()
    WebDriverWait(driver, 30).until(lambda d: url_part in d.current_url)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _frame_colours(driver: Any) -> tuple[str, str]:
    """Text and card colours inside the preview frame."""
    from selenium.webdriver.common.by import By

    driver.switch_to.frame(driver.find_element(By.ID, "email-frame"))
    try:
        summary = driver.find_element(By.CSS_SELECTOR, ".dg-summary").value_of_css_property("color")
        card = driver.find_element(By.CSS_SELECTOR, ".dg-card").value_of_css_property("background-color")
        return summary, card
    finally:
        driver.switch_to.default_content()


def _luminance(rgb: str) -> float:
    r, g, b = (int(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_edit_a_headline_approve_and_the_email_carries_it(
    driver: Any, served: tuple[str, Path], shots: Path
) -> None:
    from selenium.webdriver.common.by import By

    url, outbox = served
    _size(driver, 1280)
    driver.get(url + "/")
    assert "held: waiting for approval" in driver.find_element(By.CSS_SELECTOR, ".state").text
    frame = driver.find_element(By.ID, "email-frame")
    assert frame.get_attribute("sandbox") == ""
    assert frame.size["width"] == 800
    light = _frame_colours(driver)
    _shot(driver, 1280, shots / "desk-desktop.png")

    # the phone view of the email, on a phone: nothing scrolls sideways
    _size(driver, 375)
    _follow(driver, "Mobile", "width=mobile")
    frame = driver.find_element(By.ID, "email-frame")
    assert frame.size["width"] <= 375
    scroll, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, "the desk scrolls sideways at 375 px"
    _shot(driver, 375, shots / "desk-mobile.png")

    # dark mode, rendered as such whatever the browser prefers
    _follow(driver, "Dark", "dark=1")
    assert "dark=1" in driver.find_element(By.ID, "email-frame").get_attribute("src")
    dark = _frame_colours(driver)
    assert _luminance(dark[0]) > 180, (light, dark)  # light text
    assert _luminance(dark[1]) < 60, (light, dark)  # on a dark card
    assert dark != light
    _shot(driver, 375, shots / "desk-mobile-dark.png")

    _follow(driver, "Plain text", "format=text")
    plain = driver.find_element(By.ID, "plain-text").text
    assert "The Morning Brief" in plain
    _shot(driver, 375, shots / "desk-plain-text.png")

    # edit the lead story's headline through the form, as an editor would
    _size(driver, 1280)
    driver.get(url + "/")
    box = driver.find_element(By.ID, "headline-1")
    box.clear()
    box.send_keys(EDITED)
    box.find_element(By.XPATH, "./ancestor::form").find_element(
        By.CSS_SELECTOR, "button[type=submit]"
    ).click()
    _wait_for(driver, ".notice", "Story saved (revision 2).")
    assert driver.find_element(By.ID, "headline-1").get_attribute("value") == EDITED
    driver.switch_to.frame(driver.find_element(By.ID, "email-frame"))
    assert EDITED in driver.find_element(By.TAG_NAME, "body").text  # the preview shows it
    driver.switch_to.default_content()
    _shot(driver, 1280, shots / "desk-after-edit.png")

    # approve: the held edition goes out now
    driver.find_element(By.XPATH, "//button[normalize-space()='Approve and send now']").click()
    notice = _wait_for(driver, ".notice", "Approved and sent")
    assert "5 delivered, 0 failed" in notice
    assert "sent" in driver.find_element(By.CSS_SELECTOR, ".state").text
    assert not driver.find_elements(By.ID, "headline-1")  # sealed: read-only
    _shot(driver, 1280, shots / "desk-after-approval.png")

    assert len(list(outbox.glob("*.eml"))) == 5
    [ada_file] = outbox.glob("*--ada@example.org.eml")  # a reader of every topic
    ada = email.message_from_bytes(ada_file.read_bytes(), policy=email.policy.default)
    assert isinstance(ada, email.message.EmailMessage)
    html = ada.get_body(("html",))
    text = ada.get_body(("plain",))
    assert html is not None
    assert text is not None
    assert EDITED in html.get_content()
    assert EDITED in text.get_content()
    assert EDITED in str(ada["Subject"])  # the default subject names the top headline
    assert not str(ada["Subject"]).startswith("[Test]")
    for name in ("desk-desktop", "desk-mobile", "desk-mobile-dark", "desk-plain-text", "desk-after-edit"):
        assert (shots / f"{name}.png").exists()


def test_a_phone_gets_the_phone_preview_and_a_refusal_beside_its_story(
    driver: Any, served: tuple[str, Path], shots: Path
) -> None:
    from selenium.webdriver.common.by import By

    url, _ = served
    # a phone opening the desk, no width chosen: the phone's preview, nothing scrolls sideways
    _size(driver, 375)
    driver.get(url + "/")
    frame = driver.find_element(By.ID, "email-frame")
    assert "email-auto" in frame.get_attribute("class")
    assert frame.size["width"] <= 375
    box_scroll, box_width = driver.execute_script(
        "const b = document.querySelector('.frame'); return [b.scrollWidth, b.clientWidth]"
    )
    assert box_scroll <= box_width, "the preview scrolls sideways in its box"
    scroll, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, "the desk scrolls sideways at 375 px"
    mobile = driver.find_element(By.LINK_TEXT, "Mobile").value_of_css_property("background-color")
    desktop = driver.find_element(By.LINK_TEXT, "Desktop").value_of_css_property("background-color")
    assert mobile != desktop, "the switch does not show the phone's preview as the one shown"
    _shot(driver, 375, shots / "desk-phone-default.png")

    # a refused save on the phone: the page lands on that story, the reason beside its form
    box = driver.find_element(By.ID, "headline-3")
    box.clear()
    box.send_keys("   ")
    box.find_element(By.XPATH, "./ancestor::form").find_element(
        By.CSS_SELECTOR, "button[type=submit]"
    ).click()
    error = _wait_for(driver, ".story .error", "headline: must not be empty")
    assert "Not saved" in error
    assert "#story-" in driver.current_url
    story = driver.find_element(By.CSS_SELECTOR, ".story .error").find_element(By.XPATH, "./ancestor::li")
    assert story.find_element(By.CSS_SELECTOR, ".number").text == "3"
    top = driver.execute_script("return document.querySelector('.story .error').getBoundingClientRect().top")
    assert 0 <= top < 900, "the reason is not on screen"
    _shot(driver, 375, shots / "desk-phone-refused.png")

    # on a wide screen the same address shows the desktop preview
    _size(driver, 1280)
    driver.get(url + "/")
    assert driver.find_element(By.ID, "email-frame").size["width"] == 800
