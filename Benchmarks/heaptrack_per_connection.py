#!/usr/bin/env python3
"""Per-connection memory from a heaptrack report of the `connections` scenario (docs/PERFORMANCE.md).

Usage: heaptrack_per_connection.py HEAPTRACK_TXT CONNECTIONS
HEAPTRACK_TXT is what Benchmarks/profile.sh connections writes (heaptrack_print --print-peaks, demangled).
Allocation sites called about once (up to four times) per connection are the per-connection cost; they
are summed by allocator (Swift task stack slabs, Swift objects, NIO ByteBuffers, task headers) and the
largest are listed with the first two meaningful frames.
"""
import re
import sys
from collections import defaultdict

SKIP = ("swift_allocObject", "swift_allocBox", "swift_slowAlloc", "_ContiguousArrayBuffer", "ContiguousArray",
        "static ByteBuffer", "ByteBuffer._Storage", "specialized ContiguousArray", "CircularBuffer",
        "MarkedCircularBuffer", "partial apply", "thunk", "swift::", "swift_task", "outlined")


def size(text):
    m = re.match(r"([\d.]+)([KMG]?)B?", text)
    return float(m.group(1)) * {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]


def main():
    path, connections = sys.argv[1], int(sys.argv[2])
    lines = open(path).read().split("\n")
    sites, top, i = [], "?", 0
    while i < len(lines):
        m = re.match(r"^([\d.]+[KMG]?B?) peak memory consumed over (\d+) calls from", lines[i])
        if m:
            top = lines[i + 1].strip()
        m = re.match(r"^\s*([\d.]+[KMG]?B?) consumed over (\d+) calls from:", lines[i])
        if m:
            frames, j = [], i + 1
            while j < len(lines) and lines[j].startswith("    "):
                frame = lines[j].strip()
                if not frame.startswith(("at ", "in ")):
                    frames.append(frame)
                j += 1
            key = [f for f in frames if not f.startswith(SKIP)][:2]
            sites.append((size(m.group(1)), int(m.group(2)), top, " < ".join(k[:80] for k in key)))
            i = j
            continue
        i += 1
    per = [s for s in sites if 0.9 * connections <= s[1] <= 4.1 * connections]
    total = sum(s[0] for s in per)
    print(f"{len(per)} sites called ~once per connection: {total / 1e6:.1f} MB, {total / connections:.0f} B per connection")
    groups = defaultdict(float)
    for s in per:
        groups[s[2]] += s[0]
    for name, amount in sorted(groups.items(), key=lambda g: -g[1]):
        print(f"  {amount / connections:7.0f} B/connection  {name}")
    print("largest sites:")
    for amount, calls, group, key in sorted(per, reverse=True)[:40]:
        print(f"  {amount / connections:6.0f} B/connection  {calls:6d} calls  [{group[:24]}]  {key}")


if __name__ == "__main__":
    main()
