#!/usr/bin/env python3
"""Abuse tests for milestone-bot: slowloris, a client that never reads, many connections for one user,
a flood from one connection, and SQL / HTML payloads.

It starts the server itself (`serve --demo --port 0` on a temporary database, with low limits set through
environment variables), prints one line per check and ends with `N passed, M failed`. Exit status is
non-zero when any check failed. A failing check is a finding about the server: the check is kept as the
behaviour the limits in bot-config/server.yaml and docs/PROTOCOL.md promise.

Defences it checks: a handshake deadline (limits.handshake_timeout_seconds) closes connections that send
nothing, half a request head, or a header byte a second (slowloris); a client that stops reading is
dropped; one user's WebSockets are capped (limits.max_connections_per_user, refusal 4429); a flooder gets
`rate_limited` then 1008; SQL, HTML and NUL payloads are stored literally or refused.

Requirements: Python 3.9+ and the `websockets` package (`pip install websockets`).

Environment:
  MILESTONE_BOT   path to the server binary (default: .build/debug/milestone-bot, relative to the repo root)
"""

import asyncio
import functools
import json
import os
import socket
import sqlite3
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402

H.require("websockets")
import websockets  # noqa: E402

SECRET = "abuse-test-signing-secret-0123456789abcdef"
API_KEY = "abuse-test-api-key-0123456789abcdef0123"
IDLE_TIMEOUT = 2          # limits.idle_timeout_seconds for this run
HANDSHAKE_TIMEOUT = 2     # limits.handshake_timeout_seconds for this run
MAX_PER_USER = 20         # limits.max_connections_per_user for this run (the default)
MAX_QUEUED = 200          # limits.max_queued_messages for this run
FAST_MS = 100             # a normal client's send -> ack round trip must stay under this
LIMITS = {"LIMITS_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT), "LIMITS_MAX_QUEUED_MESSAGES": str(MAX_QUEUED),
          "LIMITS_HANDSHAKE_TIMEOUT_SECONDS": str(HANDSHAKE_TIMEOUT),
          "LIMITS_MAX_CONNECTIONS_PER_USER": str(MAX_PER_USER)}

REPORT = H.Report(details="always", limit=300)
check, note = REPORT.check, REPORT.note
mint = functools.partial(H.mint, SECRET)
create_contract = functools.partial(H.create_contract, api_key=API_KEY, title="abuse {cid}")
summary = functools.partial(H.latency, empty="no round trips")


def abuse_server(extra_env=None, prefix="abuse-"):
    """The server with this run's limits (and `extra_env`)."""
    return H.Server({**LIMITS, **(extra_env or {})}, secret=SECRET, api_key=API_KEY, prefix=prefix,
                    database="abuse.sqlite")


# --------------------------------------------------------------------------- round trips of a normal client


async def probe_rtts(client, thread, count, gap):
    """Round trips of a normal client, one line every `gap` seconds (kept under the rate limit)."""
    rtts, failures = [], 0
    for i in range(count):
        try:
            ms = await client.rtt(thread, f"probe {i}")
            if ms is None:
                failures += 1
            else:
                rtts.append(ms)
        except Exception:
            failures += 1
        await asyncio.sleep(gap)
    return rtts, failures


def fast(rtts, failures):
    if failures or not rtts:
        return False
    return H.percentile(rtts, 0.95) < FAST_MS


# --------------------------------------------------------------------------- 1. slowloris


def slow_socket(port, idx):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    s.send(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n".encode())
    return s


def eof_or_reset(s):
    try:
        while True:
            data = s.recv(65536)
            if data == b"":
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


async def test_slowloris(srv):
    port = srv.port
    normal = await H.Client(port, mint("alice", "buyer"), "sl-alice").connect()
    await normal.join("demo")
    base, base_fail = await probe_rtts(normal, "demo", 10, 0.06)
    note(f"slowloris: baseline round trip {summary(base)}")

    # Control: an idle keep-alive connection after one complete request is closed after idle_timeout.
    ka = socket.create_connection(("127.0.0.1", port), timeout=IDLE_TIMEOUT + 4)
    ka.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    t0, got = time.monotonic(), b""
    try:
        while True:
            chunk = ka.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    ka_after = time.monotonic() - t0
    ka.close()
    check(f"slowloris control: an idle keep-alive connection is closed after idle_timeout ({IDLE_TIMEOUT}s)",
          got.startswith(b"HTTP/1.1 200") and ka_after <= IDLE_TIMEOUT + 1.5, f"closed after {ka_after:.1f}s")

    count = 200
    bare = []  # connections that send nothing at all
    for _ in range(count):
        b = socket.create_connection(("127.0.0.1", port), timeout=5)
        b.setblocking(False)
        bare.append(b)
    silent = [slow_socket(port, i) for i in range(count)]      # a partial upgrade, then nothing
    trickle = [slow_socket(port, i) for i in range(count)]     # a partial upgrade, then a byte every second
    started = time.monotonic()
    dropped_silent, dropped_trickle, dropped_bare = {}, {}, {}
    header = b"X-Slow: " + b"a" * 4000

    async def attack():
        pos = 0
        while time.monotonic() - started < HANDSHAKE_TIMEOUT * 3 + 1:
            for i, s in enumerate(trickle):
                if i in dropped_trickle:
                    continue
                try:
                    s.send(header[pos:pos + 1])
                except OSError:
                    dropped_trickle[i] = time.monotonic() - started
            pos += 1
            for group, dropped in ((silent, dropped_silent), (trickle, dropped_trickle), (bare, dropped_bare)):
                for i, s in enumerate(group):
                    if i not in dropped and eof_or_reset(s):
                        dropped[i] = time.monotonic() - started
            await asyncio.sleep(1.0)

    attack_task = asyncio.create_task(attack())
    during, during_fail = await probe_rtts(normal, "demo", 40, 0.1)
    await attack_task
    for s in silent + trickle + bare:
        s.close()
    limit = HANDSHAKE_TIMEOUT + 1.5
    check(f"slowloris: {count} connections that send no bytes at all are dropped within handshake_timeout "
          f"({HANDSHAKE_TIMEOUT}s, +1.5s slack)", len(dropped_bare) == count and all(t <= limit for t in dropped_bare.values()),
          f"{len(dropped_bare)}/{count} dropped within {time.monotonic() - started:.1f}s observed")
    late_silent = [t for t in dropped_silent.values() if t > limit]
    check(f"slowloris: {count} connections holding a partial upgrade (then silent) are dropped within "
          f"handshake_timeout ({HANDSHAKE_TIMEOUT}s, +1.5s slack)",
          len(dropped_silent) == count and not late_silent,
          f"{len(dropped_silent)}/{count} dropped, slowest {max(dropped_silent.values(), default=0):.1f}s")
    check(f"slowloris: {count} connections trickling one header byte a second are dropped within "
          f"handshake_timeout ({HANDSHAKE_TIMEOUT}s, +1.5s slack)",
          len(dropped_trickle) == count and all(t <= limit for t in dropped_trickle.values()),
          f"{len(dropped_trickle)}/{count} dropped within {time.monotonic() - started:.1f}s observed"
          + (f", slowest {max(dropped_trickle.values()):.1f}s" if dropped_trickle else ""))
    check(f"slowloris: a normal client's send->ack stays under {FAST_MS} ms during the attack", fast(during, during_fail),
          f"{summary(during)}, failures {during_fail}")
    await normal.close()


# --------------------------------------------------------------------------- 2. a client that never reads


def drain_close_code(s, timeout):
    """Reads whatever is queued (the silent client finally reads) and returns (close code or None, EOF?)."""
    s.settimeout(timeout)
    buf, eof = b"", True
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    except (socket.timeout, OSError):
        eof = False
    return (H.close_codes(H.parse_frames(buf)[0]) or [None])[-1], eof


def server_side_established(port, peer_port):
    """Whether the server still holds the TCP connection to our `peer_port` (Linux /proc/net/tcp)."""
    try:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                local, remote, st = parts[1], parts[2], parts[3]
                if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) == peer_port:
                    return st == "01"
    except OSError:
        return None
    return False


async def test_never_reads(srv):
    port = srv.port
    silent = H.raw_ws_connect(port, mint("bob", "freelancer"))
    silent.sendall(H.ws_frame(0x1, json.dumps({"type": "join", "thread": "demo"}).encode()))
    time.sleep(0.3)  # let the join and its history be written, then never read again
    peer_port = silent.getsockname()[1]

    senders = [await H.Client(port, mint("alice", "buyer"), f"fl{i}").connect() for i in range(8)]
    for c in senders:
        await c.join("demo")
    normal = await H.Client(port, mint("mia", "moderator"), "nr-mia").connect()
    await normal.join("demo")
    line = "x" * 3900
    started = time.monotonic()
    stop = asyncio.Event()
    sent = [0]

    async def flood(c):
        while not stop.is_set():
            try:
                await c.send("demo", line, wait=False)
                sent[0] += 1
            except Exception:
                return
            await asyncio.sleep(1 / 18)  # under messages_per_second (20)

    check("never-reads: the server holds the silent client's TCP connection before the flood (watcher sanity)",
          server_side_established(port, peer_port))

    async def watch():
        while time.monotonic() - started < 45:
            if not server_side_established(port, peer_port):
                return time.monotonic() - started
            await asyncio.sleep(0.2)
        return None

    tasks = [asyncio.create_task(flood(c)) for c in senders]
    watcher = asyncio.create_task(watch())
    rtts, fails = [], 0
    while not watcher.done():
        r, f = await probe_rtts(normal, "demo", 5, 0.1)
        rtts += r
        fails += f
    stop.set()
    await asyncio.gather(*tasks)
    closed_after = watcher.result()
    code, eof = drain_close_code(silent, 3)
    silent.close()
    rate_limited = sum(1 for c in senders for e in c.errors if e.get("code") == "rate_limited")
    note(f"never-reads: {sent[0]} lines of ~4 KB flooded by 8 senders; {rate_limited} rate_limited answers; "
         f"server closed the silent socket after {closed_after if closed_after is None else round(closed_after, 1)} s"
         f"; close frame {code}, EOF after draining {eof}")
    check("never-reads: a client that stops reading is disconnected (1008 or dropped) within 45 s of a flood "
          f"(max_queued_messages={MAX_QUEUED})", closed_after is not None and (code in (1008, None)),
          f"closed after {closed_after}s, close code {code}")
    # PROTOCOL.md: a client that stopped reading cannot read a close frame either; the server drops the
    # TCP connection once its queue overflows.
    check("never-reads: the silent client's connection is dropped (EOF after draining, no close frame needed)",
          eof and code in (1008, None), f"close code {code}, EOF {eof}")
    check(f"never-reads: other clients' send->ack stays under {FAST_MS} ms meanwhile", fast(rtts, fails),
          f"{summary(rtts)}, failures {fails}")
    for c in senders + [normal]:
        await c.close()


# --------------------------------------------------------------------------- 3. many connections for one user


async def test_many_connections(srv):
    # limits.max_connections_per_user (MAX_PER_USER here): 300 attempts for one token; the first MAX_PER_USER
    # get `hello`, every other one gets a `too_many_connections` error frame and close 4429, and the open ones
    # keep working. A line in the thread fans out to the user's MAX_PER_USER sockets, not 300.
    port = srv.port
    attempts = 300
    create_contract(port, "many-1", "zed", "carol")
    carol = await H.Client(port, mint("carol"), "carol").connect()
    await carol.join("many-1")
    base, base_fail = await probe_rtts(carol, "many-1", 10, 0.06)
    token = mint("zed")
    started = time.monotonic()
    clients = [H.Client(port, token, f"zed{i}") for i in range(attempts)]
    results = await asyncio.gather(*[c.connect() for c in clients], return_exceptions=True)
    opened = [c for c in results if isinstance(c, H.Client)]
    refused = [c for c, r in zip(clients, results) if not isinstance(r, H.Client)]
    for c in refused:  # the refusal's error frame and close code
        if c.closed is not None:
            try:
                await asyncio.wait_for(c.closed.wait(), 5)
            except asyncio.TimeoutError:
                pass
    properly = [c for c in refused if c.closed_code == 4429
                and [e.get("code") for e in c.errors] == ["too_many_connections"]]
    other = sorted({f"{c.closed_code} {[e.get('code') for e in c.errors]}" for c in refused if c not in properly})
    note(f"many-connections: {len(opened)}/{attempts} connections for one token got hello, {len(refused)} refused "
         f"in {time.monotonic() - started:.1f}s; refusals not 4429 + too_many_connections: {other[:3]}")
    check(f"many-connections: exactly max_connections_per_user ({MAX_PER_USER}) of {attempts} connections for "
          "one user are served", len(opened) == MAX_PER_USER, f"{len(opened)} opened")
    check("many-connections: every connection over the cap gets a too_many_connections error frame, then close 4429",
          len(properly) == attempts - MAX_PER_USER, f"{len(properly)}/{len(refused)} proper refusals; others {other[:3]}")
    status, _, health = H.http_json(port, "GET", "/health")
    note(f"many-connections: /health reports {health.get('connections') if isinstance(health, dict) else health} connections")
    # The user's open connections are unaffected by the refusals: they join and receive the thread.
    await asyncio.gather(*[c.ws.send(json.dumps({"type": "join", "thread": "many-1"})) for c in opened])
    await asyncio.sleep(1.0)
    joined = sum(1 for c in opened if any(f.get("type") == "joined" for f in c.frames))
    during, during_fail = await probe_rtts(carol, "many-1", 20, 0.06)
    await asyncio.sleep(0.5)
    delivered = sum(1 for c in opened if sum(1 for f in c.frames if f.get("type") == "message"
                                             and f.get("text", "").startswith("probe")) >= 20)
    note(f"many-connections: {joined} joined; {delivered} received all 20 of carol's lines; "
         f"carol's baseline {summary(base)}")
    check("many-connections: the user's open connections keep working (join, receive every line)",
          joined == len(opened) and delivered == len(opened), f"{joined} joined, {delivered} received all")
    check("many-connections: /health still answers", status == 200 and isinstance(health, dict))
    check(f"many-connections: another user's send->ack stays under {FAST_MS} ms",
          fast(during, during_fail), f"{summary(during)}, failures {during_fail}")
    # Closing one of the user's connections gives its slot back.
    await opened[0].close()
    await asyncio.sleep(0.3)
    try:
        again = await H.Client(port, token, "zed-again").connect()
        reopened = True
    except Exception as e:
        again, reopened = None, False
        note(f"many-connections: reconnect after a close failed: {e}")
    check("many-connections: after one of the user's connections closes, a new one is accepted", reopened)
    # A user on an unrelated thread.
    create_contract(port, "many-2", "dave", "erin")
    dave = await H.Client(port, mint("dave"), "dave").connect()
    await dave.join("many-2")
    other, other_fail = await probe_rtts(dave, "many-2", 10, 0.06)
    check(f"many-connections: a user on another thread is unaffected (send->ack under {FAST_MS} ms)",
          fast(other, other_fail), f"{summary(other)}, failures {other_fail}")
    await asyncio.gather(*[c.close() for c in opened[1:] + [carol, dave] + ([again] if again else [])])


# --------------------------------------------------------------------------- 4. a flood from one connection


async def test_flood(srv):
    port = srv.port
    create_contract(port, "flood-1", "fred", "gina")
    fred = await H.Client(port, mint("fred"), "fred").connect()
    gina = await H.Client(port, mint("gina"), "gina").connect()
    await fred.join("flood-1")
    await gina.join("flood-1")
    strikes = fred.hello.get("flood_strikes_before_close")
    burst = fred.hello.get("message_burst")
    total = burst + strikes + 100
    started = time.monotonic()
    for i in range(total):
        try:
            await fred.send("flood-1", f"flood {i}", wait=False)
        except websockets.ConnectionClosed:
            break
    gina_task = asyncio.create_task(probe_rtts(gina, "flood-1", 15, 0.07))
    try:
        await asyncio.wait_for(fred.closed.wait(), 10)
    except asyncio.TimeoutError:
        pass
    elapsed = time.monotonic() - started
    rtts, fails = await gina_task
    limited = [e for e in fred.errors if e.get("code") == "rate_limited"]
    acked = len(fred.acks)
    note(f"flood: {total} sends at once; {acked} acked, {len(limited)} rate_limited, close {fred.closed_code} "
         f"after {elapsed:.2f}s (burst {burst}, strikes {strikes})")
    check("flood: lines over the burst get rate_limited errors", len(limited) > 0 and acked >= burst,
          f"{acked} acked, {len(limited)} rate_limited")
    check(f"flood: the flooding connection is closed with 1008 after flood_strikes_before_close ({strikes})",
          fred.closed.is_set() and fred.closed_code == 1008 and len(limited) >= strikes - 1,
          f"closed {fred.closed.is_set()}, code {fred.closed_code}, rate_limited {len(limited)}")
    check(f"flood: another connection's lines are acked normally (under {FAST_MS} ms)", fast(rtts, fails),
          f"{summary(rtts)}, failures {fails}")
    status, _, body = H.http_json(port, "GET", "/api/contracts/flood-1/messages?limit=1000", token=mint("gina"))
    stored = [m for m in body.get("messages", []) if m.get("author") == "fred"] if isinstance(body, dict) else []
    check("flood: only acked lines were stored", len(stored) == acked, f"{len(stored)} stored, {acked} acked")
    await gina.close()


# --------------------------------------------------------------------------- 5. SQL and HTML payloads

PAYLOADS = [
    "'; DROP TABLE message; --",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "Robert'); DROP TABLE contract;-- \" OR 1=1 -- \\ %s %n </p>&amp;",
]

# Control characters (NUL above all: SQLite's text functions stop at it) are refused, not stored.
CONTROL_PAYLOAD = "nul byte -> \u0000 <- after the nul"


def tables(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


async def test_payloads(srv):
    port = srv.port
    before = tables(srv.db)
    alice = await H.Client(port, mint("alice", "buyer"), "pl-alice").connect()
    bob = await H.Client(port, mint("bob", "freelancer"), "pl-bob").connect()
    await alice.join("demo")
    await bob.join("demo")
    ids = {}
    for text in PAYLOADS:
        answer = await alice.send("demo", text)
        ids[text] = answer
    refused = await alice.send("demo", CONTROL_PAYLOAD)
    check("payload with a NUL character: refused with invalid_message, nothing stored",
          refused.get("type") == "error" and refused.get("code") == "invalid_message", f"answer {refused}")
    await asyncio.sleep(0.5)
    for text in PAYLOADS:
        answer = ids[text]
        if answer.get("type") != "ack":
            check(f"payload {text!r}: stored", False, f"answer {answer}")
            continue
        seq = answer["seq"]
        got = [f for f in bob.frames if f.get("type") == "message" and f.get("seq") == seq]
        check(f"payload {text[:30]!r}: the WebSocket message frame carries it byte-for-byte",
              len(got) == 1 and got[0].get("text") == text and got[0].get("kind") == "chat",
              f"frames {got[:1]}")
    first = min((a["seq"] for a in ids.values() if a.get("type") == "ack"), default=1)
    status, _, body = H.http_json(port, "GET", f"/api/contracts/demo/messages?after={first - 1}&limit=1000",
                             token=mint("bob", "freelancer"))
    texts = {m.get("client_id"): m.get("text") for m in body.get("messages", [])} if isinstance(body, dict) else {}
    for text in PAYLOADS:
        answer = ids[text]
        if answer.get("type") == "ack":
            check(f"payload {text[:30]!r}: GET /api/contracts/demo/messages returns it byte-for-byte",
                  texts.get(answer["id"]) == text, f"got {texts.get(answer['id'])!r}")
    after = tables(srv.db)
    status, _, verify = H.http_json(port, "GET", "/api/contracts/demo/verify", token=mint("mia", "moderator"))
    check("payloads: the hash chain of the thread still verifies (GET /api/contracts/demo/verify)",
          status == 200 and isinstance(verify, dict) and verify.get("problem") is None,
          f"{status} {verify}")
    check("payloads: every table still exists", before <= after and {"message"} <= after or before == after,
          f"missing {sorted(before - after)}")
    ok_send = await alice.rtt("demo", "still working")
    check("payloads: the server still stores lines afterwards", ok_send is not None)
    status, headers, raw = H.http(port, "GET", "/api/contracts/demo/transcript?format=html",
                                     headers={"Authorization": f"Bearer {mint('mia', 'moderator')}"})
    html = raw.decode("utf-8", "replace")
    check("transcript html: 200 text/html", status == 200 and "html" in headers.get("content-type", ""),
          f"{status} {headers.get('content-type')}")
    for raw_text, escaped in (("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
                              ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;")):
        check(f"transcript html: {raw_text!r} appears escaped and never raw",
              escaped in html and raw_text not in html,
              f"escaped present {escaped in html}, raw present {raw_text in html}")
    sql = PAYLOADS[0]
    variants = [sql, sql.replace("'", "&#39;"), sql.replace("'", "&#x27;"), sql.replace("'", "&apos;")]
    check("transcript html: the SQL payload appears as text", any(v in html for v in variants))
    tricky = PAYLOADS[3]
    at = html.find("Robert")
    check("transcript html: quotes, '</p>' and '&amp;' in a message are escaped",
          "</p>&amp;" not in html and "&lt;/p&gt;&amp;amp;" in html and "&quot; OR 1=1" in html,
          f"rendered as {html[at:at + 90]!r}")
    await alice.close()
    await bob.close()


# --------------------------------------------------------------------------- 6. frame rules and pings


async def test_frame_rules(srv):
    # A server of its own with a one-second ping interval.
    quick = abuse_server({"LIMITS_PING_INTERVAL_SECONDS": "1"}, prefix="abuse-ping-")
    quick.start()
    try:
        port = quick.port
        s = H.raw_ws_connect(port, mint("alice", "buyer"))
        payload = json.dumps({"type": "join", "thread": "demo"}).encode()
        s.sendall(struct.pack("!BB", 0x81, len(payload)) + payload)  # no mask bit, no mask
        frames, eof = H.read_frames(s, 3)
        closes = H.close_codes(frames)
        check("frames: an unmasked client frame closes the connection with 1002 (RFC 6455 5.1)",
              closes == [1002] and eof, f"close codes {closes}, EOF {eof}")
        s.close()

        silent = H.raw_ws_connect(port, mint("bob", "freelancer"))
        started = time.monotonic()
        frames, eof = H.read_frames(silent, 5)
        pings = [op for op, _ in frames if op == 0x9]
        closes = H.close_codes(frames)
        check("pings: a client that never answers is pinged, then dropped with 1001 within ~2 intervals",
              len(pings) >= 1 and closes == [1001] and eof and time.monotonic() - started < 4.5,
              f"pings {len(pings)}, close codes {closes}, EOF {eof} after {time.monotonic() - started:.1f}s")
        silent.close()

        lively = H.raw_ws_connect(port, mint("mia", "moderator"))
        answered, dropped = 0, False
        end = time.monotonic() + 4
        while time.monotonic() < end and not dropped:
            frames, dropped = H.read_frames(lively, 0.3)
            for op, p in frames:
                if op == 0x9:
                    lively.sendall(H.ws_frame(0xA, b""))  # an empty pong
                    answered += 1
                if op == 0x8:
                    dropped = True
        check("pings: a client that answers them stays connected", answered >= 2 and not dropped,
              f"answered {answered} pings, dropped {dropped}")
        lively.close()
    finally:
        quick.close()


# --------------------------------------------------------------------------- main


async def run(srv):
    for name, test in (("slowloris", test_slowloris), ("never-reads", test_never_reads),
                       ("many-connections", test_many_connections), ("flood", test_flood),
                       ("payloads", test_payloads), ("frame-rules", test_frame_rules)):
        t0 = time.monotonic()
        try:
            await test(srv)
        except Exception as e:  # a crashed test is a failed check, and the rest still run
            check(f"{name}: ran to the end", False, f"{type(e).__name__}: {e}")
        note(f"{name}: {time.monotonic() - t0:.1f}s")
        check(f"{name}: the server process is still running", srv.alive())
        if not srv.alive():
            break


def main():
    srv = abuse_server()
    started = time.monotonic()
    try:
        srv.start()
        asyncio.run(run(srv))
    except Exception as e:
        check("server started", False, repr(e))
    finally:
        srv.close()
    sys.exit(REPORT.finish(started))


if __name__ == "__main__":
    main()
