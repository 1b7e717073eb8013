"""Drives steward's web page in headless Chromium for tests/web_page.rs.

Usage: drive.py URL FIFO
URL serves the page (credentials in it); writing a line to FIFO makes the program `echoer` print it on
stdout, and on stderr with `err:` in front. Asserts on the DOM (every wait polls for a state, with a
deadline) and prints one JSON object as its last line on success: {"latencies_ms": [...], ...}.
Set STEWARD_WEB_SHOT=PATH to also save a screenshot there (for a person to look at; never in the repo).
"""
import json
import os
import re
import sys
import tempfile
import time
import xmlrpc.client

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

url, fifo = sys.argv[1], sys.argv[2]
WEIRD = "<b>x&amp;\"'"
SCRIPT_LINE = "<script>window.__pwned=1</script><img src=x>"
# The same server, driven from outside the page (as supervisorctl or another tab would).
server = xmlrpc.client.ServerProxy(url + "RPC2").supervisor


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


def cell(name, css):
    return driver.execute_script(
        "for (const tr of document.querySelectorAll('#rows tr'))"
        "  if (tr.dataset.name === arguments[0]) return tr.querySelector(arguments[1]).textContent;"
        "return null;", name, css)


def state_of(name):
    return cell(name, ".state")


def states():
    return driver.execute_script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('#rows tr'),"
        "  (tr) => [tr.dataset.name, tr.querySelector('.state').textContent]))")


def pid_in_row(name):
    m = re.search(r"pid (\d+)", cell(name, "td.desc") or "")
    return int(m.group(1)) if m else None


def click(name, act):
    """Clicks a row's button once it is enabled (it is disabled while an action on the row runs)."""
    sel = f"button[data-act={act}]"
    wait(f"{name}'s {act} button enabled",
         lambda: row(name).find_element(By.CSS_SELECTOR, sel).is_enabled())
    row(name).find_element(By.CSS_SELECTOR, sel).click()


def click_id(id_):
    wait(f"#{id_} enabled and shown", lambda: driver.find_element(By.ID, id_).is_displayed()
         and driver.find_element(By.ID, id_).is_enabled())
    driver.find_element(By.ID, id_).click()


def tail_text():
    return driver.execute_script("return document.getElementById('tail-text').textContent")


def same_page():
    return driver.execute_script("return window.__same_page") is True


opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
profile = tempfile.mkdtemp(prefix="steward-web-chromium-")
for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1100,800"]:
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
result = {}
try:
    driver.set_page_load_timeout(20)
    driver.get(url)
    wait("four rows", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#rows tr")) == 4)
    wait("sleeper RUNNING", lambda: state_of("sleeper") == "RUNNING")
    driver.execute_script("window.__same_page = true")

    # A program name with markup in it is shown as its exact text and adds no element.
    assert row(WEIRD) is not None, "the oddly named program is not shown by its exact name"
    assert driver.execute_script("return document.querySelectorAll('#rows b').length") == 0

    # A change made elsewhere shows in its row with no click and no reload (the page polls).
    server.stopProcess("sleeper", True)
    wait("sleeper STOPPED in the page after a stop over XML-RPC",
         lambda: state_of("sleeper") == "STOPPED")
    assert same_page(), "the page reloaded"

    # Start, Restart and Stop from the row; each reaches the supervisor.
    click("sleeper", "start")
    wait("sleeper RUNNING after Start", lambda: state_of("sleeper") == "RUNNING")
    first = wait("sleeper's pid in its row", lambda: pid_in_row("sleeper"))
    assert server.getProcessInfo("sleeper")["pid"] == first
    click("sleeper", "restart")
    second = wait("a new pid in sleeper's row after Restart",
                  lambda: state_of("sleeper") == "RUNNING" and pid_in_row("sleeper") not in
                  (None, first) and pid_in_row("sleeper"))
    assert server.getProcessInfo("sleeper")["pid"] == second
    result["restart_pids"] = [first, second]
    click("sleeper", "stop")
    wait("sleeper STOPPED after Stop", lambda: state_of("sleeper") == "STOPPED")
    assert server.getProcessInfo("sleeper")["statename"] == "STOPPED"
    assert state_of("echoer") == "RUNNING"
    assert same_page(), "the page reloaded"

    # The live tail shows what the program writes after the page opened.
    click("echoer", "tail")
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
            "return document.querySelectorAll('#tail-text *').length") == 0, \
            "a log line made elements"

        # Clear log empties the tail and the log file; the tail goes on following.
        logfile = server.getProcessInfo("echoer")["stdout_logfile"]
        assert os.path.getsize(logfile) > 0, logfile
        click_id("tail-clear")
        wait("an empty tail after Clear log", lambda: tail_text() == "")
        wait("an empty log file after Clear log", lambda: os.path.getsize(logfile) == 0)
        marker = f"after-clear-{time.time_ns()}"
        f.write(marker + "\n")
        f.flush()
        wait(f"{marker} in the tail after the clear", lambda: marker in tail_text())

        # The stderr toggle follows the program's stderr instead.
        click_id("tail-stderr")
        wait("the stderr stream", lambda: driver.find_element(By.ID, "tail-status").text
             == "following" and "stderr" in driver.find_element(By.ID, "tail-title").text)
        assert "on" in driver.find_element(By.ID, "tail-stderr").get_attribute("class")
        marker = f"to-stderr-{time.time_ns()}"
        f.write(marker + "\n")
        f.flush()
        wait(f"err:{marker} in the stderr tail", lambda: f"err:{marker}" in tail_text())
        lines = [ln for ln in tail_text().splitlines() if ln]
        assert all(ln.startswith("err:") for ln in lines), f"stdout in the stderr tail: {lines}"

    # Stop all, then Start all.
    click_id("stop-all")
    wait("every process down after Stop all", lambda: all(
        s in ("STOPPED", "EXITED") for s in states().values()))
    assert all(p["statename"] in ("STOPPED", "EXITED") for p in server.getAllProcessInfo())
    click_id("start-all")
    wait("the long-running processes RUNNING after Start all", lambda: all(
        states()[n] == "RUNNING" for n in ("sleeper", "echoer", WEIRD)))
    assert server.getProcessInfo("sleeper")["statename"] == "RUNNING"
    assert same_page(), "the page reloaded"

    # A phone-sized window: rows are cards and nothing scrolls sideways.
    driver.set_window_size(390, 844)
    wait("a window 390 px wide", lambda: driver.execute_script("return innerWidth") <= 390)
    wait("rows as cards", lambda: driver.execute_script(
        "const tr = document.querySelector('#rows tr');"
        "return getComputedStyle(tr).display === 'block'"
        "  && getComputedStyle(document.querySelector('#procs thead')).display === 'none'"))
    # clientWidth leaves out a vertical scrollbar: content wider than it scrolls sideways.
    width = driver.execute_script("const d = document.documentElement;"
                                  "return [d.scrollWidth, d.clientWidth, innerWidth]")
    assert width[0] <= width[1] <= width[2], f"horizontal scroll at 390 px: {width}"
    result["narrow"] = width

    shot = os.environ.get("STEWARD_WEB_SHOT")
    if shot:
        driver.save_screenshot(shot)
    result["latencies_ms"] = latencies
    print(json.dumps(result))
finally:
    driver.quit()
