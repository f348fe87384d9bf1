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
import json
import os
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
check = REPORT.check


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
            await alice.send("demo", "/fund M1")
            await alice.close()
        asyncio.run(fund())
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(b'"milestone_funded"' in body for _, body in Receiver.received):
            time.sleep(0.1)
        check(f"{label}: notifications arrive", Receiver.received, "none")
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
    except Exception:
        check("no exception", False, traceback.format_exc())
    return REPORT.finish()


if __name__ == "__main__":
    sys.exit(main())
