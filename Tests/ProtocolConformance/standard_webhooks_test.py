#!/usr/bin/env python3
"""Notifications to the Standard Webhooks specification, verified by its own library (`standardwebhooks`
from PyPI, an implementation we did not write), against the real server binary.

Starts `milestone-bot serve --demo` with NOTIFICATIONS_WEBHOOK_URL pointing at a receiver here and a secret
given both ways the specification's libraries read one (raw bytes, and `whsec_<base64>`); alice funds M1 over
the WebSocket; each delivery's `webhook-id`, `webhook-timestamp` and `webhook-signature` must verify with
`standardwebhooks.Webhook(...).verify(body, headers)`, and a body changed by one byte, another secret or a
stale timestamp must not.

Needs: pip `standardwebhooks` and `websockets`. Run: python3 Tests/ProtocolConformance/standard_webhooks_test.py
Prints one line per check and ends with `N passed, M failed`; exits non-zero on any failure.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402

H.require("standardwebhooks", "websockets")
from standardwebhooks.webhooks import Webhook, WebhookVerificationError  # noqa: E402

REPORT = H.Report(gap=" ", sep=": ")
check, note = REPORT.check, REPORT.note
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class Receiver(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def run(secret_setting, secret_for_library, label):
    Receiver.received = []
    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    server = H.Server({"NOTIFICATIONS_WEBHOOK_URL": f"http://127.0.0.1:{receiver.server_port}/hook",
                       "NOTIFICATIONS_SECRET": secret_setting}, prefix="standard-webhooks-")
    try:
        server.start()

        async def fund():
            alice = H.Client(server.port, server.links["alice"][1], "alice")
            await alice.connect()
            await alice.join("demo")
            # The contract as alice sees it before funding (PROTOCOL.md, State fields): M1's amount and currency.
            state = await alice.wait_frame(lambda f: f.get("type") == "state" and f.get("thread") == "demo")
            await alice.send("demo", "/fund M1")
            announced = await alice.wait_frame(lambda f: f.get("type") == "message" and f.get("event") == "milestone_funded")
            await alice.close()
            return state or {}, announced or {}
        state, announced = asyncio.run(fund())
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(b'"milestone_funded"' in body for _, body in Receiver.received):
            time.sleep(0.1)
        check(f"{label}: notifications arrive", Receiver.received, "none")
        check_funded_fields(label, state, announced)
        hook = Webhook(secret_for_library)
        for headers, body in Receiver.received:
            event = json.loads(body)["type"]
            try:
                payload = hook.verify(body, headers)
                ok = payload["id"] == headers["webhook-id"]
            except WebhookVerificationError as error:
                ok, payload = False, str(error)
            check(f"{label}: {event}: standardwebhooks verifies webhook-id/-timestamp/-signature", ok, str(payload)[:200])
        headers, body = Receiver.received[-1]
        tampered = body.replace(b"M1", b"M2", 1)
        for name, attempt in (("a body changed by one byte", lambda: hook.verify(tampered, headers)),
                              ("another secret", lambda: Webhook(b"another-secret-0123456789").verify(body, headers)),
                              ("a stale timestamp", lambda: hook.verify(body, dict(headers, **{"webhook-timestamp": str(int(time.time()) - 3600)})))):
            try:
                attempt()
                refused = False
            except WebhookVerificationError:
                refused = True
            check(f"{label}: {name} does not verify", refused)
    finally:
        server.stop()
        receiver.shutdown()


def events_of(kind):
    """The bodies (parsed) and headers of the deliveries of events of type `kind`, in arrival order."""
    out = []
    for headers, body in list(Receiver.received):
        try:
            event = json.loads(body)
        except ValueError:
            continue
        if event.get("type") == kind:
            out.append((event, headers, body))
    return out


def check_funded_fields(label, state, announced):
    """The structured fields of the `milestone_funded` event alice's `/fund M1` caused (OPERATIONS.md,
    Notifications to the platform): who acted, the money in minor units, whom to tell."""
    m1 = next((m for m in state.get("milestones") or [] if m.get("number") == "M1"), {})
    check(f"{label}: the state over the WebSocket names M1's amount (minor units), its text and the currency",
          isinstance(m1.get("amount"), int) and isinstance(m1.get("amount_text"), str)
          and isinstance(state.get("currency"), str), f"{m1} currency={state.get('currency')}")
    funded = events_of("milestone_funded")
    check(f"{label}: exactly one milestone_funded event", len(funded) == 1, str([e for e, _, _ in funded])[:300])
    if not funded:
        return
    event = funded[0][0]
    want_amount = {"minor": m1.get("amount"), "currency": state.get("currency"), "text": m1.get("amount_text")}
    check(f"{label}: milestone_funded: contract demo, milestone M1, buyer alice, freelancer bob",
          event.get("contract") == "demo" and event.get("milestone") == "M1" and event.get("buyer") == "alice"
          and event.get("freelancer") == "bob", str(event))
    check(f"{label}: milestone_funded: seq, at and text are the announcing message's in the thread",
          event.get("seq") == announced.get("seq") and event.get("at") == announced.get("at")
          and event.get("text") == announced.get("text") and isinstance(event.get("at"), str)
          and ISO_MS.match(event["at"]) is not None, f"event {event.get('seq')} {event.get('at')} {event.get('text')!r} / "
          f"message {announced.get('seq')} {announced.get('at')} {announced.get('text')!r}")
    check(f"{label}: milestone_funded: actor is {{user alice, role buyer}} (she typed /fund M1)",
          event.get("actor") == {"user": "alice", "role": "buyer"}, str(event.get("actor")))
    amounts = event.get("amounts")
    check(f"{label}: milestone_funded: amounts.amount is M1's amount {{minor, currency, text}} = {want_amount}",
          isinstance(amounts, dict) and amounts.get("amount") == want_amount, str(amounts))
    check(f"{label}: milestone_funded: amounts names nothing else (a funding names the amount only)",
          isinstance(amounts, dict) and set(amounts) == {"amount"}, str(amounts))
    check(f"{label}: milestone_funded: notify is [bob] (both parties less the one who acted)",
          event.get("notify") == ["bob"], str(event.get("notify")))
    check(f"{label}: milestone_funded: notify_moderators is false", event.get("notify_moderators") is False,
          str(event.get("notify_moderators")))


def legacy_signature_ok(secret_key, headers, body):
    """`Milestone-Signature: t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (OPERATIONS.md)."""
    parts = dict(p.split("=", 1) for p in headers.get("milestone-signature", "").split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts:
        return False
    mac = hmac.new(secret_key, parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts["v1"]) and parts["t"] == headers.get("webhook-timestamp")


def run_unread(label, window=1):
    """`message.created` (OPERATIONS.md, Chat lines to a party who is away), with
    NOTIFICATIONS_UNREAD_AFTER_SECONDS (notifications.unread_after_seconds) set to `window`."""
    Receiver.received = []
    secret = "unread-secret-0123456789abcdef"
    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    server = H.Server({"NOTIFICATIONS_WEBHOOK_URL": f"http://127.0.0.1:{receiver.server_port}/hook",
                       "NOTIFICATIONS_SECRET": secret,
                       "NOTIFICATIONS_UNREAD_AFTER_SECONDS": str(window)}, prefix="standard-webhooks-unread-")
    hook = Webhook(secret.encode())

    def created(user=None):
        return [(e, h, b) for e, h, b in events_of("message.created")
                if user is None or (e.get("to") or {}).get("user") == user]

    def wait_created(user, count, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(created(user)) < count:
            time.sleep(0.1)
        return created(user)

    try:
        server.start()
        token = {who: server.links[who][1] for who in ("alice", "bob")}

        async def scenario():
            out = {}
            alice = H.Client(server.port, token["alice"], "alice")
            await alice.connect()
            await alice.join("demo")

            # 1. three lines while bob is away
            lines = ["Hi Bob, are you there?", "The logo brief is in the folder.", "Can you send the logo as SVG too?"]
            acks = [await alice.send("demo", text) for text in lines]
            out["acks"], out["lines"] = acks, lines
            first = await asyncio.to_thread(wait_created, "bob", 1, window + 15)
            out["first_at"] = time.monotonic()
            await asyncio.sleep(window + 4)  # time for a second one, which must not come
            out["after_first"] = created("bob")
            out["first"] = first

            # 2. bob comes, marks everything read, leaves; alice writes one more line
            bob = H.Client(server.port, token["bob"], "bob")
            await bob.connect()
            await bob.join("demo")
            newest = acks[-1].get("seq")
            mark = len(bob.frames)
            await bob.ws.send(json.dumps({"type": "read", "thread": "demo", "seq": newest}))
            out["read_echo"] = await bob.wait_frame(lambda f: f.get("type") == "read" and f.get("user") == "bob"
                                                    and f.get("seq") == newest, frames_from=mark)
            await bob.close()
            await asyncio.wait_for(bob.closed.wait(), 5)
            out["one_more"] = ("Also a PNG, please.", await alice.send("demo", "Also a PNG, please."))
            out["second"] = await asyncio.to_thread(wait_created, "bob", 2, window + 15)

            # 3. bob connected (and joined) while a line arrives: no event for him, then or after he leaves
            before = len(created("bob"))
            bob2 = H.Client(server.port, token["bob"], "bob2")
            await bob2.connect()
            await bob2.join("demo")
            live = await alice.send("demo", "Are you seeing this live?")
            await bob2.wait_frame(lambda f: f.get("type") == "message" and f.get("seq") == live.get("seq"))
            await asyncio.sleep(window + 3)
            out["while_connected"] = created("bob")[before:]
            await bob2.close()
            await asyncio.sleep(window + 3)
            out["after_leaving"] = created("bob")[before:]
            out["alice_events"] = created("alice")
            await alice.close()
            return out

        out = asyncio.run(scenario())
        acks, lines = out["acks"], out["lines"]
        check(f"{label}: alice's three lines are acked as chat", all(a.get("outcome") == "chat" for a in acks), str(acks))
        first = out["first"]
        check(f"{label}: a message.created event for bob arrives (bob not connected)", first, "none")
        check(f"{label}: exactly one message.created for bob covers the three lines ({window + 4} s more: no second)",
              len(out["after_first"]) == 1, str([e for e, _, _ in out["after_first"]])[:400])
        if first:
            event, headers, body = first[0]
            seqs = [a.get("seq") for a in acks]
            check(f"{label}: message.created: to {{user bob, role freelancer}}, contract demo",
                  event.get("to") == {"user": "bob", "role": "freelancer"} and event.get("contract") == "demo", str(event))
            check(f"{label}: message.created: unread 3, batch 3", event.get("unread") == 3 and event.get("batch") == 3,
                  f"unread {event.get('unread')} batch {event.get('batch')}")
            check(f"{label}: message.created: first_seq < seq, first_seq the first line's, seq the last line's",
                  isinstance(event.get("first_seq"), int) and isinstance(event.get("seq"), int)
                  and event["first_seq"] < event["seq"] and event["first_seq"] == seqs[0] and event["seq"] == seqs[-1],
                  f"first_seq {event.get('first_seq')} seq {event.get('seq')}, lines {seqs}")
            check(f"{label}: message.created: from [alice], preview the last line, notify [bob]",
                  event.get("from") == ["alice"] and event.get("preview") == lines[-1] and event.get("notify") == ["bob"],
                  f"from {event.get('from')} preview {event.get('preview')!r} notify {event.get('notify')}")
            check(f"{label}: message.created: buyer alice, freelancer bob, at in ISO 8601 with milliseconds",
                  event.get("buyer") == "alice" and event.get("freelancer") == "bob"
                  and isinstance(event.get("at"), str) and ISO_MS.match(event["at"]) is not None, str(event))
            note(f"{label}: message.created id {event.get('id')!r}")
            try:
                payload = hook.verify(body, headers)
                ok = payload.get("id") == headers.get("webhook-id") == event.get("id")
            except WebhookVerificationError as error:
                ok, payload = False, str(error)
            check(f"{label}: message.created: standardwebhooks verifies webhook-id/-timestamp/-signature", ok,
                  str(payload)[:200])
            check(f"{label}: message.created: the older Milestone-Signature verifies too (hex HMAC of t.body)",
                  legacy_signature_ok(secret.encode(), headers, body), headers.get("milestone-signature"))
        check(f"{label}: bob's read of the newest seq is echoed to his connection", out["read_echo"] is not None,
              "no read frame")
        second = out["second"]
        check(f"{label}: after bob read everything and left, one more line: a second message.created",
              len(second) == 2, str([e for e, _, _ in second])[:400])
        if len(second) >= 2:
            event, headers, body = second[1]
            text, ack = out["one_more"]
            check(f"{label}: second message.created: unread 1, batch 1, first_seq = seq = the new line's",
                  event.get("unread") == 1 and event.get("batch") == 1 and event.get("seq") == ack.get("seq")
                  and event.get("first_seq") == ack.get("seq"), str(event))
            check(f"{label}: second message.created: from [alice], preview the new line, notify [bob]",
                  event.get("from") == ["alice"] and event.get("preview") == text and event.get("notify") == ["bob"],
                  str(event))
            try:
                hook.verify(body, headers)
                ok = True
            except WebhookVerificationError as error:
                ok = str(error)
            check(f"{label}: second message.created: standardwebhooks verifies it", ok is True, str(ok))
            ids = [e.get("id") for e, _, _ in second]
            check(f"{label}: the two events have different ids", len(set(ids)) == 2, str(ids))
        check(f"{label}: a line bob gets live (connected and joined) causes no message.created for him",
              not out["while_connected"], str([e for e, _, _ in out["while_connected"]])[:300])
        check(f"{label}: ... nor after he leaves without marking it read (he had it live)",
              not out["after_leaving"], str([e for e, _, _ in out["after_leaving"]])[:300])
        check(f"{label}: alice (connected throughout, her own lines) gets no message.created",
              not out["alice_events"], str([e for e, _, _ in out["alice_events"]])[:300])
    finally:
        server.stop()
        receiver.shutdown()


def main():
    missing = H.binary_missing()
    if missing:
        check("binary", False, missing)
        return REPORT.finish()
    try:
        plain = "notification-secret-0123456789"
        run(plain, plain.encode(), "a plain secret (its bytes are the key)")
        raw = os.urandom(24)
        whsec = "whsec_" + base64.b64encode(raw).decode()
        run(whsec, whsec, "a whsec_ secret (its base64 is the key)")
        run_unread("message.created (unread_after_seconds 1)")
    except Exception:
        check("no exception", False, traceback.format_exc())
    return REPORT.finish()


if __name__ == "__main__":
    sys.exit(main())
