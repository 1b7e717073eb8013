"""Drives steward's web page in headless Chromium for tests/web_page.rs.

Usage: drive.py URL FIFO
URL serves the page; writing a line to FIFO makes the program `echoer` print it on stdout.
Asserts on the DOM and prints one JSON object on success: {"latencies_ms": [...]}.
Set STEWARD_WEB_SHOT=PATH to also save a screenshot there (for a person to look at; never in the repo).
"""
import json
import os
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

url, fifo = sys.argv[1], sys.argv[2]
WEIRD = "<b>x&amp;\"'"
SCRIPT_LINE = "<script>window.__pwned=1</script><img src=x>"


def wait(what, fn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.005)


def row(name):
    for tr in driver.find_elements(By.CSS_SELECTOR, "#rows tr"):
        if tr.find_element(By.CSS_SELECTOR, "td.name").text == name:
            return tr
    return None


def state_of(name):
    return driver.execute_script(
        "for (const tr of document.querySelectorAll('#rows tr'))"
        "  if (tr.dataset.name === arguments[0]) return tr.querySelector('.state').textContent;"
        "return null;", name)


def tail_text():
    return driver.execute_script("return document.getElementById('tail-text').textContent")


opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
profile = tempfile.mkdtemp(prefix="steward-web-chromium-")
for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1100,800"]:
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
try:
    driver.set_page_load_timeout(20)
    driver.get(url)
    wait("four rows", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#rows tr")) == 4)
    wait("sleeper RUNNING", lambda: state_of("sleeper") == "RUNNING")

    # A program name with markup in it is shown as its exact text and adds no element.
    assert row(WEIRD) is not None, "the oddly named program is not shown by its exact name"
    assert driver.execute_script("return document.querySelectorAll('#rows b').length") == 0

    # Stop one program from its row; the row follows without a reload.
    driver.execute_script("window.__same_page = true")
    row("sleeper").find_element(By.CSS_SELECTOR, "button[data-act=stop]").click()
    wait("sleeper STOPPED", lambda: state_of("sleeper") == "STOPPED")
    assert driver.execute_script("return window.__same_page") is True, "the page reloaded"
    assert state_of("echoer") == "RUNNING"

    # The live tail shows what the program writes after the page opened.
    row("echoer").find_element(By.CSS_SELECTOR, "button[data-act=tail]").click()
    wait("the tail stream", lambda: driver.find_element(By.ID, "tail-status").text == "following")
    latencies = []
    with open(fifo, "w") as f:
        for i in range(8):
            marker = f"tail-line-{i}-{time.time_ns()}"
            t0 = time.monotonic()
            f.write(marker + "\n")
            f.flush()
            wait(f"{marker} in the tail", lambda: marker in tail_text())
            latencies.append(round((time.monotonic() - t0) * 1000, 1))
        f.write(SCRIPT_LINE + "\n")
        f.flush()
    wait("the script line as text", lambda: SCRIPT_LINE in tail_text())
    assert driver.execute_script("return window.__pwned") is None, "a log line ran as script"
    assert driver.execute_script(
        "return document.querySelectorAll('#tail-text *').length") == 0, "a log line made elements"

    shot = os.environ.get("STEWARD_WEB_SHOT")
    if shot:
        driver.save_screenshot(shot)
    print(json.dumps({"latencies_ms": latencies}))
finally:
    driver.quit()
