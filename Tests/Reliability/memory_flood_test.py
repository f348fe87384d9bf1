#!/usr/bin/env python3
"""Memory flood test for milestone-bot: clients that never read, asking for big history pages as fast as the
socket takes them, must not grow the server's memory; a normal pair must stay fast meanwhile.

The attack (found by an outside review): `history` and `join` envelopes skipped the per-connection rate
limiter, and the outbound queue of a connection (`limits.max_queued_messages`) counted frames, not bytes. A
500-line history of 4,000-character lines is ~2 MB, so one connection that never reads and keeps sending
`{"type":"history","thread":T,"limit":500}` made the server queue gigabytes. The defences checked here:
every envelope counts against the rate limiter (history and join charged by the size of what they return),
history pages are capped in bytes (`has_more` tells the rest), and the outbound queue is bounded in bytes
(`limits.max_queued_bytes`); past it the connection is dropped.

It starts the server itself (`serve --demo --port 0` on a temporary database) with the DEFAULT limits
(LIMITS_* variables inherited from the caller are removed; only the signing secret and API key are set), then:

  1. seeds a contract with 500 chat lines of 4,000 ASCII characters, from 10 connections per party in
     parallel (25 lines each, every one waiting for its `ack`: within the burst of 40), and reads one
     500-line history page with a reading client (warms SQLite's caches before the baseline);
  2. records the server's RSS (VmRSS from /proc/PID/status) after a short settle: the baseline (the pair
     below is already connected and chatting, which gives its round trips without an attack);
  3. runs three attackers for 30 s (`--seconds`): raw sockets of the contract's buyer with a 4 KiB receive
     buffer that read nothing after `hello`; each joins the thread, then writes `history` (limit 500) frames
     as fast as the socket accepts them. An attacker the server drops reconnects and goes on (refused
     reconnects over the per-user cap are retried);
  4. meanwhile a well-behaved pair (other users, another contract) chats, one line every 100 ms
     (alternating sender), each send -> ack round trip measured;
  5. samples the server's RSS every 0.5 s during the attack and for 5 s after the attackers close.

Checks: peak RSS growth over the baseline under 100 MB; the pair's send -> ack p95 under 100 ms and every
line acknowledged; the server still running and `GET /health` answering; `milestone-bot verify` on the
database exits 0 after the server is stopped. A safety valve ends the attack early if the server grows by
more than 3 GB (the growth check has failed by then anyway).

Numbers printed: baseline, peak and end RSS (and a trace); the pair's p50/p95/max before and during the
attack; history requests written by the attackers (accepted by the kernel), `rate_limited` answers (from the
server's /metrics, `protocol_errors_total{code="rate_limited"}`: the attackers never read their answers, so
how many pages were answered is only visible if the server exports a metric for it; any series named like
history/queue/drop is printed), how often the attackers were dropped, and the CPU the server used.

Usage:
    python3 Tests/Reliability/memory_flood_test.py [--seconds 30] [--keep]

Requirements: Python 3.9+, Linux (/proc), the `websockets` package; the server binary at
.build/debug/milestone-bot (or MILESTONE_BOT). Prints one line per check and ends with `N passed, M failed`;
exit status 1 on failure. About 45 s.
"""

import argparse
import asyncio
import functools
import json
import os
import re
import select
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402

H.require("websockets")

SECRET = "memory-flood-signing-secret-0123456789abcdef"
API_KEY = "memory-flood-api-key-0123456789abcdef0123"

SEED_LINES = 500          # lines in the attacked thread
LINE_CHARS = 4000         # characters per line (the protocol's maximum)
SEED_PER_PARTY = 10       # seeding connections per party (the per-user cap is 20)
ATTACKERS = 3             # connections that never read
HISTORY_LIMIT = 500       # the largest page the protocol allows
RCVBUF = 4096             # the attackers' receive buffer
PAIR_GAP = 0.1            # seconds between the good pair's lines
AFTER_SECONDS = 5         # RSS sampling after the attackers close
SAMPLE_EVERY = 0.5        # seconds between RSS samples
MAX_GROWTH_MB = 100       # peak RSS over the baseline must stay under this
FAST_MS = 100             # the pair's send -> ack p95 must stay under this
SAFETY_GROWTH_MB = 3000   # end the attack early past this growth (protects the machine)
DEFAULT_RATE, DEFAULT_BURST = 20, 40  # limits.messages_per_second / message_burst defaults (bot-config/server.yaml)
MAX_SIZE = 2 ** 23        # the reading clients take frames this big (a 500-line page of 4,000 characters)

REPORT = H.Report(details="always", limit=300)
check, note = REPORT.check, REPORT.note
mint = functools.partial(H.mint, SECRET)
create_contract = functools.partial(H.create_contract, api_key=API_KEY, title="memory flood {cid}")


# --------------------------------------------------------------------------- the server's numbers


def metrics(port):
    """The server's /metrics as {series: value} (None when it cannot be read)."""
    try:
        status, _, raw = H.http(port, "GET", "/metrics", timeout=10)
    except OSError:
        return None
    if status != 200:
        return None
    values = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        series, _, value = line.rpartition(" ")
        try:
            values[series] = float(value)
        except ValueError:
            pass
    return values


def rate_limited(values):
    return sum(v for k, v in values.items() if k.startswith("protocol_errors_total") and 'code="rate_limited"' in k)


def cpu_seconds(pid):
    """User + system CPU seconds of a process (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def rss_mb(pid):
    """The process's resident set size in MB (VmRSS), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------- the attackers


class AttackStats:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0       # connections that got hello
        self.refused = 0           # connections refused before hello (too_many_connections, ...)
        self.connect_errors = 0    # connect or handshake failures
        self.drops = 0             # established connections the server closed under us
        self.history_sent = 0      # history frames fully written to the socket (accepted by the kernel)
        self.errors = []

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


def attacker(idx, port, token, thread, stop, stats):
    """Joins, then writes history requests as fast as the socket accepts them; reads nothing after hello."""
    batch = 256
    request = json.dumps({"type": "history", "thread": thread, "limit": HISTORY_LIMIT})
    frames = [H.ws_frame(0x1, request.encode()) for _ in range(batch)]
    frame_len = len(frames[0])
    block = b"".join(frames)
    join = H.ws_frame(0x1, json.dumps({"type": "join", "thread": thread}).encode())
    while not stop.is_set():
        s = None
        try:
            s = H.raw_ws_connect(port, token, RCVBUF)
            opcode, payload = H.read_one_frame(s)  # hello, or the error frame of a refusal
        except (OSError, ConnectionError, ValueError) as e:
            stats.add(connect_errors=1)
            with stats.lock:
                if len(stats.errors) < 5:
                    stats.errors.append(f"attacker {idx}: {type(e).__name__}: {e}")
            if s is not None:
                s.close()
            stop.wait(0.2)
            continue
        try:
            first = json.loads(payload) if opcode == 0x1 else {}
        except ValueError:
            first = {}
        if first.get("type") != "hello":
            stats.add(refused=1)
            s.close()
            stop.wait(0.2)
            continue
        stats.add(connections=1)
        s.setblocking(False)
        pending = memoryview(join)
        in_join = True
        written = 0  # bytes of history frames written on this connection
        try:
            while not stop.is_set():
                if not pending:
                    pending, in_join = memoryview(block), False
                _, writable, _ = select.select([], [s], [], 0.2)
                if not writable:
                    continue
                try:
                    n = s.send(pending)
                except BlockingIOError:
                    continue
                if not in_join:
                    before = written // frame_len
                    written += n
                    stats.add(history_sent=written // frame_len - before)
                pending = pending[n:]
        except OSError:
            stats.add(drops=1)
        finally:
            s.close()


class RssSampler(threading.Thread):
    """Samples the server's RSS every SAMPLE_EVERY seconds until stopped; trips `valve` past the safety cap."""

    def __init__(self, pid, baseline, valve):
        super().__init__(daemon=True)
        self.pid, self.baseline, self.valve = pid, baseline, valve
        self.samples = []  # (seconds since start, MB)
        self.halt = threading.Event()
        self.started_at = time.monotonic()
        self.tripped = False

    def run(self):
        while not self.halt.is_set():
            mb = rss_mb(self.pid)
            if mb is not None:
                self.samples.append((time.monotonic() - self.started_at, mb))
                if mb - self.baseline > SAFETY_GROWTH_MB and not self.valve.is_set():
                    self.tripped = True
                    self.valve.set()
            self.halt.wait(SAMPLE_EVERY)


# --------------------------------------------------------------------------- the test


async def seed(port, thread, buyer, freelancer):
    clients = [H.Client(port, mint(buyer), f"seed-{buyer}{i}", MAX_SIZE) for i in range(SEED_PER_PARTY)]
    clients += [H.Client(port, mint(freelancer), f"seed-{freelancer}{i}", MAX_SIZE) for i in range(SEED_PER_PARTY)]
    await asyncio.gather(*[c.connect() for c in clients])
    hello = clients[0].hello
    note(f"hello limits: messages_per_second {hello.get('messages_per_second')}, message_burst "
         f"{hello.get('message_burst')}, flood_strikes_before_close {hello.get('flood_strikes_before_close')}")
    check(f"setup: the server runs the default rate limits ({DEFAULT_RATE}/s, burst {DEFAULT_BURST})",
          hello.get("messages_per_second") == DEFAULT_RATE and hello.get("message_burst") == DEFAULT_BURST,
          f"hello {hello}")
    await asyncio.gather(*[c.join(thread, 15) for c in clients])
    filler = "abcdefghijklmnopqrstuvwxyz0123456789"
    answers = {}

    async def seeder(k, c):
        for i in range(k, SEED_LINES, len(clients)):
            head = f"line {i:03d} "
            text = head + (filler * (LINE_CHARS // len(filler) + 1))[:LINE_CHARS - len(head)]
            try:
                answers[i] = await c.send(thread, text, timeout=20)
            except Exception as e:
                answers[i] = {"type": "exception", "detail": f"{type(e).__name__}: {e}"}

    started = time.monotonic()
    await asyncio.gather(*[seeder(k, c) for k, c in enumerate(clients)])
    took = time.monotonic() - started
    acked = [a for a in answers.values() if a.get("type") == "ack" and a.get("outcome") == "chat"]
    others = [a for a in answers.values() if not (a.get("type") == "ack" and a.get("outcome") == "chat")]
    note(f"seed: {len(acked)}/{SEED_LINES} lines of {LINE_CHARS} characters acked in {took:.1f}s from "
         f"{len(clients)} connections")
    check(f"setup: {SEED_LINES} lines of {LINE_CHARS} characters seeded, each acked", len(acked) == SEED_LINES,
          f"{len(others)} not acked, e.g. {others[:2]}")
    await asyncio.gather(*[c.close() for c in clients])
    return took


async def warm_up(port, thread, user):
    """One reading client asks for the 500-line page once (SQLite's caches hold it before the baseline)."""
    c = await H.Client(port, mint(user), f"warm-{user}", MAX_SIZE).connect()
    await c.join(thread, 15)
    count = len(c.frames)
    await c.ws.send(json.dumps({"type": "history", "thread": thread, "limit": HISTORY_LIMIT}))
    deadline = time.monotonic() + 15
    page, error = None, None
    while time.monotonic() < deadline and page is None and error is None:
        page = next((f for f in c.frames[count:] if f.get("type") == "history"), None)
        error = next((e for e in c.errors if e.get("thread") == thread), None)
        await asyncio.sleep(0.02)
    if page is not None:
        size = len(json.dumps(page).encode())
        note(f"warm-up: a history page (limit {HISTORY_LIMIT}) holds {len(page.get('messages', []))} messages, "
             f"~{size / 1e6:.2f} MB of JSON, has_more {page.get('has_more')}")
    else:
        note(f"warm-up: no history page ({error})")
    await c.close()


async def pair_chat(pair, thread, stop):
    """One line every PAIR_GAP seconds, alternating sender; returns [(client, id, sent at)]."""
    sent = []
    i = 0
    next_at = time.perf_counter()
    while not stop.is_set():
        c = pair[i % 2]
        cid = c.next_id()
        t0 = time.perf_counter()
        try:
            await c.send(thread, f"pair line {i}", cid=cid, wait=False)
            sent.append((c, cid, t0))
        except Exception:
            sent.append((c, cid, None))
        i += 1
        next_at += PAIR_GAP
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    return sent


def round_trips(sent, *clients):
    """([send -> ack ms], lines without an ack, error codes answered instead)."""
    rtts, lost, errors = [], 0, []
    for c, cid, t0 in sent:
        at = c.ack_at.get(cid)
        if t0 is None or at is None:
            lost += 1
            err = next((e for e in c.errors if e.get("id") == cid), None)
            if err:
                errors.append(err.get("code"))
        else:
            rtts.append((at - t0) * 1000)
    return rtts, lost, errors


def rtt_summary(rtts):
    if not rtts:
        return "no acks"
    return (f"send->ack p50 {statistics.median(rtts):.1f} ms, p95 {H.percentile(rtts, 0.95):.1f} ms, "
            f"max {max(rtts):.1f} ms")


async def run(srv, args):
    port = srv.port
    pid = srv.proc.pid
    victim, buyer, freelancer = "flood-history", "ana", "ben"
    create_contract(port, victim, buyer, freelancer)
    await seed(port, victim, buyer, freelancer)
    await warm_up(port, victim, freelancer)

    # The well-behaved pair, connected before the baseline so their connections are in it.
    create_contract(port, "flood-pair", "pat", "quinn")
    pat = await H.Client(port, mint("pat"), "pat", MAX_SIZE).connect()
    quinn = await H.Client(port, mint("quinn"), "quinn", MAX_SIZE).connect()
    await pat.join("flood-pair", 15)
    await quinn.join("flood-pair", 15)

    # The settle: the pair already chats (its round trips without an attack, for comparison).
    idle_stop = asyncio.Event()
    idle_chat = asyncio.create_task(pair_chat((pat, quinn), "flood-pair", idle_stop))
    settle = []
    for _ in range(5):
        await asyncio.sleep(0.5)
        settle.append(rss_mb(pid))
    idle_stop.set()
    idle_sent = await idle_chat
    await asyncio.sleep(0.3)
    idle_rtts, idle_lost, _ = round_trips(idle_sent, pat, quinn)
    note(f"pair before the attack: {len(idle_sent)} lines, {idle_lost} without ack; " + rtt_summary(idle_rtts))
    baseline = statistics.median([m for m in settle if m is not None])
    metrics_before = metrics(port)
    note(f"baseline RSS {baseline:.1f} MB (median of {len(settle)} samples over 2.5 s after seeding: "
         f"{', '.join(f'{m:.1f}' for m in settle if m is not None)})")

    valve = threading.Event()   # set: attackers stop (end of the attack, or the safety valve)
    sampler = RssSampler(pid, baseline, valve)
    sampler.start()
    stats = AttackStats()
    token = mint(buyer)
    threads = [threading.Thread(target=attacker, args=(i, port, token, victim, valve, stats), daemon=True)
               for i in range(ATTACKERS)]
    attack_started = time.monotonic()
    cpu_server_before, cpu_test_before = cpu_seconds(pid), time.process_time()
    for t in threads:
        t.start()
    pair_stop = asyncio.Event()
    chat = asyncio.create_task(pair_chat((pat, quinn), "flood-pair", pair_stop))
    while time.monotonic() - attack_started < args.seconds and not valve.is_set():
        await asyncio.sleep(0.1)
    attack_seconds = time.monotonic() - attack_started
    cpu_server, cpu_test = cpu_seconds(pid), time.process_time() - cpu_test_before
    cpu_server = cpu_server - cpu_server_before if cpu_server is not None and cpu_server_before is not None else None
    valve.set()
    pair_stop.set()
    sent = await chat
    await asyncio.get_running_loop().run_in_executor(None, lambda: [t.join(5) for t in threads])
    attackers_closed_at = time.monotonic() - sampler.started_at
    if sampler.tripped:
        note(f"SAFETY VALVE: the server grew by more than {SAFETY_GROWTH_MB} MB; attack ended after {attack_seconds:.1f}s")
    # After the attackers close: keep sampling, and let the pair's last acks come in.
    await asyncio.sleep(AFTER_SECONDS)
    sampler.halt.set()
    sampler.join(2)

    alive = srv.alive()
    health_status, health = None, None
    if alive:
        try:
            health_status, _, health = H.http_json(port, "GET", "/health", timeout=10)
        except Exception as e:
            health = f"{type(e).__name__}: {e}"
    metrics_after = metrics(port) if alive else None

    # ---- numbers
    samples = sampler.samples
    during = [mb for t, mb in samples if t <= attackers_closed_at]
    peak = max((mb for _, mb in samples), default=baseline)
    end = samples[-1][1] if samples else None
    note(f"RSS: baseline {baseline:.1f} MB, peak {peak:.1f} MB (+{peak - baseline:.1f} MB), "
         f"at the end of the attack {during[-1] if during else float('nan'):.1f} MB, "
         f"{AFTER_SECONDS}s after the attackers closed {end if end is not None else float('nan'):.1f} MB "
         f"(+{(end - baseline) if end is not None else float('nan'):.1f} MB)")
    trace = " ".join(f"{t:.0f}s:{mb:.0f}" for t, mb in samples[::4])
    note(f"RSS samples (every 2 s, MB): {trace}")
    pair_limited = sum(1 for c in (pat, quinn) for e in c.errors if e.get("code") == "rate_limited")
    limited = (int(rate_limited(metrics_after) - rate_limited(metrics_before)) - pair_limited
               if metrics_after is not None and metrics_before is not None else None)
    note(f"attack: {attack_seconds:.1f}s, {ATTACKERS} attackers; {stats.connections} connections got hello "
         f"({stats.refused} refused before hello, {stats.connect_errors} failed to connect); "
         f"dropped by the server {stats.drops} times")
    note(f"history requests: {stats.history_sent} written by the attackers (accepted by the kernel; those still "
         f"in socket buffers when a connection drops are never read); rate_limited answers (server metrics) "
         f"{limited if limited is not None else 'unknown'}; answered: not visible from outside (the attackers "
         f"never read), see the history metrics below if the server has any")
    if metrics_after is not None and metrics_before is not None:
        interesting = re.compile(r"history|queue|overflow|drop|envelope|rate", re.I)
        deltas = {k: v - metrics_before.get(k, 0) for k, v in metrics_after.items()
                  if interesting.search(k) and v - metrics_before.get(k, 0)}
        note("server metrics during the attack: " + (", ".join(f"{k} +{v:g}" for k, v in sorted(deltas.items()))
                                                      or "(no history/queue/drop series)"))
    note(f"CPU during the attack: server {cpu_server if cpu_server is None else round(cpu_server, 1)} s, "
         f"this test (attackers, pair, sampler) {cpu_test:.1f} s, over {attack_seconds:.1f} s on {os.cpu_count()} cores")
    if stats.errors:
        note(f"attacker connect errors: {stats.errors}")

    rtts, lost, errors = round_trips(sent, pat, quinn)
    delivered = sum(1 for c, cid, _ in sent
                    if any(f.get("type") == "message" and f.get("client_id") == cid
                           for f in (quinn if c is pat else pat).frames))
    note(f"pair during the attack: {len(sent)} lines sent, {len(rtts)} acked, {lost} without ack {errors[:5]}; "
         f"{rtt_summary(rtts)}; {delivered} delivered to the other side")

    # ---- checks
    check("attack: the attackers connected and wrote history requests",
          stats.connections >= ATTACKERS and stats.history_sent > 0,
          f"{stats.connections} connections, {stats.history_sent} history requests")
    check(f"memory: peak RSS growth over the baseline stays under {MAX_GROWTH_MB} MB",
          peak - baseline < MAX_GROWTH_MB and not sampler.tripped,
          f"baseline {baseline:.1f} MB, peak {peak:.1f} MB (+{peak - baseline:.1f} MB)")
    check(f"pair: send->ack p95 under {FAST_MS} ms during the attack",
          rtts and H.percentile(rtts, 0.95) < FAST_MS,
          f"p95 {H.percentile(rtts, 0.95):.1f} ms over {len(rtts)} acks" if rtts else "no acks")
    check("pair: every line acknowledged (no lost acks)", sent and lost == 0, f"{lost} of {len(sent)} without ack")
    check("server: the process is still running", alive)
    check("server: GET /health answers", health_status == 200 and isinstance(health, dict),
          f"{health_status} {health}")
    for c in (pat, quinn):
        await c.close()


def verify(srv):
    out = srv.verify()
    check(f"milestone-bot verify on the database exits 0 ({H.last_line(out.stdout, '(no output)')})",
          out.returncode == 0, (out.stderr.strip() or out.stdout.strip())[-300:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="how long the attack lasts (default 30)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, stderr log)")
    args = parser.parse_args()
    srv = H.Server(secret=SECRET, api_key=API_KEY, prefix="memory-flood-", database="memory-flood.sqlite",
                   clear_limits=True)
    started = time.monotonic()
    note(f"memory flood: {ATTACKERS} non-reading connections asking for {HISTORY_LIMIT}-line history pages for "
         f"{args.seconds:.0f}s; binary {H.binary()}")
    try:
        srv.start()
        asyncio.run(run(srv, args))
        crashed = not srv.alive()
        stop_started = time.monotonic()
        srv.stop()
        clean = not srv.killed
        note(f"server stopped in {time.monotonic() - stop_started:.1f}s" + ("" if clean else " (killed after 10 s)"))
        if crashed:
            note("server stderr (tail): " + srv.stderr_tail())
        verify(srv)
    except Exception as e:
        check("memory flood test ran to the end", False, f"{type(e).__name__}: {e}")
        if srv.proc is not None and not srv.alive():
            note("server stderr (tail): " + srv.stderr_tail())
    finally:
        srv.close(args.keep, note)
    sys.exit(REPORT.finish(started))


if __name__ == "__main__":
    main()
