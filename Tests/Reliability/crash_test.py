#!/usr/bin/env python3
"""Crash test for milestone-bot: SIGKILL the server again and again under load, then check the SQLite file.

It starts the real binary (`serve --demo --port N --database FILE`) on a fixed free port with a temporary
database and a fixed AUTH_SIGNING_SECRET / AUTH_API_KEY (so tokens stay valid across restarts), creates
contracts through `POST /api/contracts`, and runs many concurrent WebSocket clients (buyers, freelancers,
a moderator) that send chat lines and money commands with unique ids. Meanwhile the server is killed with
SIGKILL at random moments (`--kills`, default 50) and restarted on the same port and database; clients
reconnect (`join` with `after` = the last seq they saw) and resend every unacknowledged line with the SAME
id. At the end the server is stopped and the database is checked directly:

  * PRAGMA integrity_check is ok;
  * every acknowledged (thread, seq, client id) is stored exactly once, no client id twice in a thread,
    every message a client received is stored with the same hash, sequences have no gaps;
  * money is conserved on every milestone (funded - released - refunded == held >= 0; ledger
    holds - posts - voids == held; at most one hold per milestone) and matches the acknowledged commands;
  * `milestone-bot verify --database FILE` exits 0.

With `--processor stripe` the server moves money through localstripe (a fake Stripe server, started here on
a free port), so kills also land between a processor call and the commit. Then also: no payment operation
is left pending, every hold in the ledger is one confirmed PaymentIntent for exactly its amount, no
PaymentIntent took money without a hold in the ledger, and each intent's state (authorized, captured,
partly refunded, cancelled) is what the milestone's postings say: money moved exactly once.

One line per check, then `N passed, M failed`; exit status 1 when any check failed.

Requirements: Python 3.9+ and `websockets` (pip install websockets). Build first:
    swift build --product milestone-bot
Run:
    python3 Tests/Reliability/crash_test.py [--kills 50] [--seed S] [--keep]

Environment: MILESTONE_BOT = path to the binary (default .build/debug/milestone-bot).
"""

import argparse
import hashlib
import asyncio
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import OrderedDict, defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402

H.require("websockets")
import websockets  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidHandshake  # noqa: E402

SIGNING_SECRET = "crash-test-signing-secret-0123456789abcdef-not-a-real-secret"
API_KEY = "crash-test-api-key-0123456789"
WINDOW = 3             # lines a client has in flight (sent, not acknowledged) at once
ACK_STALL = 15.0       # seconds without any ack while lines are in flight on a live connection: an anomaly
MONEY_PREFIXES = ("/fund", "/release", "/cancel", "/resolve")

# --------------------------------------------------------------------------- results

REPORT = H.Report()
check, note = REPORT.check, REPORT.note


def sample(items, n=5):
    items = list(items)
    more = f" ... (+{len(items) - n} more)" if len(items) > n else ""
    return "; ".join(str(i) for i in items[:n]) + more


# --------------------------------------------------------------------------- server


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


STRIPE = {}            # set by --processor stripe: {"port": N, "proc": Popen}
STRIPE_KEY = "sk_test_crash_test_localstripe"


def stripe_env():
    """The server's settings for money moving through localstripe."""
    return {"PAYMENTS_PROCESSOR": "stripe", "PAYMENTS_STRIPE_API_BASE": f"http://127.0.0.1:{STRIPE['port']}",
            "STRIPE_SECRET_KEY": STRIPE_KEY, "PAYMENTS_STRIPE_RETRY_SECONDS": "1"}


# --------------------------------------------------------------------------- clients


class Stats:
    def __init__(self):
        self.anomalies = defaultdict(list)   # kind -> details
        self.delivered = defaultdict(dict)   # thread -> seq -> (hash, client_id, author) as first delivered
        self.connects = 0
        self.connect_failures = 0
        self.drops = 0
        self.rate_limited = 0
        self.internal_errors = 0

    def anomaly(self, kind, detail):
        self.anomalies[kind].append(detail)


class LoadClient:
    """One WebSocket connection at a time, for one user, on one or more threads."""

    def __init__(self, name, user, role, token, threads, milestones, presets, port, stats, rng):
        self.name, self.user, self.role, self.token = name, user, role, token
        self.threads = list(threads)
        self.milestones = milestones          # thread -> number of milestones
        self.presets = presets                # thread -> preset
        self.port, self.stats, self.rng = port, stats, rng
        self.counter = 0
        self.sent = OrderedDict()             # id -> (thread, text): every line ever sent
        self.acks = {}                        # id -> (seq, outcome): the first ack of each id
        self.pending = OrderedDict()          # id -> (thread, text): not acknowledged yet
        self.resent = set()                   # ids sent on more than one connection
        self.dup_after_crash = 0              # resends answered duplicate=true (stored, ack lost in the crash)
        self.probes = 0                       # deliberate resends of acknowledged ids
        self.probe_ok = 0
        self.last_seq = {t: 0 for t in threads}
        self.refused = {}                     # id -> error frame (not rate_limited/internal)
        self.sends_total = 0
        self.sent_on = {}                     # id -> how many connections it was sent on
        self.files_of = {}                    # id -> file ids the line carries (uploaded just before it)
        self.uploads = 0                      # uploads answered 201

    # ---- what to say

    def next_line(self):
        thread = self.rng.choice(self.threads)
        self.counter += 1
        cid = f"{self.name}-{self.counter}"
        n = self.rng.randint(1, self.milestones[thread] + (1 if self.rng.random() < 0.1 else 0))
        r = self.rng.random()
        if self.role == "moderator":
            text = self.rng.choice([f"/resolve M{n} release crash-test ruling",
                                    f"/resolve M{n} refund crash-test ruling",
                                    f"/resolve M{n} split 10 crash-test ruling",
                                    f"moderator note {cid}"])
        elif r < 0.45:
            text = f"chat line {cid} from {self.user}: " + self.rng.choice(["hello", "any news?", "ok", "sounds good", "ünïcödé ✓"])
        elif self.role == "buyer":
            text = self.rng.choices(
                [f"/fund M{n}", f"/release M{n}", f"/dispute M{n} crash-test dispute {cid}",
                 f"/revise M{n} please change {cid}", "/status", "/help", "/complete",
                 f"/milestone add 40 extra work {cid}"],
                weights=[6, 5, 0.6, 1, 0.5, 0.3, 0.3, 0.05])[0]
        else:
            text = self.rng.choices(
                [f"/submit M{n} done {cid}", f"/cancel M{n}", f"/dispute M{n} not paid {cid}", "/status",
                 f"/milestone request 30 more work {cid}"],
                weights=[6, 2, 0.6, 0.5, 0.05])[0]
        return cid, thread, text

    def upload(self, thread):
        """Uploads a small random file to `thread` (HTTP, blocking); its id, or None when the server is down."""
        body = f"deliverable {self.name} {self.counter} {self.rng.random()}\n".encode() * self.rng.randint(1, 200)
        try:
            status, _, raw = H.http(self.port, "POST", f"/api/contracts/{thread}/files?name=part-{self.counter}.txt",
                                    token=self.token, raw_body=body, timeout=3)
        except OSError:
            return None
        if status != 201:
            return None
        self.uploads += 1
        return json.loads(raw)["id"]

    # ---- the connection loop

    async def run(self, stop_new, hard_deadline):
        while True:
            if stop_new.is_set() and not self.pending:
                return
            if time.monotonic() > hard_deadline:
                return
            try:
                async with websockets.connect(
                        f"ws://127.0.0.1:{self.port}/ws",
                        additional_headers={"Authorization": f"Bearer {self.token}"},
                        open_timeout=3, close_timeout=1, ping_interval=None, max_size=None,
                        max_queue=None) as ws:
                    self.stats.connects += 1
                    done = await self.session(ws, stop_new, hard_deadline)
                    if done:
                        return
            except (OSError, ConnectionClosed, InvalidHandshake, asyncio.TimeoutError, EOFError):
                self.stats.connect_failures += 1
            await asyncio.sleep(self.rng.uniform(0.03, 0.15))

    async def session(self, ws, stop_new, hard_deadline):
        """Returns True when the client is finished (drained), False to reconnect."""
        conn_last = {}                         # thread -> highest seq delivered on this connection
        inflight = OrderedDict()               # id -> send time, on this connection
        joined = set()
        ack_event = asyncio.Event()
        probe_wait = {}                        # id -> expected seq for deliberate resends
        state = {"closed": False, "last_ack": time.monotonic(), "backoff_until": 0.0}

        def handle(frame):
            typ = frame.get("type")
            if typ in ("message", "notice"):
                on_message(frame)
            elif typ == "history":
                for m in frame.get("messages") or []:
                    on_message(m)
            elif typ == "joined":
                t = frame.get("thread")
                if isinstance(frame.get("last_seq"), int) and frame["last_seq"] < self.last_seq.get(t, 0):
                    self.stats.anomaly("joined.last_seq below a seq already delivered",
                                       f"{self.name} {t}: joined last_seq {frame['last_seq']} < seen {self.last_seq[t]}")
                joined.add(t)
                ack_event.set()
            elif typ == "ack":
                on_ack(frame)
                ack_event.set()
            elif typ == "error":
                cid = frame.get("id")
                code = frame.get("code")
                if code in ("rate_limited", "payment_pending"):
                    self.stats.rate_limited += 1
                    state["backoff_until"] = time.monotonic() + 0.5
                elif code == "internal":
                    self.stats.internal_errors += 1
                    self.stats.anomaly("internal error", f"{self.name}: {frame}")
                elif cid in self.pending:
                    self.refused[cid] = frame
                    self.pending.pop(cid, None)
                    self.stats.anomaly("line refused", f"{self.name} {cid}: {frame}")
                else:
                    self.stats.anomaly("unexpected error frame", f"{self.name}: {frame}")
                if cid is not None:
                    inflight.pop(cid, None)
                ack_event.set()

        def on_message(m):
            t, seq = m.get("thread"), m.get("seq")
            if t not in self.last_seq or not isinstance(seq, int):
                return
            if seq <= conn_last.get(t, self.last_seq[t]):
                self.stats.anomaly("message delivered twice or out of order",
                                   f"{self.name} {t}: seq {seq} after {conn_last.get(t, self.last_seq[t])}")
            conn_last[t] = max(conn_last.get(t, 0), seq)
            self.last_seq[t] = max(self.last_seq[t], seq)
            key = (m.get("hash"), m.get("client_id"), m.get("author"))
            prev = self.stats.delivered[t].get(seq)
            if prev is None:
                self.stats.delivered[t][seq] = key
            elif prev != key:
                self.stats.anomaly("one seq delivered with two different contents",
                                   f"{t} seq {seq}: {prev} then {key} (to {self.name})")

        def on_ack(a):
            cid, seq, outcome = a.get("id"), a.get("seq"), a.get("outcome")
            state["last_ack"] = time.monotonic()
            inflight.pop(cid, None)
            if cid in probe_wait:
                want = probe_wait.pop(cid)
                if a.get("duplicate") is True and seq == want:
                    self.probe_ok += 1
                else:
                    self.stats.anomaly("resend of an acknowledged id answered differently",
                                       f"{self.name} {cid}: first seq {want}, now {a}")
                return
            if cid not in self.sent:
                self.stats.anomaly("ack for an id never sent", f"{self.name}: {a}")
                return
            if cid in self.acks:
                if self.acks[cid][0] != seq:
                    self.stats.anomaly("one id acknowledged under two seqs", f"{self.name} {cid}: {self.acks[cid]} and {a}")
                return
            if a.get("duplicate") is True:
                if cid in self.resent:
                    self.dup_after_crash += 1
                else:
                    self.stats.anomaly("duplicate=true for an id sent once", f"{self.name}: {a}")
            self.acks[cid] = (seq, outcome)
            self.pending.pop(cid, None)

        async def reader():
            try:
                async for raw in ws:
                    try:
                        frame = json.loads(raw)
                    except (ValueError, TypeError):
                        self.stats.anomaly("unparsable frame", f"{self.name}: {raw[:200]!r}")
                        continue
                    handle(frame)
            except ConnectionClosed:
                pass
            finally:
                state["closed"] = True
                ack_event.set()

        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        except (ConnectionClosed, asyncio.TimeoutError, ValueError, OSError):
            self.stats.drops += 1
            return False
        if hello.get("type") != "hello":
            self.stats.anomaly("first frame is not hello", f"{self.name}: {hello}")
            return False
        read_task = asyncio.create_task(reader())
        try:
            for t in self.threads:
                await ws.send(json.dumps({"type": "join", "thread": t, "after": self.last_seq[t]}))
            while not state["closed"] and joined != set(self.threads):
                ack_event.clear()
                try:
                    await asyncio.wait_for(ack_event.wait(), 5)
                except asyncio.TimeoutError:
                    self.stats.anomaly("no joined within 5 s", f"{self.name}")
                    return False
            state["last_ack"] = time.monotonic()
            while not state["closed"]:
                if time.monotonic() > hard_deadline:
                    return True
                # What to send next: the oldest unacknowledged line not yet in flight here, else a new one.
                if len(inflight) < WINDOW and time.monotonic() >= state["backoff_until"]:
                    cid = next((c for c in self.pending if c not in inflight), None)
                    if cid is not None:
                        thread, text = self.pending[cid]
                        if self.sent_on.get(cid, 0) >= 1:
                            self.resent.add(cid)
                    elif stop_new.is_set():
                        if not self.pending:
                            await ws.close()
                            return True
                        cid = None
                    elif self.acks and self.rng.random() < 0.02:
                        # Probe: resend an acknowledged id; it must come back duplicate with the same seq.
                        pid = self.rng.choice(list(self.acks))
                        if pid not in probe_wait:
                            probe_wait[pid] = self.acks[pid][0]
                            self.probes += 1
                            thread, text = self.sent[pid]
                            frame = {"type": "send", "thread": thread, "id": pid, "text": text}
                            if pid in self.files_of:
                                frame["files"] = self.files_of[pid]
                            await ws.send(json.dumps(frame))
                        cid = None
                    else:
                        cid, thread, text = self.next_line()
                        # Freelancers deliver files: uploaded (and killed mid-upload) right before the line.
                        if self.role == "freelancer" and self.rng.random() < 0.15:
                            file_id = await asyncio.get_running_loop().run_in_executor(None, self.upload, thread)
                            if file_id:
                                self.files_of[cid] = [file_id]
                        self.sent[cid] = (thread, text)
                        self.pending[cid] = (thread, text)
                    if cid is not None:
                        inflight[cid] = time.monotonic()
                        self.sent_on[cid] = self.sent_on.get(cid, 0) + 1
                        self.sends_total += 1
                        frame = {"type": "send", "thread": thread, "id": cid, "text": text}
                        if cid in self.files_of:
                            frame["files"] = self.files_of[cid]
                        await ws.send(json.dumps(frame))
                        await asyncio.sleep(self.rng.uniform(0.02, 0.12))
                        continue
                ack_event.clear()
                try:
                    await asyncio.wait_for(ack_event.wait(), 0.5)
                except asyncio.TimeoutError:
                    pass
                # Lines that got a rate_limited/internal error left `inflight` and stay pending: resent above.
                if inflight and time.monotonic() - state["last_ack"] > ACK_STALL:
                    self.stats.anomaly("no ack for 15 s on a live connection",
                                       f"{self.name}: in flight {list(inflight)[:3]}")
                    await ws.close()
                    return False
            self.stats.drops += 1
            return False
        except ConnectionClosed:
            self.stats.drops += 1
            return False
        finally:
            read_task.cancel()
            try:
                await read_task
            except (asyncio.CancelledError, Exception):
                pass


# --------------------------------------------------------------------------- the run


async def kill_loop(server, kills, budget, rng, log):
    """SIGKILLs the server `kills` times at random moments within `budget` seconds, restarting it each time."""
    start = time.monotonic()
    done = 0
    for i in range(kills):
        remaining = budget - (time.monotonic() - start)
        left = kills - i
        mean = max(0.05, min(3.0, remaining / left - 0.25))
        await asyncio.sleep(rng.uniform(0.02, 2 * mean))
        t0 = time.monotonic()
        await asyncio.to_thread(server.kill)
        if rng.random() < 0.3:
            await asyncio.sleep(rng.uniform(0.05, 0.5))   # clients find nothing listening for a while
        try:
            await asyncio.to_thread(server.start, 30.0)
        except RuntimeError as e:
            log.append(str(e))
            return done, False
        done += 1
        log.append(f"kill {done}: down {time.monotonic() - t0:.2f} s")
    return done, True


def stripe_call(method, path, form=None):
    """A call to localstripe; returns the decoded JSON."""
    import urllib.parse
    import urllib.request
    data = urllib.parse.urlencode(form).encode() if form else None
    req = urllib.request.Request(f"http://127.0.0.1:{STRIPE['port']}{path}", data=data, method=method,
                                 headers={"Authorization": f"Bearer {STRIPE_KEY}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else {}


def start_localstripe(tmpdir):
    port = free_port()
    log = open(os.path.join(tmpdir, "localstripe.log"), "wb")
    proc = subprocess.Popen(["localstripe", "--port", str(port), "--from-scratch"], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    STRIPE.update(port=port, proc=proc)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            stripe_call("GET", "/v1/customers")
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("localstripe did not start (pip install localstripe)")


def buyer_card():
    customer = stripe_call("POST", "/v1/customers", {"email": "crash@example.com"})["id"]
    method = stripe_call("POST", "/v1/payment_methods", {"type": "card", "card[number]": "4242424242424242",
                                                          "card[exp_month]": "12", "card[exp_year]": "2030",
                                                          "card[cvc]": "123"})["id"]
    stripe_call("POST", f"/v1/payment_methods/{method}/attach", {"customer": customer})
    return {"customer": customer, "payment_method": method}


def create_contracts(port, n, rng):
    contracts = []
    for i in range(1, n + 1):
        preset = "freelancer-com" if i % 2 else "indeelancer"
        k = rng.randint(3, 5)
        milestones = [{"amount": f"{rng.randint(50, 900)}.{rng.randint(0, 99):02d}",
                       "description": f"Part {j} of job {i}"} for j in range(1, k + 1)]
        if i % 3 == 0:
            milestones[0]["due"] = "2031-06-30"
        body = {"title": f"Crash job {i}", "preset": preset, "milestones": milestones}
        if STRIPE:
            body["payment"] = buyer_card()
        resp = H.create_contract(port, f"crash-{i}", f"buyer-{i}", f"free-{i}", api_key=API_KEY, **body)
        contracts.append({"id": resp["thread"], "preset": preset, "milestones": len(resp["milestones"]),
                          "buyer": f"buyer-{i}", "freelancer": f"free-{i}"})
    return contracts


async def run_load(args, server, clients, rng):
    stop_new = asyncio.Event()
    t0 = time.monotonic()
    hard_deadline = t0 + args.budget + 90
    tasks = [asyncio.create_task(c.run(stop_new, hard_deadline)) for c in clients]
    log = []
    await asyncio.sleep(1.0)
    kills, ok = await kill_loop(server, args.kills, args.budget, rng, log)
    load_time = time.monotonic() - t0
    await asyncio.sleep(1.0)          # a last stretch without a crash
    stop_new.set()
    drain_start = time.monotonic()
    _, still = await asyncio.wait(tasks, timeout=60)
    for t in still:
        t.cancel()
    for t in tasks:
        if t.done() and not t.cancelled() and t.exception() is not None:
            log.append(f"client task failed: {t.exception()!r}")
    return kills, ok, log, load_time, time.monotonic() - drain_start, len(still)


# --------------------------------------------------------------------------- checks on the database


def db_checks(db, clients, stats):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    # By name: a table rebuilt by a migration (create, copy, drop, rename) keeps a quoted name in its SQL.
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in ("message", "ledger_entry", "milestone", "contract", "command_log"):
        check(f"schema has table {table}", table in tables)

    res = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    check("PRAGMA integrity_check is ok", res == ["ok"], sample(res))
    fk = list(conn.execute("PRAGMA foreign_key_check"))
    check("PRAGMA foreign_key_check finds nothing", not fk, sample(tuple(r) for r in fk))

    # -- messages
    rows = {}
    by_client = defaultdict(list)
    for r in conn.execute("SELECT thread_id, seq, author_id, kind, client_message_id, hash FROM message"):
        rows[(r["thread_id"], r["seq"])] = r
        if r["client_message_id"] is not None:
            by_client[(r["thread_id"], r["client_message_id"])].append(r)

    missing, wrong, total_acked = [], [], 0
    for c in clients:
        for cid, (seq, outcome) in c.acks.items():
            total_acked += 1
            thread = c.sent[cid][0]
            found = by_client.get((thread, cid), [])
            if not found:
                missing.append(f"{thread} seq {seq} id {cid}")
            elif len(found) != 1 or found[0]["seq"] != seq or found[0]["author_id"] != c.user:
                wrong.append(f"{thread} id {cid} acked seq {seq}: stored {[(f['seq'], f['author_id']) for f in found]}")
    check(f"every acknowledged line ({total_acked}) is stored", not missing, f"{len(missing)} lost: {sample(missing)}")
    check("every acknowledged line is stored exactly once, at its acknowledged seq, by its author", not wrong,
          f"{len(wrong)}: {sample(wrong)}")

    dups = list(conn.execute("SELECT thread_id, client_message_id, count(*) n FROM message "
                             "WHERE client_message_id IS NOT NULL GROUP BY thread_id, client_message_id HAVING n > 1"))
    check("no client id appears twice in a thread", not dups, sample(tuple(r) for r in dups))

    unacked_present = unacked_absent = 0
    for c in clients:
        for cid, (thread, _) in c.sent.items():
            if cid not in c.acks:
                if by_client.get((thread, cid)):
                    unacked_present += 1
                else:
                    unacked_absent += 1
    note(f"lines never acknowledged: {unacked_present} stored anyway, {unacked_absent} not stored")

    # sequences: 1..last_seq without gaps, head hash = last message's hash, chain links
    gaps = []
    for r in conn.execute("SELECT thread_id AS id, last_seq, head_hash FROM thread_head"):
        seqs = sorted(s for (t, s) in rows if t == r["id"])
        if seqs != list(range(1, len(seqs) + 1)) or (seqs[-1] if seqs else 0) != r["last_seq"]:
            gaps.append(f"{r['id']}: {len(seqs)} messages, max {seqs[-1] if seqs else 0}, last_seq {r['last_seq']}")
        elif seqs and rows[(r["id"], seqs[-1])]["hash"] != r["head_hash"]:
            gaps.append(f"{r['id']}: head_hash is not the last message's hash")
    check("every thread's seqs are 1..last_seq with no gap, head_hash = last hash", not gaps, sample(gaps))

    diff = []
    delivered = 0
    for t, seqs in stats.delivered.items():
        for seq, (h, cid, author) in seqs.items():
            delivered += 1
            r = rows.get((t, seq))
            if r is None or r["hash"] != h or r["client_message_id"] != cid or r["author_id"] != author:
                diff.append(f"{t} seq {seq}: delivered {(h[:12] if h else h, cid, author)}, stored "
                            f"{(r['hash'][:12], r['client_message_id'], r['author_id']) if r else None}")
    check(f"every message delivered to a client ({delivered}) is stored with the same hash", not diff,
          f"{len(diff)}: {sample(diff)}")

    # -- command log
    logs = {r["command_id"]: r for r in conn.execute("SELECT command_id, contract_id, user_id, first_seq FROM command_log")}
    bad_log = []
    for c in clients:
        for cid, (seq, _) in c.acks.items():
            r = logs.get(f"{c.user}/{cid}")
            if r is None or r["first_seq"] != seq or r["contract_id"] != c.sent[cid][0]:
                bad_log.append(f"{c.user}/{cid} seq {seq}: {dict(r) if r else None}")
    check("every acknowledged line has its command_log row (same thread, first_seq = acked seq)", not bad_log,
          f"{len(bad_log)}: {sample(bad_log)}")

    # -- money
    ledger = defaultdict(lambda: {"hold": 0, "post": 0, "void": 0, "holds": 0})
    entries = list(conn.execute("SELECT id, contract_id, milestone, kind, debit, credit, amount, command_id, message_seq "
                                "FROM ledger_entry ORDER BY id"))
    bad_entry = []
    for e in entries:
        key = (e["contract_id"], e["milestone"])
        ledger[key][e["kind"]] += e["amount"]
        if e["kind"] == "hold":
            ledger[key]["holds"] += 1
        want = {"hold": ("buyer", f"held:M{e['milestone']}"), "post": (f"held:M{e['milestone']}", "freelancer"),
                "void": (f"held:M{e['milestone']}", "buyer")}[e["kind"]]
        if (e["debit"], e["credit"]) != want:
            bad_entry.append(f"entry {e['id']}: {e['kind']} {e['debit']}->{e['credit']}")
        m = rows.get((e["contract_id"], e["message_seq"]))
        if m is None or m["kind"] != "system":
            bad_entry.append(f"entry {e['id']}: message {e['contract_id']}#{e['message_seq']} is {m['kind'] if m else 'missing'}")
        if e["command_id"] is not None and e["command_id"] not in logs:
            bad_entry.append(f"entry {e['id']}: command {e['command_id']} not in command_log")
    check(f"every ledger entry ({len(entries)}) has the right accounts, a system message and a logged command",
          not bad_entry, sample(bad_entry))

    milestones = list(conn.execute("SELECT contract_id, number, amount, state, funded, released, refunded FROM milestone"))
    conserve, ledger_bad, multi_hold, state_bad = [], [], [], []
    held_states = {"funded", "submitted", "revision_requested", "disputed"}
    unfunded_states = {"proposed", "requested", "agreed"}
    for m in milestones:
        key = (m["contract_id"], m["number"])
        held = m["funded"] - m["released"] - m["refunded"]
        name = f"{m['contract_id']} M{m['number']} ({m['state']})"
        if held < 0 or m["funded"] not in (0, m["amount"]):
            conserve.append(f"{name}: amount {m['amount']} funded {m['funded']} released {m['released']} refunded {m['refunded']}")
        l = ledger.get(key, {"hold": 0, "post": 0, "void": 0, "holds": 0})
        if (l["hold"], l["post"], l["void"]) != (m["funded"], m["released"], m["refunded"]) or l["hold"] - l["post"] - l["void"] != held:
            ledger_bad.append(f"{name}: ledger hold {l['hold']} post {l['post']} void {l['void']}; "
                              f"milestone funded {m['funded']} released {m['released']} refunded {m['refunded']}")
        if l["holds"] > 1:
            multi_hold.append(f"{name}: {l['holds']} holds")
        s = m["state"]
        if (s in held_states and held != m["amount"]) or (s in unfunded_states and m["funded"] != 0) \
                or (s == "released" and m["released"] != m["amount"]) or (s == "refunded" and m["refunded"] != m["amount"]) \
                or (s == "split" and (m["released"] + m["refunded"] != m["amount"])):
            state_bad.append(f"{name}: amount {m['amount']} funded {m['funded']} released {m['released']} refunded {m['refunded']}")
    orphan = [k for k in ledger if k not in {(m["contract_id"], m["number"]) for m in milestones}]
    check(f"money conserved on every milestone ({len(milestones)}): funded - released - refunded == held >= 0",
          not conserve, sample(conserve))
    check("ledger per milestone: holds - posts - voids == held (and sums match funded/released/refunded)",
          not ledger_bad and not orphan, sample(ledger_bad + [f"orphan ledger rows for {o}" for o in orphan]))
    check("never more than one hold per milestone", not multi_hold, sample(multi_hold))
    check("milestone state agrees with its money", not state_bad, sample(state_bad))

    # acknowledged outcomes vs the ledger
    by_command = defaultdict(list)
    for e in entries:
        if e["command_id"]:
            by_command[e["command_id"]].append(e)
    mismatch = []
    ours = {}
    for c in clients:
        for cid, (seq, outcome) in c.acks.items():
            text = c.sent[cid][1]
            command = f"{c.user}/{cid}"
            ours[command] = outcome
            moves = text.startswith(MONEY_PREFIXES)
            if moves and outcome == "applied" and not by_command.get(command):
                mismatch.append(f"{command} {text!r} applied but no ledger entry")
            if outcome != "applied" and by_command.get(command):
                mismatch.append(f"{command} {text!r} acked {outcome} but moved money")
    for command in by_command:
        if command not in ours and not command.startswith(("alice/", "bob/", "mia/")):
            # moved money but the client never got an ack: fine only if the line was never acknowledged
            pass
    check("acknowledged outcomes agree with the ledger (applied money commands moved money, others did not)",
          not mismatch, sample(mismatch))

    # Files: every message that carries a file has its bytes on disk, hashing to its id (a kill between the
    # upload's answer and the line, or mid-upload, must never leave a message pointing at nothing).
    folder = db + ".files"
    carried = [(r["thread_id"], r["seq"], r["files"]) for r in conn.execute("SELECT thread_id, seq, files FROM message WHERE files IS NOT NULL")]
    broken = []
    for thread, seq, files in carried:
        for file_id in files.split(","):
            path = os.path.join(folder, file_id[:2], file_id)
            if not os.path.exists(path) or hashlib.sha256(open(path, "rb").read()).hexdigest() != file_id:
                broken.append(f"{thread}#{seq}: {file_id}")
    uploads = sum(c.uploads for c in clients)
    check(f"files: {len(carried)} stored messages carry files ({uploads} uploads answered), each file's bytes on disk and intact",
          len(carried) > 0 and not broken, f"{len(carried)} messages; missing or changed: {sample(broken)}")
    orphans = [r[0] for r in conn.execute("SELECT id FROM file")
               if not os.path.exists(os.path.join(folder, r[0][:2], r[0]))]
    check("files: every recorded upload has its bytes", not orphans, sample(orphans))
    acked_with_files = [(c.sent[cid][0], c.acks[cid][0]) for c in clients for cid in c.files_of if cid in c.acks]
    stored_with_files = {(t, s) for t, s, _ in carried}
    check(f"files: all {len(acked_with_files)} acknowledged lines with files are stored with them",
          all(key in stored_with_files for key in acked_with_files), sample([k for k in acked_with_files if k not in stored_with_files]))

    if STRIPE:
        stripe_checks(conn)
    conn.close()

    out = H.run_bot("verify", "--database", db)
    check(f"milestone-bot verify exits 0 ({H.last_line(out.stdout)})", out.returncode == 0,
          f"exit {out.returncode}: {sample([l for l in out.stdout.splitlines() if 'intact' not in l or 'broken' in l], 5)} {out.stderr[-500:]}")
    return total_acked


def stripe_checks(conn):
    """Money at localstripe agrees with the ledger: every movement happened exactly once."""
    pending = [r[0] for r in conn.execute("SELECT key FROM payment_operation WHERE status = 'pending'")]
    check("no payment operation is left pending", not pending, sample(pending))
    ops = dict(tuple(r) for r in conn.execute("SELECT status, COUNT(*) FROM payment_operation GROUP BY status"))
    recovered = conn.execute("SELECT COUNT(*) FROM message WHERE body LIKE 'The payment processor confirmed this payment after an interruption%'").fetchone()[0]
    note(f"payment operations {ops}; completed after a crash between the processor call and the commit: {recovered}")
    per_milestone = defaultdict(lambda: {"hold": [], "post": 0, "void": 0})
    for e in conn.execute("SELECT contract_id, milestone, kind, amount, processor_ref FROM ledger_entry ORDER BY id"):
        m = per_milestone[(e["contract_id"], e["milestone"])]
        if e["kind"] == "hold":
            m["hold"].append((e["processor_ref"], e["amount"]))
        else:
            m[e["kind"]] += e["amount"]
    intents = {}
    after = None
    while True:
        page = stripe_call("GET", "/v1/payment_intents?limit=100" + (f"&starting_after={after}" if after else ""))
        for pi in page.get("data", []):
            intents[pi["id"]] = pi
        if not page.get("has_more") or not page.get("data"):
            break
        after = page["data"][-1]["id"]
    bad, referenced = [], set()
    for (contract, number), m in per_milestone.items():
        for ref, amount in m["hold"]:
            pi = intents.get(ref)
            referenced.add(ref)
            if pi is None or pi["amount"] != amount:
                bad.append(f"{contract} M{number}: hold {amount} -> {ref}: {pi and pi['amount']}")
                continue
            charge = pi.get("latest_charge") or {}
            if isinstance(charge, str):
                charge = stripe_call("GET", f"/v1/charges/{charge}")
            refunded = charge.get("amount_refunded", 0) or 0
            if m["post"] == 0 and m["void"] == 0:
                ok = pi["status"] == "requires_capture"
            elif m["post"] == 0:
                ok = pi["status"] == "canceled"
            else:
                ok = pi["status"] == "succeeded" and charge.get("captured") and refunded == m["void"]
            if not ok:
                bad.append(f"{contract} M{number}: posts {m['post']} voids {m['void']} but {ref} is {pi['status']}, "
                           f"captured {charge.get('captured')}, refunded {refunded}")
    moved = [pid for pid, pi in intents.items() if pi["status"] in ("requires_capture", "succeeded", "canceled")
             and pi.get("latest_charge")]
    unrecorded = [pid for pid in moved if pid not in referenced]
    check(f"every ledger hold is one PaymentIntent of its amount in the state its postings say ({len(referenced)} intents)",
          not bad, sample(bad))
    check(f"no PaymentIntent took money without a ledger hold ({len(moved)} confirmed at localstripe)", not unrecorded,
          sample(unrecorded))


# --------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=50, help="SIGKILLs per run (default 50)")
    ap.add_argument("--budget", type=float, default=None, help="seconds for the kill phase (default ~2.4 s per kill, at most 170)")
    ap.add_argument("--contracts", type=int, default=10)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server logs)")
    ap.add_argument("--processor", choices=["simulated", "stripe"], default="simulated",
                    help="stripe: money moves through localstripe, started on a free port (pip install localstripe)")
    args = ap.parse_args()
    if args.budget is None:
        args.budget = min(170.0, max(10.0, 2.4 * args.kills))
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    missing = H.binary_missing()
    if missing:
        raise SystemExit(f"server binary not found: {missing}")
    port = free_port()
    # A fixed secret and API key, so that tokens stay valid across restarts; the same port and database each start.
    server = H.Server(secret=SIGNING_SECRET, api_key=API_KEY, prefix="crash-test-", database="crash.sqlite", port=port,
                      grace=15)
    db = server.db
    note(f"seed {seed}, port {port}, database {db}, kills {args.kills}, budget {args.budget:.0f} s")
    started = time.monotonic()
    keep = args.keep
    try:
        if args.processor == "stripe":
            start_localstripe(server.tmpdir)
            server.env.update(stripe_env())
            note(f"localstripe on port {STRIPE['port']}")
        server.start(30.0)
        check("server starts with a fixed secret and API key", server.api_key == API_KEY, f"api key {server.api_key!r}")
        contracts = create_contracts(port, args.contracts, rng)
        note(f"created {len(contracts)} contracts ({sum(c['milestones'] for c in contracts)} milestones)")

        jobs = []
        for c in contracts:
            jobs.append((c["buyer"], "buyer"))
            jobs.append((c["freelancer"], "freelancer"))
        jobs.append(("crash-mod", "moderator"))
        tokens = {}
        threads_lock = threading.Lock()

        def fetch_token(job):
            tok = server.cli_token(*job)
            with threads_lock:
                tokens[job[0]] = tok
        ts = [threading.Thread(target=fetch_token, args=(j,)) for j in jobs]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

        stats = Stats()
        milestones = {c["id"]: c["milestones"] for c in contracts}
        presets = {c["id"]: c["preset"] for c in contracts}
        clients = []
        for c in contracts:
            for k in range(2):
                for user, role in ((c["buyer"], "buyer"), (c["freelancer"], "freelancer")):
                    clients.append(LoadClient(f"{user}-c{k}", user, role, tokens[user], [c["id"]], milestones,
                                              presets, port, stats, random.Random(rng.random())))
        clients.append(LoadClient("crash-mod-c0", "crash-mod", "moderator", tokens["crash-mod"],
                                  [c["id"] for c in contracts], milestones, presets, port, stats,
                                  random.Random(rng.random())))
        note(f"{len(clients)} clients")

        kills, restarted, log, load_time, drain_time, stuck = asyncio.run(run_load(args, server, clients, rng))
        for line in log:
            if not line.startswith("kill "):
                note(line)
        check(f"server killed with SIGKILL and restarted {kills} times", kills == args.kills and restarted,
              f"{kills} of {args.kills}; {log[-1] if log else ''}")
        check("clients finished (every line acknowledged or refused) within 60 s after the last crash", stuck == 0,
              f"{stuck} clients still busy")

        code = server.stop()
        check("server stops cleanly on SIGTERM after the run", code == 0, f"exit status {code}{server.stderr_tail(3000, heading=True)}")

        sent = sum(len(c.sent) for c in clients)
        acked = sum(len(c.acks) for c in clients)
        applied = sum(1 for c in clients for (_, o) in c.acks.values() if o == "applied")
        outcomes = defaultdict(int)
        for c in clients:
            for (_, o) in c.acks.values():
                outcomes[o] += 1
        verbs = defaultdict(int)
        for c in clients:
            for cid, (_, o) in c.acks.items():
                if o == "applied":
                    verbs[c.sent[cid][1].split()[0]] += 1
        note(f"commands applied by verb: {dict(sorted(verbs.items()))}")
        unacked = [f"{c.name}:{cid}" for c in clients for cid in c.sent if cid not in c.acks and cid not in c.refused]
        check(f"every line sent ({sent}) was eventually acknowledged (resending the same id)", not unacked,
              f"{len(unacked)} never acknowledged: {sample(unacked)}")
        for kind, details in sorted(stats.anomalies.items()):
            check(f"client-side: {kind}", False, f"{len(details)}x: {sample(details, 3)}")
        if not stats.anomalies:
            check("client-side: no protocol anomaly (order, duplicates, seq reuse, joined.last_seq, errors)", True)
        probes = sum(c.probes for c in clients)
        probe_ok = sum(c.probe_ok for c in clients)
        note(f"deliberate resends of acknowledged ids: {probes}, answered duplicate with the same seq: {probe_ok}")

        db_checks(db, clients, stats)
        elapsed = time.monotonic() - started
        note(f"kills {kills}; lines sent {sent} (sends incl. resends {sum(c.sends_total for c in clients)}); "
             f"acknowledged {acked} ({dict(outcomes)}); commands applied {applied}; "
             f"resent after a crash and found already stored: {sum(c.dup_after_crash for c in clients)}; "
             f"connections {stats.connects}, failed connects {stats.connect_failures}, drops {stats.drops}, "
             f"rate_limited {stats.rate_limited}; load {load_time:.1f} s, drain {drain_time:.1f} s, total {elapsed:.1f} s")
    except Exception as e:  # a failure to even run is a failure
        import traceback
        traceback.print_exc()
        check("the test ran to the end", False, repr(e))
    finally:
        server.stop()
        if STRIPE:
            STRIPE["proc"].kill()
            STRIPE["proc"].wait(10)
        server.close(keep or REPORT.failed, note, " (database and per-start server logs)")
    sys.exit(REPORT.finish())


if __name__ == "__main__":
    main()
