#!/usr/bin/env python3
"""Deliverables in the browser (headless Chromium through Selenium), against the real server binary.

Starts `.build/debug/milestone-bot serve --demo --port 0` on a temporary database and opens the demo users'
sign-in links. The buyer funds M1; the freelancer attaches two files (a PNG and a text file) with the Attach
button, sees their upload finish, and sends `/submit M1` with them; the buyer sees both as cards (the image
previewed), and downloads them: the saved bytes are the uploaded bytes. The moderator sees both files, with
their SHA-256, in the moderation panel. Finally an uploaded HTML page and an SVG with script, opened by
Chromium straight from the server (the token sent as a header), are downloaded, never run: no alert appears.

Needs: `swift build --product milestone-bot`, pip `selenium`, Debian `chromium` and `chromium-driver`.
Run from anywhere: python3 Tests/WebPage/files_page_test.py  (HEADFUL=1 to watch).
Prints one line per check and ends with `N passed, M failed`; exits non-zero on any failure.
Screenshots go to artifacts/screenshots/.
"""
import hashlib
import os
import sys
import tempfile
import time
import traceback
import urllib.parse
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402
from harness import js_wait, wait  # noqa: E402

H.require("selenium")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from page import conn_state, type_line  # noqa: E402

ROOT = Path(H.REPO_ROOT)
SHOTS = ROOT / "artifacts" / "screenshots"
REPORT = H.Report(gap=" ", sep=": ")
check = REPORT.check

PNG = bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) + bytes.fromhex(
    "0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cfc0f01f0005000201"
    "a5d1a1c50000000049454e44ae426082")
NOTES = "Final logo files.\nColours: #1b3a5c, #f2c14e.\n".encode("utf-8")
HTML = b"<html><body><script>alert('ran in the server origin')</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


def message_files(driver, text_start):
    return driver.execute_script("""
        const li = Array.from(document.querySelectorAll('#messages li.msg'))
          .find(li => li.querySelector('.text').textContent.startsWith(arguments[0]));
        if (!li) return null;
        return Array.from(li.querySelectorAll('.file-card')).map(card => ({
          id: card.dataset.file, name: card.querySelector('.file-name').textContent,
          pending: card.dataset.pending === 'true', image: !!card.querySelector('img'),
          loaded: !!(card.querySelector('img') && card.querySelector('img').naturalWidth > 0)}));
    """, text_start)


def allow_downloads(driver, folder):
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": folder})


def main():
    missing = H.binary_missing()
    if missing:
        check("binary", False, missing)
        return REPORT.finish()
    SHOTS.mkdir(parents=True, exist_ok=True)
    server = H.Server({"LOG_LEVEL": "warning"}, prefix="files-page-test-", database="demo.sqlite")
    drivers = []
    work = tempfile.mkdtemp(prefix="files-page-")
    try:
        server.start()
        tokens = {user: token for user, (_, token) in server.links.items()}
        alice, bob, mia = H.browser(), H.browser(), H.browser()
        drivers += [alice, bob, mia]
        for driver, user in ((alice, "alice"), (bob, "bob"), (mia, "mia")):
            driver.get(server.links[user][0])
        for driver, user in ((alice, "alice"), (bob, "bob"), (mia, "mia")):
            check(f"{user}: page connects", wait(driver, lambda d: conn_state(d) == "online", 20))
            check(f"{user}: thread opens", js_wait(driver, "return document.querySelectorAll('#milestones li[data-milestone]').length >= 1", 15))

        # The buyer funds M1 (confirming the money), so the freelancer can deliver it.
        type_line(alice, "/fund M1")
        alert = wait(alice, EC.alert_is_present(), 10)
        if alert:
            alert.accept()
        check("alice: M1 funded", js_wait(alice, "const li = document.querySelector('#milestones li[data-milestone=\"M1\"]');"
                                           "return li && li.dataset.state === 'funded';", 15))

        # The freelancer attaches two files with the Attach button's file input.
        png_path, notes_path = os.path.join(work, "logo.png"), os.path.join(work, "notes.txt")
        Path(png_path).write_bytes(PNG)
        Path(notes_path).write_bytes(NOTES)
        check("bob: Attach is enabled in an open thread", bob.find_element(By.ID, "attach").is_enabled())
        chooser = bob.find_element(By.ID, "attach-input")
        chooser.send_keys(png_path + "\n" + notes_path)
        ready = js_wait(bob, "const items = document.querySelectorAll('#attachments li');"
                             "return items.length === 2 && Array.from(items).every(li => li.dataset.status === 'ready');", 20)
        check("bob: both files upload and show as ready above the composer", ready,
              bob.execute_script("return document.getElementById('attachments').textContent"))
        bob.save_screenshot(str(SHOTS / "files-freelancer-attached.png"))
        type_line(bob, "/submit M1 final logo and notes")
        sent = js_wait(bob, "return document.getElementById('attachments').hidden === true", 10)
        check("bob: sending clears the attachments", sent)

        # The buyer sees both files on the submission, the image previewed, and downloads them.
        cards = wait(alice, lambda d: (lambda f: f if f and len(f) == 2 and not any(c["pending"] for c in f) else None)(
            message_files(d, "/submit M1")), 20)
        check("alice: the submission shows two file cards with their names", cards is not None
              and sorted(c["name"] for c in cards) == ["logo.png", "notes.txt"], str(cards))
        ids = {c["name"]: c["id"] for c in cards or []}
        check("alice: each card's id is the SHA-256 of the uploaded bytes",
              ids.get("logo.png") == hashlib.sha256(PNG).hexdigest() and ids.get("notes.txt") == hashlib.sha256(NOTES).hexdigest(), str(ids))
        preview = wait(alice, lambda d: any(c["loaded"] for c in (message_files(d, "/submit M1") or []) if c["name"] == "logo.png"), 10)
        check("alice: the image is previewed", preview)
        alice.save_screenshot(str(SHOTS / "files-buyer-submission.png"))
        downloads = os.path.join(work, "downloads")
        os.makedirs(downloads)
        allow_downloads(alice, downloads)
        for name, body in (("logo.png", PNG), ("notes.txt", NOTES)):
            alice.execute_script("document.querySelector('.file-card [data-download=\"' + arguments[0] + '\"]').click()", ids.get(name, ""))
            saved = os.path.join(downloads, name)
            arrived = wait(alice, lambda d: os.path.exists(saved) and Path(saved).read_bytes() == body, 15)
            check(f"alice: downloading {name} saves exactly the uploaded bytes", arrived,
                  str(os.listdir(downloads)))

        # The moderator's panel lists every file with its full SHA-256.
        listed = js_wait(mia, "return Array.from(document.querySelectorAll('#case-files li[data-file]')).map(li => li.textContent)", 15)
        check("mia: the moderation panel lists both files with their SHA-256",
              listed and all(any(hashlib.sha256(b).hexdigest() in text and name in text for text in listed)
                             for name, b in (("logo.png", PNG), ("notes.txt", NOTES))), str(listed))
        mia.save_screenshot(str(SHOTS / "files-moderator-case.png"))

        # HTML and SVG with script, opened straight from the server in Chromium: downloaded, never run.
        viewer = H.browser()
        drivers.append(viewer)
        inert_downloads = os.path.join(work, "inert")
        os.makedirs(inert_downloads)
        allow_downloads(viewer, inert_downloads)
        viewer.execute_cdp_cmd("Network.enable", {})
        viewer.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Bearer " + tokens["alice"]}})
        for name, body in (("page.html", HTML), ("icon.svg", SVG)):
            status, _, raw = H.http(server.port, "POST", "/api/contracts/demo/files?name=" + urllib.parse.quote(name),
                                    headers={"Content-Type": "text/html"}, token=tokens["alice"], raw_body=body)
            file_id = hashlib.sha256(body).hexdigest()
            check(f"{name}: uploaded", status == 201, raw[:200])
            viewer.get(f"http://127.0.0.1:{server.port}/api/contracts/demo/files/{file_id}")
            time.sleep(1.5)
            ran = wait(viewer, EC.alert_is_present(), 3)
            check(f"{name}: opened in Chromium, its script does not run", not ran)
            check(f"{name}: Chromium saved it as a download instead",
                  wait(viewer, lambda d: os.path.exists(os.path.join(inert_downloads, name)), 10), str(os.listdir(inert_downloads)))
    except Exception:
        check("no exception", False, traceback.format_exc())
    finally:
        for driver in drivers:
            try:
                driver.quit()
            except Exception:
                pass
        server.stop()
    return REPORT.finish()


if __name__ == "__main__":
    sys.exit(main())
