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
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

try:
    import websockets
except ImportError:  # pragma: no cover
    print("this test needs the `websockets` package: pip install websockets", file=sys.stderr)
    sys.exit(2)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SECRET = "abuse-test-signing-secret-0123456789abcdef"
API_KEY = "abuse-test-api-key-0123456789abcdef0123"
AUDIENCE = "milestone-bot"
IDLE_TIMEOUT = 2          # limits.idle_timeout_seconds for this run
HANDSHAKE_TIMEOUT = 2     # limits.handshake_timeout_seconds for this run
MAX_PER_USER = 20         # limits.max_connections_per_user for this run (the default)
MAX_QUEUED = 200          # limits.max_queued_messages for this run
FAST_MS = 100             # a normal client's send -> ack round trip must stay under this
TIMEOUT = 5.0

RESULTS = []


def check(name, ok, detail=""):
    ok = bool(ok)
    RESULTS.append((name, ok))
    line = f"{'PASS' if ok else 'FAIL'}  {name}"
    if detail:
        line += f"  -- {detail if len(detail) < 300 else detail[:300] + '...'}"
    print(line, flush=True)
    return ok


def note(text):
    print(f"INFO  {text}", flush=True)


# --------------------------------------------------------------------------- tokens and HTTP


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(user, role="user"):
    now = int(time.time())
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": user, "role": role, "aud": AUDIENCE, "iat": now, "exp": now + 3600}).encode())
    signature = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def http_call(port, method, path, body=None, headers=None, timeout=TIMEOUT):
    """Returns (status, headers lower-cased, raw body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    raw = resp.read()
    rh = {k.lower(): v for k, v in resp.getheaders()}
    conn.close()
    return resp.status, rh, raw


def http_json(port, method, path, token=None, body=None, headers=None):
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    status, _, raw = http_call(port, method, path, body, hdrs)
    try:
        return status, json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def create_contract(port, cid, buyer, freelancer):
    body = {"id": cid, "title": f"abuse {cid}", "buyer": buyer, "freelancer": freelancer, "currency": "USD",
            "preset": "indeelancer", "milestones": [{"amount": "100.00", "description": "Work", "due": None}]}
    body["milestones"][0].pop("due")
    status, answer = http_json(port, "POST", "/api/contracts", body=body, headers={"X-Api-Key": API_KEY})
    if status != 201:
        raise RuntimeError(f"could not create contract {cid}: {status} {answer}")


# --------------------------------------------------------------------------- server


class Server:
    def __init__(self, extra_env=None, prefix="abuse-"):
        self.extra_env = dict(extra_env or {})
        self.tmpdir = tempfile.mkdtemp(prefix=prefix)
        self.db = os.path.join(self.tmpdir, "abuse.sqlite")
        self.port = None
        self.proc = None
        self.lines = []
        self._ready = threading.Event()

    def start(self):
        binary = os.environ.get("MILESTONE_BOT", ".build/debug/milestone-bot")
        if not os.path.isabs(binary):
            binary = os.path.join(REPO_ROOT, binary)
        if not os.path.exists(binary):
            raise RuntimeError(f"server binary not found: {binary} (swift build --product milestone-bot)")
        env = dict(os.environ)
        env.update({
            "AUTH_SIGNING_SECRET": SECRET,
            "AUTH_API_KEY": API_KEY,
            "LIMITS_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT),
            "LIMITS_MAX_QUEUED_MESSAGES": str(MAX_QUEUED),
            "LIMITS_HANDSHAKE_TIMEOUT_SECONDS": str(HANDSHAKE_TIMEOUT),
            "LIMITS_MAX_CONNECTIONS_PER_USER": str(MAX_PER_USER),
            "LOG_LEVEL": env.get("LOG_LEVEL", "warning"),
        })
        env.update(self.extra_env)
        self.stderr_file = open(os.path.join(self.tmpdir, "stderr.log"), "wb")
        self.proc = subprocess.Popen([binary, "serve", "--demo", "--port", "0", "--database", self.db],
                                     cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=self.stderr_file,
                                     stdin=subprocess.DEVNULL)
        threading.Thread(target=self._pump, daemon=True).start()
        if not self._ready.wait(60) or self.port is None:
            raise RuntimeError("server did not start:\n" + "\n".join(self.lines))
        deadline = time.time() + 10
        while time.time() < deadline:  # the demo output comes before the socket is certain to accept
            try:
                if http_call(self.port, "GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server does not answer /health")

    def _pump(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            m = re.search(r"serving on http://[^:/\s]+:(\d+)", line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self._ready.set()
        self._ready.set()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, keep=False):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "stderr_file", None):
            self.stderr_file.close()
        if not keep:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


# --------------------------------------------------------------------------- WebSocket client


class Client:
    """A reading client: a background task sorts frames; acks are matched to sends by id."""

    def __init__(self, port, token, name=""):
        self.port, self.token, self.name = port, token, name
        self.ws = None
        self.frames = []
        self.acks = {}
        self.errors = []
        self.ack_waiters = {}
        self.hello = None
        self.closed_code = None
        self.closed = None  # an asyncio.Event, made in connect() on the running loop
        self._counter = 0

    async def connect(self):
        self.closed = asyncio.Event()
        self.ws = await websockets.connect(f"ws://127.0.0.1:{self.port}/ws",
                                           additional_headers={"Authorization": f"Bearer {self.token}"},
                                           open_timeout=15, max_size=2 ** 22, max_queue=None,
                                           ping_interval=None)
        self._hello = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())
        self.hello = await asyncio.wait_for(self._hello, 15)
        return self

    async def _read(self):
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                t = frame.get("type")
                if t == "hello" and not self._hello.done():
                    self._hello.set_result(frame)
                elif t == "ack":
                    self.acks[frame["id"]] = frame
                    w = self.ack_waiters.pop(frame["id"], None)
                    if w and not w.done():
                        w.set_result(frame)
                elif t == "error":
                    self.errors.append(frame)
                    w = self.ack_waiters.pop(frame.get("id"), None)
                    if w and not w.done():
                        w.set_result(frame)
                else:
                    self.frames.append(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            proto = getattr(self.ws, "protocol", self.ws)  # websockets >= 14 keeps it on .protocol
            rcvd = getattr(proto, "close_rcvd", None)
            self.closed_code = rcvd.code if rcvd else None
            for w in self.ack_waiters.values():
                if not w.done():
                    w.set_exception(ConnectionError("closed"))
            if not self._hello.done():
                self._hello.set_exception(ConnectionError("closed before hello"))
            self.closed.set()

    async def join(self, thread):
        await self.ws.send(json.dumps({"type": "join", "thread": thread}))
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            if any(f.get("type") == "joined" and f.get("thread") == thread for f in self.frames):
                return True
            await asyncio.sleep(0.01)
        raise RuntimeError(f"{self.name}: no joined for {thread}; errors {self.errors[-3:]}")

    def next_id(self):
        self._counter += 1
        return f"{self.name}-{self._counter}-{secrets.token_hex(3)}"

    async def send(self, thread, text, cid=None, wait=True):
        cid = cid or self.next_id()
        fut = asyncio.get_running_loop().create_future()
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())  # unawaited ones: no warning
        self.ack_waiters[cid] = fut
        await self.ws.send(json.dumps({"type": "send", "thread": thread, "id": cid, "text": text}))
        if not wait:
            return cid
        return await asyncio.wait_for(fut, TIMEOUT)

    async def rtt(self, thread, text="ping"):
        """Milliseconds from send to ack (None when the answer is not an ack)."""
        started = time.perf_counter()
        answer = await self.send(thread, text)
        ms = (time.perf_counter() - started) * 1000
        return ms if answer.get("type") == "ack" else None

    async def close(self):
        try:
            await asyncio.wait_for(self.ws.close(), 3)
        except Exception:
            pass


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


def summary(rtts):
    if not rtts:
        return "no round trips"
    s = sorted(rtts)
    p95 = s[min(len(s) - 1, int(len(s) * 0.95))]
    return f"n={len(s)} median={statistics.median(s):.1f}ms p95={p95:.1f}ms max={s[-1]:.1f}ms"


def fast(rtts, failures):
    if failures or not rtts:
        return False
    s = sorted(rtts)
    return s[min(len(s) - 1, int(len(s) * 0.95))] < FAST_MS


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
    normal = await Client(port, mint("alice", "buyer"), "sl-alice").connect()
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


def ws_frame(text, opcode=0x1):
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def raw_ws_connect(port, token, rcvbuf=4096):
    """A WebSocket over a plain socket with a tiny receive buffer; returns the socket after the 101."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(1)
        if not chunk:
            raise ConnectionError("closed during handshake")
        data += chunk
    if b" 101 " not in data.split(b"\r\n")[0]:
        raise ConnectionError(data.decode(errors="replace"))
    return s


def drain_close_code(s, timeout):
    """Reads whatever is queued (the silent client finally reads) and returns (close code or None, EOF?)."""
    s.settimeout(timeout)
    buf = b""
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    except (socket.timeout, OSError):
        return parse_close(buf), False
    return parse_close(buf), True


def parse_close(buf):
    i, code = 0, None
    while i + 2 <= len(buf):
        b0, b1 = buf[i], buf[i + 1]
        n, j = b1 & 0x7F, i + 2
        if n == 126:
            if j + 2 > len(buf):
                break
            n, j = struct.unpack("!H", buf[j:j + 2])[0], j + 2
        elif n == 127:
            if j + 8 > len(buf):
                break
            n, j = struct.unpack("!Q", buf[j:j + 8])[0], j + 8
        if j + n > len(buf):
            break
        if b0 & 0x0F == 0x8 and n >= 2:
            code = struct.unpack("!H", buf[j:j + 2])[0]
        i = j + n
    return code


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
    silent = raw_ws_connect(port, mint("bob", "freelancer"))
    silent.sendall(ws_frame(json.dumps({"type": "join", "thread": "demo"})))
    time.sleep(0.3)  # let the join and its history be written, then never read again
    peer_port = silent.getsockname()[1]

    senders = [await Client(port, mint("alice", "buyer"), f"fl{i}").connect() for i in range(8)]
    for c in senders:
        await c.join("demo")
    normal = await Client(port, mint("mia", "moderator"), "nr-mia").connect()
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
    carol = await Client(port, mint("carol"), "carol").connect()
    await carol.join("many-1")
    base, base_fail = await probe_rtts(carol, "many-1", 10, 0.06)
    token = mint("zed")
    started = time.monotonic()
    clients = [Client(port, token, f"zed{i}") for i in range(attempts)]
    results = await asyncio.gather(*[c.connect() for c in clients], return_exceptions=True)
    opened = [c for c in results if isinstance(c, Client)]
    refused = [c for c, r in zip(clients, results) if not isinstance(r, Client)]
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
    status, health = http_json(port, "GET", "/health")
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
        again = await Client(port, token, "zed-again").connect()
        reopened = True
    except Exception as e:
        again, reopened = None, False
        note(f"many-connections: reconnect after a close failed: {e}")
    check("many-connections: after one of the user's connections closes, a new one is accepted", reopened)
    # A user on an unrelated thread.
    create_contract(port, "many-2", "dave", "erin")
    dave = await Client(port, mint("dave"), "dave").connect()
    await dave.join("many-2")
    other, other_fail = await probe_rtts(dave, "many-2", 10, 0.06)
    check(f"many-connections: a user on another thread is unaffected (send->ack under {FAST_MS} ms)",
          fast(other, other_fail), f"{summary(other)}, failures {other_fail}")
    await asyncio.gather(*[c.close() for c in opened[1:] + [carol, dave] + ([again] if again else [])])


# --------------------------------------------------------------------------- 4. a flood from one connection


async def test_flood(srv):
    port = srv.port
    create_contract(port, "flood-1", "fred", "gina")
    fred = await Client(port, mint("fred"), "fred").connect()
    gina = await Client(port, mint("gina"), "gina").connect()
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
    status, body = http_json(port, "GET", "/api/contracts/flood-1/messages?limit=1000", token=mint("gina"))
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
    alice = await Client(port, mint("alice", "buyer"), "pl-alice").connect()
    bob = await Client(port, mint("bob", "freelancer"), "pl-bob").connect()
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
    status, body = http_json(port, "GET", f"/api/contracts/demo/messages?after={first - 1}&limit=1000",
                             token=mint("bob", "freelancer"))
    texts = {m.get("client_id"): m.get("text") for m in body.get("messages", [])} if isinstance(body, dict) else {}
    for text in PAYLOADS:
        answer = ids[text]
        if answer.get("type") == "ack":
            check(f"payload {text[:30]!r}: GET /api/contracts/demo/messages returns it byte-for-byte",
                  texts.get(answer["id"]) == text, f"got {texts.get(answer['id'])!r}")
    after = tables(srv.db)
    status, verify = http_json(port, "GET", "/api/contracts/demo/verify", token=mint("mia", "moderator"))
    check("payloads: the hash chain of the thread still verifies (GET /api/contracts/demo/verify)",
          status == 200 and isinstance(verify, dict) and verify.get("problem") is None,
          f"{status} {verify}")
    check("payloads: every table still exists", before <= after and {"message"} <= after or before == after,
          f"missing {sorted(before - after)}")
    ok_send = await alice.rtt("demo", "still working")
    check("payloads: the server still stores lines afterwards", ok_send is not None)
    status, headers, raw = http_call(port, "GET", "/api/contracts/demo/transcript?format=html",
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


def read_frames(s, seconds):
    """Reads raw server frames for up to `seconds`: returns ([(opcode, payload)], EOF seen)."""
    s.settimeout(0.2)
    buf, frames, eof = b"", [], False
    end = time.monotonic() + seconds
    while time.monotonic() < end and not eof:
        try:
            chunk = s.recv(1 << 16)
            if not chunk:
                eof = True
            buf += chunk
        except socket.timeout:
            pass
        except OSError:
            eof = True
        while len(buf) >= 2:
            n, j = buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, j = struct.unpack("!H", buf[2:4])[0], 4
            if len(buf) < j + n:
                break
            frames.append((buf[0] & 0x0F, buf[j:j + n]))
            buf = buf[j + n:]
    return frames, eof


async def test_frame_rules(srv):
    # A server of its own with a one-second ping interval.
    quick = Server(extra_env={"LIMITS_PING_INTERVAL_SECONDS": "1"}, prefix="abuse-ping-")
    quick.start()
    try:
        port = quick.port
        s = raw_ws_connect(port, mint("alice", "buyer"))
        payload = json.dumps({"type": "join", "thread": "demo"}).encode()
        s.sendall(struct.pack("!BB", 0x81, len(payload)) + payload)  # no mask bit, no mask
        frames, eof = read_frames(s, 3)
        closes = [struct.unpack("!H", p[:2])[0] for op, p in frames if op == 0x8 and len(p) >= 2]
        check("frames: an unmasked client frame closes the connection with 1002 (RFC 6455 5.1)",
              closes == [1002] and eof, f"close codes {closes}, EOF {eof}")
        s.close()

        silent = raw_ws_connect(port, mint("bob", "freelancer"))
        started = time.monotonic()
        frames, eof = read_frames(silent, 5)
        pings = [op for op, _ in frames if op == 0x9]
        closes = [struct.unpack("!H", p[:2])[0] for op, p in frames if op == 0x8 and len(p) >= 2]
        check("pings: a client that never answers is pinged, then dropped with 1001 within ~2 intervals",
              len(pings) >= 1 and closes == [1001] and eof and time.monotonic() - started < 4.5,
              f"pings {len(pings)}, close codes {closes}, EOF {eof} after {time.monotonic() - started:.1f}s")
        silent.close()

        lively = raw_ws_connect(port, mint("mia", "moderator"))
        answered, dropped = 0, False
        end = time.monotonic() + 4
        while time.monotonic() < end and not dropped:
            frames, dropped = read_frames(lively, 0.3)
            for op, p in frames:
                if op == 0x9:
                    lively.sendall(ws_frame(p.decode("latin-1"), opcode=0xA) if not p else ws_frame("", opcode=0xA))
                    answered += 1
                if op == 0x8:
                    dropped = True
        check("pings: a client that answers them stays connected", answered >= 2 and not dropped,
              f"answered {answered} pings, dropped {dropped}")
        lively.close()
    finally:
        quick.stop()


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
    srv = Server()
    started = time.monotonic()
    try:
        srv.start()
        asyncio.run(run(srv))
    except Exception as e:
        check("server started", False, repr(e))
    finally:
        srv.stop()
    passed = sum(1 for _, ok in RESULTS if ok)
    failed = len(RESULTS) - passed
    note(f"total {time.monotonic() - started:.1f}s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
