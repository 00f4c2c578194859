"""A separate process for the cross-process cache tests (`python -m tests.support.cache_worker`).

Once Django is set up it counts itself ready (`<counter>:ready` in Redis) and waits for the
test to say go (`<counter>:go`), so that every process asks at the same moment however long
each took to start. Then it asks for one key from several threads at once, through
`get_or_fetch` on the Redis cache that CACHE_URL names, with a fetch that counts itself in
Redis (`counter`) and takes `seconds`; and prints one JSON line per thread: the value, whether
it was a hit, the stale reason if any, and how long after the go it asked. `mode` "fail"
makes the fetch fail as an unreachable Meteroid would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("key")
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--mode", choices=["ok", "fail"], default="ok")
    parser.add_argument("--counter", required=True)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    import redis

    from dashboard.meteroid import cache
    from dashboard.meteroid.errors import ErrorKind, MeteroidError

    counter = redis.Redis.from_url(os.environ["TEST_REDIS_URL"])

    def fetch() -> str:
        counter.incr(args.counter)
        time.sleep(args.seconds)
        if args.mode == "fail":
            raise MeteroidError(ErrorKind.UNAVAILABLE, "Meteroid could not be reached.")
        return f"fetched by {os.getpid()}"

    lines: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        late = time.time() - go
        try:
            got = cache.get_or_fetch(args.key, 60, fetch, expect=str)
            line = {"value": got.value, "hit": got.hit, "stale": got.stale and got.stale.reason}
        except MeteroidError as exc:
            line = {"error": exc.message}
        line["late"] = round(late, 3)
        with lock:
            lines.append(json.dumps(line))

    counter.incr(f"{args.counter}:ready")
    deadline = time.monotonic() + 60
    while (said := counter.get(f"{args.counter}:go")) is None:
        if time.monotonic() > deadline:
            sys.exit("no go within 60 s")
        time.sleep(0.002)
    go = float(said)
    threads = [threading.Thread(target=ask) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sys.stdout.write("".join(f"{line}\n" for line in lines))


if __name__ == "__main__":
    main()
