"""The shared harness of the Python test tools under Tests/: the server binary started on a temporary database,
PASS/FAIL lines and the closing `N passed, M failed`, HS256 tokens, HTTP calls, a reading WebSocket client, raw
WebSocket frames (blocking sockets and asyncio streams) and the headless browser.

A tool puts this folder on its path with two lines relative to its own file, then imports it:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
    import harness as H  # noqa: E402

Environment: MILESTONE_BOT, the server binary (default .build/debug/milestone-bot, relative to the repo root).
Only the standard library is imported here; `websockets` when a client connects, Selenium when a browser opens.
"""

import asyncio
import base64
import hashlib
import hmac
import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
AUDIENCE = "milestone-bot"   # auth.audience (the default)
TIMEOUT = 5.0                # HTTP calls, joins and acks unless told otherwise


def require(*packages):
    """Ends the tool with status 2 and a pip hint when a package it needs is not installed."""
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        names = " and ".join(f"`{p}`" for p in missing)
        print(f"this test needs the {names} package{'s' if len(missing) > 1 else ''}: pip install {' '.join(missing)}",
              file=sys.stderr)
        sys.exit(2)


# --------------------------------------------------------------------------- results


class Report:
    """One line per check (`PASS  name` / `FAIL  name  -- detail`), INFO notes, and `N passed, M failed`.

    The tools print in two styles: gap "  " and sep "  -- " (the Reliability and protocol tools), or gap " " and
    sep ": " (the browser tools). details: "failures" prints a detail only for a failed check, "always" for every
    check; a detail longer than `limit` characters is cut there and ends with "...".
    """

    def __init__(self, gap="  ", sep="  -- ", details="failures", limit=None):
        self.gap, self.sep, self.details, self.limit = gap, sep, details, limit
        self.results = []   # (name, ok)

    def check(self, name, ok, detail=""):
        ok = bool(ok)
        self.results.append((name, ok))
        line = f"{'PASS' if ok else 'FAIL'}{self.gap}{name}"
        if detail and (self.details == "always" or not ok):
            text = str(detail)
            if self.limit is not None and len(text) > self.limit:
                text = text[:self.limit] + "..."
            line += f"{self.sep}{text}"
        print(line, flush=True)
        return ok

    def note(self, text):
        """An informational line: an observation that is not a pass/fail check."""
        print(f"INFO{self.gap}{text}", flush=True)

    @property
    def passed(self):
        return sum(1 for _, ok in self.results if ok)

    @property
    def failed(self):
        return len(self.results) - self.passed

    def finish(self, started=None):
        """Prints `total Ns` (when given the monotonic start) and `N passed, M failed`; returns the exit status."""
        if started is not None:
            self.note(f"total {time.monotonic() - started:.1f}s")
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


# --------------------------------------------------------------------------- the server binary


def binary():
    """The server binary: $MILESTONE_BOT (relative to the repository root) or .build/debug/milestone-bot."""
    path = os.environ.get("MILESTONE_BOT", ".build/debug/milestone-bot")
    return path if os.path.isabs(path) else os.path.join(REPO_ROOT, path)


def binary_missing():
    """Why the binary cannot be run (a sentence), or None when it is there."""
    path = binary()
    if os.path.exists(path):
        return None
    return f"{path} missing; run swift build --product milestone-bot (or set MILESTONE_BOT)"


def run_bot(*args, env=None, timeout=120):
    """Runs a milestone-bot subcommand (verify, export, token ...) from the repository root; the CompletedProcess."""
    return subprocess.run([binary(), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def last_line(text, default=""):
    return (text.strip().splitlines() or [default])[-1]


class Server:
    """`milestone-bot serve --demo` on a temporary folder's database, started with `start()`; after `kill()` or
    `stop()` it may be started again on the same port and database.

    The environment is the caller's (without any LIMITS_* variable when `clear_limits`), LOG_LEVEL defaulting
    to `log_level` (None: the server's own default), AUTH_SIGNING_SECRET / AUTH_API_KEY from `secret` / `api_key`,
    then `env` on top. Standard output is read line by line: the port, the demo users' roles, tokens and
    sign-in links, the platform API key; it is ready after the `Health:` line and a 200 from GET /health.
    Each start keeps its stdout and stderr in the folder (stdout-001.log, stderr-001.log, ...).
    """

    def __init__(self, env=None, *, secret=None, api_key=None, prefix="milestone-bot-", database="server.sqlite",
                 port=0, clear_limits=False, log_level="warning", grace=10):
        self.secret, self.api_key_given = secret, api_key
        self.env = dict(env or {})
        self.clear_limits, self.log_level, self.grace = clear_limits, log_level, grace
        self.tmpdir = tempfile.mkdtemp(prefix=prefix)
        self.db = os.path.join(self.tmpdir, database)
        self.port = port or None
        self.proc = None
        self.starts = 0
        self.killed = False       # stop() had to SIGKILL it
        self.lines = []           # standard output of the current start
        self.api_key = None
        self.roles, self.tokens, self.links = {}, {}, {}   # demo user -> role / token / (sign-in link, token)

    def environment(self):
        env = {k: v for k, v in os.environ.items() if not (self.clear_limits and k.startswith("LIMITS_"))}
        if self.log_level:
            env.setdefault("LOG_LEVEL", self.log_level)
        if self.secret is not None:
            env["AUTH_SIGNING_SECRET"] = self.secret
        if self.api_key_given is not None:
            env["AUTH_API_KEY"] = self.api_key_given
        env.update(self.env)
        return env

    def start(self, timeout=60.0):
        missing = binary_missing()
        if missing:
            raise RuntimeError(f"server binary not found: {missing}")
        self.starts += 1
        self.lines = []
        ready = threading.Event()
        command = [binary(), "serve", "--demo", "--port", str(self.port or 0), "--database", self.db]
        with open(self._log("stderr"), "wb") as err:
            self.proc = subprocess.Popen(command, cwd=REPO_ROOT, env=self.environment(), stdout=subprocess.PIPE,
                                         stderr=err, stdin=subprocess.DEVNULL)
        threading.Thread(target=self._pump, args=(self.proc, ready, self._log("stdout")), daemon=True).start()
        deadline = time.monotonic() + timeout
        if not ready.wait(timeout) or self.port is None:
            raise RuntimeError(f"server did not print its demo output within {timeout:.0f} s (start #{self.starts}):\n"
                               + "\n".join(self.lines) + self.stderr_tail(heading=True))
        while time.monotonic() < deadline:  # the demo output comes before the socket is certain to accept
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} on start #{self.starts}:\n"
                                   + "\n".join(self.lines) + self.stderr_tail(heading=True))
            try:
                if http(self.port, "GET", "/health", timeout=1.0)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"server does not answer /health within {timeout:.0f} s (start #{self.starts})"
                           + self.stderr_tail(heading=True))

    def _log(self, stream):
        return os.path.join(self.tmpdir, f"{stream}-{self.starts:03d}.log")

    def _pump(self, proc, ready, log):
        user = None
        with open(log, "w", encoding="utf-8") as out:
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                out.write(line + "\n")
                if proc is not self.proc:
                    continue
                self.lines.append(line)
                m = re.search(r"serving on http://[^:/\s]+:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                m = re.match(r"^(buyer|freelancer|moderator|user) (\S+):\s*$", line)
                if m:
                    user = m.group(2)
                    self.roles[user] = m.group(1)
                m = re.match(r"^\s+token:\s*(\S+)\s*$", line)
                if m and user:
                    self.tokens[user] = m.group(1)
                m = re.match(r"^\s+open in a browser: (http://\S+/#token=(\S+))$", line)
                if m and user:
                    self.links[user] = (m.group(1), m.group(2))
                m = re.search(r"Platform API key \(X-Api-Key\).*:\s*(\S+)\s*$", line)
                if m:
                    self.api_key = m.group(1)
                if line.startswith("Health:"):
                    ready.set()
        ready.set()  # the process ended

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL (a crash), and wait for it."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait(10)

    def stop(self):
        """SIGTERM, then SIGKILL after `grace` seconds (`killed` tells); returns the exit status."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(self.grace)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode if self.proc else None

    def close(self, keep=False, note=None, kept=""):
        """Stops the server and removes its folder, unless `keep`: then `note` (a Report's) says where it is."""
        self.stop()
        if not keep:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        elif note:
            note(f"kept {self.tmpdir}{kept}")

    def stderr_tail(self, n=2000, heading=False):
        try:
            with open(self._log("stderr"), "rb") as f:
                text = f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n--- stderr ---\n" + text if heading else text

    def verify(self):
        """`milestone-bot verify --database` on this server's database (stop it first)."""
        return run_bot("verify", "--database", self.db)

    def cli_token(self, user, role, lifetime=7200):
        """A token from the binary's own `token` command, signed with this server's secret."""
        out = run_bot("token", "--user", user, "--role", role, "--lifetime", str(lifetime), env=self.environment(),
                      timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"token --user {user} failed: {out.stderr}")
        return out.stdout.strip()


# --------------------------------------------------------------------------- tokens


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(secret, claims, header=None):
    """An HS256 JWT over `header` (default {"alg": "HS256", "typ": "JWT"}) and `claims`, signed with `secret`,
    whatever the header says (so a header naming another algorithm still carries a valid HS256 signature)."""
    header = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode("utf-8")) + "."
                     + b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8")))
    sig = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def mint(secret, user, role="user", lifetime=3600):
    """A token as the platform issues it: sub, role, aud, iat and exp = iat + lifetime."""
    now = int(time.time())
    return sign_jwt(secret, {"sub": user, "role": role, "aud": AUDIENCE, "iat": now, "exp": now + lifetime})


# --------------------------------------------------------------------------- HTTP


class Headers(dict):
    """Response headers by lower-cased name (a repeated header's values joined by ", "); all(name) lists each."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = [(k.lower(), v) for k, v in pairs]
        for k, v in self.pairs:
            self[k] = self[k] + ", " + v if k in self else v

    def all(self, name):
        return [v for k, v in self.pairs if k == name.lower()]


def http(port, method, path, body=None, headers=None, token=None, timeout=TIMEOUT, raw_body=None):
    """One request to 127.0.0.1:port (a `body` is sent as JSON, `raw_body` as bytes; a `token` as the bearer
    header): (status, Headers, raw body bytes)."""
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    data = raw_body
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    conn = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, Headers(resp.getheaders()), raw
    finally:
        conn.close()


def http_json(port, method, path, body=None, headers=None, token=None, timeout=TIMEOUT):
    """Like http(), with the body parsed as JSON (the text when it is not JSON, None when empty)."""
    status, hdrs, raw = http(port, method, path, body, headers, token, timeout)
    try:
        parsed = json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return status, hdrs, parsed


def create_contract(port, cid, buyer, freelancer, *, api_key, title="{cid}", preset="indeelancer", milestones=None,
                    **fields):
    """POST /api/contracts (title may name {cid}; one $100.00 milestone unless told); the answer, or RuntimeError."""
    body = {"id": cid, "title": title.format(cid=cid), "buyer": buyer, "freelancer": freelancer, "currency": "USD",
            "preset": preset, "milestones": milestones or [{"amount": "100.00", "description": "Work"}], **fields}
    status, _, answer = http_json(port, "POST", "/api/contracts", body=body, headers={"X-Api-Key": api_key})
    if status != 201:
        raise RuntimeError(f"could not create contract {cid}: {status} {answer}")
    return answer


# --------------------------------------------------------------------------- numbers


def percentile(values, q):
    """The q-quantile (0..1) of `values` (nearest rank from below), None when there are none."""
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * q))]


def latency(values, empty="none"):
    """`n=.. median=..ms p95=..ms max=..ms` of milliseconds."""
    if not values:
        return empty
    return (f"n={len(values)} median={statistics.median(values):.1f}ms p95={percentile(values, 0.95):.1f}ms "
            f"max={max(values):.1f}ms")


# --------------------------------------------------------------------------- a reading WebSocket client


class Client:
    """A reading client (websockets): a background task sorts frames (hello; acks by id, with the time each was
    read; errors; everything else in order in `frames`); a send can wait for its ack or error, matched by id.
    sent_at / ack_at / delivered_at (client id -> time.perf_counter()) time each line's send, ack and delivery."""

    def __init__(self, port, token, name="", max_size=2 ** 22):
        self.port, self.token, self.name, self.max_size = port, token, name, max_size
        self.ws = None
        self.frames = []
        self.acks = {}
        self.errors = []
        self.ack_waiters = {}
        self.sent_at, self.ack_at, self.delivered_at = {}, {}, {}
        self.hello = None
        self.closed_code = None
        self.closed = None  # an asyncio.Event, made in connect() on the running loop
        self._counter = 0

    async def connect(self):
        import websockets
        self.closed = asyncio.Event()
        self.ws = await websockets.connect(f"ws://127.0.0.1:{self.port}/ws",
                                           additional_headers={"Authorization": f"Bearer {self.token}"},
                                           open_timeout=15, max_size=self.max_size, max_queue=None,
                                           ping_interval=None)
        self._hello = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())
        self.hello = await asyncio.wait_for(self._hello, 15)
        return self

    def _answer(self, cid, frame):
        w = self.ack_waiters.pop(cid, None)
        if w and not w.done():
            w.set_result(frame)

    async def _read(self):
        import websockets
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                t = frame.get("type")
                if t == "hello" and not self._hello.done():
                    self._hello.set_result(frame)
                elif t == "ack":
                    self.acks[frame["id"]] = frame
                    self.ack_at.setdefault(frame["id"], now)
                    self._answer(frame["id"], frame)
                elif t == "error":
                    self.errors.append(frame)
                    self._answer(frame.get("id"), frame)
                else:
                    if t == "message" and frame.get("client_id"):
                        self.delivered_at.setdefault(frame["client_id"], now)
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

    async def wait_frame(self, predicate, timeout=TIMEOUT, frames_from=0, errors_from=0):
        """The first frame (of `frames[frames_from:]`, then `errors[errors_from:]`) that satisfies `predicate`,
        polled until `timeout` or the connection closes; None then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for f in self.frames[frames_from:] + self.errors[errors_from:]:
                if predicate(f):
                    return f
            if self.closed.is_set():
                break
            await asyncio.sleep(0.01)
        return None

    async def join(self, thread, timeout=TIMEOUT, strict=True):
        """Joins `thread`: the `joined` frame, or the error naming the thread (a RuntimeError when `strict`)."""
        marks = len(self.frames), len(self.errors)
        await self.ws.send(json.dumps({"type": "join", "thread": thread}))
        got = await self.wait_frame(lambda f: f.get("type") in ("joined", "error") and f.get("thread") == thread,
                                    timeout, *marks)
        if got is None or (strict and got.get("type") != "joined"):
            raise RuntimeError(f"{self.name}: no joined for {thread}; errors {self.errors[-3:]}")
        return got

    def next_id(self):
        self._counter += 1
        return f"{self.name}-{self._counter}-{secrets.token_hex(3)}"

    async def send(self, thread, text, cid=None, wait=True, timeout=TIMEOUT):
        """Sends a line; with `wait`, its ack or error frame, else its id."""
        cid = cid or self.next_id()
        fut = asyncio.get_running_loop().create_future()
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())  # unawaited ones: no warning
        self.ack_waiters[cid] = fut
        self.sent_at[cid] = time.perf_counter()
        await self.ws.send(json.dumps({"type": "send", "thread": thread, "id": cid, "text": text}))
        if not wait:
            return cid
        return await asyncio.wait_for(fut, timeout)

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


# --------------------------------------------------------------------------- raw WebSocket frames


def ws_frame(opcode, payload, rng=None, fin=True, rsv=0, masked=True):
    """One client frame with anything in it; the mask comes from `rng` (random.Random) or os.urandom."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | (opcode & 0x0F)
    n = len(payload)
    mbit = 0x80 if masked else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not masked:
        return head + payload
    mask = bytes(rng.getrandbits(8) for _ in range(4)) if rng is not None else os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def upgrade_request(port, token, key):
    return (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n").encode()


def check_upgraded(head):
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise ConnectionError(head[:200].decode(errors="replace"))


def parse_frames(buf):
    """The whole server frames at the start of `buf`: ([(opcode, payload)], the bytes after them)."""
    frames, i = [], 0
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
        if b1 & 0x80:
            j += 4  # servers do not mask; tolerate it anyway
        if j + n > len(buf):
            break
        frames.append((b0 & 0x0F, buf[j:j + n]))
        i = j + n
    return frames, buf[i:]


def close_codes(frames):
    """The codes of the close frames among [(opcode, payload)]."""
    return [struct.unpack("!H", p[:2])[0] for op, p in frames if op == 0x8 and len(p) >= 2]


def raw_ws_connect(port, token, rcvbuf=4096):
    """A WebSocket over a plain blocking socket with a small receive buffer; returns the socket after the 101."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(upgrade_request(port, token, base64.b64encode(os.urandom(16)).decode()))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(1)
            if not chunk:
                raise ConnectionError("closed during handshake")
            data += chunk
        check_upgraded(data)
    except BaseException:
        s.close()
        raise
    return s


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
        got, buf = parse_frames(buf)
        frames += got
    return frames, eof


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def read_one_frame(s):
    """Reads exactly one server frame (unmasked), nothing after it: (opcode, payload)."""
    b0, b1 = recv_exact(s, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(s, 8))[0]
    return b0 & 0x0F, recv_exact(s, n)


class RawWebSocket:
    """A WebSocket over an asyncio stream, so that anything at all can be written to it. A background task
    reads server frames into a queue (JSON text frames decoded), answers pings, and records the close code (or a
    bare EOF). Keys and masks come from `rng`, so a seeded run writes the same bytes."""

    def __init__(self, port, token, rng):
        self.port, self.token, self.rng = port, token, rng
        self.queue = asyncio.Queue()
        self.close_code = None      # the code of the server's close frame
        self.eof = False            # TCP closed (with or without a close frame before it)
        self.closed = asyncio.Event()

    async def open(self):
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 10)
        key = base64.b64encode(bytes(self.rng.getrandbits(8) for _ in range(16))).decode()
        self.writer.write(upgrade_request(self.port, self.token, key))
        check_upgraded(await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10))
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self):
        buf = b""
        try:
            while True:
                chunk = await self.reader.read(1 << 16)
                if not chunk:
                    break
                frames, buf = parse_frames(buf + chunk)
                for opcode, payload in frames:
                    self._handle(opcode, payload)
        except (ConnectionError, OSError):
            pass
        finally:
            self.eof = True
            self.closed.set()
            self.queue.put_nowait(None)

    def _handle(self, opcode, payload):
        if opcode == 0x9:
            self.write(ws_frame(0xA, payload, self.rng))
        elif opcode == 0x8:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.write(ws_frame(0x8, payload[:2], self.rng))
        elif opcode == 0x1:
            try:
                self.queue.put_nowait(json.loads(payload))
            except ValueError:
                self.queue.put_nowait({"type": "<not json>", "raw": payload[:100]})
        elif opcode == 0x2:
            self.queue.put_nowait({"type": "<binary>"})

    def write(self, data):
        if not self.writer.is_closing():
            try:
                self.writer.write(data)
            except (ConnectionError, OSError):
                pass

    def text(self, obj_or_text):
        text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
        self.write(ws_frame(0x1, text.encode(), self.rng))

    async def next(self, timeout):
        """The next JSON frame, None when the connection ended; raises asyncio.TimeoutError."""
        frame = await asyncio.wait_for(self.queue.get(), timeout)
        if frame is None:
            self.queue.put_nowait(None)
        return frame

    async def shut(self):
        try:
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except Exception:
            pass
        if hasattr(self, "task"):
            self.task.cancel()


# --------------------------------------------------------------------------- the browser (Selenium)


def browser(width=1280, height=900, page_load_timeout=None, script_timeout=None):
    """Headless Chromium through chromedriver (HEADFUL=1 shows the window)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.environ.get("HEADFUL"):
        options.add_argument("--headless=new")
    for argument in ("--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(argument)
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    if page_load_timeout is not None:
        driver.set_page_load_timeout(page_load_timeout)
    if script_timeout is not None:
        driver.set_script_timeout(script_timeout)
    return driver


def wait(driver, predicate, timeout=10):
    """predicate(driver) once it is truthy, polled every 0.1 s; None after `timeout` seconds."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: predicate(d) or None)
    except TimeoutException:
        return None


def js_wait(driver, script, timeout=10):
    return wait(driver, lambda d: d.execute_script(script), timeout)
