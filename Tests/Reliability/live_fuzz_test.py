#!/usr/bin/env python3
"""A live fuzzer for milestone-bot: the real server binary, attacked over real sockets for a bounded time.

It starts the server (`serve --demo --port 0` on a temporary database, Tests/support/harness.py), creates a
few contracts, then for `--seconds` (default 60) runs at the same time:

  * `--connections` (default 4) fuzzing connections, each with its own user and contract, sending random and
    mutated input: valid envelopes with mutated fields, wrong types, huge numbers, unicode, deep nesting,
    truncated JSON, binary frames, reserved opcodes and RSV bits, unmasked frames, fragmented messages (valid
    and broken), bad control frames, invalid UTF-8, oversized frames, random bytes after the handshake, and
    random slash-command lines with random arguments. A connection the server closes is reopened.
  * a well-behaved pair of clients (buyer and freelancer of one contract) chatting several lines a second;
    every line must be acknowledged and delivered to the other side promptly, throughout.

After each fuzz input the fuzzer sends a probe (`history` of a thread it has not joined, which the server
always answers with `not_joined`); frames are answered in order, so whatever arrives before the probe's
answer is the answer to the input. Checks:

  * every input the server must reject is answered: an `error` frame for a bad envelope or a binary frame, a
    close code for a protocol violation (1002 bad framing, 1007 invalid UTF-8, 1009 too big, 1008 flooding);
    every other input except `leave` gets a reply (`ack`, `joined`, `history` or `error`): never silence;
  * the server never hangs (every probe is answered within 10 s) and never dies;
  * the good pair's lines are all acknowledged and delivered (p95 reported, bounded);
  * at the end `/health` answers and `milestone-bot verify` on the database exits 0.

Inputs are generated from `--seed` (each fuzzing connection has its own generator seeded from it), so a run
is repeatable: a failure prints the seed, the connection and the case number. Timing (which case a flood
close lands on) may differ between runs.

Usage:
    python3 Tests/Reliability/live_fuzz_test.py [--seconds 60] [--seed 1] [--connections 4] [--keep]

Requirements: Python 3.9+ and the `websockets` package; the server binary at .build/debug/milestone-bot
(or MILESTONE_BOT). Prints one line per check and ends with `N passed, M failed`; exit status 1 on failure.
"""

import argparse
import asyncio
import functools
import json
import os
import random
import struct
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402
from harness import ws_frame  # noqa: E402

H.require("websockets")
import websockets  # noqa: E402

SECRET = "live-fuzz-signing-secret-0123456789abcdef"
API_KEY = "live-fuzz-api-key-0123456789abcdef0123"
# Limits high enough that most sends run (the fuzzer waits for each answer); the rest are the defaults.
LIMITS = {"LIMITS_MESSAGES_PER_SECOND": "100", "LIMITS_MESSAGE_BURST": "200", "LIMITS_IDLE_TIMEOUT_SECONDS": "30",
          "LIMITS_MAX_QUEUED_MESSAGES": "5000", "LIMITS_HANDSHAKE_TIMEOUT_SECONDS": "10",
          "LIMITS_MAX_CONNECTIONS_PER_USER": "20"}
MAX_FRAME = 16384        # limits.max_frame_bytes (the default)
ANSWER_TIMEOUT = 10.0    # an input not answered by then is a hang
GOOD_INTERVAL = 0.15     # seconds between the good pair's lines
GOOD_P95_MS = 500        # the good pair's send->ack and send->delivered p95 must stay under this
GOOD_MAX_MS = 3000       # and no line may take longer than this
PROTOCOL_CLOSES = {1002, 1003, 1007, 1008, 1009}
REJECTION_CLOSES = PROTOCOL_CLOSES | {4429}

COMMANDS = ["help", "status", "milestone", "approve", "fund", "submit", "revise", "release", "cancel", "dispute",
            "resolve", "endcontract", "golive", "stop", "complete", "review", "", "/", "fund!", "FUND", "relea"]
WORDS = ["M1", "M2", "M0", "M-1", "M99999999999999999999", "m1", "add", "request", "edit", "delete", "amount",
         "description", "due", "2026-12-01", "2026-02-30", "yesterday", "release", "refund", "split", "accept",
         "decline", "$100.00", "100", "0", "-5", "0.001", "1e309", "NaN", "Infinity", "99999999999999999999.99",
         "$1,000,000,000,000.00", "€5", "5 USD", "½", "１００", "5", "1", "6", "logo", "\u202e\u0644\u0648\u06af\u0648",
         "\u200b", "😀", "👩‍👩‍👧‍👦", "'; DROP TABLE message; --", "<script>alert(1)</script>", "%s%n", "\\", "\"",
         "\t", "a" * 300]
UNICODE = ["😀", "\u202e", "\u200b", "\ufeff", "e\u0301", "\U0010ffff", "\ud800", "\udfff", "漢字", "\u0000",
           "\u0007", "\u2028", "𝕏" * 50, "👩‍👩‍👧‍👦" * 20, "ﷺ" * 30]
HUGE = [10 ** 30, -10 ** 30, 2 ** 63, 2 ** 63 - 1, -2 ** 63, -2 ** 63 - 1, 2 ** 64, 1e308, -1e308, 1.5, 0.0,
        -0.0, 1e-320, 123456789012345678901234567890]
RESULT_TYPES = {"ack", "error", "joined", "history"}

REPORT = H.Report(details="always", limit=300)
check, note = REPORT.check, REPORT.note
mint = functools.partial(H.mint, SECRET)


# --------------------------------------------------------------------------- inputs


class Case:
    """One fuzz input: the bytes to write, and what the server owes us for them.

    expect: "error"  a rejected envelope or a binary frame: an `error` frame (or a rejection close)
            "reply"  a request that may be valid or not (not a `leave`): some reply, or a rejection close
            "maybe"  possibly a valid `leave`, which has no reply: anything but a hang
            "close"  a protocol violation: a close frame with one of `codes`
            "any-close" random bytes (then padding that is never a valid frame): a close, any code
    """

    def __init__(self, kind, data, expect, codes=None, note=""):
        self.kind, self.data, self.expect, self.codes, self.note = kind, data, expect, codes or set(), note


def dumps(obj, rng):
    for ensure_ascii in ((rng.random() < 0.5), True):
        try:
            return json.dumps(obj, ensure_ascii=ensure_ascii).encode("utf-8")
        except (UnicodeEncodeError, ValueError):
            continue
    return json.dumps(obj).encode()


def classify(obj):
    """What the server owes for a JSON value, from docs/PROTOCOL.md: a `leave` may be silent; anything that is
    not an object with a known string `type` and a string `thread` (and for `send`, string `id` and `text`)
    is a bad_request error; everything else gets a reply of some kind."""
    if not isinstance(obj, dict):
        return "error"
    t, thread = obj.get("type"), obj.get("thread")
    if t not in ("join", "leave", "send", "history") or not isinstance(thread, str):
        return "error"
    if t == "leave":
        return "maybe"
    if t == "send" and not (isinstance(obj.get("id"), str) and isinstance(obj.get("text"), str)):
        return "error"
    return "reply"


class Fuzzer:
    def __init__(self, rng, own_thread, threads):
        self.rng, self.own, self.threads = rng, own_thread, threads
        self.n = 0

    def thread(self):
        r = self.rng.random()
        if r < 0.6:
            return self.own
        if r < 0.8:
            return self.rng.choice(self.threads)
        return self.rng.choice(["", " ", "demo", "nope", "x" * 500, "../../etc/passwd", "\u0000", "😀", "good",
                                "fuzz-0\u200b", "FUZZ-0", self.own + " "])

    def slash_line(self):
        rng = self.rng
        words = [rng.choice(WORDS) for _ in range(rng.randint(0, 6))]
        if rng.random() < 0.2:
            words.append("".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 40))))
        line = "/" + rng.choice(COMMANDS) + (" " if words else "") + " ".join(words)
        if rng.random() < 0.1:
            line = line.replace(" ", rng.choice(["  ", "\t", "\n", "\u00a0"]))
        return line

    def text(self):
        r = self.rng.random()
        if r < 0.55:
            return self.slash_line()
        if r < 0.75:
            return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(1, 8)))
        if r < 0.85:
            return self.rng.choice(["", " ", "\n", "x" * 4001, "y" * 4000, "z" * self.rng.randint(3990, 4010)])
        return "".join(self.rng.choice(UNICODE) for _ in range(self.rng.randint(1, 20)))

    def envelope(self):
        rng = self.rng
        self.n += 1
        t = rng.choice(["send", "send", "send", "join", "history", "leave"])
        env = {"type": t, "thread": self.thread()}
        if t == "send":
            env["id"] = rng.choice([f"f{self.n}", f"f{self.n}", "dup", "", "i" * 101, "😀" * 30, f"f{self.n}\u0000"])
            env["text"] = self.text()
        elif t == "join" and rng.random() < 0.5:
            env["after"] = rng.choice([0, 1, -1, 5, 10 ** 6] + HUGE)
        elif t == "history":
            if rng.random() < 0.5:
                env["before"] = rng.choice([0, 1, -1, 3] + HUGE)
            if rng.random() < 0.5:
                env["limit"] = rng.choice([0, 1, -1, 500, 501, 10 ** 9] + HUGE)
        return env

    def wrong_value(self):
        rng = self.rng
        return rng.choice([None, True, False, 0, -1, rng.choice(HUGE), [], {}, [1, "a"], {"a": {"b": []}}, "",
                           rng.choice(UNICODE) * rng.randint(1, 5), "join", "send", 3.14])

    def mutate(self, env):
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            keys = list(env.keys())
            r = rng.random()
            if r < 0.25 and keys:
                del env[rng.choice(keys)]
            elif r < 0.6 and keys:
                env[rng.choice(keys)] = self.wrong_value()
            elif r < 0.75:
                env["type"] = rng.choice(["JOIN", "join ", "", "ping", "hello", "ack", "error", "send\u0000",
                                          "history", "leave", 7, None])
            elif r < 0.9:
                env[rng.choice(["extra", "__proto__", "Type", "thread ", "", "😀"])] = self.wrong_value()
            else:
                env[rng.choice(keys or ["type"])] = rng.choice(UNICODE) * rng.randint(1, 20)
        return env

    def deep(self):
        depth = self.rng.choice([10, 100, 600, 2000])
        opener, closer = self.rng.choice([("[", "]"), ('{"a":', "}")])
        return opener * depth + "1" + closer * depth

    # ---- the cases

    def next_case(self):
        rng = self.rng
        r = rng.random()
        if r < 0.22:  # a valid envelope
            env = self.envelope()
            return Case("valid", dumps(env, rng), classify(env), note=json.dumps(env)[:120])
        if r < 0.40:  # a valid envelope with mutated fields
            env = self.mutate(self.envelope())
            return Case("mutated", dumps(env, rng), classify(env), note=json.dumps(env)[:120])
        if r < 0.45:  # deep nesting in a field
            env = self.envelope()
            original = classify(env)
            known = {"type", "thread", "id", "text"} if env["type"] == "send" else {"type", "thread", "after", "before", "limit"}
            field = rng.choice(list(env.keys()) + ["extra", "extra"])
            env[field] = "__DEEP__"
            text = json.dumps(env).replace('"__DEEP__"', self.deep(), 1)
            if field in known and not (env["type"] == "leave" and field not in ("type", "thread")):
                expect = "error"
            else:
                expect = "maybe" if original == "maybe" else ("error" if original == "error" else "reply")
            return Case("deep", text.encode(), expect, note=f"field {field}")
        if r < 0.52:  # truncated JSON
            raw = dumps(self.envelope(), rng)
            cut = rng.randint(0, len(raw) - 1)
            data = raw[:cut]
            expect = "error"
            try:
                if classify(json.loads(data.decode("utf-8"))) != "error":
                    expect = "reply"
            except (ValueError, UnicodeDecodeError):
                pass
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:  # cut inside a character: the frame is not UTF-8
                return Case("truncated", data, "close", {1007}, note=repr(data[:80]))
            return Case("truncated", data, expect, note=repr(data[:80]))
        if r < 0.56:  # not JSON at all, or JSON that is not an object
            data = rng.choice([b"", b"null", b"[]", b"42", b'"join"', b"{", b"}", b"{}", b"true", b"\xef\xbb\xbf{}",
                               b"{'type':'join'}", b'{"type":"join","thread":"a",}', b"NaN", b"/fund M1",
                               b'{"type":"send","thread":"a","id":"1","text":"x"}{"type":"leave"}'])
            expect = "error"
            try:
                if classify(json.loads(data)) != "error":
                    expect = "reply"
            except ValueError:
                pass
            return Case("not-json", data, expect, note=repr(data))
        # The rest are frame-level: built here, written as they are.
        return self.frame_case(r)

    def next_case_sized(self):
        case = self.next_case()
        if not getattr(case, "raw", False) and len(case.data) > MAX_FRAME and case.expect != "close":
            case.expect, case.codes = "close", {1009}  # mutations (long unicode) made the frame too big
        return case

    def frame_case(self, r):
        rng = self.rng
        base_env = self.envelope()
        env_bytes = dumps(base_env, rng)
        text = lambda data, **kw: ws_frame(0x1, data, rng, **kw)  # noqa: E731
        if r < 0.61:
            payload = rng.choice([env_bytes, b"", bytes(rng.getrandbits(8) for _ in range(50))])
            return RawCase("binary", ws_frame(0x2, payload, rng), "error")
        if r < 0.66:
            bad = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\xc0\xaf"])
            at = rng.randint(0, len(env_bytes))
            return RawCase("invalid-utf8", text(env_bytes[:at] + bad + env_bytes[at:]), "close", {1007})
        if r < 0.69:
            size = rng.choice([MAX_FRAME + 1, MAX_FRAME * 2, 70000])
            return RawCase("oversized", text(b'{"type":"send","text":"' + b"x" * size + b'"}'), "close", {1009})
        if r < 0.73:
            opcode = rng.choice([3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
            return RawCase("bad-opcode", ws_frame(opcode, env_bytes[:100], rng), "close", {1002}, f"opcode {opcode}")
        if r < 0.76:
            rsv = rng.randint(1, 7)
            return RawCase("rsv-bits", ws_frame(0x1, env_bytes, rng, rsv=rsv), "close", {1002}, f"rsv {rsv}")
        if r < 0.79:
            # RFC 6455 wants a close (1002) for an unmasked client frame; SwiftNIO's decoder accepts it and the
            # server answers it like any other frame (docs/SECURITY.md, known limits). Either is an answer.
            return RawCase("unmasked", ws_frame(0x1, env_bytes, rng, masked=False), classify(base_env))
        if r < 0.86:  # a valid fragmented message, sometimes with a ping between fragments
            env = self.envelope()
            data = dumps(env, rng)
            cuts = sorted(rng.sample(range(1, max(2, len(data))), min(rng.randint(1, 4), max(1, len(data) - 1))))
            parts = [data[i:j] for i, j in zip([0] + cuts, cuts + [len(data)])]
            out = b""
            for i, part in enumerate(parts):
                out += ws_frame(0x1 if i == 0 else 0x0, part, rng, fin=(i == len(parts) - 1))
                if rng.random() < 0.3 and i < len(parts) - 1:
                    out += ws_frame(0x9, b"ping", rng)
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                return RawCase("fragmented", out, "close", {1007})
            return RawCase("fragmented", out, classify(env), note=f"{len(parts)} fragments")
        if r < 0.90:  # broken fragmentation
            which = rng.choice(["orphan-continuation", "restart", "fragmented-ping", "too-big"])
            if which == "orphan-continuation":
                return RawCase("bad-fragments", ws_frame(0x0, env_bytes, rng), "close", {1002}, which)
            if which == "restart":
                return RawCase("bad-fragments", text(env_bytes[:5], fin=False) + text(env_bytes), "close", {1002}, which)
            if which == "fragmented-ping":
                return RawCase("bad-fragments", ws_frame(0x9, b"p", rng, fin=False), "close", {1002}, which)
            chunk = b"x" * 8000
            out = text(b'{"type":"send","text":"' + chunk, fin=False)
            for _ in range(3):
                out += ws_frame(0x0, chunk, rng, fin=False)
            return RawCase("bad-fragments", out + ws_frame(0x0, b'"}', rng), "close", {1009}, which)
        if r < 0.94:  # control frames
            which = rng.choice(["ping", "big-ping", "bad-close-code", "one-byte-close", "close-bad-utf8"])
            if which == "ping":
                return RawCase("control", ws_frame(0x9, bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 125))), rng), "maybe", note=which)
            if which == "big-ping":
                return RawCase("control", ws_frame(0x9, b"p" * rng.randint(126, 1000), rng), "close", {1002}, which)
            if which == "bad-close-code":
                code = rng.choice([0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
                return RawCase("control", ws_frame(0x8, struct.pack("!H", code), rng), "close", {1002}, f"close {code}")
            if which == "one-byte-close":
                return RawCase("control", ws_frame(0x8, b"\x03", rng), "close", {1002}, which)
            return RawCase("control", ws_frame(0x8, struct.pack("!H", 1000) + b"\xff\xfe", rng), "close", {1002, 1007}, which)
        if r < 0.97:  # a slash-command line (valid envelope) in the fuzzer's own thread
            self.n += 1
            env = {"type": "send", "thread": self.own, "id": f"c{self.n}", "text": self.slash_line()}
            return RawCase("slash", text(dumps(env, rng)), "reply", note=env["text"][:80])
        # Random bytes, then padding that completes any frame they began (or declares one too big) and then is
        # a frame with the reserved opcode 3 (0x83 0x83: FIN, opcode 3, masked, 3 bytes), a protocol error in
        # any state. (Zeros would not do: after an open fragmented message they are valid empty continuations.)
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
        return RawCase("random-bytes", junk + b"\x83" * (MAX_FRAME + 200), "any-close", note=junk[:16].hex())


class RawCase(Case):
    """A case whose bytes are already whole frames."""
    raw = True


def as_frames(case, rng):
    if getattr(case, "raw", False):
        return case.data
    return ws_frame(0x1, case.data, rng)


# --------------------------------------------------------------------------- the fuzzing connections


class Stats:
    def __init__(self):
        self.cases = Counter()        # per kind
        self.outcomes = Counter()     # "kind -> answer"
        self.failures = []            # (description)
        self.rejected = 0             # inputs the server had to refuse
        self.rejected_answered = 0
        self.replies_owed = 0
        self.replies_given = 0
        self.closes = Counter()
        self.connections = 0
        self.hangs = 0

    def fail(self, text):
        if len(self.failures) < 20:
            self.failures.append(text)


async def fuzz_connection(index, port, token, own, threads, seed, stop, stats):
    rng = random.Random(f"{seed}/{index}")
    fuzzer = Fuzzer(rng, own, threads)
    number = 0
    probe_n = 0
    while not stop.is_set():
        # The connection's own generator (keys, masks of probes and pongs): pings arrive when they do, and
        # must not shift the inputs generated from `rng`.
        conn = H.RawWebSocket(port, token, random.Random(f"{seed}/{index}/connection/{stats.connections}"))
        try:
            await conn.open()
            hello = await conn.next(10)
        except Exception as e:
            stats.fail(f"conn {index}: could not open a connection: {type(e).__name__}: {e}")
            await asyncio.sleep(0.5)
            continue
        if not hello or hello.get("type") != "hello":
            code = hello.get("code") if isinstance(hello, dict) else None
            if code == "too_many_connections":  # a previous connection's slot not yet given back
                await conn.shut()
                await asyncio.sleep(0.2)
                continue
            stats.fail(f"conn {index}: no hello but {hello}")
            await conn.shut()
            await asyncio.sleep(0.5)
            continue
        stats.connections += 1
        # Join the own thread so sends run as commands there; its answer is awaited, so that it is not
        # taken for the answer to the first input.
        conn.text({"type": "join", "thread": own})
        try:
            while True:
                frame = await conn.next(ANSWER_TIMEOUT)
                if frame is None or frame.get("type") in ("joined", "error"):
                    break
        except asyncio.TimeoutError:
            stats.hangs += 1
            stats.fail(f"conn {index}: no answer to joining {own} within {ANSWER_TIMEOUT}s")
        while not stop.is_set() and not conn.closed.is_set():
            number += 1
            case = fuzzer.next_case_sized()
            stats.cases[case.kind] += 1
            where = f"seed {seed} conn {index} case {number} ({case.kind}{': ' + case.note if case.note else ''})"
            conn.write(as_frames(case, rng))
            if case.expect in ("close", "any-close"):
                try:
                    await asyncio.wait_for(conn.closed.wait(), ANSWER_TIMEOUT)
                except asyncio.TimeoutError:
                    stats.hangs += 1
                    stats.fail(f"{where}: not closed within {ANSWER_TIMEOUT}s")
                    break
                stats.rejected += 1
                code = conn.close_code
                stats.closes[code] += 1
                stats.outcomes[f"{case.kind} -> close {code}"] += 1
                if case.expect == "any-close" and code is not None or code in case.codes:
                    stats.rejected_answered += 1
                else:
                    stats.fail(f"{where}: closed with {code}, expected one of {sorted(case.codes) or 'any code'}")
                break
            probe_n += 1
            probe = f"probe-{index}-{probe_n}"
            conn.text({"type": "history", "thread": probe})
            got, ended = [], None
            deadline = time.monotonic() + ANSWER_TIMEOUT
            while True:
                try:
                    frame = await conn.next(max(0.01, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    ended = "timeout"
                    break
                if frame is None:
                    ended = "closed"
                    break
                if frame.get("type") == "error" and frame.get("thread") == probe:
                    break
                got.append(frame)
            types = [f.get("type") for f in got if f.get("type") in RESULT_TYPES]
            if ended == "timeout":
                stats.hangs += 1
                stats.fail(f"{where}: neither an answer nor the probe's within {ANSWER_TIMEOUT}s (got {types})")
                break
            if ended == "closed":
                code = conn.close_code
                stats.closes[code] += 1
                stats.outcomes[f"{case.kind} -> close {code}"] += 1
                if case.expect in ("error", "reply"):
                    stats.rejected += 1 if case.expect == "error" else 0
                    stats.replies_owed += 1
                    if code in REJECTION_CLOSES or types:
                        stats.replies_given += 1
                        stats.rejected_answered += 1 if case.expect == "error" else 0
                    else:
                        stats.fail(f"{where}: connection ended ({code}) without a reply")
                break
            errors = [f.get("code") for f in got if f.get("type") == "error"]
            stats.outcomes[f"{case.kind} -> " + (",".join(sorted(set(types))) or "no reply")] += 1
            if case.expect == "error":
                stats.rejected += 1
                if errors:
                    stats.rejected_answered += 1
                else:
                    stats.fail(f"{where}: a rejected input got no error frame (got {types})")
            if case.expect in ("error", "reply"):
                stats.replies_owed += 1
                if types:
                    stats.replies_given += 1
                elif case.expect == "reply":
                    stats.fail(f"{where}: no reply (got {[f.get('type') for f in got]})")
        await conn.shut()


# --------------------------------------------------------------------------- the well-behaved pair


async def good_pair(port, stop, seed):
    thread = "good"
    buyer = await H.Client(port, mint("good-buyer"), "buyer").connect()
    seller = await H.Client(port, mint("good-seller"), "seller").connect()
    for c in (buyer, seller):
        await c.join(thread)
    await asyncio.sleep(0.5)
    n = 0
    while not stop.is_set():
        n += 1
        sender = buyer if n % 2 else seller
        try:
            await sender.send(thread, f"line {n} from the {sender.name}", cid=f"good-{seed}-{n}", wait=False)
        except websockets.ConnectionClosed:
            break
        await asyncio.sleep(GOOD_INTERVAL)
    await asyncio.sleep(3)  # let the last lines arrive
    for c in (buyer, seller):
        await c.close()
    return buyer, seller


# --------------------------------------------------------------------------- main


async def run(srv, args):
    port = srv.port
    threads = [f"fuzz-{i}" for i in range(args.connections)]
    presets = ["indeelancer", "fiverr", "freelancer_com", "whitelabel"]
    for i, thread in enumerate(threads):
        kw = dict(api_key=API_KEY, title=f"fuzz {i}", milestones=[{"amount": "100.00", "description": "Part one"},
                                                                  {"amount": "250.50", "description": "Part two"}])
        try:
            H.create_contract(port, thread, f"fz-buyer-{i}", f"fz-seller-{i}", preset=presets[i % len(presets)], **kw)
        except RuntimeError:  # a preset this build does not have: fall back to the default one
            H.create_contract(port, thread, f"fz-buyer-{i}", f"fz-seller-{i}", **kw)
    H.create_contract(port, "good", "good-buyer", "good-seller", api_key=API_KEY, title="live fuzz {cid}")

    stop = asyncio.Event()
    stats = Stats()
    # Users alternate between the buyer and the freelancer of their contract; the first is a moderator.
    tokens = [mint(f"fz-mod-{i}", "moderator") if i == 0 else mint(f"fz-buyer-{i}" if i % 2 else f"fz-seller-{i}")
              for i in range(args.connections)]
    started = time.monotonic()
    pair = asyncio.create_task(good_pair(port, stop, args.seed))
    fuzzers = [asyncio.create_task(fuzz_connection(i, port, tokens[i], threads[i], threads, args.seed, stop, stats))
               for i in range(args.connections)]
    died_at = None
    while time.monotonic() - started < args.seconds:
        await asyncio.sleep(0.5)
        if not srv.alive():
            died_at = time.monotonic() - started
            break
    stop.set()
    await asyncio.wait(fuzzers, timeout=ANSWER_TIMEOUT + 5)
    try:
        buyer, seller = await asyncio.wait_for(pair, 20)
    except Exception as e:
        buyer = seller = None
        check("good pair: ran to the end", False, f"{type(e).__name__}: {e}")
    elapsed = time.monotonic() - started

    check("the server process never died", died_at is None and srv.alive(),
          f"died after {died_at:.1f}s" if died_at else "")
    total = sum(stats.cases.values())
    note(f"fuzz: {total} inputs in {elapsed:.0f}s over {stats.connections} connections "
         f"({args.connections} at a time); by kind: {dict(sorted(stats.cases.items()))}")
    note(f"fuzz: close codes {dict(sorted((str(k), v) for k, v in stats.closes.items()))}")
    for key, count in sorted(stats.outcomes.items()):
        note(f"  {count:6d}  {key}")
    for failure in stats.failures:
        note(f"failure: {failure}")
    check("fuzz: inputs were sent", total > 50 and stats.connections > args.connections, f"{total} inputs")
    check("fuzz: every rejected input got an error frame or a protocol close code (never silence)",
          stats.rejected_answered == stats.rejected and stats.rejected > 0,
          f"{stats.rejected_answered}/{stats.rejected} answered")
    check("fuzz: every request other than leave got a reply (ack, joined, history, error) or a close code",
          stats.replies_given == stats.replies_owed, f"{stats.replies_given}/{stats.replies_owed}")
    check(f"fuzz: no input went unanswered for {ANSWER_TIMEOUT:.0f}s (no hang)", stats.hangs == 0,
          f"{stats.hangs} hangs")
    check("fuzz: no other failure", not stats.failures, f"{len(stats.failures)} listed above")

    if buyer and seller:
        ids = {**{k: (v, buyer, seller) for k, v in buyer.sent_at.items()},
               **{k: (v, seller, buyer) for k, v in seller.sent_at.items()}}
        acks, deliveries, missing_ack, missing_delivery = [], [], [], []
        for cid, (at, sender, receiver) in ids.items():
            if cid in sender.ack_at:
                acks.append((sender.ack_at[cid] - at) * 1000)
            else:
                missing_ack.append(cid)
            if cid in receiver.delivered_at:
                deliveries.append((receiver.delivered_at[cid] - at) * 1000)
            else:
                missing_delivery.append(cid)

        note(f"good pair: {len(ids)} lines; send->ack {H.latency(acks)}; send->delivered {H.latency(deliveries)}; "
             f"errors {[e.get('code') for e in buyer.errors + seller.errors][:5]}")
        check("good pair: every line was acknowledged", ids and not missing_ack and not buyer.errors and not seller.errors,
              f"{len(missing_ack)} missing acks of {len(ids)}; errors {(buyer.errors + seller.errors)[:2]}")
        check("good pair: every line was delivered to the other side", ids and not missing_delivery,
              f"{len(missing_delivery)} missing of {len(ids)}")
        check(f"good pair: send->ack p95 under {GOOD_P95_MS} ms and none over {GOOD_MAX_MS} ms",
              acks and H.percentile(acks, 0.95) < GOOD_P95_MS and max(acks) < GOOD_MAX_MS, H.latency(acks))
        check(f"good pair: send->delivered p95 under {GOOD_P95_MS} ms and none over {GOOD_MAX_MS} ms",
              deliveries and H.percentile(deliveries, 0.95) < GOOD_P95_MS and max(deliveries) < GOOD_MAX_MS,
              H.latency(deliveries))

    if srv.alive():
        status, _, health = H.http_json(port, "GET", "/health")
        check("/health answers after the fuzzing", status == 200 and isinstance(health, dict), f"{status} {health}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long to fuzz (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--connections", type=int, default=4, help="fuzzing connections at a time (default 4)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, stderr log)")
    args = parser.parse_args()

    srv = H.Server(LIMITS, secret=SECRET, api_key=API_KEY, prefix="live-fuzz-", database="live-fuzz.sqlite")
    started = time.monotonic()
    note(f"live fuzz: seed {args.seed}, {args.seconds:.0f}s, {args.connections} fuzzing connections")
    try:
        srv.start()
        asyncio.run(run(srv, args))
        crashed = not srv.alive()
        srv.stop()
        if not crashed:
            out = srv.verify()
            check(f"milestone-bot verify exits 0 ({H.last_line(out.stdout, '(no output)')})", out.returncode == 0,
                  out.stderr.strip()[-300:])
        else:
            note("server stderr (tail): " + srv.stderr_tail())
    except Exception as e:
        check("live fuzz ran", False, f"{type(e).__name__}: {e}")
    finally:
        srv.close(args.keep, note)
    sys.exit(REPORT.finish(started))


if __name__ == "__main__":
    main()
