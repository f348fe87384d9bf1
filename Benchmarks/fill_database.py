#!/usr/bin/env python3
"""Fills a milestone-bot database with chat messages, fast, for the startup benchmark.

The contracts must already exist (the runner creates them through the real server's API, then stops it).
This appends `--messages` chat lines spread evenly over every contract, alternating buyer and freelancer,
exactly as the server stores a chat line: a `message` row continuing the thread's hash chain
(Sources/Storage/TranscriptChain.swift: SHA-256 over the previous hash's 64 hex characters and the
length-prefixed canonical fields), a `command_log` row (the idempotency log), and the thread's head
(`thread_head`: `last_seq` / `head_hash`). Check the result with `milestone-bot verify --database FILE`.

Usage: fill_database.py --database FILE --messages 1000000
"""
import argparse
import hashlib
import sqlite3
import time


def field(value):
    if value is None:
        return b"-;"
    data = value.encode("utf-8")
    return str(len(data)).encode() + b":" + data + b";"


def canonical(thread, seq, author, role, kind, visible_to, body, client_id, event, milestone, created_at):
    return b"".join(field(v) for v in (thread, str(seq), author, role, kind, visible_to, body, client_id, event,
                                       None if milestone is None else str(milestone), str(created_at)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()

    db = sqlite3.connect(args.database)
    db.execute("PRAGMA journal_mode=WAL")
    contracts = db.execute("SELECT c.id, c.buyer_id, c.freelancer_id, h.last_seq, h.head_hash "
                           "FROM contract c JOIN thread_head h ON h.thread_id = c.id ORDER BY c.id").fetchall()
    if not contracts:
        raise SystemExit("no contracts in the database: create them through the server first")
    per_thread, extra = divmod(args.messages, len(contracts))
    now = int(time.time() * 1000)
    written = 0
    started = time.time()
    with db:
        for index, (thread, buyer, freelancer, last_seq, head) in enumerate(contracts):
            messages, logs = [], []
            for n in range(per_thread + (1 if index < extra else 0)):
                seq = last_seq + 1
                author, role = (buyer, "buyer") if n % 2 == 0 else (freelancer, "freelancer")
                body = f"filler line {n} of {thread}: the quick brown fox jumps over the lazy dog"
                client_id = f"fill-{seq}"
                created_at = now + written // 1000
                digest = hashlib.sha256(head.encode() + canonical(thread, seq, author, role, "chat", None, body, client_id,
                                                                  None, None, created_at)).hexdigest()
                messages.append((thread, seq, author, role, "chat", None, body, client_id, None, None, created_at, head, digest))
                logs.append((f"{author}/{client_id}", thread, author, '{"chat":{}}', seq, seq, created_at))
                head, last_seq = digest, seq
                written += 1
            db.executemany("INSERT INTO message (thread_id, seq, author_id, author_role, kind, visible_to, body, client_message_id, "
                           "event, milestone, created_at, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", messages)
            db.executemany("INSERT INTO command_log (command_id, contract_id, user_id, outcome, first_seq, last_seq, created_at) "
                           "VALUES (?,?,?,?,?,?,?)", logs)
            db.execute("UPDATE thread_head SET last_seq = ?, head_hash = ? WHERE thread_id = ?", (last_seq, head, thread))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"appended {written} messages to {len(contracts)} threads in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
