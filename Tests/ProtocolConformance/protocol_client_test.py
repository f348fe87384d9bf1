#!/usr/bin/env python3
"""Protocol conformance test for milestone-bot, written only from docs/PROTOCOL.md.

It starts the server itself (`serve --demo --port 0` on a temporary database), talks to
it as an independent client would (WebSocket + HTTP), prints one line per check and ends
with `N passed, M failed`. Exit status is non-zero when any check failed.

Requirements: Python 3.9+ and the `websockets` package (`pip install websockets`).

Environment:
  MILESTONE_BOT   path to the server binary (default: .build/debug/milestone-bot,
                  relative to the repository root)

The server is started with a random AUTH_SIGNING_SECRET (`auth.signing_secret`), so that this client can
mint its own HS256 tokens as the platform would (PROTOCOL.md section 1).
  PROTO_VERBOSE=1 print every frame received
"""

import asyncio
import base64
import datetime
import html
import json
import os
import re
import secrets
import sys
import time
import urllib.parse

# The generic pieces (the server launcher, check() and the summary, HTTP calls, HS256 signing) are the shared
# harness's; everything this client sends and expects is written here, from docs/PROTOCOL.md.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402
from harness import sign_jwt  # noqa: E402

H.require("websockets")
import websockets  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

VERBOSE = os.environ.get("PROTO_VERBOSE") == "1"
TIMEOUT = 5.0
QUIET = 0.7  # how long "nothing else arrives" is observed

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")

# --------------------------------------------------------------------------- results

REPORT = H.Report()
check, note = REPORT.check, REPORT.note


# --------------------------------------------------------------------------- tokens (PROTOCOL.md section 1)

AUDIENCE = "milestone-bot"  # the documented default of auth.audience


def claims(user, role, lifetime=600, **extra):
    """The documented claims: sub, role, aud, iat, exp (= iat + lifetime). Extra keys override; a value of
    None removes the claim."""
    now = int(time.time())
    c = {"sub": user, "role": role, "aud": AUDIENCE, "iat": now, "exp": now + lifetime}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


def token_payload(token):
    """The claims of a JWT (no verification)."""
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def iso_seconds(text):
    """Seconds since 1970 of an ISO 8601 UTC time with milliseconds (`2026-11-21T05:40:12.345Z`), or None."""
    if not isinstance(text, str) or not ISO_MS.match(text):
        return None
    dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp()


def same_second(text, exp):
    """The ISO time `text` names the whole second `exp` (seconds since 1970)."""
    t = iso_seconds(text)
    return t is not None and int(t // 1) == exp


# --------------------------------------------------------------------------- HTTP


async def handshake_refusal(port, label, path, headers, want_close, want_code):
    """A handshake that must be refused, as PROTOCOL.md section 1 says: the socket opens only to carry an
    `error` frame with the reason, then closes with 4401 (authentication) or 4403 (origin)."""
    frame, code = None, None
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}{path}", additional_headers=headers or {},
                                      open_timeout=TIMEOUT) as ws:
            try:
                while True:
                    raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
                    frame = frame or json.loads(raw)
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
    except Exception as e:
        check(f"{label}: refused as documented", False, repr(e))
        return None, None
    ok = (isinstance(frame, dict) and frame.get("type") == "error" and isinstance(frame.get("message"), str)
          and (want_code is None or frame.get("code") == want_code) and code == want_close)
    check(f"{label}: an error frame{' with code ' + want_code if want_code else ''} then close {want_close}",
          ok, f"frame {frame!r}, close {code}")
    return frame, code


def is_error_body(body, code=None):
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return False
    err = body["error"]
    if not isinstance(err.get("code"), str) or not isinstance(err.get("message"), str):
        return False
    return code is None or err["code"] == code


# --------------------------------------------------------------------------- WebSocket client

MESSAGE_TYPES = ("message", "notice")


class Client:
    """A minimal client following PROTOCOL.md section 2."""

    def __init__(self, name):
        self.name = name
        self.frames = []
        self.ws = None
        self.closed = False
        self.close_code = None
        self._cond = asyncio.Condition()
        self._reader = None

    async def connect(self, url, token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self.ws = await websockets.connect(url, additional_headers=headers, max_size=None, open_timeout=TIMEOUT)
        self._reader = asyncio.create_task(self._read())
        hello = await self.wait(lambda f: True, start=0)
        return hello

    async def _read(self):
        try:
            async for raw in self.ws:
                if isinstance(raw, bytes):
                    frame = {"type": "_binary", "raw": raw}
                else:
                    try:
                        frame = json.loads(raw)
                    except ValueError:
                        frame = {"type": "_unparsable", "raw": raw}
                if VERBOSE:
                    print(f"      [{self.name} <-] {raw}", flush=True)
                async with self._cond:
                    self.frames.append(frame)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            if self.ws is not None:
                self.close_code = self.ws.close_code
            async with self._cond:
                self._cond.notify_all()

    def mark(self):
        return len(self.frames)

    async def wait(self, pred, start=None, timeout=TIMEOUT):
        """The first frame at index >= start satisfying pred (start defaults to 0)."""
        start = 0 if start is None else start
        deadline = time.monotonic() + timeout

        def find():
            for f in self.frames[start:]:
                if pred(f):
                    return f
            return None

        async with self._cond:
            while True:
                found = find()
                if found is not None:
                    return found
                if self.closed:
                    raise AssertionError(f"{self.name}: connection closed while waiting")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.name}: timed out waiting for a frame")
                try:
                    await asyncio.wait_for(self._cond.wait(), remaining)
                except asyncio.TimeoutError:
                    pass

    async def send_frame(self, obj):
        if VERBOSE:
            print(f"      [{self.name} ->] {json.dumps(obj) if not isinstance(obj, str) else obj}", flush=True)
        await self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def join(self, thread, after=None):
        """Sends join; returns the frames from the join up to and including the first `state`."""
        start = self.mark()
        frame = {"type": "join", "thread": thread}
        if after is not None:
            frame["after"] = after
        await self.send_frame(frame)
        joined = await self.wait(lambda f: f.get("type") == "joined" and f.get("thread") == thread, start)
        j_index = self.frames.index(joined, start)
        await self.wait(lambda f: f.get("type") == "state" and f.get("thread") == thread, j_index)
        end = next(i for i in range(j_index, len(self.frames))
                   if self.frames[i].get("type") == "state" and self.frames[i].get("thread") == thread)
        return self.frames[start:end + 1]

    async def say(self, thread, cid, text):
        """Sends a line; returns its ack."""
        start = self.mark()
        await self.send_frame({"type": "send", "thread": thread, "id": cid, "text": text})
        return await self.wait(lambda f: f.get("type") == "ack" and f.get("id") == cid, start)

    def messages(self, thread="demo", start=0):
        """Every stored message this client has received (live frames and history entries)."""
        out = []
        for f in self.frames[start:]:
            if f.get("type") in MESSAGE_TYPES and f.get("thread") == thread:
                out.append(f)
            elif f.get("type") == "history" and f.get("thread") == thread:
                out.extend(f.get("messages") or [])
        return out

    def live_messages(self, thread="demo", start=0):
        return [f for f in self.frames[start:] if f.get("type") in MESSAGE_TYPES and f.get("thread") == thread]

    def max_seq(self, thread="demo"):
        return max((m["seq"] for m in self.messages(thread)), default=0)

    def last_state(self, thread="demo"):
        for f in reversed(self.frames):
            if f.get("type") == "state" and f.get("thread") == thread:
                return f
        return None

    async def quiet(self, seconds=QUIET):
        await asyncio.sleep(seconds)

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, TIMEOUT)
            except Exception:
                pass


def milestone(state, number):
    for m in (state or {}).get("milestones") or []:
        if m.get("number") == number:
            return m
    return None


# --------------------------------------------------------------------------- the checks


async def run_checks(srv):
    port = srv.port
    ws_url = f"ws://127.0.0.1:{port}/ws"
    tok = srv.tokens
    T = "demo"

    # ---- health
    st, _, body = H.http_json(port, "GET", "/health")
    check("GET /health answers 200 {status: ok, connections, test_money}",
          st == 200 and isinstance(body, dict) and body.get("status") == "ok"
          and isinstance(body.get("connections"), int) and isinstance(body.get("test_money"), bool),
          f"{st} {body}")

    # ---- handshake with the bearer header, hello
    alice, bob = Client("alice"), Client("bob")
    hello_a = await alice.connect(ws_url, tok["alice"])
    hello_b = await bob.connect(ws_url, tok["bob"])
    hello_fields = {"user": str, "moderator": bool, "max_frame_bytes": int, "max_text_length": int,
                    "messages_per_second": (int, float), "test_money": bool}
    check("hello is the first frame, with user/moderator/max_frame_bytes/max_text_length/messages_per_second/test_money",
          hello_a.get("type") == "hello" and all(isinstance(hello_a.get(k), t) for k, t in hello_fields.items()),
          str(hello_a))
    check("hello names the token's user (alice, bob) and moderator=false",
          hello_a.get("user") == "alice" and hello_b.get("user") == "bob"
          and hello_a.get("moderator") is False and hello_b.get("moderator") is False,
          f"{hello_a} / {hello_b}")

    # ---- join without `after`: history, joined, state
    ja = await alice.join(T)
    jb = await bob.join(T)
    types_a = [f.get("type") for f in ja]
    check("join without after answers history, then joined, then state",
          types_a == ["history", "joined", "state"] and [f.get("type") for f in jb] == ["history", "joined", "state"],
          f"alice got {types_a}, bob got {[f.get('type') for f in jb]}")
    hist = ja[0] if ja and ja[0].get("type") == "history" else {}
    joined_a = next((f for f in ja if f.get("type") == "joined"), {})
    joined_b = next((f for f in jb if f.get("type") == "joined"), {})
    hmsgs = hist.get("messages") or []
    check("history frame: thread, messages oldest first, has_more=false for a short thread",
          hist.get("thread") == T and isinstance(hmsgs, list) and len(hmsgs) >= 1
          and [m.get("seq") for m in hmsgs] == sorted(m.get("seq") for m in hmsgs)
          and hist.get("has_more") is False, str(hist)[:300])
    check("joined: role from the contract (alice buyer, bob freelancer), last_seq = newest seq in history",
          joined_a.get("role") == "buyer" and joined_b.get("role") == "freelancer"
          and joined_a.get("last_seq") == (hmsgs[-1]["seq"] if hmsgs else None),
          f"{joined_a} / {joined_b}")
    st_a = alice.last_state(T)
    m1, m2 = milestone(st_a, "M1"), milestone(st_a, "M2")
    check("state: demo contract, indeelancer, USD, buyer alice, freelancer bob, role buyer",
          st_a and st_a.get("preset") == "indeelancer" and st_a.get("currency") == "USD"
          and st_a.get("buyer") == "alice" and st_a.get("freelancer") == "bob" and st_a.get("role") == "buyer"
          and st_a.get("phase") in ("proposal", "live", "completed", "ended"), str(st_a)[:300])
    check("state milestones: M1 50000 '$500.00', M2 125050 '$1,250.50', amounts in minor units",
          m1 and m2 and m1.get("amount") == 50000 and m1.get("amount_text") == "$500.00"
          and m2.get("amount") == 125050 and m2.get("amount_text") == "$1,250.50", f"{m1} / {m2}")
    cmds = (st_a or {}).get("commands") or []
    check("state commands: {template, summary, moves_money}; alice may '/fund M1' (moves_money=true)",
          cmds and all(isinstance(c.get("template"), str) and isinstance(c.get("summary"), str)
                       and isinstance(c.get("moves_money"), bool) for c in cmds)
          and any(c.get("template") == "/fund M1" and c.get("moves_money") is True for c in cmds),
          str(cmds)[:300])

    # Documented-but-absent fields are reported (informational), since the doc lists them.
    state_doc_fields = ["thread", "title", "preset", "currency", "phase", "buyer", "freelancer", "role", "held",
                        "held_text", "test_money", "end_request", "dispute", "cancellation", "reviews", "reviews_sealed", "milestones", "commands"]
    missing_state = [k for k in state_doc_fields if k not in (st_a or {})]
    ms_doc_fields = ["number", "description", "amount", "amount_text", "state", "held", "released", "refunded",
                     "due", "revisions_used", "revision_allowance", "review_ends", "review_outcome", "offer"]
    missing_ms = [k for k in ms_doc_fields if k not in (m1 or {})]
    if missing_state or missing_ms:
        note(f"state omits documented fields instead of sending null: state {missing_state}, milestone {missing_ms}")

    # Message fields as documented
    def message_shape_ok(m):
        return (m.get("thread") == T and isinstance(m.get("seq"), int) and isinstance(m.get("text"), str)
                and m.get("kind") in ("chat", "command", "system", "notice", "note")
                and isinstance(m.get("private"), bool) and isinstance(m.get("at"), str)
                and ISO_MS.match(m["at"]) is not None and isinstance(m.get("hash"), str)
                and HEX64.match(m["hash"]) is not None)

    check("history entries have thread/seq/kind/text/private/at (ISO ms Z)/hash (hex SHA-256)",
          hmsgs and all(message_shape_ok(m) for m in hmsgs), str(hmsgs[:1])[:300])
    bot_msgs = [m for m in hmsgs if m.get("kind") == "system"]
    absent = sorted({k for m in bot_msgs for k in ("author", "role", "client_id") if k not in m})
    if absent:
        note(f"bot messages omit {absent} instead of sending null as the doc says (`author`: null for the bot)")
    check("bot messages have no author (null or absent) and no role",
          bot_msgs and all(m.get("author") is None and m.get("role") is None for m in bot_msgs), str(bot_msgs[:1]))

    # ---- the happy path: fund, submit, release
    start_a, start_b = alice.mark(), bob.mark()
    steps = [(alice, "a-fund-1", "/fund M1", "funded"),
             (bob, "b-submit-1", "/submit M1", "submitted"),
             (alice, "a-release-1", "/release M1", "released")]
    acks = {}
    for who, cid, text, expected_state in steps:
        ack = await who.say(T, cid, text)
        acks[cid] = ack
        check(f"{who.name} '{text}' acked: thread, id, integer seq, duplicate=false, outcome=applied",
              ack.get("thread") == T and ack.get("id") == cid and isinstance(ack.get("seq"), int)
              and ack.get("duplicate") is False and ack.get("outcome") == "applied", str(ack))
        seq = ack.get("seq") or 0
        # both parties see the command line and a bot system message after it
        try:
            for c in (alice, bob):
                await c.wait(lambda f: f.get("type") == "message" and f.get("seq") == seq, start_a if c is alice else start_b)
                await c.wait(lambda f: f.get("type") == "message" and f.get("kind") == "system"
                             and (f.get("seq") or 0) > seq, start_a if c is alice else start_b)
            both = True
        except AssertionError as e:
            both = str(e)
        check(f"  both parties get '{text}' as a public message (kind command) and a bot system message after it",
              both is True, str(both))
        cmd_msg = next((f for f in alice.frames[start_a:] if f.get("type") == "message" and f.get("seq") == seq), {})
        check(f"  the stored line carries author={who.name}, client_id={cid}, kind=command, private=false",
              cmd_msg.get("author") == who.name and cmd_msg.get("client_id") == cid
              and cmd_msg.get("kind") == "command" and cmd_msg.get("private") is False
              and cmd_msg.get("text") == text, str(cmd_msg))
        # state is pushed after every change
        try:
            await alice.wait(lambda f: f.get("type") == "state"
                             and (milestone(f, "M1") or {}).get("state") == expected_state, start_a)
            await bob.wait(lambda f: f.get("type") == "state"
                           and (milestone(f, "M1") or {}).get("state") == expected_state, start_b)
            ok = True
        except AssertionError as e:
            ok = str(e)
        check(f"  both get a state frame with M1 {expected_state}", ok is True, str(ok))

    # A `state` frame may overtake the system message it follows; wait for the last one on both sides.
    for c, mark in ((alice, start_a), (bob, start_b)):
        await c.wait(lambda f: f.get("type") == "message" and f.get("kind") == "system"
                     and "paid to the freelancer" in (f.get("text") or ""), mark)
    sys_a = [(m["seq"], m["text"]) for m in alice.live_messages(T, start_a) if m.get("kind") == "system"]
    sys_b = [(m["seq"], m["text"]) for m in bob.live_messages(T, start_b) if m.get("kind") == "system"]
    check("alice and bob saw the same bot system messages, in strictly increasing seq order",
          len(sys_a) >= 3 and sys_a == sys_b and [s for s, _ in sys_a] == sorted({s for s, _ in sys_a}),
          f"alice {sys_a} / bob {sys_b}")
    for c in (alice, bob):
        seqs = [m["seq"] for m in c.live_messages(T)]
        check(f"{c.name}'s live message/notice frames arrive in strictly increasing seq order, each once",
              seqs == sorted(set(seqs)), str(seqs))
    st_final = alice.last_state(T)
    m1 = milestone(st_final, "M1") or {}
    check("after release: M1 released=50000, held=0; contract held=0",
          m1.get("released") == 50000 and m1.get("held") == 0 and st_final.get("held") == 0, f"{m1} held={st_final.get('held')}")

    # ---- a refused command: private to bob
    start_a, start_b = alice.mark(), bob.mark()
    rej = await bob.say(T, "b-release-1", "/release M1")
    check("bob '/release M1' acked with outcome=rejected, duplicate=false",
          rej.get("outcome") == "rejected" and rej.get("duplicate") is False and isinstance(rej.get("seq"), int),
          str(rej))
    rseq = rej.get("seq") or 0
    try:
        own = await bob.wait(lambda f: f.get("type") == "notice" and f.get("seq") == rseq, start_b)
        why = await bob.wait(lambda f: f.get("type") == "notice" and f.get("kind") == "notice"
                             and (f.get("seq") or 0) > rseq, start_b)
        ok = (own.get("private") is True and own.get("kind") == "command" and own.get("author") == "bob"
              and own.get("client_id") == "b-release-1" and why.get("private") is True
              and why.get("author") is None and isinstance(why.get("text"), str) and why["text"])
        detail = f"{own} / {why}"
    except AssertionError as e:
        ok, detail, why = False, str(e), {}
    check("bob gets his refused line and the bot's answer as private notices (private=true)", ok, detail)
    # barrier: alice posts a line; everything before it in the thread would have reached her first
    bar = await alice.say(T, "a-barrier-1", "ok, thanks")
    await alice.wait(lambda f: f.get("type") == "message" and f.get("client_id") == "a-barrier-1", start_a)
    await bob.wait(lambda f: f.get("type") == "message" and f.get("client_id") == "a-barrier-1", start_b)
    leaked = [f for f in alice.frames[start_a:]
              if f.get("type") in MESSAGE_TYPES and rseq <= (f.get("seq") or 0) < (bar.get("seq") or 0)]
    leaked += [f for f in alice.frames[start_a:] if f.get("type") == "ack" and f.get("id") == "b-release-1"]
    check("alice sees nothing of bob's refused command (no frame with its seqs)", not leaked, str(leaked))
    check("the seqs of bob's private notices lie between his line and alice's next line (no gap in the thread)",
          bar.get("seq") == (why.get("seq") or 0) + 1 if why else False, f"notice {why.get('seq') if why else None}, next {bar.get('seq')}")
    st, _, body = H.http_json(port, "GET", f"/api/contracts/{T}/messages?after={rseq - 1}",
                            headers={"Authorization": f"Bearer {tok['alice']}"})
    http_seqs = [m.get("seq") for m in (body or {}).get("messages", [])] if isinstance(body, dict) else None
    check("GET /api/contracts/demo/messages as alice does not include bob's private notices either",
          st == 200 and http_seqs is not None and all(s not in (rseq, why.get("seq")) for s in http_seqs)
          and bar.get("seq") in http_seqs, f"{st} {http_seqs}")

    # ---- duplicates
    start_a, start_b = alice.mark(), bob.mark()
    dup = await bob.say(T, "b-release-1", "/release M1")
    check("resending bob's refused id: duplicate=true, same seq, same outcome",
          dup.get("duplicate") is True and dup.get("seq") == rseq and dup.get("outcome") == "rejected", str(dup))
    dup2 = await alice.say(T, "a-fund-1", "/fund M1")
    check("resending alice's '/fund M1' id: duplicate=true, same seq, outcome applied",
          dup2.get("duplicate") is True and dup2.get("seq") == acks["a-fund-1"].get("seq")
          and dup2.get("outcome") == "applied", str(dup2))
    bar2 = await alice.say(T, "a-barrier-2", "still here")
    # The ack and the message of one's own line may arrive in either order (PROTOCOL.md): wait for both.
    await alice.wait(lambda f: f.get("type") == "message" and f.get("client_id") == "a-barrier-2", start_a)
    await bob.wait(lambda f: f.get("type") == "message" and f.get("client_id") == "a-barrier-2", start_b)
    news_a = [m["seq"] for m in alice.live_messages(T, start_a)]
    news_b = [m["seq"] for m in bob.live_messages(T, start_b)]
    check("a duplicate stores and delivers nothing new (next stored line is the very next seq)",
          news_a == [bar2.get("seq")] and news_b == [bar2.get("seq")] and bar2.get("seq") == bar.get("seq") + 1,
          f"alice {news_a} bob {news_b} barrier2 {bar2.get('seq')} barrier1 {bar.get('seq')}")
    check("nothing ran twice: M1 still released once, contract holds 0",
          (milestone(alice.last_state(T), "M1") or {}).get("released") == 50000
          and alice.last_state(T).get("held") == 0, str(milestone(alice.last_state(T), "M1")))

    # ---- reconnect with join + after
    last_b = bob.max_seq(T)
    await bob.close()
    a_mark = alice.mark()
    missed_acks = [await alice.say(T, "a-missed-1", "bob, are you there?"),
                   await alice.say(T, "a-fund-2", "/fund M2"),
                   await alice.say(T, "a-missed-2", "funded M2")]
    check("while bob is away alice's lines are acked (chat, applied, chat)",
          [a.get("outcome") for a in missed_acks] == ["chat", "applied", "chat"], str(missed_acks))
    await alice.wait(lambda f: f.get("type") == "message" and f.get("client_id") == "a-missed-2", a_mark)
    missed_expected = [m["seq"] for m in alice.live_messages(T, a_mark)]
    bob2 = Client("bob2")
    await bob2.connect(ws_url, tok["bob"])
    jr = await bob2.join(T, after=last_b)
    await bob2.quiet()
    got_types = [f.get("type") for f in jr]
    got_seqs = [f.get("seq") for f in jr if f.get("type") in MESSAGE_TYPES]
    check("join with after: missed messages first as message/notice frames (no history frame), then joined, then state",
          "history" not in got_types and got_types[-2:] == ["joined", "state"]
          and all(t in MESSAGE_TYPES for t in got_types[:-2]), str(got_types))
    check("join with after delivers exactly the missed messages, in order",
          got_seqs == missed_expected and all(s > last_b for s in got_seqs),
          f"after={last_b}: got {got_seqs}, alice saw {missed_expected}")
    extra = [f for f in bob2.frames if f.get("type") in MESSAGE_TYPES and f.get("seq") not in missed_expected]
    check("... and no duplicates or extras after the join", not extra and len(got_seqs) == len(set(got_seqs)), str(extra))
    joined_r = next((f for f in jr if f.get("type") == "joined"), {})
    check("joined.last_seq after the resume equals the newest seq", joined_r.get("last_seq") == max(missed_expected),
          f"{joined_r} vs {max(missed_expected)}")
    st, _, body = H.http_json(port, "GET", f"/api/contracts/{T}/messages?after={last_b}",
                            headers={"Authorization": f"Bearer {tok['bob']}"})
    http_seqs = [m.get("seq") for m in body.get("messages", [])] if isinstance(body, dict) else None
    check("GET /api/contracts/demo/messages?after= as bob lists the same missed seqs, with last_seq",
          st == 200 and http_seqs == missed_expected and body.get("thread") == T
          and body.get("last_seq") == max(missed_expected), f"{st} {body if not isinstance(body, dict) else http_seqs} last_seq={(body or {}).get('last_seq') if isinstance(body, dict) else None}")
    # live delivery continues on the resumed connection
    m = bob2.mark()
    await alice.say(T, "a-live-1", "welcome back")
    try:
        await bob2.wait(lambda f: f.get("type") == "message" and f.get("client_id") == "a-live-1", m)
        ok = True
    except AssertionError as e:
        ok = str(e)
    check("after the resume, live messages flow again", ok is True, str(ok))

    # ---- history request
    m = alice.mark()
    await alice.send_frame({"type": "history", "thread": T, "before": 4, "limit": 2})
    try:
        h = await alice.wait(lambda f: f.get("type") == "history", m)
        ok = [x.get("seq") for x in h.get("messages", [])] == [2, 3] and h.get("has_more") is True
        detail = str({k: v for k, v in h.items() if k != "messages"}) + str([x.get("seq") for x in h.get("messages", [])])
    except AssertionError as e:
        ok, detail = False, str(e)
    check("history before=4 limit=2: seqs [2, 3], has_more=true", ok, detail)

    # ---- the frame errors
    c = Client("errs")
    await c.connect(ws_url, tok["alice"])
    bad_frames = [("not JSON", "this is not json"),
                  ("unknown type", json.dumps({"type": "shout", "thread": T})),
                  ("missing field (join without thread)", json.dumps({"type": "join"})),
                  ("mistyped field (thread is a number)", json.dumps({"type": "join", "thread": 42})),
                  ("JSON that is not an object", json.dumps([1, 2, 3]))]
    for label, raw in bad_frames:
        m = c.mark()
        await c.send_frame(raw)
        try:
            err = await c.wait(lambda f: f.get("type") == "error", m)
            ok = err.get("code") == "bad_request" and isinstance(err.get("message"), str)
            detail = str(err)
        except AssertionError as e:
            ok, detail = False, str(e)
        check(f"malformed frame ({label}) gets error code=bad_request with a message", ok, detail)
    check("the connection stays open after bad_request frames", not c.closed, f"closed with {c.close_code}")
    m = c.mark()
    await c.send_frame({"type": "send", "thread": T, "id": "e-1", "text": "hi"})
    try:
        err = await c.wait(lambda f: f.get("type") in ("error", "ack"), m)
        ok = err.get("type") == "error" and err.get("code") == "not_joined" and err.get("thread") == T and err.get("id") == "e-1"
        detail = str(err)
    except AssertionError as e:
        ok, detail = False, str(e)
    check("send before join: error not_joined with thread and id", ok, detail)
    m = c.mark()
    await c.send_frame({"type": "join", "thread": "no-such-thread"})
    try:
        err = await c.wait(lambda f: f.get("type") in ("error", "joined"), m)
        ok = err.get("type") == "error" and err.get("code") == "unknown_thread" and err.get("thread") == "no-such-thread"
        detail = str(err)
    except AssertionError as e:
        ok, detail = False, str(e)
    check("join of an unknown thread: error unknown_thread with thread", ok, detail)
    await c.join(T)
    m = c.mark()
    await c.send_frame({"type": "send", "thread": T, "id": "e-2", "text": ""})
    try:
        err = await c.wait(lambda f: f.get("type") in ("error", "ack"), m)
        ok = err.get("type") == "error" and err.get("code") == "invalid_message" and err.get("id") == "e-2"
        detail = str(err)
    except AssertionError as e:
        ok, detail = False, str(e)
    check("empty text: error invalid_message with id", ok, detail)
    m = c.mark()
    await c.send_frame({"type": "send", "thread": T, "text": "no id here"})
    try:
        err = await c.wait(lambda f: f.get("type") in ("error", "ack"), m)
        note(f"send without id is answered with {err.get('type')} code={err.get('code')!r} "
             "(the doc lists a missing id under both bad_request and invalid_id)")
    except AssertionError as e:
        note(f"send without id: no answer ({e})")
    await c.close()

    for label, payload, want in [
            ("a frame larger than max_frame_bytes", json.dumps({"type": "join", "thread": T, "pad": "x" * 20000}), 1009),
            ("a text frame that is not valid UTF-8", b'{"type":"join","thread":"\xff"}', 1007)]:
        c = Client("close")
        await c.connect(ws_url, tok["alice"])
        if isinstance(payload, bytes):
            await c.ws.send(payload, text=True)
        else:
            await c.send_frame(payload)
        try:
            await asyncio.wait_for(c._reader, TIMEOUT)
        except asyncio.TimeoutError:
            pass
        check(f"{label} closes the connection with code {want}", c.closed and c.close_code == want,
              f"closed={c.closed} code={c.close_code}")
        await c.close()

    # ---- browser ticket flow
    st, _, body = H.http_json(port, "POST", "/api/ws-ticket", headers={"Authorization": f"Bearer {tok['bob']}"})
    ticket = body.get("ticket") if isinstance(body, dict) else None
    check("POST /api/ws-ticket with the bearer header answers 2xx {ticket, expires_in}",
          200 <= st < 300 and isinstance(ticket, str) and ticket and isinstance(body.get("expires_in"), (int, float)),
          f"{st} {body}")
    if st != 200:
        note(f"POST /api/ws-ticket answered {st}")
    tc = Client("ticket")
    try:
        hello_t = await tc.connect(f"{ws_url}?ticket={ticket}")
        jt = await tc.join(T)
        ok = hello_t.get("user") == "bob" and any(f.get("type") == "joined" and f.get("role") == "freelancer" for f in jt)
        detail = str(hello_t)
    except Exception as e:
        ok, detail = False, repr(e)
    check("GET /ws?ticket=<ticket> without a header connects as bob and can join", ok, detail)
    await tc.close()
    await handshake_refusal(port, "the same ticket a second time", f"/ws?ticket={ticket}", None, 4401, "bad_ticket")
    await handshake_refusal(port, "a made-up ticket", "/ws?ticket=made-up-ticket", None, 4401, "bad_ticket")
    st4, _, body4 = H.http_json(port, "POST", "/api/ws-ticket")
    check("POST /api/ws-ticket without a token is refused with 401 and a JSON error body",
          st4 == 401 and is_error_body(body4), f"{st4} {body4}")

    # ---- contracts API
    cid = "proto-" + secrets.token_hex(4)
    payload = {"id": cid, "title": "Protocol test", "buyer": "alice", "freelancer": "zed", "currency": "USD",
               "preset": "indeelancer",
               # A due date in the future whenever this runs (a fixed one expired on 2026-12-02).
               "milestones": [{"amount": "500.00", "description": "Logo",
                               "due": (datetime.date.today() + datetime.timedelta(days=60)).isoformat()},
                              {"amount": "1,250.50", "description": "Site"}]}
    st, _, body = H.http_json(port, "POST", "/api/contracts", payload, {"X-Api-Key": srv.api_key})
    check("POST /api/contracts with X-Api-Key answers 201 {thread, title, preset, phase, websocket, milestones}",
          st == 201 and isinstance(body, dict) and body.get("thread") == cid and body.get("title") == "Protocol test"
          and body.get("preset") == "indeelancer" and isinstance(body.get("phase"), str)
          and isinstance(body.get("websocket"), str) and body.get("milestones") == ["M1", "M2"], f"{st} {body}")
    wsu = body.get("websocket") if isinstance(body, dict) else None
    check("the `websocket` address in that answer points at the running server",
          isinstance(wsu, str) and re.match(rf"^wss?://[^/]+:{port}/ws", wsu) is not None, f"websocket={wsu!r}")
    st, _, body = H.http_json(port, "POST", "/api/contracts", payload, {"X-Api-Key": srv.api_key})
    check("the same id again answers 409 contract_exists", st == 409 and is_error_body(body, "contract_exists"),
          f"{st} {body}")
    st, _, body = H.http_json(port, "POST", "/api/contracts", dict(payload, id=cid + "-x"), {"X-Api-Key": "wrong"})
    check("a wrong X-Api-Key is refused (4xx, bad_api_key)", 400 <= st < 500 and is_error_body(body, "bad_api_key"),
          f"{st} {body}")
    note(f"wrong X-Api-Key answered HTTP {st}")
    st, _, body = H.http_json(port, "POST", "/api/contracts", dict(payload, id=cid + "-y"),
                            {"Authorization": f"Bearer {tok['alice']}"})
    check("a user's bearer token cannot create contracts (refused, JSON error body)",
          400 <= st < 500 and is_error_body(body), f"{st} {body}")
    note(f"POST /api/contracts with a bearer token and no key answered HTTP {st} {body}")
    st, _, body = H.http_json(port, "POST", "/api/contracts", dict(payload, id=cid + "-z", currency="DOGE"),
                            {"X-Api-Key": srv.api_key})
    check("an unknown currency is refused with 400 bad_currency", st == 400 and is_error_body(body, "bad_currency"),
          f"{st} {body}")

    st, _, body = H.http_json(port, "GET", "/api/threads", headers={"Authorization": f"Bearer {tok['alice']}"})
    threads = body.get("threads") if isinstance(body, dict) else None
    entry = next((t for t in threads or [] if t.get("thread") == cid), None)
    check("GET /api/threads lists the new contract for its buyer (role buyer, buyer/freelancer, last_seq)",
          st == 200 and entry is not None and entry.get("role") == "buyer" and entry.get("buyer") == "alice"
          and entry.get("freelancer") == "zed" and entry.get("title") == "Protocol test"
          and entry.get("preset") == "indeelancer" and isinstance(entry.get("phase"), str)
          and isinstance(entry.get("last_seq"), int), f"{st} {entry or body}")
    check("GET /api/threads for alice also lists demo", any(t.get("thread") == T for t in threads or []), str(threads))
    st, _, body = H.http_json(port, "GET", "/api/threads", headers={"Authorization": f"Bearer {tok['bob']}"})
    check("GET /api/threads for bob (not a party) does not list it",
          st == 200 and isinstance(body, dict) and all(t.get("thread") != cid for t in body.get("threads", [])),
          f"{st} {body}")
    st, _, body = H.http_json(port, "GET", "/api/threads", headers={"Authorization": f"Bearer {tok['mia']}"})
    check("GET /api/threads for the moderator lists it (all contracts)",
          st == 200 and isinstance(body, dict) and any(t.get("thread") == cid for t in body.get("threads", [])),
          f"{st} {body}")
    st, _, body = H.http_json(port, "GET", f"/api/contracts/{cid}", headers={"Authorization": f"Bearer {tok['alice']}"})
    m1 = milestone(body if isinstance(body, dict) else {}, "M1") or {}
    m2 = milestone(body if isinstance(body, dict) else {}, "M2") or {}
    check("GET /api/contracts/{id} gives the state: M1 50000, M2 125050 (amounts typed '500.00', '1,250.50')",
          st == 200 and m1.get("amount") == 50000 and m2.get("amount") == 125050 and body.get("role") == "buyer",
          f"{st} {str(body)[:300]}")
    if isinstance(body, dict):
        note(f"GET /api/contracts/{{id}}: type={body.get('type')!r}, M1 due={m1.get('due')!r}")
    st, _, body = H.http_json(port, "GET", f"/api/contracts/{cid}", headers={"Authorization": f"Bearer {tok['bob']}"})
    check("GET /api/contracts/{id} for a non-party is refused with not_member", is_error_body(body, "not_member"),
          f"{st} {body}")
    note(f"non-party GET /api/contracts/{{id}} answered HTTP {st}")
    st, _, body = H.http_json(port, "GET", "/api/contracts/no-such", headers={"Authorization": f"Bearer {tok['alice']}"})
    check("GET /api/contracts/{unknown} is refused with unknown_thread", is_error_body(body, "unknown_thread"),
          f"{st} {body}")
    note(f"unknown GET /api/contracts/{{id}} answered HTTP {st}")
    nb = Client("bob-nonmember")
    await nb.connect(ws_url, tok["bob"])
    m = nb.mark()
    await nb.send_frame({"type": "join", "thread": cid})
    try:
        err = await nb.wait(lambda f: f.get("type") in ("error", "joined"), m)
        ok, detail = err.get("type") == "error" and err.get("code") == "not_member", str(err)
    except AssertionError as e:
        ok, detail = False, str(e)
    check("bob joining the new contract over WebSocket gets error not_member", ok, detail)
    await nb.close()

    # ---- moderators see private notices
    mia = Client("mia")
    hello_m = await mia.connect(ws_url, tok["mia"])
    jm = await mia.join(T)
    seen = {m.get("seq"): m for m in mia.messages(T)}
    check("the moderator: hello moderator=true, joined role=moderator, sees bob's private notices in history",
          hello_m.get("moderator") is True
          and any(f.get("type") == "joined" and f.get("role") == "moderator" for f in jm)
          and rseq in seen and seen[rseq].get("private") is True, f"{hello_m} {[f.get('type') for f in jm]}")
    await mia.close()

    # ---- bad tokens at the handshake
    await handshake_refusal(port, "a malformed token (Bearer not-a-jwt)", "/ws",
                            {"Authorization": "Bearer not-a-jwt"}, 4401, "bad_token")
    forged = tok["alice"][:-4] + ("AAAA" if not tok["alice"].endswith("AAAA") else "BBBB")
    await handshake_refusal(port, "a wrongly signed token", "/ws", {"Authorization": f"Bearer {forged}"}, 4401, "bad_token")
    await handshake_refusal(port, "no token at all", "/ws", None, 4401, "unauthenticated")
    await handshake_refusal(port, "a good token from a foreign browser Origin", "/ws",
                            {"Authorization": f"Bearer {tok['alice']}", "Origin": "https://evil.example"},
                            4403, "origin_not_allowed")
    st, _, body = H.http_json(port, "GET", "/api/threads", headers={"Authorization": "Bearer not-a-jwt"})
    check("GET /api/threads with a bad token: 401 bad_token", st == 401 and is_error_body(body, "bad_token"),
          f"{st} {body}")

    await alice.close()
    await bob2.close()


# --------------------------------------------------------------------------- tokens, auth, tickets, limits, headers


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def try_say(c, thread, cid, text):
    """Like Client.say, but a missing ack is returned as {"_failed": reason} instead of raised."""
    try:
        return await c.say(thread, cid, text)
    except AssertionError as e:
        return {"_failed": str(e)}


async def answer_to(c, start, types=("authenticated", "error")):
    """The first frame of one of `types` at index >= start, or {"_failed": reason}."""
    try:
        return await c.wait(lambda f: f.get("type") in types, start)
    except AssertionError as e:
        return {"_failed": str(e)}


async def run_session_checks(srv):
    port = srv.port
    ws_url = f"ws://127.0.0.1:{port}/ws"
    T = "demo"
    key = srv.secret

    # ---- hello: token_expires_at (and the other hello fields of section 2)
    demo_exp = token_payload(srv.tokens["alice"]).get("exp")
    c = Client("alice-hello")
    hello = await c.connect(ws_url, srv.tokens["alice"])
    await c.close()
    check("hello carries message_burst and flood_strikes_before_close (integers) and token_expires_at (ISO ms Z)",
          isinstance(hello.get("message_burst"), int) and isinstance(hello.get("flood_strikes_before_close"), int)
          and isinstance(hello.get("token_expires_at"), str) and ISO_MS.match(hello["token_expires_at"]) is not None,
          str(hello))
    check("hello.token_expires_at for the demo token is that token's exp, to the second",
          isinstance(demo_exp, (int, float)) and same_second(hello.get("token_expires_at"), int(demo_exp)),
          f"{hello.get('token_expires_at')} vs exp {demo_exp}")

    c0 = claims("alice", "buyer", 120)
    a = Client("alice-auth")
    hello = await a.connect(ws_url, sign_jwt(key, c0))
    check("a token minted with auth.signing_secret (HS256, sub/role/aud/iat/exp) opens a WebSocket as alice",
          hello.get("type") == "hello" and hello.get("user") == "alice" and hello.get("moderator") is False, str(hello))
    check("hello.token_expires_at equals the minted token's exp, to the second",
          same_second(hello.get("token_expires_at"), c0["exp"]), f"{hello.get('token_expires_at')} vs exp {c0['exp']}")
    await a.join(T)

    # ---- the auth envelope
    c1 = claims("alice", "buyer", 900)
    m = a.mark()
    await a.send_frame({"type": "auth", "token": sign_jwt(key, c1)})
    r = await answer_to(a, m)
    check("auth with a fresh token for the same user and role: authenticated {user alice, expires_at = its exp}",
          r.get("type") == "authenticated" and r.get("user") == "alice"
          and isinstance(r.get("expires_at"), str) and ISO_MS.match(r["expires_at"]) is not None
          and same_second(r.get("expires_at"), c1["exp"]), f"{r} vs exp {c1['exp']}")
    now = int(time.time())
    refused = [
        ("a token for another user (bob)", sign_jwt(key, claims("bob", "freelancer", 900))),
        ("garbage", "garbage"),
        ("a token for alice with another role (moderator)", sign_jwt(key, claims("alice", "moderator", 900))),
        ("an expired token for alice", sign_jwt(key, claims("alice", "buyer", iat=now - 120, exp=now - 60))),
        ("a token for alice signed with another secret", sign_jwt("not-the-secret-" * 4, claims("alice", "buyer", 900))),
        ("a token for alice whose header says alg none", sign_jwt(key, claims("alice", "buyer", 900),
                                                               {"alg": "none", "typ": "JWT"})),
    ]
    for label, t in refused:
        m = a.mark()
        await a.send_frame({"type": "auth", "token": t})
        r = await answer_to(a, m)
        check(f"auth with {label}: error bad_token with a message",
              r.get("type") == "error" and r.get("code") == "bad_token" and isinstance(r.get("message"), str)
              and r["message"] != "", str(r))
    check("the connection stays open after refused auth envelopes", not a.closed, f"closed with {a.close_code}")
    ack = await try_say(a, T, "auth-after-refusals-" + secrets.token_hex(3), "still here after refused tokens")
    check("... and a send afterwards is acked", ack.get("type") == "ack" and isinstance(ack.get("seq"), int), str(ack))
    await a.close()

    # ---- token expiry on an open WebSocket (three timed scenarios run side by side, ~5 s)
    async def expires_on_its_own():
        now = int(time.time())
        cl = claims("alice", "buyer", iat=now, exp=now + 3)
        c = Client("alice-3s")
        out = {"exp": cl["exp"], "hello": await c.connect(ws_url, sign_jwt(key, cl))}
        # A refused auth (another user's long-lived token) must not extend it: it keeps its old token.
        m = c.mark()
        await c.send_frame({"type": "auth", "token": sign_jwt(key, claims("bob", "freelancer", 900))})
        out["refused"] = await answer_to(c, m)
        try:
            err = await c.wait(lambda f: f.get("type") == "error" and f.get("code") == "token_expired", m,
                               timeout=cl["exp"] - time.time() + 5)
            out["err"], out["at"] = err, time.time()
        except AssertionError as e:
            out["err"], out["at"] = {"_failed": str(e)}, None
        try:
            await asyncio.wait_for(asyncio.shield(c._reader), TIMEOUT)
        except asyncio.TimeoutError:
            pass
        out["closed"], out["code"] = c.closed, c.close_code
        idx = next((i for i, f in enumerate(c.frames) if f is out["err"]), None)
        out["after"] = c.frames[idx + 1:] if idx is not None else []
        await c.close()
        return out

    async def refreshed_in_time():
        now = int(time.time())
        cl = claims("alice", "buyer", iat=now, exp=now + 3)
        c = Client("alice-refresh")
        out = {"exp": cl["exp"]}
        await c.connect(ws_url, sign_jwt(key, cl))
        await c.join(T)
        fresh = claims("alice", "buyer", 600)
        m = c.mark()
        await c.send_frame({"type": "auth", "token": sign_jwt(key, fresh)})
        out["auth"], out["fresh_exp"] = await answer_to(c, m), fresh["exp"]
        await asyncio.sleep(max(0.0, cl["exp"] + 1.5 - time.time()))
        out["open_after_exp"] = not c.closed
        out["ack"] = await try_say(c, T, "refresh-" + secrets.token_hex(3), "still here after the first token's exp")
        out["expired_frames"] = [f for f in c.frames if f.get("code") == "token_expired"]
        await c.close()
        return out

    async def ticket_outlived_by_its_token():
        now = int(time.time())
        cl = claims("bob", "freelancer", iat=now, exp=now + 2)
        st, _, body = H.http_json(port, "POST", "/api/ws-ticket", headers=bearer(sign_jwt(key, cl)))
        await asyncio.sleep(max(0.0, cl["exp"] + 1 - time.time()))
        return {"exp": cl["exp"], "status": st, "body": body}

    e, rf, tk = await asyncio.gather(expires_on_its_own(), refreshed_in_time(), ticket_outlived_by_its_token())
    check("a 3-second token: hello.token_expires_at is its exp",
          same_second(e["hello"].get("token_expires_at"), e["exp"]), f"{e['hello']} vs exp {e['exp']}")
    check("  auth with another user's long-lived token on it: error bad_token",
          e["refused"].get("type") == "error" and e["refused"].get("code") == "bad_token", str(e["refused"]))
    at = e.get("at")
    check("  at the token's exp the server sends an error with code token_expired (and a message)",
          e["err"].get("type") == "error" and e["err"].get("code") == "token_expired"
          and isinstance(e["err"].get("message"), str) and at is not None and e["exp"] - 0.5 <= at <= e["exp"] + 3,
          f"{e['err']} at exp{'%+.2f' % (at - e['exp']) if at else ' (never)'} s")
    if at is not None:
        note(f"token_expired arrived {at - e['exp']:+.2f} s after the token's exp")
    check("  ... then closes with 4401, nothing else after the error",
          e["closed"] and e["code"] == 4401 and not e["after"], f"closed={e['closed']} code={e['code']} after={e['after']}")
    check("a 3-second token refreshed with auth before its exp: authenticated with the new expires_at",
          rf["auth"].get("type") == "authenticated" and same_second(rf["auth"].get("expires_at"), rf["fresh_exp"]),
          f"{rf['auth']} vs exp {rf['fresh_exp']}")
    check("  the refreshed connection stays open past the first token's exp and a line sent then is acked",
          rf["open_after_exp"] and rf["ack"].get("type") == "ack" and isinstance(rf["ack"].get("seq"), int)
          and not rf["expired_frames"], f"open={rf['open_after_exp']} ack={rf['ack']} expired={rf['expired_frames']}")

    # ---- tickets
    tb = tk["body"] if isinstance(tk["body"], dict) else {}
    check("POST /api/ws-ticket with a 2-second token: 200, expires_in <= 2",
          tk["status"] == 200 and isinstance(tb.get("ticket"), str)
          and isinstance(tb.get("expires_in"), (int, float)) and tb["expires_in"] <= 2, f"{tk['status']} {tk['body']}")
    if isinstance(tb.get("ticket"), str):
        await handshake_refusal(port, "a ticket used after its token's exp (before 30 s)",
                                f"/ws?ticket={urllib.parse.quote(tb['ticket'], safe='')}", None, 4401, "bad_ticket")

    c10 = claims("bob", "freelancer", 10)
    st, _, body = H.http_json(port, "POST", "/api/ws-ticket", headers=bearer(sign_jwt(key, c10)))
    body = body if isinstance(body, dict) else {}
    t10 = body.get("ticket")
    check("POST /api/ws-ticket with a token that has 10 s left: 200 {ticket, expires_in}, 0 < expires_in <= 10",
          st == 200 and isinstance(t10, str) and t10 and isinstance(body.get("expires_in"), (int, float))
          and 0 < body["expires_in"] <= 10, f"{st} {body}")
    st, _, body2 = H.http_json(port, "POST", "/api/ws-ticket", headers=bearer(sign_jwt(key, claims("bob", "freelancer", 3600))))
    body2 = body2 if isinstance(body2, dict) else {}
    check("POST /api/ws-ticket with an hour-long token: expires_in <= 30 (a ticket is valid 30 s)",
          st == 200 and isinstance(body2.get("expires_in"), (int, float)) and 0 < body2["expires_in"] <= 30,
          f"{st} {body2}")
    if isinstance(t10, str):
        q = urllib.parse.quote(t10, safe="")
        tc = Client("bob-ticket")
        try:
            h = await tc.connect(f"{ws_url}?ticket={q}")
            ok, detail = h.get("type") == "hello" and h.get("user") == "bob", str(h)
        except Exception as ex:
            h, ok, detail = {}, False, repr(ex)
        check("the ticket opens /ws?ticket=... as bob", ok, detail)
        check("  hello.token_expires_at on a ticket connection is the exp of the token that bought the ticket",
              same_second(h.get("token_expires_at"), c10["exp"]), f"{h.get('token_expires_at')} vs exp {c10['exp']}")
        await tc.close()
        await handshake_refusal(port, "that ticket a second time", f"/ws?ticket={q}", None, 4401, "bad_ticket")

    st, _, body = H.http_json(port, "POST", "/api/ws-ticket", headers=bearer(sign_jwt(key, claims("bob", "freelancer", 3600))))
    th = body.get("ticket") if isinstance(body, dict) else None
    if check("a fresh ticket for the HTTP checks", st == 200 and isinstance(th, str), f"{st} {body}"):
        q = urllib.parse.quote(th, safe="")
        st, _, body = H.http_json(port, "GET", f"/api/threads?ticket={q}")
        check("GET /api/threads?ticket=<valid ticket> without a bearer header: 401 with a JSON error body",
              st == 401 and is_error_body(body), f"{st} {body}")
        note(f"GET /api/threads?ticket= answered {st} {body}")
        st, _, body = H.http_json(port, "POST", f"/api/ws-ticket?ticket={q}")
        check("POST /api/ws-ticket?ticket=<valid ticket> without a bearer header: 401 (a ticket cannot buy another)",
              st == 401 and is_error_body(body), f"{st} {body}")
        note(f"POST /api/ws-ticket?ticket= answered {st} {body}")
        st, _, body = H.http_json(port, "GET", "/api/threads", headers={"Authorization": f"Bearer {th}"})
        check("a ticket sent as the bearer token on the HTTP API: 401", st == 401 and is_error_body(body), f"{st} {body}")

    # ---- token rules at the handshake (and on the HTTP API)
    now = int(time.time())
    hs256 = lambda cl: sign_jwt(key, cl)  # noqa: E731
    bad_tokens = [
        ("header alg none, HS256-signed", sign_jwt(key, claims("alice", "buyer"), {"alg": "none", "typ": "JWT"})),
        ("header alg HS512, HS256-signed", sign_jwt(key, claims("alice", "buyer"), {"alg": "HS512", "typ": "JWT"})),
        ("header alg RS256, HS256-signed", sign_jwt(key, claims("alice", "buyer"), {"alg": "RS256", "typ": "JWT"})),
        ("nbf 300 s in the future (past the 60 s of skew PROTOCOL.md allows)", hs256(claims("alice", "buyer", nbf=now + 300))),
        ("sub with a NUL", hs256(claims("ali\u0000ce", "buyer"))),
        ("sub with U+202E (bidi override)", hs256(claims("alice\u202egnp.exe", "buyer"))),
        ("sub with U+200B (zero-width space)", hs256(claims("ali\u200bce", "buyer"))),
        ("sub with U+2028 (line separator)", hs256(claims("alice\u2028", "buyer"))),
        ("sub with a newline", hs256(claims("alice\n", "buyer"))),
        ("empty sub", hs256(claims("", "user"))),
        ("sub of 201 bytes", hs256(claims("a" * 201, "user"))),
        ("no sub", hs256(claims(None, "user"))),
        ("no role", hs256(claims("alice", None))),
        ("no aud", hs256(claims("alice", "buyer", aud=None))),
        ("another audience", hs256(claims("alice", "buyer", aud="some-other-service"))),
        ("no exp", hs256(claims("alice", "buyer", exp=None))),
        ("exp as a string", hs256(claims("alice", "buyer", exp=str(now + 600)))),
        ("expired 60 s ago", hs256(claims("alice", "buyer", iat=now - 120, exp=now - 60))),
        ("exp - iat over 86400 s", hs256(claims("alice", "buyer", iat=now, exp=now + 86400 + 600))),
        ("no iat and exp over 86400 s ahead", hs256(claims("alice", "buyer", iat=None, exp=now + 86400 + 600))),
    ]
    http_bad = []
    for label, t in bad_tokens:
        await handshake_refusal(port, f"handshake with a token: {label}", "/ws", bearer(t), 4401, "bad_token")
        st, _, body = H.http_json(port, "GET", "/api/threads", headers=bearer(t))
        if not (st == 401 and is_error_body(body, "bad_token")):
            http_bad.append(f"{label}: {st} {body}")
    check(f"GET /api/threads refuses each of those {len(bad_tokens)} tokens with 401 bad_token", not http_bad,
          "; ".join(http_bad))

    good_subs = [("a sub of exactly 200 bytes (100 x U+00E9)", claims("\u00e9" * 100, "user")),
                 ("sub jos\\u00e9", claims("jos\u00e9", "user")),
                 ("sub jose\\u0301 (another user than jos\\u00e9)", claims("jose\u0301", "user")),
                 ("nbf in the past", claims("alice", "buyer", nbf=now - 10)),
                 ("nbf 30 s ahead (within the 60 s of skew)", claims("alice", "buyer", nbf=now + 30)),
                 ("no iat, exp 60 s ahead", claims("alice", "buyer", iat=None, exp=now + 60))]
    for label, cl in good_subs:
        c = Client("good-token")
        try:
            h = await c.connect(ws_url, sign_jwt(key, cl))
            ok, detail = h.get("type") == "hello" and h.get("user") == cl["sub"], str(h)
        except Exception as ex:
            ok, detail = False, repr(ex)
        check(f"a token with {label} is accepted; hello.user is the sub byte for byte", ok, detail)
        await c.close()

    # ---- rate limiting covers every envelope type
    b = Client("alice-burst")
    hello = await b.connect(ws_url, sign_jwt(key, claims("alice", "buyer", 600)))
    await b.join(T)
    burst, strikes = hello.get("message_burst"), hello.get("flood_strikes_before_close")
    if isinstance(burst, int) and isinstance(strikes, int) and strikes > 1:
        extra = min(strikes - 1, 2 * burst)  # fewer refusals than would close the connection as flooding
        n = burst + extra
        m = b.mark()
        for _ in range(n):
            await b.send_frame({"type": "history", "thread": T, "limit": 1})
        deadline = time.monotonic() + 10
        answers = []
        while time.monotonic() < deadline and not b.closed:
            answers = [f for f in b.frames[m:] if f.get("type") in ("history", "error")]
            if len(answers) >= n:
                break
            await asyncio.sleep(0.05)
        limited = [f for f in answers if f.get("type") == "error" and f.get("code") == "rate_limited"]
        check(f"a burst of {n} history envelopes (message_burst {burst}): each answered once, some with rate_limited",
              len(answers) == n and limited and all(f.get("type") == "history" or f.get("code") == "rate_limited"
                                                    for f in answers),
              f"{len(answers)} answers, {len(limited)} rate_limited, others "
              f"{[f for f in answers if f.get('type') == 'error' and f.get('code') != 'rate_limited'][:2]}")
        note(f"history burst of {n}: {n - len(limited)} pages, {len(limited)} rate_limited")
        check("  the rate_limited errors name the thread of the refused history envelope",
              limited and all(f.get("thread") == T for f in limited), str(limited[:1]))
        check("  fewer refusals than flood_strikes_before_close: the connection stays open", not b.closed,
              f"closed with {b.close_code}")
        await asyncio.sleep(1.0)
        ack = await try_say(b, T, "after-burst-" + secrets.token_hex(3), "after the burst")
        check("  after a second's pause a send is acked again", ack.get("type") == "ack", str(ack))

        lv = Client("alice-leave-burst")
        await lv.connect(ws_url, sign_jwt(key, claims("alice", "buyer", 600)))
        m = lv.mark()
        for _ in range(n):
            await lv.send_frame({"type": "leave", "thread": T})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not lv.closed:
            if any(f.get("code") == "rate_limited" for f in lv.frames[m:]):
                break
            await asyncio.sleep(0.05)
        await lv.quiet(0.3)
        limited = [f for f in lv.frames[m:] if f.get("code") == "rate_limited"]
        others = [f for f in lv.frames[m:] if f.get("code") != "rate_limited"]
        check(f"a burst of {n} leave envelopes (no reply normally) gets rate_limited errors too", limited and not lv.closed,
              f"{len(limited)} rate_limited, closed={lv.closed} code={lv.close_code}")
        if others:
            note(f"leave of a thread not joined was answered: {others[:2]} ({len(others)} frames)")
        await lv.close()
    else:
        check("hello gives message_burst and flood_strikes_before_close to size a burst", False, str(hello))
    await b.close()

    # ---- HTTP security headers (section 3)
    def nosniff(h):
        return any(v.strip().lower() == "nosniff" for v in h.all("x-content-type-options"))

    def frame_ancestors_none(h):
        return any("frame-ancestors 'none'" in v for v in h.all("content-security-policy"))

    def no_store(h):
        return any("no-store" in v.lower() for v in h.all("cache-control"))

    st, h, raw = H.http(port, "GET", "/")
    check("GET / : 200, Content-Security-Policy with frame-ancestors 'none', X-Content-Type-Options: nosniff",
          st == 200 and frame_ancestors_none(h) and nosniff(h), f"{st} {h}")
    mia = bearer(srv.tokens["mia"])
    for method, path, hdrs in [("GET", "/health", None), ("GET", "/api/threads", bearer(srv.tokens["alice"])),
                               ("GET", "/api/threads", None), ("GET", f"/api/contracts/{T}", mia),
                               ("GET", f"/api/contracts/{T}/messages", mia), ("GET", "/api/verify", mia),
                               ("POST", "/api/ws-ticket", mia), ("GET", "/ws", None), ("GET", "/no-such-page", None)]:
        st, h, raw = H.http(port, method, path, headers=hdrs)
        api = path.startswith("/api/")
        who = "no auth" if hdrs is None else "bearer"
        check(f"{method} {path} ({who}, {st}): nosniff, CSP frame-ancestors 'none'{', Cache-Control: no-store' if api else ''}",
              nosniff(h) and frame_ancestors_none(h) and (no_store(h) or not api), f"{h}")

    st, h, raw = H.http(port, "GET", f"/api/contracts/{T}/transcript?format=html", headers=mia)
    csps = h.all("content-security-policy")
    check("the HTML transcript (moderator): 200 text/html, a Content-Security-Policy starting with sandbox",
          st == 200 and any("text/html" in v for v in h.all("content-type"))
          and any(v.strip().startswith("sandbox") for v in csps), f"{st} {h}")

    def directives(policy):
        return {" ".join(d.split()) for d in policy.split(";") if d.strip()}

    want = {"sandbox", "default-src 'none'", "style-src 'unsafe-inline'"}
    check("  that policy has sandbox; default-src 'none'; style-src 'unsafe-inline'",
          any(want <= directives(v) for v in csps), str(csps))
    note(f"HTML transcript Content-Security-Policy header(s): {csps}")
    check("  ... and nosniff, Cache-Control: no-store", nosniff(h) and no_store(h), str(h))
    text = raw.decode("utf-8", "replace")
    head = re.split(r"(?i)</head>", text, 1)[0] if re.search(r"(?i)</head>", text) else ""
    metas = [html.unescape(mt.group(1) or mt.group(2)) for tag in re.findall(r"(?is)<meta\b[^>]*>", head)
             if re.search(r"(?i)http-equiv\s*=\s*[\"']?content-security-policy", tag)
             for mt in [re.search(r"(?is)content\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", tag)] if mt]
    check("  its <head> carries the same policy in a <meta http-equiv> without sandbox",
          any("default-src 'none'" in p and "sandbox" not in p for p in metas), f"metas {metas}, head {head[:300]!r}")


# --------------------------------------------------------------------------- typing and read markers (section 2)


def frames_of(c, kind, start=0, thread=None):
    """The frames of `kind` (for `thread`, when given) at index >= start."""
    return [f for f in c.frames[start:] if f.get("type") == kind and (thread is None or f.get("thread") == thread)]


async def frame_or_none(c, pred, start, timeout=TIMEOUT):
    """Like Client.wait, but None instead of an AssertionError when nothing comes."""
    try:
        return await c.wait(pred, start, timeout)
    except AssertionError:
        return None


async def run_typing_read_checks(srv):
    """`typing` and `read` (PROTOCOL.md section 2), on a contract of their own so that no other check has moved a
    read marker: alice buyer, bob freelancer, mia the moderator."""
    port = srv.port
    ws_url = f"ws://127.0.0.1:{port}/ws"
    tok = srv.tokens
    T = "proto-tr-" + secrets.token_hex(4)
    st, _, body = H.http_json(port, "POST", "/api/contracts",
                              {"id": T, "title": "Typing and read markers", "buyer": "alice", "freelancer": "bob",
                               "currency": "USD", "preset": "indeelancer",
                               "milestones": [{"amount": "100.00", "description": "Sketch"}]},
                              {"X-Api-Key": srv.api_key})
    if not check("typing/read: a contract of their own (POST /api/contracts, alice buyer, bob freelancer): 201",
                 st == 201, f"{st} {body}"):
        return

    def is_typing(f):
        return f.get("type") == "typing" and f.get("thread") == T

    def is_read(f):
        return f.get("type") == "read" and f.get("thread") == T

    alice, alice2, bob, bob2, mia = (Client("alice-tr"), Client("alice-tr2"), Client("bob-tr"), Client("bob-tr2"),
                                     Client("mia-tr"))
    conns = (alice, alice2, bob, bob2, mia)
    for c, who in zip(conns, ("alice", "alice", "bob", "bob", "mia")):
        await c.connect(ws_url, tok[who])
        await c.join(T)
    joined = next(f for f in alice.frames if f.get("type") == "joined" and f.get("thread") == T)
    last0 = joined.get("last_seq")

    # ---- typing
    marks = {c: c.mark() for c in conns}
    t0 = time.monotonic()
    await alice.send_frame({"type": "typing", "thread": T})
    tf = await frame_or_none(bob, is_typing, marks[bob]) or {}
    check("typing from alice: bob (joined) gets a typing frame {thread, user alice, role buyer}",
          tf.get("user") == "alice" and tf.get("role") == "buyer" and set(tf) >= {"type", "thread", "user", "role"},
          str(tf))
    tf2 = await frame_or_none(bob2, is_typing, marks[bob2]) or {}
    check("  bob's second connection gets it too", tf2.get("user") == "alice" and tf2.get("role") == "buyer", str(tf2))
    tfm = await frame_or_none(mia, is_typing, marks[mia]) or {}
    check("  the moderator joined to the thread gets it too (one of the others in the thread)",
          tfm.get("user") == "alice", str(tfm))
    await alice.quiet()
    check("  alice's own connection gets no typing frame", not frames_of(alice, "typing", marks[alice]),
          str(frames_of(alice, "typing", marks[alice])))
    check("  alice's other connection gets none either (not your own connections)",
          not frames_of(alice2, "typing", marks[alice2]), str(frames_of(alice2, "typing", marks[alice2])))
    check("  typing gets no answer (no error, no ack) on the sending connection",
          not [f for f in alice.frames[marks[alice]:] if f.get("type") in ("error", "ack")],
          str(alice.frames[marks[alice]:]))
    check("  bob gets it once", len(frames_of(bob, "typing", marks[bob])) == 1, str(frames_of(bob, "typing", marks[bob])))

    # A burst in one 2-second window, sent once the first typing's window is over.
    await asyncio.sleep(max(0.0, t0 + 2.6 - time.monotonic()))
    mb, ma = bob.mark(), alice.mark()
    tb = time.monotonic()
    for _ in range(5):
        await alice.send_frame({"type": "typing", "thread": T})
    await asyncio.sleep(max(0.0, tb + 1.5 - time.monotonic()))
    burst = frames_of(bob, "typing", mb)
    check("a burst of 5 typing envelopes within 2 s (the first window over): bob gets exactly one typing frame",
          len(burst) == 1 and burst[0].get("user") == "alice", str(burst))
    check("  the ones passed over are dropped quietly (no error to alice)",
          not [f for f in alice.frames[ma:] if f.get("type") == "error"], str(alice.frames[ma:]))
    await asyncio.sleep(max(0.0, tb + 2.6 - time.monotonic()))
    mb = bob.mark()
    await alice.send_frame({"type": "typing", "thread": T})
    again = await frame_or_none(bob, is_typing, mb)
    check("  2 s after the burst's first, a typing reaches bob again", again is not None and again.get("user") == "alice",
          str(again))

    mb = bob.mark()
    await bob2.send_frame({"type": "typing", "thread": T})
    ta = await frame_or_none(alice2, lambda f: is_typing(f) and f.get("user") == "bob", marks[alice2])
    check("typing from bob's second connection: alice gets {user bob, role freelancer}",
          ta is not None and ta.get("role") == "freelancer", str(ta))
    await bob.quiet()
    check("  bob's other connection (not the sender) gets no typing frame of his own",
          not [f for f in frames_of(bob, "typing", mb) if f.get("user") == "bob"], str(frames_of(bob, "typing", mb)))

    # Nothing is stored and nothing is replayed.
    typed_msgs = [m for c in conns for m in c.live_messages(T, marks[c])]
    check("typing stores nothing: no message or notice frame reached anyone", not typed_msgs, str(typed_msgs[:2]))
    late = Client("bob-tr-late")
    await late.connect(ws_url, tok["bob"])
    jl = await late.join(T)
    await late.quiet()
    jl_joined = next((f for f in jl if f.get("type") == "joined"), {})
    check("  a join after the typing: last_seq unchanged (nothing stored)", jl_joined.get("last_seq") == last0,
          f"before {last0}, now {jl_joined}")
    check("  ... and it gets no typing frame (nothing replayed)", not frames_of(late, "typing"), str(frames_of(late, "typing")))
    st, _, body = H.http_json(port, "GET", f"/api/contracts/{T}/messages", headers=bearer(tok["bob"]))
    check("  GET /api/contracts/{id}/messages: last_seq unchanged",
          st == 200 and isinstance(body, dict) and body.get("last_seq") == last0,
          f"{st} last_seq={(body or {}).get('last_seq') if isinstance(body, dict) else body} vs {last0}")
    await late.close()

    # typing's errors: a missing thread is an invalid envelope; before join it "needs join".
    nj = Client("bob-tr-unjoined")
    await nj.connect(ws_url, tok["bob"])
    m = nj.mark()
    await nj.send_frame({"type": "typing"})
    err = await frame_or_none(nj, lambda f: f.get("type") == "error", m) or {}
    check("typing without thread: error bad_request", err.get("code") == "bad_request", str(err))
    m = nj.mark()
    await nj.send_frame({"type": "typing", "thread": T})
    await nj.quiet()
    answer = nj.frames[m:]
    note(f"typing before join is answered with {answer or 'nothing'} (PROTOCOL.md says it needs join, not how it "
         "is refused)")

    # ---- read: a few lines to read
    said = [await alice.say(T, f"tr-line-{i}-" + secrets.token_hex(3), f"line {i} for bob") for i in (1, 2, 3)]
    check("read: alice posts three chat lines (acked)", all(a.get("outcome") == "chat" for a in said), str(said))
    newest = said[-1].get("seq") or 0
    for c in conns:
        await c.wait(lambda f: f.get("type") == "message" and f.get("seq") == newest, 0)

    # read before join: not_joined
    m = nj.mark()
    await nj.send_frame({"type": "read", "thread": T, "seq": newest})
    err = await frame_or_none(nj, lambda f: f.get("type") in ("error", "read"), m) or {}
    check("read before join: error not_joined with thread", err.get("type") == "error"
          and err.get("code") == "not_joined" and err.get("thread") == T, str(err))
    await nj.close()

    marks = {c: c.mark() for c in conns}
    await bob.send_frame({"type": "read", "thread": T, "seq": newest})
    got = {}
    for c in conns:
        got[c] = await frame_or_none(c, is_read, marks[c]) or {}
    rf = got[alice]
    check("read from bob (newest seq): alice gets a read frame {thread, user bob, role freelancer, seq, at (ISO ms Z)}",
          rf.get("user") == "bob" and rf.get("role") == "freelancer" and rf.get("seq") == newest
          and isinstance(rf.get("at"), str) and ISO_MS.match(rf["at"]) is not None, f"{rf} (newest {newest})")
    at_bob = rf.get("at")
    check("  bob's other connection gets the same read frame",
          got[bob2].get("user") == "bob" and got[bob2].get("seq") == newest and got[bob2].get("at") == at_bob, str(got[bob2]))
    check("  bob's own (sending) connection gets it too (everyone in the thread)",
          got[bob].get("user") == "bob" and got[bob].get("seq") == newest, str(got[bob]))
    check("  alice's second connection and the moderator get it too",
          got[alice2].get("seq") == newest and got[mia].get("seq") == newest, f"{got[alice2]} / {got[mia]}")
    await bob.quiet()
    counts = {c.name: len(frames_of(c, "read", marks[c], T)) for c in conns}
    check("  each connection gets it once", all(n == 1 for n in counts.values()), str(counts))
    check("  a read stores no message (no message/notice frame)",
          not [m for c in conns for m in c.live_messages(T, marks[c])], "")

    # an older seq, and the same seq again: the marker does not move, nothing is sent
    marks = {c: c.mark() for c in conns}
    await bob.send_frame({"type": "read", "thread": T, "seq": newest - 1})
    await bob2.send_frame({"type": "read", "thread": T, "seq": newest})
    await bob.quiet()
    moved = {c.name: c.frames[marks[c]:] for c in conns if c.frames[marks[c]:]}
    check("read with an older seq (and the same seq from bob's other connection): no frame to anyone, no error",
          not moved, str(moved)[:400])

    # invalid seqs
    for label, seq in (("a seq past the thread's newest message", newest + 1), ("seq 0", 0), ("seq -1", -1),
                       ("seq as a string", str(newest)), ("seq 1.5", 1.5), ("no seq", None)):
        m = bob.mark()
        frame = {"type": "read", "thread": T}
        if seq is not None:
            frame["seq"] = seq
        await bob.send_frame(frame)
        err = await frame_or_none(bob, lambda f: f.get("type") in ("error", "read"), m) or {}
        check(f"read with {label}: error bad_request", err.get("type") == "error" and err.get("code") == "bad_request",
              str(err))
        if label.startswith("a seq past") and err.get("thread") != T:
            note(f"the bad_request for a read past the newest seq does not name the thread: {err}")
    await bob.quiet()
    leaked = [f for c in conns if c is not bob for f in frames_of(c, "read", marks[c])]
    check("  none of those moved the marker (no read frame to the others)", not leaked, str(leaked))

    # a moderator's read: no answer, not shown
    marks = {c: c.mark() for c in conns}
    await mia.send_frame({"type": "read", "thread": T, "seq": newest})
    await mia.quiet()
    check("a moderator's read gets no answer (no frame at all on her connection)", not mia.frames[marks[mia]:],
          str(mia.frames[marks[mia]:]))
    shown = [f for c in conns for f in frames_of(c, "read", marks[c])]
    check("  ... and is not shown to anyone (no read frame)", not shown, str(shown))

    # a client that joins afterwards: one read frame per party with a marker, after joined and state
    a3 = Client("alice-tr3")
    await a3.connect(ws_url, tok["alice"])
    ja3 = await a3.join(T)
    await a3.quiet()
    after_state = frames_of(a3, "read", a3.frames.index(ja3[-1]) + 1)
    check("joining afterwards (only bob has a marker): joined, state, then exactly one read frame, bob's",
          not [f for f in ja3 if f.get("type") == "read"] and len(after_state) == 1
          and after_state[0].get("user") == "bob" and after_state[0].get("role") == "freelancer"
          and after_state[0].get("seq") == newest,
          f"join frames {[f.get('type') for f in ja3]}, then {after_state}")
    check("  its at is the time bob's marker moved (as sent live)",
          after_state and after_state[0].get("at") == at_bob, f"{after_state} vs {at_bob}")

    # unread as GET /api/threads counts it: people's lines by others after your marker
    more = [await alice.say(T, f"tr-more-{i}-" + secrets.token_hex(3), f"one more, {i}") for i in (1, 2)]
    newest2 = more[-1].get("seq") or 0
    for c in (bob, a3):
        await c.wait(lambda f: f.get("type") == "message" and f.get("seq") == newest2, 0)
    st, _, body = H.http_json(port, "GET", "/api/threads", headers=bearer(tok["bob"]))
    entry = next((t for t in (body or {}).get("threads", []) if t.get("thread") == T), {}) if isinstance(body, dict) else {}
    check("GET /api/threads for bob: unread = 2 (alice's two lines after his marker)", entry.get("unread") == 2,
          f"{st} {entry}")

    # alice marks too; a later joiner gets both markers
    marks = {c: c.mark() for c in conns}
    await alice.send_frame({"type": "read", "thread": T, "seq": newest2})
    rb = await frame_or_none(bob, is_read, marks[bob]) or {}
    check("read from alice: bob gets {user alice, role buyer, seq}",
          rb.get("user") == "alice" and rb.get("role") == "buyer" and rb.get("seq") == newest2, str(rb))
    b3 = Client("bob-tr3")
    await b3.connect(ws_url, tok["bob"])
    jb3 = await b3.join(T)
    await b3.quiet()
    state_at = b3.frames.index(jb3[-1])
    reads = frames_of(b3, "read", state_at + 1)
    by_user = {f.get("user"): f for f in reads}
    check("joining afterwards (both have markers): after joined and state, one read frame per party",
          not [f for f in jb3 if f.get("type") == "read"] and len(reads) == 2
          and by_user.get("alice", {}).get("seq") == newest2 and by_user.get("alice", {}).get("role") == "buyer"
          and by_user.get("bob", {}).get("seq") == newest and by_user.get("bob", {}).get("role") == "freelancer",
          f"join frames {[f.get('type') for f in jb3]}, then {reads}")
    check("  the moderator's read left no marker (no read frame for mia)", "mia" not in by_user, str(reads))
    await b3.send_frame({"type": "read", "thread": T, "seq": newest2})
    await frame_or_none(bob, lambda f: is_read(f) and f.get("user") == "bob" and f.get("seq") == newest2, marks[bob])
    st, _, body = H.http_json(port, "GET", "/api/threads", headers=bearer(tok["bob"]))
    entry = next((t for t in (body or {}).get("threads", []) if t.get("thread") == T), {}) if isinstance(body, dict) else {}
    check("  after bob reads up to the newest: GET /api/threads unread = 0", entry.get("unread") == 0, f"{st} {entry}")

    for c in (*conns, a3, b3):
        await c.close()


async def main_async(srv):
    try:
        await run_checks(srv)
    except Exception as e:  # a crash is a failure, not a silent pass
        import traceback
        traceback.print_exc()
        check(f"the run completed without an unexpected error ({type(e).__name__}: {e})", False)
    try:
        await run_typing_read_checks(srv)
    except Exception as e:
        import traceback
        traceback.print_exc()
        check(f"the typing/read checks completed without an unexpected error ({type(e).__name__}: {e})", False)
    try:
        await run_session_checks(srv)
    except Exception as e:
        import traceback
        traceback.print_exc()
        check(f"the token/ticket/limit/header checks completed without an unexpected error ({type(e).__name__}: {e})",
              False)


def main():
    # The platform's HS256 secret (PROTOCOL.md section 1), given to the server as AUTH_SIGNING_SECRET, so that this
    # client can mint its own tokens as the platform would.
    srv = H.Server(secret=secrets.token_urlsafe(48), prefix="proto-", database="proto.sqlite", log_level=None)
    try:
        try:
            srv.start()
            if not srv.api_key or not {"alice", "bob", "mia"} <= set(srv.tokens):
                raise RuntimeError("could not parse the server's start-up output:\n" + "\n".join(srv.lines)
                                   + srv.stderr_tail(heading=True))
        except Exception as e:
            check(f"server starts and prints port, tokens and API key ({e})", False)
        else:
            check("server starts and prints port, tokens (alice, bob, mia) and the platform API key", True)
            asyncio.run(main_async(srv))
    finally:
        srv.close()
    sys.exit(REPORT.finish())


if __name__ == "__main__":
    main()
