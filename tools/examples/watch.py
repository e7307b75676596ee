#!/usr/bin/python3
"""Follows one backfill on the gapless ops publication until it is done.

    tools/examples/watch.py BACKFILL_ID [ENDPOINT]

ENDPOINT is ops' publisher (config ops/publish, default
tcp://127.0.0.1:5571). Each message is two frames: a topic and a
MessagePack map; protocol/SPEC.md "Ops publication" lists the keys.
Needs pyzmq and msgpack (Debian: python3-zmq python3-msgpack), hence the
system python in the first line. Exits 0 when every slice succeeded, 1
when the backfill failed or ops is silent for 30 s.
"""
import sys

import msgpack
import zmq

backfill = sys.argv[1]
endpoint = sys.argv[2] if len(sys.argv) > 2 else "tcp://127.0.0.1:5571"

sub = zmq.Context().socket(zmq.SUB)
sub.setsockopt(zmq.RCVTIMEO, 30000)
# The three essential lines: subscribe, receive, read the map.
sub.connect(endpoint); sub.subscribe(f"progress.{backfill}")
while True:
    try:
        topic, body = sub.recv_multipart(); p = msgpack.unpackb(body)
    except zmq.Again:
        sys.exit(f"watch.py: nothing from ops at {endpoint} for 30 s")
    if str(p["backfill_id"]) != backfill:   # progress.1 also matches progress.12
        continue
    print(f'{p["status"]}: {p["slices_succeeded"]}/{p["slices_total"]} slices, '
          f'{p["bars_written"]} bars, {p["bars_per_s"]:.0f} bars/s, ETA {p["eta_s"]} s', flush=True)
    if p["done"]:
        sys.exit(0 if p["status"] == "succeeded" else 1)
