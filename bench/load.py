"""A bounded HTTP load generator, run as its own process by ``bench.run``.

Reads a plan (JSON) on stdin, writes results (JSON) on stdout. For each round
it loads every target in turn (rotated each round) for ``seconds`` with
``concurrency`` threads, each sending one request per connection (gunicorn's
sync workers close the connection after every response), and records
completed requests per second. Only 127.0.0.1; the plan bounds rounds and
time, so the whole load is ``rounds * seconds * len(targets)`` seconds.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from typing import Any


def _requests(target: dict[str, Any]) -> list[bytes]:
    out = []
    for header in target["headers"]:
        lines = [f"GET {target['path']} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        if header:
            lines.append(f"Authorization: {header}")
        out.append(("\r\n".join(lines) + "\r\n\r\n").encode())
    return out


def _worker(
    port: int,
    requests: list[bytes],
    expect: bytes,
    deadline: float,
    offset: int,
    counts: list[int],
) -> None:
    done = unexpected = 0
    i = offset
    while time.monotonic() < deadline:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(requests[i % len(requests)])
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        i += 1
        status = b"".join(chunks)[9:12]
        done += 1
        if status != expect:
            unexpected += 1
    counts[0] += done
    counts[1] += unexpected


def load(
    port: int, requests: list[bytes], expect: int, seconds: float, concurrency: int
) -> tuple[float, int, int]:
    per_thread = [[0, 0] for _ in range(concurrency)]  # [done, unexpected], one per thread
    start = time.monotonic()
    deadline = start + seconds
    threads = [
        threading.Thread(
            target=_worker,
            args=(port, requests, str(expect).encode(), deadline, n * 7919, per_thread[n]),
        )
        for n in range(concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    done = sum(c[0] for c in per_thread)
    return done / elapsed, done, sum(c[1] for c in per_thread)


def main() -> None:
    plan = json.load(sys.stdin)
    targets = plan["targets"]
    prepared = {t["id"]: _requests(t) for t in targets}
    results: dict[str, dict[str, Any]] = {
        t["id"]: {"rps": [], "requests": 0, "unexpected": 0} for t in targets
    }
    for t in targets:  # warm every worker's imports and caches
        load(t["port"], prepared[t["id"]], t["expect"], 0.3, plan["concurrency"])
    for r in range(plan["rounds"]):
        shift = r % len(targets)
        for t in targets[shift:] + targets[:shift]:
            rps, done, unexpected = load(
                t["port"], prepared[t["id"]], t["expect"], plan["seconds"], plan["concurrency"]
            )
            res = results[t["id"]]
            res["rps"].append(rps)
            res["requests"] += done
            res["unexpected"] += unexpected
    json.dump({"targets": results}, sys.stdout)


if __name__ == "__main__":
    main()
