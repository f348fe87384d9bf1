#!/usr/bin/env python3
"""The browser chat page, in real browsers (headless Chromium through Selenium).

Starts `.build/debug/milestone-bot serve --demo --port 0` itself on a temporary database, opens the
printed sign-in links for alice (buyer), bob (freelancer) and mia (moderator), and drives a conversation:
chat, a new milestone funded, submitted and released (with the confirm dialog), a private notice, a
dispute in the moderator's queue, and a SIGKILL of the server mid-conversation followed by a restart on
the same port and database: the pages must reconnect by themselves and show every message exactly once.

Needs: `swift build --product milestone-bot`, pip `selenium`, Debian `chromium` and `chromium-driver`.
Run from anywhere: python3 Tests/WebPage/web_page_test.py  (HEADFUL=1 to watch).
Environment: MILESTONE_BOT, the server binary (default .build/debug/milestone-bot, relative to the repo root).
Prints one line per check and ends with `N passed, M failed`; exits non-zero on any failure.
"""
import os
import secrets
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402
from harness import js_wait, wait  # noqa: E402

H.require("selenium")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from page import answer_confirm, conn_state, milestone, rendered, type_line  # noqa: E402

ROOT = Path(H.REPO_ROOT)
SHOTS = ROOT / "artifacts" / "screenshots"

REPORT = H.Report(gap=" ", sep=": ")
check = REPORT.check


def has_text(driver, text, cls=None):
    return any(text in m["text"] and (cls is None or cls in m["cls"].split()) for m in rendered(driver))


def click_template(driver, template, accept=True):
    button = wait(driver, lambda d: next((b for b in d.find_elements(By.CSS_SELECTOR, "#actions button")
                                          if b.get_attribute("data-template") == template), None))
    if button is None:
        return False
    button.click()
    return True


def seqs(driver):
    return [m["seq"] for m in rendered(driver)]


def no_duplicates(driver):
    values = seqs(driver)
    return len(values) == len(set(values)) and values == sorted(values)


def main():
    missing = H.binary_missing()
    if missing:
        check("binary", False, missing)
        return REPORT.finish()
    SHOTS.mkdir(parents=True, exist_ok=True)
    # A fixed signing secret, so that the sign-in links' tokens outlive a restart.
    server = H.Server({"LOG_LEVEL": "warning"}, secret=secrets.token_hex(32), prefix="web-page-test-",
                      database="demo.sqlite", grace=15)
    drivers = []
    try:
        server.start()
        check("serve --demo prints a sign-in link per demo user",
              set(server.links) == {"alice", "bob", "mia"} and all(f"127.0.0.1:{server.port}/#token=" in l for l, _ in server.links.values()),
              str(list(server.links)))
        tokens = {user: token for user, (_, token) in server.links.items()}

        alice, bob, mia = H.browser(), H.browser(), H.browser()
        drivers += [alice, bob, mia]
        for driver, user in ((alice, "alice"), (bob, "bob"), (mia, "mia")):
            driver.get(server.links[user][0])
        for driver, user in ((alice, "alice"), (bob, "bob"), (mia, "mia")):
            online = wait(driver, lambda d: conn_state(d) == "online", 15)
            check(f"{user}: page connects (port {server.port} is its own origin)", online, conn_state(driver))
            check(f"{user}: signed in as {user}", user in driver.find_element(By.ID, "who").text)
            check(f"{user}: the token is taken out of the address bar", "token=" not in driver.current_url, driver.current_url)
            joined = js_wait(driver, "return document.querySelectorAll('#milestones li[data-milestone]').length >= 2")
            check(f"{user}: thread 'demo' opens with its milestone panel", joined)
        check("mia: moderator sees the dispute queue and chain panel",
              mia.find_element(By.ID, "disputes-box").is_displayed() and mia.find_element(By.ID, "mod-box").is_displayed())
        check("alice: no moderator tools for a buyer", not alice.find_element(By.ID, "mod-box").is_displayed())

        # Chat, live both ways.
        type_line(alice, "Hi Bob, can you add an extra page?")
        check("alice: own line shown as hers", wait(alice, lambda d: has_text(d, "Hi Bob, can you add", "mine")))
        check("bob: sees alice's line live, as the other party's", wait(bob, lambda d: has_text(d, "Hi Bob, can you add", "theirs")))
        type_line(bob, "Sure, 300 for it.")
        check("alice: sees bob's reply live", wait(alice, lambda d: has_text(d, "Sure, 300 for it.", "theirs")))

        # Completion offers exactly the latest state's templates.
        state = H.http_json(server.port, "GET", "/api/contracts/demo", token=tokens["alice"], timeout=10)[2]
        expected = sorted(c["template"] for c in state["commands"])
        box = alice.find_element(By.ID, "composer-input")
        box.click()
        box.send_keys("/")
        listed = wait(alice, lambda d: [o.get_attribute("data-template") for o in d.find_elements(By.CSS_SELECTOR, "#completions li")])
        check("alice: typing / offers exactly the state's command templates", sorted(listed or []) == expected,
              f"{listed} vs {expected}")
        box.send_keys(Keys.ARROW_DOWN)
        box.send_keys(Keys.ENTER)
        filled = box.get_attribute("value")
        check("alice: keyboard picks a completion into the box", filled in expected, filled)
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        buttons = alice.find_elements(By.CSS_SELECTOR, "#actions button")
        check("alice: a button for every command the state offers, those that need words too",
              sorted(b.get_attribute("data-template") for b in buttons) == expected, str([b.get_attribute("data-template") for b in buttons]))
        check("alice: buttons say what they do in plain words, not the command syntax",
              all(not b.text.startswith("/") and "<" not in b.text for b in buttons), str([b.text for b in buttons]))

        # A new milestone, funded with a confirmation.
        type_line(alice, "/milestone add 300 Extra page")
        check("bob: sees the milestone added (system message)", wait(bob, lambda d: has_text(d, "Extra page", "system")))
        check("both: M3 in the milestone panel",
              wait(alice, lambda d: milestone(d, "M3")) and wait(bob, lambda d: milestone(d, "M3")))
        click_template(alice, "/fund M3")
        text = answer_confirm(alice, accept=False)
        check("alice: /fund asks for confirmation (moves money)", text and "/fund M3" in text, str(text))
        time.sleep(0.8)
        check("alice: dismissing the confirmation sends nothing", milestone(alice, "M3")["state"] != "funded"
              and not alice.find_elements(By.CSS_SELECTOR, "#outbox li"))
        type_line(alice, "/pay m3")
        text = answer_confirm(alice, accept=False)
        check("alice: a typed money command (alias /pay) also asks first", text and "/pay m3" in text, str(text))
        click_template(alice, "/fund M3")
        answer_confirm(alice, accept=True)
        funded = wait(bob, lambda d: (m := milestone(d, "M3")) and m["state"] == "funded" and m["held"] == 30000)
        check("bob: panel shows M3 funded, $300.00 held, live", funded, str(milestone(bob, "M3")))
        check("alice: panel shows M3 held", wait(alice, lambda d: (m := milestone(d, "M3")) and m["held"] == 30000 and "$300.00" in m["text"]))
        check("alice: contract total held updates",
              wait(alice, lambda d: "$300.00" in d.find_element(By.ID, "contract-held").text or
                   d.find_element(By.ID, "contract-held").get_attribute("data-held") != "0"))

        # A refused command is private: bob sees why, alice does not, mia does.
        type_line(bob, "/release M3")
        check("bob: refused command answered privately", wait(bob, lambda d: any(m["private"] and m["author"] == "" for m in rendered(d))))
        private_seqs = {m["seq"] for m in rendered(bob) if m["private"]}
        time.sleep(0.5)
        bob.execute_script("document.querySelector('#messages li[data-private=true]').scrollIntoView({block: 'center'})")
        bob.save_screenshot(str(SHOTS / "freelancer-private-notice.png"))
        check("alice: never sees bob's private notice", not private_seqs & set(seqs(alice)))
        check("mia: sees bob's private notice, marked private to bob",
              wait(mia, lambda d: all(any(m["seq"] == s and m["private"] and "Private to bob" in m["label"] for m in rendered(d)) for s in private_seqs)))

        # Submit; the panel shows the review deadline and what happens then.
        type_line(bob, "/submit M3 the extra page is in the shared folder")
        submitted = wait(alice, lambda d: (m := milestone(d, "M3")) and m["state"] == "submitted")
        check("alice: sees M3 submitted live", submitted, str(milestone(alice, "M3")))
        ms = milestone(alice, "M3") or {}
        check("alice: panel shows the review deadline and the automatic release", "Review ends" in ms.get("text", "")
              and "released to bob automatically" in ms.get("text", ""), ms.get("text", ""))

        # SIGKILL mid-conversation, lines typed while offline, restart on the same port and database.
        port = server.port
        before = {name: len(seqs(d)) for name, d in (("alice", alice), ("bob", bob), ("mia", mia))}
        server.kill()
        for driver, user in ((alice, "alice"), (bob, "bob"), (mia, "mia")):
            check(f"{user}: shows the connection is lost", wait(driver, lambda d: conn_state(d) == "offline", 10), conn_state(driver))
        type_line(alice, "Looks good, releasing now (typed offline)")
        type_line(bob, "Thanks! (typed offline)")
        check("alice: offline line kept as not sent yet",
              wait(alice, lambda d: any("not sent yet" in li.text.lower() for li in d.find_elements(By.CSS_SELECTOR, "#outbox li"))))
        time.sleep(1.5)
        server.start()  # the same port and database
        check("server restarted on the same port", server.port == port)
        for driver, user in ((alice, "alice"), (bob, "bob"), (mia, "mia")):
            check(f"{user}: reconnects by itself", wait(driver, lambda d: conn_state(d) == "online", 20), conn_state(driver))
        check("alice: queued line delivered after reconnect",
              wait(alice, lambda d: has_text(d, "typed offline)", "mine") and not d.find_elements(By.CSS_SELECTOR, "#outbox li"), 15))
        check("bob: gets alice's offline line", wait(bob, lambda d: has_text(d, "Looks good, releasing now", "theirs"), 15))
        check("alice: gets bob's offline line", wait(alice, lambda d: has_text(d, "Thanks! (typed offline)", "theirs"), 15))
        check("mia: gets both offline lines",
              wait(mia, lambda d: has_text(d, "Looks good, releasing now") and has_text(d, "Thanks! (typed offline)"), 15))

        # Release after the restart.
        click_template(alice, "/release M3")
        text = answer_confirm(alice, accept=True)
        check("alice: /release asks for confirmation", text and "/release M3" in text, str(text))
        released = wait(bob, lambda d: (m := milestone(d, "M3")) and m["state"] == "released" and m["held"] == 0 and m["released"] == 30000)
        check("bob: panel shows M3 released, nothing held, live", released, str(milestone(bob, "M3")))
        check("alice: panel shows M3 released", wait(alice, lambda d: (m := milestone(d, "M3")) and m["state"] == "released"))
        check("bob: sees the release announced", wait(bob, lambda d: any(m["kind"] == "system" and "M3" in m["text"] and "releas" in m["text"].lower()
                                                                            for m in rendered(d))))

        # A dispute for the moderator's queue and the quick resolve buttons.
        click_template(alice, "/fund M1")
        answer_confirm(alice, accept=True)
        wait(bob, lambda d: (m := milestone(d, "M1")) and m["state"] == "funded")
        type_line(bob, "/dispute M1 the brief changed after funding")
        check("mia: the dispute shows in her queue",
              wait(mia, lambda d: d.find_elements(By.CSS_SELECTOR, "#disputes li[data-milestone='M1']"), 10))
        resolve = wait(mia, lambda d: d.find_elements(By.CSS_SELECTOR, "#resolve button[data-resolve='M1 split']"))
        if check("mia: quick resolve buttons for the disputed milestone", resolve):
            resolve[0].click()
            value = mia.find_element(By.ID, "composer-input").get_attribute("value")
            check("mia: split fills /resolve M1 split <amount> <note>", value == "/resolve M1 split <amount> <note>", value)
            mia.find_element(By.ID, "composer-input").send_keys(Keys.CONTROL, "a")
            mia.find_element(By.ID, "composer-input").send_keys(Keys.DELETE)

        # Nothing lost, nothing twice: the rendered seqs are exactly what the API says each may read.
        time.sleep(1.0)
        for driver, user in ((alice, "alice"), (bob, "bob"), (mia, "mia")):
            api = H.http_json(server.port, "GET", "/api/contracts/demo/messages?after=0&limit=1000", token=tokens[user],
                              timeout=10)[2]
            want = [m["seq"] for m in api["messages"]]
            got = seqs(driver)
            check(f"{user}: every message shown once, in order ({len(got)} shown, {before[user]} before the kill)",
                  got == want and no_duplicates(driver), f"shown {got} vs stored {want}")
        check("mia: transcript includes private notices", any(m["private"] for m in rendered(mia)))
        mia.find_element(By.ID, "chain-check").click()
        chain = wait(mia, lambda d: d.find_element(By.ID, "chain").get_attribute("data-intact") == "true"
                     and d.find_element(By.ID, "chain"), 10)
        check("mia: hash chain shown as verified", chain, mia.find_element(By.ID, "chain").text)

        # Phone width: the page still lays out in one column with the composer reachable.
        bob.set_window_size(390, 844)
        time.sleep(0.5)
        narrow = bob.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        check("bob: no horizontal scrolling at phone width", narrow)
        bob.save_screenshot(str(SHOTS / "freelancer-phone.png"))
        bob.set_window_size(1280, 900)
        time.sleep(0.3)

        for driver, name in ((alice, "buyer"), (bob, "freelancer"), (mia, "moderator")):
            path = SHOTS / f"{name}.png"
            driver.save_screenshot(str(path))
            check(f"screenshot {path.relative_to(ROOT)}", path.exists() and path.stat().st_size > 10_000)

        # Text is never interpreted as HTML.
        type_line(alice, "<img src=x onerror=alert(1)><b>bold?</b>")
        shown = wait(bob, lambda d: has_text(d, "<b>bold?</b>"))
        check("message text is shown literally, never as HTML", shown and not bob.find_elements(By.CSS_SELECTOR, "#messages img, #messages b"))

        # Token refresh: the platform puts a fresh token in the page's fragment; the open connection takes
        # it (an `auth` envelope) and lives to the new token's expiry. A 4-second one then ends the session
        # with a message saying so, not a reconnect loop.
        fresh = H.mint(server.secret, "bob", "freelancer", lifetime=4)
        bob.execute_script("location.hash = arguments[0];", "token=" + fresh)
        took = wait(bob, lambda d: d.execute_script("return sessionStorage.getItem('milestone-bot.token')") == fresh, 5)
        check("bob: a fresh token in the fragment is taken by the open page", took)
        check("bob: still online after the refresh", conn_state(bob) == "online", conn_state(bob))
        expired = wait(bob, lambda d: d.find_element(By.ID, "signin").is_displayed(), 12)
        check("bob: at the fresh token's expiry the page signs out, saying why", expired
              and "expired" in bob.find_element(By.ID, "signin-error").text, bob.find_element(By.ID, "signin-error").text)
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
    return REPORT.finish()


if __name__ == "__main__":
    sys.exit(main())
