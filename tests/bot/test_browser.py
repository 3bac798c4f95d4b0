"""A real browser (Debian's Chromium driven by Playwright) on the running web server."""

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.bot.processes import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)")
PASSWORD = "mật-khẩu-đủ-dài-123"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]




@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "TTHC_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}",
        "TTHC_PORT": str(port),
        "TTHC_SECRET_KEY": "browser-test",
    }
    env.pop("TTHC_TELEGRAM_TOKEN", None)
    subprocess.run(
        [sys.executable, "-m", "bot", "admin", "create-user", "canbo", "--password-stdin"],
        input=PASSWORD.encode(),
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "-m", "bot", "office", "add", "xa-thu", "--name", "Trung tâm xã Thử"]
        + ["--phone", "0262 3 123 456"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError(process.communicate()[0].decode(errors="replace"))
    yield base
    process.terminate()
    process.communicate(timeout=20)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser.new_page()
        browser.close()


def test_chat_page_answers_and_buttons_work_in_a_browser(server, page):
    page.goto(server + "/")
    page.wait_for_selector(".msg.bot")  # the greeting
    page.fill("#question", "làm giấy khai sinh cho con cần giấy tờ gì")
    page.press("#question", "Enter")
    page.wait_for_selector("text=Giấy chứng sinh")
    page.click("button:has-text('💰 Lệ phí')")
    page.wait_for_selector("text=Phí, lệ phí")
    assert "Mã thủ tục 1.001193" in page.inner_text("#log")


def test_landing_page_and_admin_login_in_a_browser(server, page):
    page.goto(server + "/p/1.004873")
    assert "Giấy xác nhận tình trạng hôn nhân" in page.inner_text("body")
    page.goto(server + "/admin/")
    assert "/admin/login" in page.url
    page.fill("input[name=username]", "canbo")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/**")
    page.goto(server + "/admin/inbox")
    assert "Câu hỏi chưa trả lời được" in page.inner_text("body")


@pytest.fixture
def phone():
    """A phone-sized page (360×740, as most Vietnamese phones in use)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
        yield context.new_page()
        browser.close()


def overflow(page) -> int:
    """How many CSS pixels the page is wider than the screen (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_on_a_phone_the_newest_answer_starts_on_screen_and_nothing_scrolls_sideways(server, phone):
    phone.goto(server + "/")
    phone.wait_for_selector(".msg.bot")
    for question in ("đăng ký kết hôn cần gì", "làm giấy khai sinh cho con cần giấy tờ gì"):
        phone.fill("#question", question)
        phone.press("#question", "Enter")
    phone.wait_for_selector("text=Giấy chứng sinh")
    phone.wait_for_timeout(800)  # the smooth scroll to the new answer
    answers = phone.locator(".msg.bot").all_inner_texts()
    marriage = max(i for i, text in enumerate(answers) if "Đăng ký kết hôn" in text)
    birth = max(i for i, text in enumerate(answers) if "Giấy chứng sinh" in text)
    assert marriage < birth  # answered in the order asked, however quickly the two were sent
    title = phone.locator(".msg.bot b", has_text="Đăng ký khai sinh").last
    box = title.bounding_box()
    assert box is not None and 0 <= box["y"] <= 740 - box["height"], box  # its title is in view
    assert overflow(phone) == 0


def test_landing_admin_list_and_inbox_fit_a_phone(server, phone):
    phone.goto(server + "/p/1.001193")
    assert overflow(phone) == 0
    assert phone.evaluate("document.documentElement.scrollHeight") < 3 * 740  # folded: under three screens
    phone.goto(server + "/admin/login")
    shown = phone.inner_text("body") + " " + " ".join(
        phone.locator("input").evaluate_all("inputs => inputs.map(input => input.placeholder)")
    )
    plain_words = {word for word in re.findall(r"\w+", shown) if word.isascii()}
    assert plain_words <= {"TTHC", "Bot"}, plain_words  # the login page says nothing in English
    phone.fill("input[name=username]", "canbo")
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url("**/admin/**")
    phone.wait_for_selector("text=Việc cần làm hôm nay")  # the home page after login
    for path in ("/admin/procedure/list", "/admin/inbox", "/admin/tickets", "/admin/dashboard"):
        phone.goto(server + path)
        assert overflow(phone) == 0, path



def test_an_office_phone_in_an_answer_is_a_link_that_calls_it(server, phone):
    phone.goto(server + "/?o=xa-thu")
    phone.wait_for_selector("text=Trung tâm xã Thử")
    phone.fill("#question", "đăng ký kết hôn nộp ở đâu")
    phone.press("#question", "Enter")
    link = phone.wait_for_selector("a[href='tel:02623123456']")
    assert link.inner_text() == "0262 3 123 456"
