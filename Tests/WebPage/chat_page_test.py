#!/usr/bin/env python3
"""The chat page as its users see it, in real browsers (headless Chromium through Selenium).

Starts `.build/debug/milestone-bot serve --demo --port 0` itself on a temporary database WITHOUT a fixed
signing secret (the demo keeps the secret it makes beside its database), fills the demo thread with 130
earlier lines, adds a second contract for bob, and opens the printed sign-in links for alice (buyer), bob
(freelancer) and mia (moderator). Then, each as a user would see it (desktop 1280x900 and phone 390x844 where
it is about layout):

 1. money confirmations say what the server will do (/fund M1, /fund M2, a moderator's /resolve M1 split)
    and the panel and the API then show exactly that;
 2. `hidden` hides (the sign-in card without a token, "Load earlier messages" with nothing earlier);
 3. commands are buttons in plain words; one needing words opens a labelled dialog; "Delete M2" asks first;
 4. the composer: Shift+Enter, Enter, the over-limit counter (nothing cut), safe links;
 5. times say UTC (day separators, a message's time, the review deadline);
 6. a refused command's private notice says who can see it;
 7. a restart of the demo signs nobody out; a line typed offline survives a refused token and a reload;
 8. the page works from http://localhost:PORT as well as the printed 127.0.0.1 link;
 9. chat basics: right-to-left text, the "new messages" jump, unread badges and title, threads by activity,
    "Load earlier" keeps the reading position, a moderator lands on the oldest dispute, the money held stays
    on screen on a phone, browser notifications while the tab is hidden;
10. typing indicator and read markers ("Seen", "Seen by bob", `seen_by` in the case file);
and finally axe-core (axe-selenium-python) on the buyer's, freelancer's and moderator's views at both widths:
no violation of impact "serious" or "critical".

Needs: `swift build --product milestone-bot`, pip `selenium`, `websockets` and `axe-selenium-python`, Debian
`chromium` and `chromium-driver`.
Run from anywhere: python3 Tests/WebPage/chat_page_test.py  (HEADFUL=1 to watch).
Environment: MILESTONE_BOT, the server binary (default .build/debug/milestone-bot, relative to the repo root).
Prints one line per check and ends with `N passed, M failed`; exits non-zero on any failure.
Screenshots go to artifacts/screenshots/chat-*.png.
"""
import asyncio
import os
import re
import secrets
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402
from harness import js_wait, wait  # noqa: E402

H.require("selenium", "websockets", "axe_selenium_python")
from axe_selenium_python import Axe  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from page import answer_confirm, conn_state, milestone, rendered, type_line  # noqa: E402

ROOT = Path(H.REPO_ROOT)
SHOTS = ROOT / "artifacts" / "screenshots"
REPORT = H.Report(gap=" ", sep=": ", limit=1500)
check = REPORT.check

DESKTOP = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
EARLIER = 130          # lines put in "demo" before the pages open (the first page holds 100)
DEMO_TITLE = "Demo: logo and landing page"


# --------------------------------------------------------------------------- page helpers


def find_msg(driver, text, cls=None):
    return next((m for m in rendered(driver) if text in m["text"] and (cls is None or cls in m["cls"].split())), None)


def texts(driver, css):
    """The visible text of every element matching `css`, read at once (the page may re-render between reads)."""
    return driver.execute_script("return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText)", css)


def shown(driver, element_id):
    found = driver.find_elements(By.ID, element_id)
    return bool(found) and found[0].is_displayed()


def action_button(driver, template, timeout=10):
    return wait(driver, lambda d: next((b for b in d.find_elements(By.CSS_SELECTOR, "#actions button")
                                        if b.get_attribute("data-template") == template), None), timeout)


def click_fresh(driver, find, tries=8):
    """Clicks what `find(driver)` returns, finding it again when the page re-rendered it in between (the thread
    list and the command buttons are rebuilt on every message and state); its text, or None."""
    for _ in range(tries):
        try:
            element = find(driver)
            if element is None:
                return None
            text = element.text
            element.click()
            return text
        except StaleElementReferenceException:
            time.sleep(0.2)
    return None


def click_action(driver, template):
    return click_fresh(driver, lambda d: action_button(d, template))


def thread_buttons(driver):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#threads button[data-thread]')).map(b => ({"
        " thread: b.dataset.thread, unread: Number(b.dataset.unread), current: b.getAttribute('aria-current') === 'true',"
        " preview: (b.querySelector('.preview') || {}).textContent || '', badge: (b.querySelector('.unread') || {}).textContent || ''}));")


def open_thread(driver, thread):
    click_fresh(driver, lambda d: d.find_element(By.CSS_SELECTOR, f"#threads button[data-thread='{thread}']"))
    return wait(driver, lambda d: d.find_element(By.ID, "thread-meta").text.startswith("you are")
                and d.execute_script("return document.querySelector('#threads button[aria-current=true]')"
                                     ".dataset.thread") == thread and rendered(d), 15)


def emulate(driver, metrics):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    wait(driver, lambda d: d.execute_script("return window.innerWidth") == metrics["width"], 5)
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)


def in_viewport(driver, element_id):
    return driver.execute_script(
        "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;",
        element_id)


JUMP_PLACE = """
const box = (el) => el.getBoundingClientRect();
const jump = box(document.getElementById('jump')), list = box(document.getElementById('scroller'));
const overlaps = (r) => !(r.right <= jump.left || r.left >= jump.right || r.bottom <= jump.top || r.top >= jump.bottom);
const covered = Array.from(document.querySelectorAll('#actions button, #composer-input, #send, #attach'))
  .filter(el => overlaps(box(el))).map(el => el.textContent || el.id);
return {over_list: jump.top >= list.top && jump.bottom <= list.bottom, covered};
"""


def scroll_info(driver):
    return driver.execute_script(
        "const s = document.getElementById('scroller'); return {top: s.scrollTop, height: s.scrollHeight, client: s.clientHeight,"
        " gap: s.scrollHeight - s.scrollTop - s.clientHeight};")


def shot(driver, name):
    path = SHOTS / name
    try:
        driver.save_screenshot(str(path))
    except Exception as error:  # a screenshot never fails the run by itself
        REPORT.note(f"screenshot {name} not taken: {error}")
    return path


def api_state(port, token):
    return H.http_json(port, "GET", "/api/contracts/demo", token=token, timeout=10)[2]


def api_ms(port, token, number):
    return next((m for m in api_state(port, token)["milestones"] if m["number"] == number), None)


# --------------------------------------------------------------------------- WebSocket helpers (no browser)

async def _send_lines(port, token, name, thread, lines):
    client = await H.Client(port, token, name).connect()
    try:
        await client.join(thread, timeout=15)
        for text in lines:
            cid = client.next_id()
            for _ in range(100):
                answer = await client.send(thread, text, cid=cid, timeout=15)
                if answer.get("type") == "ack":
                    break
                if answer.get("code") == "rate_limited":
                    await asyncio.sleep(0.3)
                    continue
                raise RuntimeError(f"{name}: {answer}")
    finally:
        await client.close()


def send_lines(port, jobs):
    """jobs: [(token, name, thread, [lines])], sent concurrently, each line acknowledged."""
    async def run():
        await asyncio.gather(*(_send_lines(port, *job) for job in jobs))
    asyncio.run(run())


# --------------------------------------------------------------------------- the test

def main():
    started = time.monotonic()
    missing = H.binary_missing()
    if missing:
        check("binary", False, missing)
        return REPORT.finish()
    SHOTS.mkdir(parents=True, exist_ok=True)
    # No fixed secret: the demo makes one and keeps it beside its database, so a restart signs nobody out.
    server = H.Server({"LOG_LEVEL": "warning"}, prefix="chat-page-test-", database="demo.sqlite", grace=15)
    drivers = []
    try:
        server.start()
        port = server.port
        base = f"http://127.0.0.1:{port}/"
        tokens = {user: token for user, (_, token) in server.links.items()}
        check("8. the demo's sign-in links say 127.0.0.1",
              set(server.links) == {"alice", "bob", "mia"}
              and all(link.startswith(f"http://127.0.0.1:{port}/#token=") for link, _ in server.links.values()),
              str({u: l[:40] for u, (l, _) in server.links.items()}))
        check("7. the demo keeps its secret beside its database",
              server.secret is None and os.path.exists(server.db + ".demo-secrets"))

        # A second contract, bob's as freelancer, before the demo thread's earlier lines (so "demo" is newest).
        created = H.create_contract(port, "side", "carol", "bob", api_key=server.api_key, title="Side job: icons",
                                    milestones=[{"amount": "80.00", "description": "Icons"}])
        check("9. a second contract for bob (POST /api/contracts with the demo's API key)", created.get("thread") == "side")
        send_lines(port, [(tokens["alice"], "alice", "demo", [f"Earlier line {i:03d} from alice" for i in range(1, EARLIER, 2)]),
                          (tokens["bob"], "bob", "demo", [f"Earlier line {i:03d} from bob" for i in range(2, EARLIER + 1, 2)])])
        REPORT.note(f"{EARLIER} earlier lines in demo ({time.monotonic() - started:.1f}s)")

        alice, bob, mia = H.browser(), H.browser(), H.browser()
        drivers += [alice, bob, mia]
        for driver in drivers:
            emulate(driver, DESKTOP)

        # ---- 2. `hidden` hides: the sign-in card without a token, at both widths.
        alice.get(base)
        card = wait(alice, lambda d: shown(d, "signin"), 10)
        check("2. no token: the sign-in card is shown and the chat layout is not (desktop)",
              card and not shown(alice, "app"), f"signin {shown(alice, 'signin')}, app {shown(alice, 'app')}")
        shot(alice, "chat-signin-desktop.png")
        emulate(alice, PHONE)
        check("2. no token: the sign-in card is shown and the chat layout is not (phone)",
              shown(alice, "signin") and not shown(alice, "app") and in_viewport(alice, "signin-token"))
        shot(alice, "chat-signin-phone.png")
        emulate(alice, DESKTOP)

        # ---- 8. the same page from http://localhost:PORT.
        alice.get(f"http://localhost:{port}/#token={tokens['alice']}")
        online = wait(alice, lambda d: conn_state(d) == "online", 20)
        check("8. the page opened as http://localhost:PORT/#token=... connects", online,
              f"{conn_state(alice)}: {alice.find_element(By.ID, 'conn').text}")
        check("8. from localhost: the demo thread opens", js_wait(alice, "return document.querySelectorAll('#milestones li[data-milestone]').length >= 2", 15))
        shot(alice, "chat-localhost.png")

        # ---- The three pages, signed in from the printed links.
        alice.get(server.links["alice"][0])
        bob.get(server.links["bob"][0])
        for driver, user in ((alice, "alice"), (bob, "bob")):
            ok = wait(driver, lambda d: conn_state(d) == "online" and len(rendered(d)) >= 50
                      and d.find_elements(By.CSS_SELECTOR, "#milestones li[data-milestone]"), 20)
            check(f"{user}: signed in from the printed link, thread demo open", ok and user in driver.find_element(By.ID, "who").text,
                  conn_state(driver))

        # ---- 9. "Load earlier" keeps the reading position (more than 100 messages).
        check("2. 'Load earlier messages' is shown when there is something earlier (133 messages, 100 loaded)",
              wait(alice, lambda d: shown(d, "older"), 5))
        alice.execute_script("document.getElementById('scroller').scrollTop = 0;")
        time.sleep(0.4)
        first = rendered(alice)[0]
        before_top = alice.execute_script(
            "const li = document.querySelector('#messages li.msg[data-seq=\"' + arguments[0] + '\"]');"
            "return li.getBoundingClientRect().top - document.getElementById('scroller').getBoundingClientRect().top;", first["seq"])
        count_before = len(rendered(alice))
        alice.find_element(By.ID, "older").click()
        grew = wait(alice, lambda d: len(rendered(d)) > count_before, 10)
        time.sleep(0.3)
        after = alice.execute_script(
            "const li = document.querySelector('#messages li.msg[data-seq=\"' + arguments[0] + '\"]');"
            "const s = document.getElementById('scroller').getBoundingClientRect(); const r = li.getBoundingClientRect();"
            "return {top: r.top - s.top, visible: r.bottom > s.top && r.top < s.bottom};", first["seq"])
        check("9. 'Load earlier' loads the earlier messages", grew, f"{count_before} -> {len(rendered(alice))}")
        check("9. 'Load earlier' keeps the reading position (the message that was first stays in view, in place)",
              after["visible"] and abs(after["top"] - before_top) < 60, f"first seq {first['seq']}: {before_top:.0f}px -> {after}")
        check("2. 'Load earlier messages' is hidden once there is nothing earlier",
              wait(alice, lambda d: not shown(d, "older"), 5) and rendered(alice)[0]["seq"] == 1)
        shot(alice, "chat-load-earlier.png")

        # ---- 5. times in UTC.
        days = alice.execute_script("return Array.from(document.querySelectorAll('#messages li.day')).map(li => li.textContent)")
        check("5. day separators (li.day) are shown and say (UTC)", days and all(d.endswith("(UTC)") for d in days), str(days))
        stamp = alice.execute_script("const li = document.querySelector('#messages li.msg'); const t = li.querySelector('time');"
                                     "return {at: li.dataset.at, title: t.title, text: t.textContent, datetime: t.dateTime};")
        at = time.strptime(stamp["at"][:19], "%Y-%m-%dT%H:%M:%S")
        check("5. a message's time has a title with the full date and UTC",
              "UTC" in stamp["title"] and str(at.tm_year) in stamp["title"] and time.strftime("%B", at) in stamp["title"]
              and re.search(rf"\b{at.tm_mday}\b", stamp["title"]) and stamp["datetime"] == stamp["at"], str(stamp))

        # ---- 3. commands are buttons in plain words; Delete M2 asks first.
        labels = texts(alice, "#actions button")
        check("3. alice: every command is a button in plain words (none starts with /)",
              labels and all(t and not t.startswith("/") and "<" not in t for t in labels), str(labels))
        labels = texts(bob, "#actions button")
        check("3. bob: every command is a button in plain words", labels and all(t and not t.startswith("/") for t in labels), str(labels))
        delete = click_action(alice, "/milestone delete M2")
        check("3. alice: a 'Delete M2' button", delete == "Delete M2", str(delete))
        if delete:
            text = answer_confirm(alice, accept=False)
            check("3. 'Delete M2' (destructive) asks first", text and "Delete M2" in text and "cannot be undone" in text, str(text))
            time.sleep(1.0)
            check("3. dismissing it keeps M2 (panel and server)", milestone(alice, "M2") is not None
                  and api_ms(port, tokens["alice"], "M2") is not None and not texts(alice, "#outbox li"))

        # ---- 1. money confirmations: /fund M1, /fund M2.
        type_line(alice, "/fund M1")
        text = answer_confirm(alice, accept=True)
        check("1. /fund M1: the confirmation says $500.00 will be held", text and "$500.00" in text and "held" in text, str(text))
        funded = wait(alice, lambda d: (m := milestone(d, "M1")) and m["state"] == "funded", 15)
        server_m1 = api_ms(port, tokens["alice"], "M1")
        check("1. /fund M1: the server then held what the confirmation said ($500.00)",
              funded and server_m1["held"] == 50000 and milestone(alice, "M1")["held"] == 50000, str(server_m1))
        type_line(alice, "/fund M2")
        text = answer_confirm(alice, accept=True)
        check("1. /fund M2: the confirmation names $1,250.50 held", text and "$1,250.50" in text and "held" in text, str(text))
        wait(alice, lambda d: (m := milestone(d, "M2")) and m["state"] == "funded", 15)
        server_m2 = api_ms(port, tokens["alice"], "M2")
        check("1. /fund M2: the server then held $1,250.50 and the panel shows it",
              server_m2["held"] == 125050 and milestone(alice, "M2")["held"] == 125050 and "$1,250.50" in milestone(alice, "M2")["held_text"],
              f"{server_m2} / {milestone(alice, 'M2')}")

        # ---- 5. the review deadline (after a submit) says UTC.
        type_line(bob, "/submit M1 the logo files are in the shared folder")
        submitted = wait(alice, lambda d: (m := milestone(d, "M1")) and m["state"] == "submitted", 15)
        deadline = (milestone(alice, "M1") or {}).get("deadline", "")
        check("5. the milestone panel's review deadline says UTC", submitted and "Review ends" in deadline and "UTC" in deadline, deadline)
        alice.execute_script("document.querySelector('#milestones li[data-milestone=M1]').scrollIntoView({block: 'center'})")
        shot(alice, "chat-review-deadline.png")

        # ---- 6. a refused command's private notice.
        type_line(bob, "/release M1")
        notice = wait(bob, lambda d: next((m for m in rendered(d) if m["private"] and m["author"] == "" and "/release M1" in m["text"]), None), 15)
        check("6. bob's refused command is answered privately: 'Only you and moderators can see this'",
              notice and notice["tag"] == "Only you and moderators can see this", str(notice))
        bob.execute_script("const all = document.querySelectorAll('#messages li[data-private=true]');"
                           "all[all.length - 1].scrollIntoView({block: 'center'})")
        shot(bob, "chat-private-notice.png")
        bob.execute_script("const s = document.getElementById('scroller'); s.scrollTop = s.scrollHeight;")
        time.sleep(0.3)
        check("6. alice does not see bob's private notice", not any(m["private"] for m in rendered(alice)))

        # ---- 3. a command needing words opens a dialog with a labelled field.
        dispute = click_action(alice, "/dispute M1 <reason>")
        check("3. alice: 'Open a dispute on M1' button", dispute == "Open a dispute on M1", str(dispute))
        reason = "the logo is not what we agreed"
        if dispute:
            opened = wait(alice, lambda d: d.execute_script("return document.getElementById('ask').open"), 5)
            form = alice.execute_script(
                "const f = document.querySelector('#ask-fields textarea, #ask-fields input');"
                "return f && {label: f.labels.length ? f.labels[0].textContent : '', focused: document.activeElement === f,"
                " title: document.getElementById('ask-title').textContent};")
            check("3. it opens a dialog (#ask) with a labelled field, focused",
                  opened and form and form["label"] and form["focused"] and form["title"] == "Open a dispute on M1", str(form))
            shot(alice, "chat-ask-dialog.png")
            field = alice.find_element(By.CSS_SELECTOR, "#ask-fields textarea, #ask-fields input")
            field.send_keys(reason)
            alice.find_element(By.ID, "ask-send").click()
            line = f"/dispute M1 {reason}"
            check("3. submitting the dialog sends the line (it appears in the thread)",
                  wait(alice, lambda d: find_msg(d, line, "mine"), 15) and not alice.execute_script("return document.getElementById('ask').open"))
            check("3. bob sees the line and M1 disputed",
                  wait(bob, lambda d: find_msg(d, line) and (milestone(d, "M1") or {}).get("state") == "disputed", 15))

        # ---- 9. the moderator lands on the oldest open dispute's thread, though another thread is newer.
        send_lines(port, [(tokens["bob"], "bob", "side", ["Icons: first sketches attached soon"])])
        mia_threads = H.http_json(port, "GET", "/api/threads", token=tokens["mia"])[2]["threads"]
        mia.get(server.links["mia"][0])
        landed = wait(mia, lambda d: conn_state(d) == "online" and d.find_elements(By.CSS_SELECTOR, "#milestones li[data-milestone]")
                      and d.find_element(By.ID, "thread-title").text, 20)
        buttons = thread_buttons(mia)
        current = next((b["thread"] for b in buttons if b["current"]), None)
        check("9. mia (no #thread=) lands on the oldest open dispute's thread (demo), not the newest (side)",
              landed and current == "demo" and mia.find_element(By.ID, "thread-title").text == DEMO_TITLE
              and mia_threads[0]["thread"] == "side", f"current {current}, server order {[t['thread'] for t in mia_threads]}")
        check("9. threads sorted by activity: mia's list shows side (newest line) first, with a preview",
              [b["thread"] for b in buttons] == [t["thread"] for t in mia_threads] == ["side", "demo"]
              and "first sketches" in buttons[0]["preview"], str(buttons))
        notice_for_bob = next((m for m in rendered(mia) if m["private"] and m["author"] == "" and "/release M1" in m["text"]), None)
        check("6. mia sees bob's private notice marked 'Private to bob' and from 'Bot (to bob)', not 'to you'",
              notice_for_bob and notice_for_bob["tag"] == "Private to bob" and "Bot (to bob)" in notice_for_bob["label"]
              and "to you" not in notice_for_bob["label"], str(notice_for_bob))
        labels = texts(mia, "#actions button")
        check("3. mia: every command is a button in plain words", labels and all(t and not t.startswith("/") for t in labels), str(labels))

        # ---- 1. the moderator's split: the confirmation, then what the server did.
        type_line(mia, "/resolve M1 split 200 Half of the logo work was delivered")
        text = answer_confirm(mia, accept=True, timeout=15) or ""
        effects = text.replace("\n", " ")
        check("1. /resolve M1 split 200: the confirmation says $200.00 released to the freelancer and $300.00 refunded",
              re.search(r"\$200\.00 released to the freelancer", effects) and re.search(r"\$300\.00 refunded to the buyer", effects), text)
        check("1. ... and does NOT say the full $500.00 goes to the freelancer", "$500.00" not in text, text)
        settled = wait(mia, lambda d: (m := milestone(d, "M1")) and m["state"] == "split", 15)
        m1 = api_ms(port, tokens["mia"], "M1")
        said_released = re.search(r"\$([\d,]+\.\d\d) released", effects)
        said_refunded = re.search(r"\$([\d,]+\.\d\d) refunded", effects)
        check("1. the server then did what the confirmation said (GET /api/contracts/demo: released, refunded, nothing held)",
              said_released and said_refunded and m1["released"] == int(said_released.group(1).replace(",", "").replace(".", ""))
              and m1["refunded"] == int(said_refunded.group(1).replace(",", "").replace(".", "")) and m1["held"] == 0, str(m1))
        for driver, user in ((mia, "mia"), (alice, "alice")):
            ok = wait(driver, lambda d: (m := milestone(d, "M1")) and m["state"] == "split" and m["released"] == 20000
                      and m["held"] == 0 and m["released_text"] == "$200.00" and m["refunded_text"] == "$300.00", 15)
            check(f"1. {user}'s panel shows M1 released $200.00 / refunded $300.00, as the dialog said", settled and ok,
                  str(milestone(driver, "M1")))
        mia.execute_script("document.querySelector('#milestones li[data-milestone=M1]').scrollIntoView({block: 'center'})")
        shot(mia, "chat-moderator.png")

        # ---- 9. unread counts: bob reads another thread while alice writes in demo.
        check("9. (bob has read demo up to the end before he switches)",
              wait(bob, lambda d: next(t for t in H.http_json(port, "GET", "/api/threads", token=tokens["bob"])[2]["threads"]
                                       if t["thread"] == "demo")["unread"] == 0, 10))
        check("9. bob opens the other thread (side)", open_thread(bob, "side"))
        for metrics, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
            emulate(bob, metrics)
            check(f"2. 'Load earlier messages' not shown when there is nothing earlier (side, {name})",
                  not shown(bob, "older") and len(rendered(bob)) >= 2)
        emulate(bob, DESKTOP)

        # ---- 4. the composer (alice): Shift+Enter, Enter, links.
        box = alice.find_element(By.ID, "composer-input")
        check("4. the composer is a textarea", box.tag_name == "textarea", box.tag_name)
        box.click()
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        box.send_keys("First line of the brief")
        ActionChains(alice).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
        box.send_keys("second line of the brief")
        value = box.get_attribute("value")
        time.sleep(0.3)
        check("4. Shift+Enter inserts a line break (nothing sent)",
              value == "First line of the brief\nsecond line of the brief" and not find_msg(alice, "First line of the brief"), repr(value))
        box.send_keys(Keys.ENTER)
        multi = wait(alice, lambda d: find_msg(d, "First line of the brief", "mine"), 15)
        check("4. Enter sends; the sent message shows the line break (two lines)",
              multi and multi["inner"].split("\n") == ["First line of the brief", "second line of the brief"]
              and box.get_attribute("value") == "", repr(multi and multi["inner"]))
        type_line(alice, "Spec: https://example.com/x (not javascript:alert(1))")
        linked = wait(alice, lambda d: find_msg(d, "Spec: https://example.com/x", "mine"), 15)
        links = alice.execute_script(
            "const li = Array.from(document.querySelectorAll('#messages li.msg')).pop();"
            "return Array.from(li.querySelectorAll('.text a')).map(a => ({href: a.getAttribute('href'), rel: a.rel, text: a.textContent, target: a.target}));")
        check("4. https://example.com/x renders as a link with rel noopener noreferrer",
              linked and len(links) == 1 and links[0]["href"] == "https://example.com/x"
              and {"noopener", "noreferrer"} <= set(links[0]["rel"].split()), str(links))
        check("4. javascript:alert(1) is not a link", linked and not any("javascript" in (l["href"] or "").lower() for l in links)
              and "javascript:alert(1)" in linked["text"], str(links))
        shot(alice, "chat-multiline-link.png")
        # 4,500 characters: the counter says it is over the limit, Send is disabled, nothing is cut.
        long_text = ("Lorem ipsum dolor sit amet. " * 200)[:4500]
        alice.execute_script("const b = document.getElementById('composer-input'); b.value = arguments[0];"
                             "b.dispatchEvent(new Event('input', {bubbles: true}));", long_text)
        counter = alice.find_element(By.ID, "counter")
        check("4. 4,500 characters: the counter says it is over the limit",
              counter.is_displayed() and "over the limit" in counter.text and counter.get_attribute("data-over") == "true", counter.text)
        check("4. 4,500 characters: Send is disabled", not alice.find_element(By.ID, "send").is_enabled())
        box.send_keys(Keys.END, Keys.ENTER)
        time.sleep(0.8)
        value = box.get_attribute("value")
        check("4. 4,500 characters: nothing is cut, and Enter does not send it",
              len(value) == 4500 and value == long_text and not texts(alice, "#outbox li")
              and not find_msg(alice, "Lorem ipsum dolor"), f"{len(value)} characters left in the box")
        shot(alice, "chat-counter-over.png")
        alice.execute_script("const b = document.getElementById('composer-input'); b.value = '';"
                             "b.dispatchEvent(new Event('input', {bubbles: true}));")
        check("4. emptied: the counter goes and Send is enabled again",
              not counter.is_displayed() and alice.find_element(By.ID, "send").is_enabled())

        # ---- 9. the unread badge and the title on bob's page (the thread list refreshes every 15 s).
        badge = wait(bob, lambda d: (t := next((b for b in thread_buttons(d) if b["thread"] == "demo"), None)) and t["unread"] >= 2 and t, 35)
        title = bob.title
        check("9. bob: alice's 2 new lines show an unread badge on the demo thread button",
              badge and badge["unread"] == 2 and badge["badge"] == "2", str(badge))
        check("9. bob: the tab title starts with (2)", title.startswith("(2) "), title)
        buttons = thread_buttons(bob)
        check("9. bob: threads sorted by activity, demo (alice's newest line) first, each with a preview",
              [b["thread"] for b in buttons] == ["demo", "side"] and "Spec: https://example.com/x" in buttons[0]["preview"]
              and "first sketches" in buttons[1]["preview"], str(buttons))
        shot(bob, "chat-unread-badge.png")
        check("9. bob opens demo", open_thread(bob, "demo"))
        cleared = wait(bob, lambda d: next(b for b in thread_buttons(d) if b["thread"] == "demo")["unread"] == 0
                       and not d.title.startswith("("), 10)
        check("9. opening it clears the badge and the title count", cleared, f"{thread_buttons(bob)} / {bob.title}")
        multi = find_msg(bob, "First line of the brief", "theirs")
        check("4. bob sees the two-line message with its line break", multi and "\n" in multi["inner"], repr(multi and multi["inner"]))

        # ---- 9. right-to-left text.
        type_line(alice, "مرحبا بالعالم")
        arabic = wait(bob, lambda d: d.execute_script(
            "const li = Array.from(document.querySelectorAll('#messages li.msg')).find(li => li.querySelector('.text').textContent === arguments[0]);"
            "if (!li) return null; const t = li.querySelector('.text');"
            "return {dir: t.getAttribute('dir'), direction: getComputedStyle(t).direction};", "مرحبا بالعالم"), 15)
        check("9. message text has dir=auto and an Arabic line renders right-to-left",
              arabic and arabic["dir"] == "auto" and arabic["direction"] == "rtl", str(arabic))
        shot(bob, "chat-rtl.png")

        # ---- 9. the "new messages" jump, at both widths.
        for metrics, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
            emulate(bob, metrics)
            bob.execute_script("document.getElementById('scroller').scrollTop = 0;")
            time.sleep(0.5)
            type_line(alice, f"Are you there, Bob? ({name})")
            jump = wait(bob, lambda d: shown(d, "jump") and find_msg(d, f"Are you there, Bob? ({name})"), 15)
            check(f"9. bob scrolled up: 'new messages' (#jump) appears when alice writes ({name})",
                  jump and in_viewport(bob, "jump") and "new message" in bob.find_element(By.ID, "jump").text,
                  bob.find_element(By.ID, "jump").text)
            place = bob.execute_script(JUMP_PLACE)
            check(f"9. the 'new messages' button floats over the message list, covering no command button or the composer ({name})",
                  place["over_list"] and not place["covered"], str(place))
            shot(bob, f"chat-jump-{name}.png")
            if jump:
                bob.find_element(By.ID, "jump").click()
                bottom = wait(bob, lambda d: scroll_info(d)["gap"] < 5 and not shown(d, "jump"), 5)
                check(f"9. clicking it scrolls to the bottom ({name})", bottom, str(scroll_info(bob)))
        emulate(bob, DESKTOP)

        # ---- 9. browser notifications while the tab is hidden (a stubbed Notification).
        bob.execute_script("""
            window.__notes = [];
            window.Notification = class { constructor(title, options) { window.__notes.push({title, body: (options || {}).body}); }
              static get permission() { return 'granted'; } static requestPermission() { return Promise.resolve('granted'); } };""")
        check("9. bob: the 'Notify me' button is shown", shown(bob, "notify"))
        bob.find_element(By.ID, "notify").click()
        check("9. bob: notifications turned on", wait(bob, lambda d: d.find_element(By.ID, "notify").get_attribute("aria-pressed") == "true", 5))
        bob.execute_script("Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});")
        type_line(alice, "Ping while your tab is hidden")
        wait(bob, lambda d: find_msg(d, "Ping while your tab is hidden"), 15)
        time.sleep(0.3)
        notes = bob.execute_script("return window.__notes")
        check("9. bob's hidden tab shows one notification naming the sender (alice)",
              len(notes) == 1 and notes[0]["title"].startswith("alice") and "Ping while" in (notes[0]["body"] or ""), str(notes))
        bob.execute_script("delete document.hidden;")

        # ---- 10. typing.
        wait(bob, lambda d: d.find_element(By.ID, "typing").text == "", 8)
        time.sleep(2.2)  # the page sends `typing` at most every 2 s
        box = alice.find_element(By.ID, "composer-input")
        box.click()
        box.send_keys("Hmm")
        stopped = time.monotonic()
        typing = wait(bob, lambda d: d.find_element(By.ID, "typing").text, 8)
        appeared = time.monotonic()
        check("10. while alice types, bob's page shows 'alice is typing…'", typing == "alice is typing…", str(typing))
        shot(bob, "chat-typing.png")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        time.sleep(max(0.0, 1.5 - (time.monotonic() - stopped)))
        still = bob.find_element(By.ID, "typing").text
        gone = wait(bob, lambda d: d.find_element(By.ID, "typing").text == "", 12)
        shown_for = time.monotonic() - appeared
        check("10. ... and it goes away about 5 s after she stops (still there after 1.5 s, gone within 8 s of appearing)",
              still == "alice is typing…" and gone and shown_for < 8,
              f"1.5 s after she stopped: {still!r}; gone after {shown_for:.1f}s")

        # ---- 10. read markers: Seen, Seen by bob, seen_by in the case file.
        type_line(alice, "Last thing: please confirm you got this")
        last = wait(bob, lambda d: find_msg(d, "Last thing: please confirm"), 15)
        check("10. (bob's page shows alice's newest line at the bottom)", last and scroll_info(bob)["gap"] < 80, str(scroll_info(bob)))
        seen = wait(alice, lambda d: d.execute_script(
            "const mine = Array.from(document.querySelectorAll('#messages li.msg.mine')).filter(li => li.dataset.private !== 'true').pop();"
            "const s = mine && mine.querySelector('.seen'); return s && mine.querySelector('.text').textContent.startsWith('Last thing') ? s.textContent : null;"), 15)
        check("10. alice's page shows 'Seen' under her line", seen == "Seen", str(seen))
        alice.execute_script("const s = document.querySelector('#messages .seen'); if (s) s.scrollIntoView({block: 'center'})")
        shot(alice, "chat-seen.png")
        by_bob = wait(mia, lambda d: next((t for t in texts(d, "#messages .seen") if t.startswith("Seen by bob")), None), 15)
        check("10. mia's page shows 'Seen by bob'", by_bob, str(by_bob))
        case = H.http_json(port, "GET", "/api/contracts/demo/cases/M1", token=tokens["mia"], timeout=10)
        timeline = (case[2] or {}).get("timeline", []) if case[0] == 200 else []
        seen_by = [e for e in timeline if e.get("seen_by")]
        check("10. the dispute's case file (GET /api/contracts/demo/cases/M1) has seen_by on its timeline",
              seen_by and any(s["user"] == "bob" for e in seen_by for s in e["seen_by"]),
              f"{case[0]}: {[(e['event'], e['seen_by']) for e in timeline]}")

        # ---- 7. a restart of the demo signs nobody out.
        server.kill()
        for driver, user in ((alice, "alice"), (bob, "bob"), (mia, "mia")):
            check(f"7. {user}: the page shows the connection is lost", wait(driver, lambda d: conn_state(d) == "offline", 15), conn_state(driver))
        server.start()
        check("7. the server started again on the same port and database", server.port == port)
        for driver, user in ((alice, "alice"), (bob, "bob"), (mia, "mia")):
            ok = wait(driver, lambda d: conn_state(d) == "online", 20)
            check(f"7. {user}: reconnects and stays signed in (no sign-in card)",
                  ok and not shown(driver, "signin") and shown(driver, "app") and user in driver.find_element(By.ID, "who").text,
                  f"{conn_state(driver)}, signin shown {shown(driver, 'signin')}, {driver.find_element(By.ID, 'signin-error').text}")

        # ---- 7. a line typed offline survives a refused token (and a reload) and is sent after signing in again.
        server.kill()
        wait(alice, lambda d: conn_state(d) == "offline", 15)
        offline_line = "Typed while the server was down"
        type_line(alice, offline_line)
        check("7. alice: the line typed offline waits in the outbox",
              wait(alice, lambda d: any(offline_line in t and "not sent yet" in t.lower() for t in texts(d, "#outbox li")), 5))
        wrong = H.mint(secrets.token_hex(32), "alice", "buyer")
        alice.execute_script("location.hash = arguments[0];", "token=" + wrong)   # the platform hands over a token we refuse
        wait(alice, lambda d: d.execute_script("return sessionStorage.getItem('milestone-bot.token')") == wrong, 5)
        server.start()
        refused = wait(alice, lambda d: shown(d, "signin"), 20)
        check("7. alice: the wrong-secret token is refused: the sign-in card says so",
              refused and "refused" in alice.find_element(By.ID, "signin-error").text.lower(), alice.find_element(By.ID, "signin-error").text)
        shot(alice, "chat-token-refused.png")
        alice.refresh()
        check("7. alice: after a reload the sign-in card is still asked for", wait(alice, lambda d: shown(d, "signin"), 10))
        alice.find_element(By.ID, "signin-token").send_keys(tokens["alice"])
        alice.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()
        delivered = wait(alice, lambda d: conn_state(d) == "online" and find_msg(d, offline_line, "mine")
                         and not texts(d, "#outbox li"), 20)
        check("7. alice: signed in again with a good token, the offline line is sent", delivered,
              f"{conn_state(alice)}; outbox {texts(alice, '#outbox li')}")
        check("7. bob gets that line exactly once", wait(bob, lambda d: find_msg(d, offline_line), 15)
              and sum(offline_line in m["text"] for m in rendered(bob)) == 1)
        api = H.http_json(port, "GET", "/api/contracts/demo/messages?after=0&limit=1000", token=tokens["alice"], timeout=10)[2]
        check("7. the server stored it once", sum(m["text"] == offline_line for m in api["messages"]) == 1)

        # ---- Each view at both widths: screenshots, the money held on a phone, then axe.
        for driver, role, user in ((alice, "buyer", "alice"), (bob, "freelancer", "bob"), (mia, "moderator", "mia")):
            wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#milestones li[data-milestone]") and shown(d, "held-now"), 15)
            for metrics, width in ((DESKTOP, "desktop"), (PHONE, "phone")):
                emulate(driver, metrics)
                driver.execute_script("window.scrollTo(0, 0); const s = document.getElementById('scroller'); s.scrollTop = s.scrollHeight;")
                time.sleep(0.3)
                held = driver.find_element(By.ID, "held-now")
                check(f"9. {user} ({width}): the money held (#held-now) is shown and on screen with the conversation",
                      held.is_displayed() and in_viewport(driver, "held-now") and "$1,250.50" in held.text
                      and driver.execute_script("const r = document.getElementById('scroller').getBoundingClientRect();"
                                                "return r.top < innerHeight && r.bottom > 0 && r.height > 100;"), held.text)
                check(f"{user} ({width}): no horizontal scrolling",
                      driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"))
                path = shot(driver, f"chat-{width}-{role}.png")
                check(f"screenshot {path.relative_to(ROOT)}", path.exists() and path.stat().st_size > 10_000)
                Axe(driver).inject()
                results = Axe(driver).run()
                bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
                check(f"axe: {role}'s view ({width}) has no serious or critical violation", not bad,
                      "; ".join(f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:6]}" for v in bad))
                others = [f"{v['id']} ({v['impact']})" for v in results["violations"] if v not in bad]
                if others:
                    REPORT.note(f"axe, {role} ({width}), lesser findings: {', '.join(others)}")
            emulate(driver, DESKTOP)
    except Exception:
        traceback.print_exc()
        check("the test ran to the end", False)
    finally:
        for driver in drivers:
            try:
                driver.quit()
            except Exception:
                pass
        server.close()
    return REPORT.finish(started)


if __name__ == "__main__":
    sys.exit(main())
