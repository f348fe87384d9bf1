#!/usr/bin/env python3
"""The hash chain and the case bundle, checked by an outsider: written from the docs alone (docs/PROTOCOL.md's
*The hash chain*, the HTTP rows for files and the bundle, the `send` frame's `files`, and the README.txt inside a
downloaded bundle), never from the Swift sources.

`milestone-bot serve --demo` on a temporary database: bob uploads two files and sends a line carrying both;
alice sends chat lines (non-ASCII among them) and a `/status` (a private line). Then, as the moderator mia:
every message's `hash` is recomputed from its wire fields, link by link from 64 zeros; each file id is checked
against the SHA-256 of the downloaded bytes; the case bundle is verified by this file's own reading of its
README.txt and its head compared with GET .../verify; tampered copies (a character of a message's text, a byte
of a file, a file left out) must fail here, and `milestone-bot verify --bundle` must exit 0 on the original
and 1 on each copy.

Run: python3 Tests/ProtocolConformance/bundle_outsider_test.py  (MILESTONE_BOT names another binary).
Prints one line per check and ends with `N passed, M failed`; exits non-zero on any failure.
"""
import asyncio
import datetime
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
import urllib.parse
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402

H.require("websockets")

REPORT = H.Report()
check = REPORT.check
ZEROS = "0" * 64
FILES = {"sketch.bin": bytes(range(256)) * 7 + b"\x00\xff",
         "notes \u2014 v2.txt": "Final colours: #1b3a5c, caf\u00e9 cr\u00e8me \u2713\n".encode("utf-8")}
BOB_TEXT = "Here are the drafts, both files attached"
ALICE_LINES = ["Thanks, looking now", "Caf\u00e9 cr\u00e8me colours \u2014 \u2713 \u65e5\u672c \U0001F600", "/status"]


def sha(data):
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- the chain, from the docs alone

def field(value):
    """`<UTF-8 byte length>:<bytes>;`, or `-;` when absent."""
    if value is None:
        return b"-;"
    data = str(value).encode("utf-8")
    return str(len(data)).encode("ascii") + b":" + data + b";"


def chain_hash(prev_hash, thread, seq, author, author_role, kind, visible_to, text, client_id, event, milestone,
               created_at_ms, files):
    """SHA-256(prev_hash || canonical); the file ids are one more field only when there are any."""
    canonical = b"".join(field(v) for v in (thread, seq, author, author_role, kind, visible_to, text, client_id,
                                             event, milestone, created_at_ms))
    if files:
        canonical += field(",".join(files))
    return sha(prev_hash.encode("ascii") + canonical)


def iso_to_ms(at):
    """`2026-11-21T05:40:12.345Z` -> milliseconds since 1970, in exact integer arithmetic."""
    moment = datetime.datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return (moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(milliseconds=1)


def wire_mismatches(messages, created_at_ms):
    """The seqs whose `hash` does not recompute from the wire fields (`role` is the author's role, `milestone`
    `M1` is written `1`), the creation time given by created_at_ms(message); each linked to the previous hash."""
    wrong, prev = [], ZEROS
    for m in messages:
        milestone = m["milestone"][1:] if m.get("milestone") else None
        if m["hash"] != chain_hash(prev, m["thread"], m["seq"], m["author"], m["role"], m["kind"], m["visible_to"],
                                   m["text"], m["client_id"], m["event"], milestone, created_at_ms(m), m["files"]):
            wrong.append(m["seq"])
        prev = m["hash"]
    return wrong


def verify_bundle(data):
    """README.txt's five steps: {step: [problems]} (every list empty when the bundle holds)."""
    problems = {"zip": [], "files": [], "chain": [], "head": [], "listed files": [], "entries": []}
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        names, bad = z.namelist(), z.testzip()
        problems["zip"] += [f"CRC fails on {bad}"] if bad else []
        manifest, chain = json.loads(z.read("manifest.json")), json.loads(z.read("chain.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        problems["zip"].append(repr(e))
        return problems
    stored = {n[len("files/"):] for n in names if n.startswith("files/")}
    for fid in sorted(stored):                                                        # step 1
        if sha(z.read("files/" + fid)) != fid:
            problems["files"].append(f"files/{fid[:12]}... hashes to something else")
    prev = ZEROS
    for i, m in enumerate(chain, start=1):                                            # steps 2 and 3
        g = m.get
        if g("seq") != i:
            problems["chain"].append(f"entry {i} has seq {g('seq')}")
        if g("prev_hash") != prev:
            problems["chain"].append(f"seq {g('seq')}: prev_hash is not the previous hash")
        want = chain_hash(prev, g("thread"), g("seq"), g("author"), g("author_role"), g("kind"), g("visible_to"),
                          g("text"), g("client_id"), g("event"), g("milestone"), g("created_at_ms"), g("files"))
        if g("hash") != want:
            problems["chain"].append(f"seq {g('seq')}: hash recomputes to {want[:12]}..., listed {str(g('hash'))[:12]}...")
        prev = want
    if prev != manifest.get("head_hash"):                                             # step 4
        problems["head"].append(f"last hash {prev[:12]}... != head_hash {str(manifest.get('head_hash'))[:12]}...")
    for m in chain:
        for fid in m.get("files") or []:
            if fid not in stored:
                problems["listed files"].append(f"seq {m.get('seq')} lists {fid[:12]}..., not in files/")
    entries = manifest.get("entries", {})                                             # step 5
    for name, digest in entries.items():
        if name not in names or sha(z.read(name)) != digest:
            problems["entries"].append(f"{name} does not hash to the manifest's value")
    unexplained = set(names) - set(entries) - {"manifest.json"} - {"files/" + f for f in stored}
    if unexplained:
        problems["entries"].append(f"entries neither in the manifest nor under files/: {sorted(unexplained)}")
    return problems


def rewrite(data, name, change):
    """A valid copy of the zip (entries stored, like the original) with entry `name` replaced by change(bytes),
    or left out when that gives None."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            body = change(body) if info.filename == name else body
            if body is not None:
                dst.writestr(info, body)
    return out.getvalue()


# --------------------------------------------------------------------------- the session

async def ws_send(client, frame):
    """Sends a `send` frame; its ack (or error) frame."""
    await client.ws.send(json.dumps(frame))
    deadline = time.monotonic() + H.TIMEOUT
    while time.monotonic() < deadline:
        if frame["id"] in client.acks:
            return client.acks[frame["id"]]
        for e in client.errors:
            if e.get("id") == frame["id"]:
                return e
        await asyncio.sleep(0.02)
    return None


async def converse(port, tokens, file_ids):
    bob, alice = H.Client(port, tokens["bob"], "bob"), H.Client(port, tokens["alice"], "alice")
    try:
        for client in (bob, alice):
            await client.connect()
            await client.join("demo")
        ack = await ws_send(bob, {"type": "send", "thread": "demo", "id": bob.next_id(), "text": BOB_TEXT,
                                  "files": file_ids})
        check("bob's line carrying both files is acknowledged", ack and ack.get("type") == "ack", ack)
        for line in ALICE_LINES:
            ack = await alice.send("demo", line)
            check(f"alice's line {line!r} is acknowledged", ack.get("type") == "ack", ack)
    finally:
        await bob.close()
        await alice.close()


def main():
    started = time.monotonic()
    missing = H.binary_missing()
    if missing:
        check("binary", False, missing)
        return REPORT.finish()
    server = H.Server(prefix="bundle-outsider-")
    work = tempfile.mkdtemp(prefix="bundle-outsider-")
    try:
        server.start()
        port, tokens = server.port, {user: token for user, (_, token) in server.links.items()}

        # 1. Two uploads as bob, a line carrying both, chat from alice.
        file_ids = []
        for name, body in FILES.items():
            status, _, answer = H.http(port, "POST", "/api/contracts/demo/files?name=" + urllib.parse.quote(name),
                                       token=tokens["bob"], raw_body=body)
            fid = json.loads(answer).get("id") if status == 201 else None
            check(f"upload {name!r}: 201 with id = SHA-256 of the bytes", fid == sha(body), f"{status} {answer[:200]}")
            file_ids.append(fid or sha(body))
        asyncio.run(converse(port, tokens, file_ids))

        # 2. Every message mia reads, recomputed from its wire fields.
        status, _, page = H.http_json(port, "GET", "/api/contracts/demo/messages", token=tokens["mia"])
        messages = page["messages"] if status == 200 else []
        check("mia reads every message, seq 1..last_seq without gaps", messages and
              [m["seq"] for m in messages] == list(range(1, page["last_seq"] + 1)), f"{status} {str(page)[:200]}")
        carrying = [m for m in messages if m["files"]]
        check("exactly one message carries files: bob's, in the order sent", len(carrying) == 1
              and carrying[0]["text"] == BOB_TEXT and carrying[0]["files"] == file_ids, carrying)
        check("a private message (alice's /status) is among them, with visible_to",
              any(m["private"] and m["visible_to"] == "alice" for m in messages))
        wrong = wire_mismatches(messages, lambda m: iso_to_ms(m["at"]))
        check(f"every message's hash recomputes from its wire fields (creation time from `at`), {len(messages)} messages",
              messages and not wrong, f"seqs {wrong} do not (diagnosis below)")
        for fid in file_ids:
            status, headers, body = H.http(port, "GET", f"/api/contracts/demo/files/{fid}", token=tokens["mia"])
            check(f"file {fid[:12]}...: downloaded bytes hash to its id", status == 200 and sha(body) == fid
                  and headers.get("x-file-sha256") == fid, f"{status} {headers.get('x-file-sha256')}")

        # 3. The case bundle, verified here, and its head compared with the server's.
        status, headers, bundle = H.http(port, "GET", "/api/contracts/demo/bundle", token=tokens["mia"], timeout=30)
        check("mia downloads the case bundle (application/zip)", status == 200
              and headers.get("content-type", "").startswith("application/zip"), f"{status} {bundle[:200]}")
        z = zipfile.ZipFile(io.BytesIO(bundle))
        chain, manifest = json.loads(z.read("chain.json")), json.loads(z.read("manifest.json"))
        for step, found in verify_bundle(bundle).items():
            check(f"bundle: {step} check holds", not found, "; ".join(found[:5]))
        check("bundle: files/ holds exactly the two uploaded files",
              sorted(n for n in z.namelist() if n.startswith("files/")) == sorted("files/" + f for f in file_ids))
        check("bundle: chain.json's hashes are the wire hashes, seq by seq",
              [(c["seq"], c["hash"]) for c in chain] == [(m["seq"], m["hash"]) for m in messages])
        status, _, verdict = H.http_json(port, "GET", "/api/contracts/demo/verify", token=tokens["mia"])
        check("bundle: head_hash equals GET .../verify's head_hash (problem null)", status == 200
              and verdict.get("problem") is None and verdict.get("head_hash") == manifest.get("head_hash") == messages[-1]["hash"],
              f"{verdict} vs {manifest.get('head_hash')}")

        # Diagnosis of the wire recomputation: is the creation time the only thing the wire gets wrong?
        created = {c["seq"]: c["created_at_ms"] for c in chain}
        off = [(m["seq"], m["at"], created.get(m["seq"])) for m in messages if iso_to_ms(m["at"]) != created.get(m["seq"])]
        check("every wire `at` is the creation time that chain.json's created_at_ms gives", not off,
              "; ".join(f"seq {s}: at {a} = {iso_to_ms(a)} ms, created_at_ms {c} ({c - iso_to_ms(a):+d} ms)" for s, a, c in off))
        rest = wire_mismatches(messages, lambda m: created.get(m["seq"]))
        check("every hash recomputes from the other wire fields with chain.json's created_at_ms", not rest, f"seqs {rest}")

        # 4. Tampered copies: one character of a message's text; one byte of a file; a file left out.
        target = BOB_TEXT.encode("utf-8")   # once in chain.json: else the copy equals the original and fails below
        copies = {"text": rewrite(bundle, "chain.json", lambda b: b.replace(target, target.replace(b"drafts", b"drafTs"))),
                  "file": rewrite(bundle, "files/" + file_ids[0],
                                  lambda b: b[:100] + bytes([b[100] ^ 0x01]) + b[101:]),
                  "missing file": rewrite(bundle, "files/" + file_ids[1], lambda b: None)}
        expect = {"text": ("chain", "entries"), "file": ("files",), "missing file": ("listed files",)}
        for kind, data in copies.items():
            found = verify_bundle(data)
            check(f"tamper ({kind}): the copy is still a valid zip", not found["zip"], found["zip"])
            check(f"tamper ({kind}): this verifier refuses it ({'/'.join(expect[kind])} checks fail)",
                  all(found[step] for step in expect[kind]), {k: v for k, v in found.items() if v})
        for kind, data in {"original": bundle, **copies}.items():
            path = os.path.join(work, f"case-{kind}.zip")
            with open(path, "wb") as f:
                f.write(data)
            run = H.run_bot("verify", "--bundle", path)
            want = 0 if kind == "original" else 1
            check(f"milestone-bot verify --bundle ({kind}) exits {want}", run.returncode == want,
                  f"exit {run.returncode}: {H.last_line(run.stdout + run.stderr)}")
    except Exception:
        check("no exception", False, traceback.format_exc())
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    return REPORT.finish(started)


if __name__ == "__main__":
    sys.exit(main())
