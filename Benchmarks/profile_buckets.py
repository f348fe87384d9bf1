#!/usr/bin/env python3
"""Splits a perf profile of milestone-bot into exclusive cost buckets (docs/PERFORMANCE.md, "Where the time goes").

Reads `perf script -F comm,tid,ip,sym | swift demangle --simplified` on stdin. Each sample goes to the first
bucket (in the order below) with a frame anywhere in its call stack matching the bucket's pattern, so the
buckets add up to 100 % and a cost is counted where it is caused (a malloc inside ContractView.init counts
as building the view). Prints the buckets by share of all samples.
"""
import re
import sys
from collections import Counter

BUCKETS = [
    ("writer: fdatasync at commit (kernel, synchronous=FULL)", r"\bfdatasync\b|__x64_sys_fdatasync"),
    ("writer: WAL pwrite / read syscalls", r"__libc_pwrite|__x64_sys_pwrite64|__libc_pread|__x64_sys_pread64"),
    ("state frames: Contract.availableCommands (trial-applies every command per viewer)", r"Contract\.availableCommands"),
    ("state frames: rest of ContractView.init", r"ContractView\.init"),
    ("outbound JSON: Wire.text / JSONEncoder of ServerMessage", r"Wire\.text|ServerMessage\.encode"),
    ("writer: loadContract (contract + milestones + policy JSON, via Codable rows)", r"AppDatabase\.loadContract"),
    ("writer: transcript hash chain (SHA-256 + hex)", r"TranscriptChain\.hash"),
    ("writer: core Contract.apply (parse + apply command)", r"Contract\.apply|CommandParser"),
    ("writer: persist transition (contract, milestones, ledger rows)", r"AppDatabase\.persist"),
    ("writer: rest of AppDatabase.handle (transcript insert, command log, checks)", r"AppDatabase\.handle\(_:_:text:\)|closure #1 in AppDatabase\.handle"),
    ("writer: GRDB transaction begin/commit, sqlite (other)", r"Database\.inTransaction|SerializedDatabase|sqlite3"),
    ("inbound: ClientMessage.decode (JSON)", r"ClientMessage\.decode"),
    ("hub: ThreadHub.publish / contractChanged / CommitFeed", r"ThreadHub\.|CommitFeed|FeedService"),
    ("join / replay reads (catchUp, page)", r"AppDatabase\.catchUp|AppDatabase\.page|ChatConnection\.join"),
    ("NIO: socket write path (writev, flush, WebSocket frame encode)", r"writev|flushNow|WebSocketFrameEncoder|_doOutboundWrite|NIOAsyncWriter"),
    ("NIO: socket read path (read, WebSocket frame decode, UTF-8 check)", r"readable0|readFromSocket|WebSocketFrameDecoder|NIOAsyncChannelInboundStream|WebSocketInboundStream|WebSocketInboundMessageStream"),
    ("HTTP / upgrade / auth / setup", r"HTTP1|HTTPServer|Router|TokenVerifier|ContractsAPI|AppDatabase\.open|Migrator|execve|load_elf"),
    ("NIO event loop (epoll, wakeups, other)", r"SelectableEventLoop|epoll"),
    ("scheduling: Swift concurrency + Dispatch + futex + context switch", r"swift_job_run|_dispatch_|futex|__schedule|swift_task|pthread_cond"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in BUCKETS]

# Cross-cutting costs: share of samples with a matching frame anywhere in the stack (these overlap the
# buckets and each other), and leaf-only costs (the sample's own function).
INCLUSIVE = [
    ("GRDB SQL generation (query interface -> SQL text)", r"SQLQueryGenerator|SQLGenerationContext|makePreparedRequest"),
    ("SQLite statement compile (sqlite3_prepare; statements are not cached)", r"sqlite3_prepare|sqlite3LockAndPrepare|sqlite3Prepare"),
    ("GRDB StatementAuthorizer (callback during every prepare)", r"StatementAuthorizer"),
    ("GRDB observation (DatabaseRegion, commit broker)", r"DatabaseRegion|DatabaseObservationBroker"),
    ("Codable row decoding (FetchableRecord via Decodable)", r"_RowDecoder|FetchableRecordDecoder"),
    ("Codable row encoding (PersistableRecord via Encodable)", r"RecordEncoder|PersistenceContainer\.init"),
    ("snake_case column key conversion (GRDB strategies)", r"_convertFromSnakeCase|_convertToSnakeCase"),
    ("JSONDecoder (all)", r"JSONDecoder"),
    ("JSONEncoder (all)", r"JSONEncoder"),
    ("sqlite3VdbeExec (executing statements)", r"sqlite3VdbeExec"),
    ("String(format:) (hex of the transcript hash)", r"String\.init\(format:|CFStringCreateWithFormat"),
    ("swift_getGenericMetadata / dynamic casts", r"swift_getGenericMetadata|swift_dynamicCast|tryCast"),
]
LEAF = [
    ("malloc/free (self)", r"^(malloc|_int_malloc|_int_free|cfree|free|malloc_consolidate|unlink_chunk|realloc|sysmalloc|_mid_memalign)"),
    ("retain/release (self)", r"^(swift_retain|swift_release|swift_bridgeObject|swift::RefCounts|_swift_release_dealloc|swift_unknownObject)"),
    ("Hasher (self)", r"^Hasher"),
]
INCLUSIVE_COMPILED = [(name, re.compile(pattern)) for name, pattern in INCLUSIVE]
LEAF_COMPILED = [(name, re.compile(pattern)) for name, pattern in LEAF]


def samples(lines):
    stack = []
    for line in lines:
        if not line.strip():
            if stack:
                yield stack
            stack = []
        elif line[0] in " \t":
            stack.append(line.strip().split(" ", 1)[-1])
        else:
            stack = []
    if stack:
        yield stack


def main():
    counts = Counter()
    cross = Counter()
    total = 0
    for stack in samples(sys.stdin):
        total += 1
        joined = "\n".join(stack)
        for name, pattern in INCLUSIVE_COMPILED:
            if pattern.search(joined):
                cross[name] += 1
        for name, pattern in LEAF_COMPILED:
            if pattern.search(stack[0]):
                cross[name] += 1
        for name, pattern in COMPILED:
            if pattern.search(joined):
                counts[name] += 1
                break
        else:
            counts["other (startup, logging, metrics, ...)"] += 1
    print(f"{total} samples")
    for name, count in counts.most_common():
        print(f"{100 * count / total:6.1f} %  {count:7d}  {name}")
    groups = Counter()
    for name, count in counts.items():
        groups[name.split(":")[0] if ":" in name else "other"] += count
    print("by group:")
    for name, count in groups.most_common():
        print(f"{100 * count / total:6.1f} %  {count:7d}  {name}")
    print("cross-cutting (overlapping):")
    for name, _ in INCLUSIVE + LEAF:
        print(f"{100 * cross[name] / total:6.1f} %  {cross[name]:7d}  {name}")


if __name__ == "__main__":
    main()
