#!/usr/bin/env python3
"""The hash chain, the head signatures and the case bundle, checked by an outsider: written from the docs alone
(docs/PROTOCOL.md's *The hash chain*, its HTTP rows for contracts, messages, verify, the signing key, files,
resolve and the bundle, the `send` frame's `files`, docs/COMMANDS.md's commands, docs/OPERATIONS.md's
`signing-key` and `TRANSCRIPTS_SIGNING_KEY`, and the README.txt inside a downloaded bundle), never from the
Swift sources.

`milestone-bot signing-key` makes an Ed25519 key; `milestone-bot serve --demo` runs on a temporary database with
it (TRANSCRIPTS_SIGNING_KEY), so the server signs transcript heads.

Thread `demo` (buyer alice, freelancer bob, moderator mia): bob uploads two files and sends a chat line carrying
both; alice chats (non-ASCII among it) and asks `/status` (a private line); then a whole dispute in chat: alice
`/fund M1`, bob's refused `/release M1` (a private notice), bob `/submit M1`, alice `/dispute M1`, bob's
`/evidence M1` carrying a third file, alice's `/evidence M1`, mia's `/take M1`, `/note` and
`/resolve M1 split 200 ...`, bob's chat and alice's `/help`. The case file (GET .../cases/M1) must show it resolved.

Thread `case-42`, created through `POST /api/contracts` with the platform key the demo prints (buyer alice,
freelancer `zoë`, a non-ASCII user id, with a token minted here): chat, a `/fund`, a refused `/fund` by the
freelancer, a `/submit` carrying a file, a dispute with evidence, a `/status`, and mia's ruling through
`POST .../resolve` (resent with the same id: a duplicate, applied once).

Then, as the moderator mia, for EVERY thread: every message is read page by page (GET .../messages, `after` and a
small `limit`) and every one has its `hash` recomputed from its wire fields, link by link from 64 zeros; the
number recomputed must equal GET .../verify's `messages` (100 %), the last hash its `head_hash`, and GET
/api/verify must agree. Each file id is checked against the SHA-256 of the downloaded bytes.

Head signatures: GET /api/signing-key must serve the public key `signing-key` printed; each thread's `signature`
(GET .../verify) must verify with it over `milestone-bot transcript head v1\\n<thread>\\n<messages>\\n<head_hash>`
(Python's `cryptography`), and must fail with a freshly generated key, with a changed head hash, a changed count
or another thread's name.

The case bundle of each thread is verified by this file's own reading of its README.txt (its six steps, the
signature with the published key, never the manifest's own `public_key`) and its head compared with GET
.../verify; tampered copies of demo's bundle (a character of a message's text, a byte of a file, a file left
out) must fail here, and `milestone-bot verify --bundle` must exit 0 on the original and 1 on each copy. A forged
copy, re-chained end to end and re-signed with the forger's key (its `public_key` replaced), passes every hash
check and must fail only on the signature, here and in `verify --bundle --public-key <published key>`; the
original checked against another key must fail too.

Run: python3 Tests/ProtocolConformance/bundle_outsider_test.py  (MILESTONE_BOT names another binary).
Prints one line per check and ends with `N passed, M failed`; exits non-zero on any failure.
"""
import asyncio
import base64
import datetime
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import traceback
import urllib.parse
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness as H  # noqa: E402

H.require("websockets", "cryptography")

from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402

REPORT = H.Report()
check = REPORT.check
ZEROS = "0" * 64
FILES = {"sketch.bin": bytes(range(256)) * 7 + b"\x00\xff",
         "notes \u2014 v2.txt": "Final colours: #1b3a5c, caf\u00e9 cr\u00e8me \u2713\n".encode("utf-8")}
EVIDENCE = ("brief \u2014 signed.txt", "Brief, signed 2026-11-02: navy #1b3a5c, cr\u00e8me, no gradients \u2713\n".encode("utf-8"))
DELIVERY = ("logo-v2.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>\n')
BOB_TEXT = "Here are the drafts, both files attached"
ALICE_LINES = ["Thanks, looking now", "Caf\u00e9 cr\u00e8me colours \u2014 \u2713 \u65e5\u672c \U0001F600", "/status"]
SECOND = "case-42"
FREELANCER2 = "zo\u00eb"
PAGE = 6    # messages per page when reading a thread back: several pages per thread


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


def recompute(messages, created_at_ms):
    """Each message's hash recomputed from its wire fields (`role` is the author's role, `milestone` `M1` is
    written `1`), the creation time given by created_at_ms(message), each linked to the previous *recomputed*
    hash: ([(seq, recomputed hash)], the seqs whose `hash` differs)."""
    out, wrong, prev = [], [], ZEROS
    for m in messages:
        milestone = m["milestone"][1:] if m.get("milestone") else None
        h = chain_hash(prev, m["thread"], m["seq"], m["author"], m["role"], m["kind"], m["visible_to"], m["text"],
                       m["client_id"], m["event"], milestone, created_at_ms(m), m["files"])
        out.append((m["seq"], h))
        if h != m["hash"]:
            wrong.append(m["seq"])
        prev = h
    return out, wrong


def wire_mismatches(messages, created_at_ms):
    """The seqs whose `hash` does not recompute from the wire fields."""
    return recompute(messages, created_at_ms)[1]


# --------------------------------------------------------------------------- head signatures, from the docs alone

def statement(thread, messages, head_hash):
    """What a head signature covers: the UTF-8 text `milestone-bot transcript head v1\\n<thread>\\n<messages>\\n<head_hash>`."""
    return f"milestone-bot transcript head v1\n{thread}\n{messages}\n{head_hash}".encode("utf-8")


def raw_public(key):
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def signature_holds(public_key_b64, signature_b64, message):
    """True when the base64 Ed25519 `signature_b64` verifies over `message` with the raw base64 public key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


# --------------------------------------------------------------------------- the bundle, from its README.txt

def verify_bundle(data, published_key=None):
    """README.txt's six steps: {step: [problems]} (every list empty when the bundle holds). Step 6, the head's
    signature, is checked with `published_key` (the operator's, never the manifest's `public_key`) when given."""
    problems = {"zip": [], "files": [], "chain": [], "head": [], "listed files": [], "entries": []}
    if published_key is not None:
        problems["signature"] = []
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
    if published_key is not None:                                                     # step 6
        sig = manifest.get("signature")
        if not sig:
            problems["signature"].append("manifest.json has no signature")
        elif not signature_holds(published_key, sig, statement(manifest.get("thread"), len(chain), prev)):
            problems["signature"].append(f"signature does not verify with the published key over "
                                         f"({manifest.get('thread')}, {len(chain)} messages, {prev[:12]}...)")
        if manifest.get("messages") is not None and manifest.get("messages") != len(chain):
            problems["signature"].append(f"manifest says {manifest.get('messages')} messages, chain.json holds {len(chain)}")
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


def forge(data, predicate, change_text, forger):
    """A forger's copy: the text of the first chain entry matching `predicate` changed, the chain re-linked and
    re-hashed from there to the end, manifest.json's head_hash and chain.json digest updated, the head re-signed
    with `forger` (an Ed25519 private key) and the manifest's public_key replaced by the forger's."""
    z = zipfile.ZipFile(io.BytesIO(data))
    chain, manifest = json.loads(z.read("chain.json")), json.loads(z.read("manifest.json"))
    target = next(m for m in chain if predicate(m))
    changed = change_text(target["text"])
    if changed == target["text"]:
        raise ValueError(f"the forger's change leaves seq {target.get('seq')} as it was: {changed!r}")
    target["text"] = changed
    prev = ZEROS
    for m in chain:
        g = m.get
        m["prev_hash"] = prev
        m["hash"] = prev = chain_hash(prev, g("thread"), g("seq"), g("author"), g("author_role"), g("kind"),
                                      g("visible_to"), g("text"), g("client_id"), g("event"), g("milestone"),
                                      g("created_at_ms"), g("files"))
    chain_bytes = json.dumps(chain, ensure_ascii=False, indent=2).encode("utf-8")
    manifest["head_hash"] = prev
    manifest["entries"]["chain.json"] = sha(chain_bytes)
    manifest["signature"] = base64.b64encode(forger.sign(statement(manifest["thread"], len(chain), prev))).decode()
    manifest["public_key"] = raw_public(forger.public_key())
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    copy = rewrite(data, "chain.json", lambda b: chain_bytes)
    return rewrite(copy, "manifest.json", lambda b: manifest_bytes)


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


async def say(client, thread, text, outcome, files=None):
    """Sends a line (with `files` when given) and checks that it is acknowledged with `outcome` (None: any)."""
    frame = {"type": "send", "thread": thread, "id": client.next_id(), "text": text}
    if files:
        frame["files"] = files
    ack = await ws_send(client, frame)
    ok = ack is not None and ack.get("type") == "ack" and (outcome is None or ack.get("outcome") == outcome)
    check(f"{thread}: {client.name}'s {text!r}{' with a file' if files else ''} is acknowledged"
          + (f" ({outcome})" if outcome else ""), ok, ack)
    return ack


async def converse_demo(port, tokens, file_ids, evidence_id):
    names = ("bob", "alice", "mia")
    c = {n: H.Client(port, tokens[n], n) for n in names}
    try:
        for client in c.values():
            await client.connect()
            await client.join("demo")
        bob, alice, mia = c["bob"], c["alice"], c["mia"]
        ack = await ws_send(bob, {"type": "send", "thread": "demo", "id": bob.next_id(), "text": BOB_TEXT,
                                  "files": file_ids})
        check("bob's line carrying both files is acknowledged", ack and ack.get("type") == "ack", ack)
        for line in ALICE_LINES:
            ack = await alice.send("demo", line)
            check(f"alice's line {line!r} is acknowledged", ack.get("type") == "ack", ack)
        # A whole dispute in chat (docs/COMMANDS.md), with a refused command on the way.
        await say(alice, "demo", "/fund M1", "applied")
        await say(bob, "demo", "/release M1", "rejected")          # only the buyer releases: a private notice
        await say(bob, "demo", "/submit M1 first logo drafts, see the files above", "applied")
        await say(alice, "demo", "/dispute M1 The logo ignores the brief's colours", "applied")
        await say(bob, "demo", "/evidence M1 The signed brief is attached: navy and cr\u00e8me, as delivered",
                  "applied", files=[evidence_id])
        await say(alice, "demo", "/evidence M1 Half the palette is wrong \u2014 see the second draft", "applied")
        await say(mia, "demo", "/take M1", "applied")
        await say(mia, "demo", "/note palette half right; split seems fair", None)
        await say(mia, "demo", "/resolve M1 split 200 Half the palette matched the brief", "applied")
        await say(bob, "demo", "Understood, thanks for looking at it \U0001F64F", "chat")
        await say(alice, "demo", "/help", "answered")
    finally:
        for client in c.values():
            await client.close()


async def converse_second(port, tokens, delivery_id):
    alice, zoe = H.Client(port, tokens["alice"], "alice"), H.Client(port, tokens[FREELANCER2], "zoe")
    try:
        for client in (alice, zoe):
            await client.connect()
            await client.join(SECOND)
        await say(zoe, SECOND, "Bonjour Alice \u2014 je commence aujourd'hui \u2713", "chat")
        await say(alice, SECOND, "Great, funding now", "chat")
        await say(alice, SECOND, "/fund M1", "applied")
        await say(zoe, SECOND, "/fund M1", "rejected")             # only the buyer funds: a private notice
        await say(zoe, SECOND, "/submit M1 logo v2 as SVG", "applied", files=[delivery_id])
        await say(alice, SECOND, "/dispute M1 The SVG is an empty black square", "applied")
        await say(zoe, SECOND, "/evidence M1 That is the placeholder; the real file was lost", "applied")
        await say(zoe, SECOND, "/status", "answered")
    finally:
        await alice.close()
        await zoe.close()


def read_all(port, token, thread, limit=PAGE):
    """Every message of `thread` the token may read, page by page (`after`, `limit`): (messages, last_seq,
    number of pages, [problems with the paging])."""
    messages, problems, after, pages, last_seq = [], [], 0, 0, None
    while pages < 1000:
        status, _, page = H.http_json(port, "GET", f"/api/contracts/{urllib.parse.quote(thread)}/messages"
                                      f"?after={after}&limit={limit}", token=token)
        if status != 200:
            problems.append(f"page after {after}: {status} {str(page)[:200]}")
            break
        pages += 1
        last_seq = page["last_seq"]
        got = page["messages"]
        if len(got) > limit:
            problems.append(f"page after {after} holds {len(got)} > limit {limit}")
        if any(m["seq"] <= after for m in got):
            problems.append(f"page after {after} holds seq <= {after}")
        messages += got
        if not got or got[-1]["seq"] >= last_seq:
            break
        after = got[-1]["seq"]
    return messages, last_seq, pages, problems


def download(port, token, thread, fid):
    return H.http(port, "GET", f"/api/contracts/{urllib.parse.quote(thread)}/files/{fid}", token=token)


def upload(port, token, thread, name, body):
    status, _, answer = H.http(port, "POST", f"/api/contracts/{urllib.parse.quote(thread)}/files?name="
                               + urllib.parse.quote(name), token=token, raw_body=body)
    fid = json.loads(answer).get("id") if status == 201 else None
    check(f"{thread}: upload {name!r}: 201 with id = SHA-256 of the bytes", fid == sha(body), f"{status} {answer[:200]}")
    return fid or sha(body)


def make_signing_key():
    """`milestone-bot signing-key`: (private key for TRANSCRIPTS_SIGNING_KEY, public key to publish)."""
    run = H.run_bot("signing-key")
    keys = {}
    for line in run.stdout.splitlines():
        m = re.match(r"^(private|public)\b.*:\s*([A-Za-z0-9+/=_-]+)\s*$", line.strip())
        if m:
            keys[m.group(1)] = m.group(2)
    check("milestone-bot signing-key prints a private and a public key", run.returncode == 0 and len(keys) == 2,
          f"exit {run.returncode}: {run.stdout[:300]} {run.stderr[:300]}")
    return keys.get("private"), keys.get("public")


def check_thread(port, token, thread, published):
    """Every message of `thread`, read page by page as the moderator and recomputed; compared with GET
    .../verify (count, head) and its signature checked. Returns (messages, verify answer)."""
    messages, last_seq, pages, problems = read_all(port, token, thread)
    check(f"{thread}: mia reads every message page by page ({pages} pages of at most {PAGE}), seq 1..last_seq "
          f"without gaps", not problems and messages and [m["seq"] for m in messages] == list(range(1, last_seq + 1)),
          "; ".join(problems) or f"seqs {[m['seq'] for m in messages]}, last_seq {last_seq}")
    check(f"{thread}: the history is really paginated (more than one page)", pages > 1, pages)
    recomputed, wrong = recompute(messages, lambda m: iso_to_ms(m["at"]))
    check(f"{thread}: every message's hash recomputes from its wire fields, {len(recomputed)} messages",
          recomputed and not wrong, f"seqs {wrong} do not")
    status, _, verdict = H.http_json(port, "GET", f"/api/contracts/{urllib.parse.quote(thread)}/verify", token=token)
    verdict = verdict if status == 200 and isinstance(verdict, dict) else {}
    check(f"{thread}: GET .../verify says intact (problem null)", status == 200 and verdict.get("problem") is None,
          f"{status} {verdict}")
    check(f"{thread}: 100 % recomputed: {len(recomputed)} messages = verify's `messages` ({verdict.get('messages')})",
          len(recomputed) == verdict.get("messages") and len(recomputed) == last_seq, f"last_seq {last_seq}")
    check(f"{thread}: the last recomputed hash is verify's head_hash",
          recomputed and recomputed[-1][1] == verdict.get("head_hash"),
          f"{recomputed[-1][1] if recomputed else None} vs {verdict.get('head_hash')}")
    sig = verdict.get("signature")
    count, head = verdict.get("messages"), verdict.get("head_hash")
    check(f"{thread}: verify carries a signature (the server signs heads)", isinstance(sig, str) and sig, verdict)
    if isinstance(sig, str) and sig:
        check(f"{thread}: the signature verifies with the published key over the documented statement",
              signature_holds(published, sig, statement(thread, count, head)))
        other = raw_public(Ed25519PrivateKey.generate().public_key())
        check(f"{thread}: the signature fails with a freshly generated key",
              not signature_holds(other, sig, statement(thread, count, head)))
        changed = head[:-1] + ("0" if head[-1] != "0" else "1")
        check(f"{thread}: the signature fails over a statement with a changed head hash",
              not signature_holds(published, sig, statement(thread, count, changed)))
        check(f"{thread}: the signature fails over a statement with a changed message count",
              not signature_holds(published, sig, statement(thread, count - 1, head)))
        other_thread = "demo" if thread != "demo" else SECOND
        check(f"{thread}: the signature fails when claimed for another thread ({other_thread})",
              not signature_holds(published, sig, statement(other_thread, count, head)))
    return messages, verdict


def main():
    started = time.monotonic()
    missing = H.binary_missing()
    if missing:
        check("binary", False, missing)
        return REPORT.finish()
    work = tempfile.mkdtemp(prefix="bundle-outsider-")
    server = None
    try:
        private_key, published = make_signing_key()
        secret = secrets.token_hex(32)
        server = H.Server(env={"TRANSCRIPTS_SIGNING_KEY": private_key or ""}, secret=secret, prefix="bundle-outsider-")
        server.start()
        port, tokens = server.port, {user: token for user, (_, token) in server.links.items()}
        tokens[FREELANCER2] = H.mint(secret, FREELANCER2, "freelancer")

        # 0. The published key.
        status, _, key = H.http_json(port, "GET", "/api/signing-key")
        key = key if status == 200 and isinstance(key, dict) else {}
        check("GET /api/signing-key: Ed25519, the public key `signing-key` printed", status == 200
              and key.get("algorithm") == "Ed25519" and key.get("public_key") == published, f"{status} {key}")
        check("GET /api/signing-key: the statement is the documented one",
              key.get("statement") == "milestone-bot transcript head v1\n<thread>\n<messages>\n<head_hash>", key)

        # 1. demo: two uploads as bob, a line carrying both, chat from alice, then a whole dispute.
        file_ids = [upload(port, tokens["bob"], "demo", name, body) for name, body in FILES.items()]
        evidence_id = upload(port, tokens["bob"], "demo", *EVIDENCE)
        asyncio.run(converse_demo(port, tokens, file_ids, evidence_id))

        # 2. case-42, created by the platform, with a second dispute settled through POST .../resolve.
        check("the demo prints the platform API key", server.api_key, server.lines[-5:])
        created = H.create_contract(port, SECOND, "alice", FREELANCER2, api_key=server.api_key,
                                    title="Second opinion: logo v2",
                                    milestones=[{"amount": 30000, "description": "Logo v2 (SVG)"}])
        check(f"POST /api/contracts creates {SECOND} with M1", created.get("thread") == SECOND
              and created.get("milestones") == ["M1"], created)
        delivery_id = upload(port, tokens[FREELANCER2], SECOND, *DELIVERY)
        asyncio.run(converse_second(port, tokens, delivery_id))
        ruling = {"id": "mia-ruling-" + secrets.token_hex(3), "milestone": "M1", "ruling": "refund",
                  "note": "The delivered file is a placeholder; refunded in full"}
        answers = [H.http_json(port, "POST", f"/api/contracts/{SECOND}/resolve", body=ruling, token=tokens["mia"])
                   for _ in range(2)]
        (s1, _, a1), (s2, _, a2) = answers
        check(f"{SECOND}: mia's ruling through POST .../resolve is applied", s1 == 200 and isinstance(a1, dict)
              and a1.get("outcome") == "applied" and a1.get("duplicate") is False, f"{s1} {a1}")
        check(f"{SECOND}: the same ruling resent with its id is a duplicate, same seq", s2 == 200 and isinstance(a2, dict)
              and a2.get("duplicate") is True and a2.get("seq") == a1.get("seq"), f"{s2} {a2}")
        status, _, state = H.http_json(port, "GET", f"/api/contracts/{SECOND}", token=tokens["alice"])
        m1 = (state.get("milestones") or [{}])[0] if status == 200 else {}
        check(f"{SECOND}: M1 is refunded once ($300.00 back, nothing held)", m1.get("state") == "refunded"
              and m1.get("refunded") == 30000 and m1.get("held") == 0, f"{status} {m1}")

        # 3. Every message of every thread, page by page, recomputed; count and head against verify; signatures.
        status, _, threads = H.http_json(port, "GET", "/api/threads", token=tokens["mia"])
        listed = sorted(t["thread"] for t in threads.get("threads", [])) if status == 200 else []
        check("mia's GET /api/threads lists both threads", listed == sorted(["demo", SECOND]), f"{status} {listed}")
        seen, verdicts = {}, {}
        for thread in listed or ["demo", SECOND]:
            seen[thread], verdicts[thread] = check_thread(port, tokens["mia"], thread, published)
        status, _, every = H.http_json(port, "GET", "/api/verify", token=tokens["mia"])
        by_thread = {t.get("thread"): t for t in every.get("threads", [])} if status == 200 else {}
        check("GET /api/verify: intact, and each thread's count and head as recomputed here", status == 200
              and every.get("intact") is True and set(by_thread) == set(seen) and all(
                  by_thread[t].get("messages") == len(seen[t]) and by_thread[t].get("head_hash") == seen[t][-1]["hash"]
                  for t in seen), f"{status} {str(every)[:400]}")
        total = sum(len(v) for v in seen.values())
        REPORT.note(f"recomputed {total} messages in {len(seen)} threads: "
                    + ", ".join(f"{t} {len(v)}" for t, v in seen.items()))

        messages = seen["demo"]
        kinds = {m["kind"] for m in messages}
        check("demo: chat, command, system and notice messages are all there", {"chat", "command", "system", "notice"}
              <= kinds, sorted(kinds))
        carrying = [m for m in messages if m["files"]]
        check("demo: bob's chat line carries both files in the order sent, his /evidence the third",
              [(m["kind"], m["files"]) for m in carrying] == [("chat", file_ids), ("command", [evidence_id])]
              and carrying[0]["text"] == BOB_TEXT and carrying[1]["text"].startswith("/evidence M1"), carrying)
        check("demo: private messages (alice's /status, bob's refused /release) are among them, with visible_to",
              any(m["private"] and m["visible_to"] == "alice" and m["text"] == "/status" for m in messages)
              and any(m["private"] and m["visible_to"] == "bob" and m["text"] == "/release M1" for m in messages)
              and any(m["private"] and m["visible_to"] == "bob" and m["kind"] == "notice" for m in messages))
        events = [m["event"] for m in messages if m["kind"] == "system" and m["milestone"] == "M1"]
        want = ["milestone_funded", "work_submitted", "dispute_opened", "response_requested", "evidence_added"]
        check("demo: the dispute's system events are in the chain, in order", [e for e in events if e in want]
              == want[:4] + ["evidence_added", "evidence_added"] and any("resolved" in (e or "") for e in events)
              and events.index(next(e for e in events if "resolved" in (e or ""))) > events.index("dispute_opened"),
              events)
        status, _, case = H.http_json(port, "GET", "/api/contracts/demo/cases/M1", token=tokens["mia"])
        case = case if status == 200 and isinstance(case, dict) else {}
        check("demo: the case file of M1 is resolved, claim first then both statements, the evidence file listed",
              case.get("status") == "resolved" and len(case.get("statements") or []) == 3
              and case["statements"][0].get("by") == "buyer"
              and evidence_id in [f.get("id") for f in case.get("files") or []], f"{status} {str(case)[:400]}")
        second = seen[SECOND]
        check(f"{SECOND}: chat, commands, system, notices, a file and both ids (alice, zoë) are there",
              {"chat", "command", "system", "notice"} <= {m["kind"] for m in second}
              and any(m["files"] == [delivery_id] for m in second)
              and {"alice", FREELANCER2} <= {m["author"] for m in second}, [(m["seq"], m["kind"]) for m in second])
        for thread, fid in [("demo", f) for f in file_ids + [evidence_id]] + [(SECOND, delivery_id)]:
            status, headers, body = download(port, tokens["mia"], thread, fid)
            check(f"{thread}: file {fid[:12]}...: downloaded bytes hash to its id", status == 200 and sha(body) == fid
                  and headers.get("x-file-sha256") == fid, f"{status} {headers.get('x-file-sha256')}")

        # 4. The case bundle, verified here (six README steps, the signature with the published key).
        bundles = {}
        for thread in seen:
            status, headers, data = H.http(port, "GET", f"/api/contracts/{thread}/bundle", token=tokens["mia"], timeout=30)
            check(f"{thread}: mia downloads the case bundle (application/zip)", status == 200
                  and headers.get("content-type", "").startswith("application/zip"), f"{status} {data[:200]}")
            bundles[thread] = data
        bundle = bundles["demo"]
        z = zipfile.ZipFile(io.BytesIO(bundle))
        chain, manifest = json.loads(z.read("chain.json")), json.loads(z.read("manifest.json"))
        for step, found in verify_bundle(bundle, published).items():
            check(f"bundle: {step} check holds", not found, "; ".join(found[:5]))
        check("bundle: files/ holds exactly the three uploaded files",
              sorted(n for n in z.namelist() if n.startswith("files/")) == sorted("files/" + f for f in file_ids + [evidence_id]))
        check("bundle: chain.json's hashes are the wire hashes, seq by seq",
              [(c["seq"], c["hash"]) for c in chain] == [(m["seq"], m["hash"]) for m in messages])
        verdict = verdicts["demo"]
        check("bundle: head_hash equals GET .../verify's head_hash (problem null)", verdict.get("problem") is None
              and verdict.get("head_hash") == manifest.get("head_hash") == messages[-1]["hash"],
              f"{verdict} vs {manifest.get('head_hash')}")
        check("bundle: the manifest's signature is verify's, its public_key the published one",
              manifest.get("signature") == verdict.get("signature") and manifest.get("public_key") == published,
              f"{manifest.get('signature')} / {manifest.get('public_key')}")
        check("bundle: the signature fails with a freshly generated key", not signature_holds(
            raw_public(Ed25519PrivateKey.generate().public_key()), manifest.get("signature") or "",
            statement("demo", len(chain), manifest.get("head_hash"))))
        z2 = zipfile.ZipFile(io.BytesIO(bundles[SECOND]))
        found2 = verify_bundle(bundles[SECOND], published)
        check(f"{SECOND} bundle: every check holds, signature included, head = verify's",
              not any(found2.values()) and json.loads(z2.read("manifest.json")).get("head_hash")
              == verdicts[SECOND].get("head_hash"), {k: v for k, v in found2.items() if v})

        # Diagnosis of the wire recomputation: is the creation time the only thing the wire gets wrong?
        created = {c["seq"]: c["created_at_ms"] for c in chain}
        off = [(m["seq"], m["at"], created.get(m["seq"])) for m in messages if iso_to_ms(m["at"]) != created.get(m["seq"])]
        check("every wire `at` is the creation time that chain.json's created_at_ms gives", not off,
              "; ".join(f"seq {s}: at {a} = {iso_to_ms(a)} ms, created_at_ms {c} ({c - iso_to_ms(a):+d} ms)" for s, a, c in off))
        rest = wire_mismatches(messages, lambda m: created.get(m["seq"]))
        check("every hash recomputes from the other wire fields with chain.json's created_at_ms", not rest, f"seqs {rest}")

        # 5. Tampered copies: one character of a message's text; one byte of a file; a file left out.
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

        # 6. A forged copy: the ruling's text changed, the chain re-hashed end to end, re-signed by the forger.
        forger = Ed25519PrivateKey.generate()
        forged = forge(bundle, lambda m: m.get("kind") == "system" and "resolved" in (m.get("event") or ""),
                       lambda t: t.replace("$200.00", "$500.00").replace("$300.00", "$0.00"), forger)
        found = verify_bundle(forged, published)
        check("forged: every hash check holds (the forger re-chained it consistently)",
              not any(v for k, v in found.items() if k != "signature"), {k: v for k, v in found.items() if v})
        check("forged: the signature check with the published key refuses it", found.get("signature"), found)
        check("forged: it passes when checked with the manifest's own public_key (why README says not to)",
              not verify_bundle(forged, raw_public(forger.public_key())).get("signature"))
        paths = {}
        for kind, data in {"original": bundle, "forged": forged}.items():
            paths[kind] = os.path.join(work, f"signed-{kind}.zip")
            with open(paths[kind], "wb") as f:
                f.write(data)
        other_key = raw_public(Ed25519PrivateKey.generate().public_key())
        for kind, key_b64, label, want in (("original", published, "the published key", 0),
                                           ("original", other_key, "another key", 1),
                                           ("forged", published, "the published key", 1)):
            run = H.run_bot("verify", "--bundle", paths[kind], "--public-key", key_b64)
            check(f"milestone-bot verify --bundle ({kind}) --public-key <{label}> exits {want}", run.returncode == want,
                  f"exit {run.returncode}: {H.last_line(run.stdout + run.stderr)}")
        run = H.run_bot("verify", "--bundle", paths["forged"])
        REPORT.note(f"verify --bundle (forged) without --public-key exits {run.returncode}: "
                    f"{H.last_line(run.stdout + run.stderr)}")
    except Exception:
        check("no exception", False, traceback.format_exc())
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(work, ignore_errors=True)
    return REPORT.finish(started)


if __name__ == "__main__":
    sys.exit(main())
