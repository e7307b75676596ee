#!/usr/bin/env python3
"""garbage.py — bad input to every daemon, while a backfill runs.

    tests/chaos/garbage.py [--build DIR] [--slices N] [--seed S]

Starts the whole system of system.py (PostgreSQL, gapless-sim, broker,
writer, scheduler, fetchers, coverage, ops), enqueues a small backfill
and, while it runs, attacks:

- the broker, with raw DEALER sockets, registered and not: random bytes,
  wrong frame counts, other versions, unknown and wrong-way commands,
  truncated headers, frames just over and far over max_body, floods of
  thousands of messages, READY with absurd fields, CREDIT with huge values;
- every actor through the broker, from a raw peer registered as service
  `garbage`: bodies the codec passes but that make no sense to the actor
  (wrong types, absurd ranges and ids, forged FAILED, WRITTEN and BARS
  for runs that do not exist or with a lease token that is not theirs,
  dead-letter commands for slices that are not dead) and bodies the codec
  refuses; then 2000 refusals to each of ops, writer, scheduler and
  coverage, counting the log lines they cost.

Every attack has what protocol/SPEC.md promises for it: an answer (an
ERROR, a BOUNCE, a reply with the request's id, or a WELCOME) or none.
Then it checks that each promised answer came, and no other; that each
daemon counted what it refused (broker_stats, the runtime's
delivery_refused lines, the daemons' own stats lines); that no daemon
exited; and that the backfill still completed exactly (system.py's
checks: forged bars must not be stored). Prints a table: attack, count
sent, answered as promised, daemon alive.

Needs pyzmq and msgpack (python3-zmq, python3-msgpack); re-runs itself
under /usr/bin/python3 when the interpreter it was started with has not
got them.
"""
import os
import re
import subprocess
import sys
import time
import uuid

try:
    import msgpack
    import zmq
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.access("/usr/bin/python3", os.X_OK):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

from system import System, arguments, now

READY, WELCOME, HEARTBEAT, CREDIT, DISCONNECT, SEND, DELIVER, BOUNCE, ERROR, MEMBERSHIP = range(1, 11)
ANSWER_WAIT_S = 3.0             # how long a promised answer may take
FLOOD = 2000                    # refusals per actor in the actors' flood
FLOOD_LINES = {"ops": ("event_refused", "delivery_refused", "deliveries_refused"),
               "writer": ("bars_refused", "delivery_refused", "deliveries_refused"),
               "coverage": ("gaps_refused", "delivery_refused", "deliveries_refused"),
               "scheduler": ("delivery_refused", "deliveries_refused")}
MAX_BODY = 16 * 1024 * 1024     # the broker's default max_body (WELCOME says)


def header(command, version=1):
    return bytes([0x47, 0x4C, version, command])


def pack(body):
    return msgpack.packb(body, use_bin_type=True)


def unpack(data):
    try:
        return msgpack.unpackb(data, raw=False)
    except Exception:
        return None


def token():
    return str(uuid.UUID(int=0x6761726261676500000000000000 + os.getpid()))


class Peer:
    """One raw DEALER to the broker, with unbounded queues so that a flood
    of answers is all read (a full receive queue would drop them)."""

    def __init__(self, context, endpoint, name):
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVHWM, 0)
        self.socket.setsockopt(zmq.SNDHWM, 0)
        self.socket.setsockopt(zmq.RECONNECT_IVL, 50)
        self.socket.connect(endpoint)
        self.name = name
        self.registered = False
        self.address = None
        self.delivered = []         # (sender, body) of every DELIVER
        self.unreturned = 0
        self.last_sent = 0.0
        self.welcome = None

    def send(self, frames):
        self.socket.send_multipart(frames)
        self.last_sent = now()

    def receive(self, seconds):
        """Every message within seconds, as (command, frames); a registered
        peer keeps its registration alive and returns credit meanwhile."""
        answers = []
        deadline = now() + seconds
        while True:
            left = deadline - now()
            if left <= 0:
                break
            if self.registered and now() - self.last_sent > 0.1:
                self.send([header(HEARTBEAT)])
            if not self.socket.poll(int(min(left, 0.1) * 1000) + 1):
                continue
            while True:
                try:
                    frames = self.socket.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                answers.append(self.classify(frames))
        return answers

    def classify(self, frames):
        """(command, code or sender, body): code for ERROR and BOUNCE."""
        if not frames or len(frames[0]) != 4 or frames[0][:3] != b"GL\x01":
            return ("junk", None, None)
        command = frames[0][3]
        if command in (ERROR, DISCONNECT) and len(frames) >= 2:
            body = unpack(frames[1]) or {}
            return (command, body.get("code"), body)
        if command == BOUNCE and len(frames) == 4:
            body = unpack(frames[3]) or {}
            return (command, body.get("code"), frames[2])
        if command == WELCOME and len(frames) == 2:
            self.welcome = unpack(frames[1])
            return (command, None, self.welcome)
        if command == DELIVER and len(frames) == 3:
            sender = frames[1].decode(errors="replace")
            body = unpack(frames[2])
            self.delivered.append((sender, body))
            self.unreturned += 1
            if self.unreturned >= 50:
                self.send([header(CREDIT), pack({"type": "credit", "credit": self.unreturned})])
                self.unreturned = 0
            return (command, sender, body)
        return (command, None, None)

    def register(self, service, instance, credit=1000):
        self.send([header(READY), pack({"type": "ready", "service": service,
                                         "instance": instance, "credit": credit})])
        deadline = now() + ANSWER_WAIT_S
        while now() < deadline:
            for command, _, _ in self.receive(0.05):
                if command == WELCOME:
                    self.registered = True
                    self.address = "%s/%s" % (service, instance)
                    return True
        return False

    def close(self):
        if self.registered:
            self.send([header(DISCONNECT)])
        self.socket.close(0)


class Attack:
    """One row of the table: what was sent where, what SPEC promises."""

    def __init__(self, target, name, sent, promised, answered, wrong, note=""):
        self.target, self.name, self.sent = target, name, sent
        self.promised, self.answered, self.wrong, self.note = promised, answered, wrong, note


class Run(System):
    """The system under garbage, and what it answered."""

    program = "garbage.py"

    def __init__(self, options):
        super().__init__(options)
        self.attacks = []
        self.requests = {}          # request id -> (target, attack name)
        self.context = zmq.Context()

    def actor_environment(self):
        environment = super().actor_environment()
        environment["GAPLESS_BROKER_STATS_MS"] = "1000"     # counters to read soon after
        return environment

    def record(self, target, name, sent, promised, answered, wrong, note=""):
        self.attacks.append(Attack(target, name, sent, promised, answered, wrong, note))
        self.note("%s %s: sent %d, promised %d, answered %d, wrong %d %s" % (
            target, name, sent, promised, answered, wrong, note))
        self.tick()

    def peer(self, name):
        return Peer(self.context, self.endpoint, name)

    def registered_peer(self, service, instance, credit=1000):
        peer = self.peer(instance)
        if not peer.register(service, instance, credit):
            raise RuntimeError("the broker did not welcome %s/%s" % (service, instance))
        return peer

    # -- the attacks ------------------------------------------------------------

    def middle(self):
        begin = now()
        self.broker_counters_before = self.last_counters("broker", "broker_stats")
        self.attack_actors()        # while the backfill runs: the broker's take longer
        self.attack_broker()
        self.attack_seconds = now() - begin
        time.sleep(2.5)             # the refusal lines and broker_stats catch up
        self.tick()

    def expect(self, peer, frames_list, promised, accept, seconds=ANSWER_WAIT_S, pace=0):
        """Sends each message; returns (answered as promised, wrong):
        answers whose (command, code) is in accept count as answered."""
        answers = []

        def take(received):
            answers.extend(answer for answer in received if answer[0] not in
                           (HEARTBEAT, MEMBERSHIP) and (answer[0] != DELIVER or accept == "deliver"))
        for index, frames in enumerate(frames_list):
            peer.send(frames)
            if pace and index % pace == pace - 1:
                take(peer.receive(0.001))
        deadline = now() + seconds
        while now() < deadline:
            take(peer.receive(0.2))
            good = sum(1 for answer in answers if self.accepted(answer, accept))
            if promised and good >= promised:
                take(peer.receive(0.3))             # anything more is wrong
                break
        good = sum(1 for answer in answers if self.accepted(answer, accept))
        return good, len(answers) - good

    @staticmethod
    def accepted(answer, accept):
        if accept == "deliver":
            return answer[0] == DELIVER
        return accept is not None and (answer[0], answer[1]) in accept

    def attack_broker(self):
        rng = self.rng
        junk = [[bytes(rng.getrandbits(8) for _ in range(rng.choice((1, 2, 3, 5, 7, 40))))]
                + [bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 20)))
                   for _ in range(rng.randint(0, 4))] for _ in range(300)]
        junk = [frames for frames in junk if not frames[0].startswith(b"GL")]
        malformed = [(ERROR, "malformed")]
        not_registered = [(ERROR, "not_registered")]
        body = pack({"type": "echo", "sequence": 1, "payload": "x"})

        # A stranger (never sent READY)
        stranger = self.peer("stranger")
        good, wrong = self.expect(stranger, junk, 0, None, seconds=1)
        self.record("broker", "stranger: random bytes, 1-5 frames", len(junk), 0, good, wrong,
                    "SPEC: not a GLP header, nothing")
        frames = [[b"GL\x01"], [b"G"], [b""], [b"GL\x01\x01\x00"], [b"XL\x01\x01", body]]
        good, wrong = self.expect(stranger, frames, 0, None, seconds=1)
        self.record("broker", "stranger: truncated/long/bad signature header", len(frames), 0,
                    good, wrong, "SPEC: nothing")
        frames = [[header(0x7F)], [header(0x00)], [header(0x0B), body]]
        good, wrong = self.expect(stranger, frames, 0, None, seconds=1)
        self.record("broker", "stranger: unknown command codes", len(frames), 0, good, wrong,
                    "SPEC: nothing")
        frames = [[header(READY, version), pack({"type": "ready", "service": "garbage",
                                                 "instance": "v", "credit": 1})]
                  for version in (0, 2, 9, 255)] * 5
        good, wrong = self.expect(stranger, frames, len(frames), [(ERROR, "bad_version")])
        self.record("broker", "stranger: versions 0, 2, 9, 255", len(frames), len(frames),
                    good, wrong)
        frames = [[header(HEARTBEAT)], [header(CREDIT), pack({"type": "credit", "credit": 5})],
                  [header(SEND)], [header(SEND), b"writer"], [header(WELCOME), body],
                  [header(DELIVER), b"writer", body], [header(MEMBERSHIP), body],
                  [header(ERROR), body], [header(BOUNCE), b"a", body, body]]
        good, wrong = self.expect(stranger, frames, len(frames), not_registered)
        self.record("broker", "stranger: HEARTBEAT, CREDIT, short SEND, broker commands",
                    len(frames), len(frames), good, wrong)
        frames = [[header(SEND), b"garbage/nobody", body], [header(SEND), b"scheduler", b"\xc1"]]
        good, wrong = self.expect(stranger, frames, len(frames), [(BOUNCE, "not_registered")])
        self.record("broker", "stranger: SEND", len(frames), len(frames), good, wrong)
        frames = [[header(DISCONNECT)]]
        good, wrong = self.expect(stranger, frames, 0, None, seconds=1)
        self.record("broker", "stranger: DISCONNECT", 1, 0, good, wrong, "SPEC: nothing")

        # READY with absurd fields and bodies
        def ready(**fields):
            base = {"type": "ready", "service": "garbage", "instance": "absurd", "credit": 1}
            base.update(fields)
            return [header(READY), pack({key: value for key, value in base.items()
                                         if value is not None})]
        frames = [ready(credit=2 ** 40), ready(credit=-1), ready(credit=1000001),
                  ready(credit="many"), ready(service="Not Valid!"), ready(service=""),
                  ready(service="s" * 65), ready(instance="i" * 65), ready(instance="a/b"),
                  ready(follow=["*"]), ready(follow=["garbage.*"] * 17), ready(follow="fetcher.*"),
                  ready(extra=1), ready(type="echo"), ready(service=None),
                  [header(READY), b""], [header(READY), b"\x92\x01\x02"],
                  [header(READY), bytes(rng.getrandbits(8) for _ in range(64))],
                  [header(READY), pack({"type": "ready"}) + b"\x00"],
                  [header(READY)], ready() + [b"extra frame"],
                  [header(READY), msgpack.packb({"type": "ready", "service": b"garbage",
                                                 "instance": "absurd", "credit": 1},
                                                use_bin_type=True)],
                  [header(READY), b"\x84\xa4type\xa5ready\xa4type\xa5ready\xa6credit\x01"
                   b"\xa7service\xa7garbage"],
                  [header(READY), pack({"type": "ready", "service": "garbage",
                                        "instance": "\xff\u0000", "credit": 1})]]
        good, wrong = self.expect(stranger, frames, len(frames), malformed)
        self.record("broker", "READY with absurd fields or bodies", len(frames), len(frames),
                    good, wrong)
        stranger.close()

        # A registered peer: each bad message is answered ERROR
        peer = self.registered_peer("garbage", "g-broker", credit=1000000)
        self.max_body = int((peer.welcome or {}).get("max_body", MAX_BODY))
        credit_limit = int((peer.welcome or {}).get("credit_limit", 10000))
        good, wrong = self.expect(peer, junk, len(junk),
                                  [(ERROR, "malformed"), (ERROR, "bad_command")])
        self.record("broker", "registered: random bytes", len(junk), len(junk), good, wrong)
        frames = [[b"GL\x01"], [b"G"], [b""], [b"GL\x01\x03\x00"], [b"XL\x01\x03"]]
        good, wrong = self.expect(peer, frames, len(frames), malformed)
        self.record("broker", "registered: truncated/long/bad signature header", len(frames),
                    len(frames), good, wrong)
        frames = [[header(0x7F)], [header(0x00)], [header(0x0B), body]]
        good, wrong = self.expect(peer, frames, len(frames), [(ERROR, "bad_command")])
        self.record("broker", "registered: unknown command codes", len(frames), len(frames),
                    good, wrong)
        frames = [[header(HEARTBEAT, 2)], [header(SEND, 0), b"garbage", body]]
        good, wrong = self.expect(peer, frames, len(frames), [(ERROR, "bad_version")])
        self.record("broker", "registered: other versions", len(frames), len(frames), good, wrong)
        frames = [[header(WELCOME), body], [header(DELIVER), b"writer", body],
                  [header(BOUNCE), b"writer", body, body], [header(ERROR), body],
                  [header(MEMBERSHIP), body]]
        good, wrong = self.expect(peer, frames, len(frames),
                                  [(ERROR, "bad_command")])
        self.record("broker", "registered: broker-to-actor commands", len(frames), len(frames),
                    good, wrong)
        frames = [[header(SEND)], [header(SEND), b"writer"], [header(SEND), b"a", b"b", b"c"],
                  [header(HEARTBEAT), b"x"], [header(CREDIT)], [header(DISCONNECT), b"x"],
                  [header(SEND)] + [b"f"] * 50]
        good, wrong = self.expect(peer, frames, len(frames), malformed)
        self.record("broker", "registered: wrong frame counts", len(frames), len(frames),
                    good, wrong)
        frames = [[header(SEND), b"Not An Address", body], [header(SEND), b"a/b/c", body],
                  [header(SEND), b"", body], [header(SEND), b"x" * 200, body],
                  [header(CREDIT), pack({"type": "credit", "credit": 2 ** 40})],
                  [header(CREDIT), pack({"type": "credit", "credit": -5})],
                  [header(CREDIT), pack({"type": "ready", "credit": 5})],
                  [header(CREDIT), b"\xc1"]]
        good, wrong = self.expect(peer, frames, len(frames), malformed)
        self.record("broker", "registered: bad address, CREDIT 2^40/-5/garbage", len(frames),
                    len(frames), good, wrong)
        frames = [[header(CREDIT), pack({"type": "credit", "credit": 1000000})]] * 1000
        good, wrong = self.expect(peer, frames, 0, None, seconds=1)
        self.record("broker", "registered: CREDIT 1 000 000 x 1000 (cut at credit_limit)",
                    len(frames), 0, good, wrong, "SPEC: cut, never refused")
        # Credit is cut at credit_limit: the peer still gets its own messages
        frames = [[header(SEND), peer.address.encode(), pack({"type": "echo", "sequence": index,
                                                              "payload": ""})]
                  for index in range(3000)]
        good, wrong = self.expect(peer, frames, len(frames), "deliver", seconds=10, pace=200)
        self.record("broker", "flood: SEND x3000 to itself", len(frames), len(frames), good,
                    wrong, "DELIVER each (credit_limit %d)" % credit_limit)
        frames = [[header(SEND), b"garbage/nobody", body]] * 5000
        good, wrong = self.expect(peer, frames, len(frames), [(BOUNCE, "no_such_instance")],
                                  seconds=10, pace=500)
        self.record("broker", "flood: SEND x5000 to no instance", len(frames), len(frames),
                    good, wrong)
        peer.close()

        flood = self.peer("flood")
        frames = [[bytes(self.rng.getrandbits(8) for _ in range(3))]] * 20000
        good, wrong = self.expect(flood, frames, 0, None, seconds=1)
        self.record("broker", "flood: 20000 random frames, stranger", len(frames), 0, good, wrong,
                    "SPEC: nothing")
        frames = [[header(HEARTBEAT)]] * 5000
        good, wrong = self.expect(flood, frames, len(frames), not_registered, seconds=10, pace=500)
        self.record("broker", "flood: HEARTBEAT x5000, stranger", len(frames), len(frames), good,
                    wrong)
        flood.close()

        # Frames over max_body: libzmq drops the connection unanswered; the
        # peer's next message is answered not_registered (SPEC 5.6.1)
        for name, size in (("just over", self.max_body + 1), ("far over", 4 * self.max_body)):
            peer = self.registered_peer("garbage", "g-huge")
            peer.send([header(SEND), b"garbage/g-huge", b"\x00" * size])
            peer.registered = False
            answered = wrong = 0
            deadline = now() + 10
            while now() < deadline and not answered:
                peer.send([header(HEARTBEAT)])
                for answer in peer.receive(0.3):
                    if answer[:2] == (ERROR, "not_registered"):
                        answered = 1        # each HEARTBEAT in flight gets one
                    elif answer[0] not in (DELIVER, HEARTBEAT, MEMBERSHIP):
                        wrong += 1
            self.record("broker", "SEND body %s max_body (%d B)" % (name, size), 1, 1,
                        answered, wrong, "then not_registered")
            peer.close()

    # -- the actors -----------------------------------------------------------

    def run_ids(self):
        rows = self.cluster.query("SELECT id, symbol, extract(epoch FROM slice_from)::bigint,"
                                  " extract(epoch FROM slice_to)::bigint, status FROM"
                                  " gapless.job_runs WHERE timeframe = '1m' ORDER BY id") or []
        return [(int(row[0]), row[1], int(row[2]), int(row[3]), row[4]) for row in rows]

    def bars(self, start, count, price=1234.5):
        """Bars no provider serves (the sim's prices are near 100): stored,
        they would fail the exactness check."""
        return [[start + 60 * index, price, price + 1, price - 1, price, 7.0, price, 3, False]
                for index in range(count)]

    def attack_actors(self):
        peer = self.registered_peer("garbage", "g-actors", credit=10000)
        self.actor_peer = peer
        runs = self.run_ids()
        real_id, real_symbol, real_from, real_to, _ = runs[len(runs) // 2]
        huge_id = 2 ** 63 + 12345
        fake = token()
        sequence = [0]

        def request(target, name, body):
            sequence[0] += 1
            body["request_id"] = "garbage:%d" % sequence[0]
            self.requests[body["request_id"]] = (target, name)
            return body

        def send(service, bodies, raw=False):
            for body in bodies:
                peer.send([header(SEND), service.encode(), body if raw else pack(body)])

        def answered_requests(bodies, seconds=ANSWER_WAIT_S):
            """Replies to the requests, by request id, within seconds."""
            wanted = {body["request_id"] for body in bodies}
            replies = {}
            deadline = now() + seconds
            while now() < deadline and len(replies) < len(wanted):
                peer.receive(0.1)
                for sender, body in peer.delivered:
                    if isinstance(body, dict) and body.get("request_id") in wanted:
                        replies[body["request_id"]] = body
            return replies

        def requests_row(target, name, bodies, ok_expected=False):
            replies = answered_requests(bodies)
            refused = sum(1 for reply in replies.values() if not reply.get("ok"))
            wrong = sum(1 for reply in replies.values() if ok_expected is not None
                        and bool(reply.get("ok")) != ok_expected)
            missing = [self.requests[body["request_id"]][1] for body in bodies
                       if body["request_id"] not in replies]
            self.unanswered += missing
            wrongly = [(self.requests[key][1], reply.get("error", "")) for key, reply
                       in replies.items() if ok_expected is not None
                       and bool(reply.get("ok")) != ok_expected]
            self.wrong_replies += wrongly
            self.record(target, name, len(bodies), len(bodies), len(replies) - wrong, wrong,
                        ("ok" if ok_expected else "refused %d" % refused
                         if ok_expected is False else "ok %d, refused %d" % (
                             len(replies) - refused, refused))
                        + ("; unanswered: %s" % missing if missing else "")
                        + ("; wrong: %s" % wrongly if wrongly else ""))

        self.unanswered, self.wrong_replies = [], []
        self.expected_refusals = {}

        def refusals(service, count):
            self.expected_refusals[service] = self.expected_refusals.get(service, 0) + count

        # Bodies every actor's codec must refuse (counted malformed), and
        # types it has no handler for (counted unhandled)
        undecodable = [b"", b"\xc1", b"\x92\x01\x02", pack({"type": "nonsense"}),
                       pack({"sequence": 1}), pack({"type": "echo", "sequence": -1, "payload": ""}),
                       pack({"type": "echo", "sequence": 1, "payload": "", "extra": 1}),
                       pack({"type": "echo", "sequence": 1, "payload": ""}) + b"\x00",
                       b"\x82\xa4type\xa4echo\xa4type\xa4echo",
                       pack({"type": "written", "run_id": 1, "symbol": "A\u0000B", "timeframe": "1m",
                             "from": 0, "to": 60, "rows": 0, "revisions": 0}),
                       pack({"type": "written", "run_id": 1, "symbol": "AB", "timeframe": "2h",
                             "from": 0, "to": 60, "rows": 0, "revisions": 0}),
                       pack({"type": "written", "run_id": 1, "symbol": "AB", "timeframe": "1m",
                             "from": 60, "to": 60, "rows": 0, "revisions": 0}),
                       pack({"type": "written", "run_id": 1, "symbol": "AB", "timeframe": "1m",
                             "from": 0, "to": 2 ** 40, "rows": 0, "revisions": 0}),
                       pack({"type": "gaps", "request_id": "x", "symbol": "CH00",
                             "timeframe": "1m", "from": -2 ** 62, "to": 0}),
                       pack({"type": "enqueue", "request_id": "x", "symbols": ["CH00"], "tier": "",
                             "timeframe": "1m", "from": -2 ** 62, "to": -2 ** 61, "priority": 0,
                             "provider": "", "plan": True}),
                       bytes(self.rng.getrandbits(8) for _ in range(200))]
        echo = {"type": "echo", "sequence": 7, "payload": "garbage"}
        services = ["scheduler", "writer", "coverage", "ops", "fetcher.polygon", "fetcher.alpaca"]
        for service in services:
            send(service, undecodable, raw=True)
            refusals(service, len(undecodable))
            self.record(service, "bodies the codec refuses", len(undecodable), 0, 0, 0,
                        "SPEC: dropped, counted malformed")
        wrong_type = {
            "scheduler": [echo, {"type": "gaps", "request_id": "x", "symbol": "CH00",
                                 "timeframe": "1m", "from": 0, "to": 60}],
            "writer": [echo, {"type": "written", "run_id": real_id, "symbol": real_symbol,
                              "timeframe": "1m", "from": real_from, "to": real_to, "rows": 1,
                              "revisions": 0}],
            "coverage": [echo, {"type": "command", "request_id": "x", "action": "status",
                                "target": 0}],
            "ops": [echo, {"type": "command", "request_id": "x", "action": "dlq_purge",
                           "target": 0}],
            "fetcher.polygon": [echo, {"type": "command", "request_id": "x",
                                       "action": "status", "target": 0}],
            "fetcher.alpaca": [echo, {"type": "gaps", "request_id": "x", "symbol": "CH00",
                                      "timeframe": "1m", "from": 0, "to": 60}],
        }
        for service, bodies in wrong_type.items():
            send(service, bodies)
            refusals(service, len(bodies))
            self.record(service, "a type it does not take", len(bodies), 0, 0, 0,
                        "SPEC: dropped, counted unhandled")

        # The scheduler's requests: each one answered, most refused
        enqueue = {"type": "enqueue", "symbols": ["CH00"], "tier": "", "timeframe": "1m",
                   "from": real_from, "to": real_to, "priority": 0, "provider": "",
                   "plan": False}
        bodies = [request("scheduler", "enqueue no symbol, no tier", dict(enqueue, symbols=[])),
                  request("scheduler", "enqueue tier and symbols", dict(enqueue, tier="T0")),
                  request("scheduler", "enqueue provider nasdaq", dict(enqueue, provider="nasdaq")),
                  request("scheduler", "enqueue from > to", dict(enqueue, **{"from": real_to,
                                                                             "to": real_from})),
                  request("scheduler", "status of backfill 2^64-1", {
                      "type": "command", "action": "status", "target": 2 ** 64 - 1}),
                  request("scheduler", "cancel backfill 999999999", {
                      "type": "command", "action": "cancel", "target": 999999999}),
                  request("scheduler", "pause backfill 0", {
                      "type": "command", "action": "pause", "target": 0}),
                  request("scheduler", "resume backfill 999999999", {
                      "type": "command", "action": "resume", "target": 999999999}),
                  request("scheduler", "dlq_requeue slice 999999999", {
                      "type": "command", "action": "dlq_requeue", "target": 999999999}),
                  request("scheduler", "dlq_purge slice 999999999", {
                      "type": "command", "action": "dlq_purge", "target": 999999999}),
                  request("scheduler", "dlq_requeue of a slice not dead", {
                      "type": "command", "action": "dlq_requeue", "target": real_id}),
                  request("scheduler", "dlq_purge of a slice not dead", {
                      "type": "command", "action": "dlq_purge", "target": real_id})]
        send("scheduler", bodies)
        requests_row("scheduler", "nonsense requests (enqueue, command)", bodies)
        bodies = [request("scheduler", "enqueue plan of 100 unknown symbols", dict(
                      enqueue, symbols=["Z%05d" % index for index in range(100)],
                      timeframe="1d", plan=True, **{"from": 1704067200, "to": 1735689600})),
                  request("scheduler", "enqueue plan, priority 2^63-1", dict(
                      enqueue, plan=True, priority=2 ** 63 - 1)),
                  request("scheduler", "dlq_list", {"type": "command", "action": "dlq_list",
                                                    "target": 0}),
                  request("scheduler", "status of every backfill", {
                      "type": "command", "action": "status", "target": 0})]
        send("scheduler", bodies)
        requests_row("scheduler", "odd but valid requests", bodies, ok_expected=True)
        bodies = [request("scheduler", "enqueue plan of a century of 1d", dict(
                      enqueue, plan=True, timeframe="1d", **{"from": 0, "to": 4102444799})),
                  request("scheduler", "enqueue plan of tier T2", dict(
                      enqueue, plan=True, symbols=[], tier="T2"))]
        if self.options.heavy:      # each stalled the scheduler past 3 heartbeats (README)
            bodies += [request("scheduler", "enqueue plan of a century of 1m", dict(
                           enqueue, plan=True, **{"from": 0, "to": 4102444799})),
                       request("scheduler", "enqueue plan of 10000 unknown symbols", dict(
                           enqueue, symbols=["Z%05d" % index for index in range(10000)],
                           timeframe="1d", plan=True, **{"from": 1704067200, "to": 1735689600}))]
        send("scheduler", bodies)
        requests_row("scheduler", "absurd plans (answered either way)", bodies, ok_expected=None)

        # Forged answers to the scheduler: stale (no such lease), counted
        failed = {"type": "failed", "run_id": huge_id, "lease_token": fake, "provider": "polygon",
                  "error_class": "server_error", "retryable": True, "retry_after_ms": 0,
                  "message": "forged"}
        bodies = [dict(failed, error_class=error_class, run_id=run_id)
                  for error_class in ("server_error", "breaker_open", "rate_limited", "not_found",
                                      "no_data", "auth", "timeout")
                  for run_id in (huge_id, real_id, 1)]
        send("scheduler", bodies)
        self.stale_failed_sent = len(bodies)
        self.record("scheduler", "FAILED with a lease token not theirs", len(bodies), 0, 0, 0,
                    "SPEC: fenced by the lease; counted stale")
        bodies = [{"type": "written", "run_id": run_id, "symbol": real_symbol, "timeframe": "1m",
                   "from": real_from, "to": real_to, "rows": 999, "revisions": 0}
                  for run_id in (huge_id, 0)]
        bodies += [{"type": "event", "source": "garbage", "name": name, "time_ms": 0,
                    "fields": fields} for name, fields in (
                        ("fetcher_health", {"provider": "nasdaq", "breaker": "open"}),
                        ("breaker_changed", {"provider": "", "to": "open"}),
                        ("nonsense", {}),
                        ("fetcher_health", {"provider": "polygon", "latency_le_ms": "x,,",
                                            "latency_counts": "1,2,3,4,5,6,7,8,9,10,11,12,13,"
                                            "14,15,16,17,18,19,20", "failure_rate": "nan",
                                            "completeness": "-7", "breaker": "closed"}))]
        send("scheduler", bodies)
        self.record("scheduler", "WRITTEN of no run, EVENTs with bad fields", len(bodies), 0, 0,
                    0, "SPEC: no answer")

        # The writer: BARS it must refuse; none may be stored
        bars = {"type": "bars", "run_id": huge_id, "lease_token": fake, "provider": "polygon",
                "symbol": real_symbol, "timeframe": "1m", "part": 0, "last": True,
                "adjustment": "split", "bars": self.bars(real_from, 5)}
        bodies = [bars, dict(bars, run_id=real_id), dict(bars, run_id=real_id, part=7, last=False),
                  dict(bars, run_id=real_id, bars=self.bars(real_from, 50000)),
                  dict(bars, run_id=real_id, bars=[[real_from, 10.0, 1.0, 20.0, 5.0, -3.0, None,
                                                    None, False]]),
                  dict(bars, run_id=real_id, symbol="NO SUCH!"),
                  dict(bars, run_id=0, bars=[])]
        send("writer", bodies)
        self.record("writer", "BARS with a lease token not theirs", len(bodies), 0, 0, 0,
                    "SPEC: fenced by the lease; checked: none stored")
        bodies = [pack(dict(bars, adjustment="dividend")), pack(dict(bars, part=2 ** 32)),
                  pack(dict(bars, bars=[[real_from, float("nan"), 1.0, 1.0, 1.0, 1.0, None, None,
                                         False]])),
                  pack(dict(bars, bars=[[real_from, 1.0]]))]
        send("writer", bodies, raw=True)
        refusals("writer", len(bodies))
        self.record("writer", "BARS the codec refuses (NaN, short bar, basis)", len(bodies), 0, 0,
                    0, "SPEC: counted malformed")

        # Coverage: gaps requests answered; forged WRITTEN
        gaps = {"type": "gaps", "symbol": real_symbol, "timeframe": "1m", "from": real_from,
                "to": real_to}
        bodies = [request("coverage", "gaps of a symbol not a ticker", dict(gaps, symbol="a b!")),
                  request("coverage", "gaps of an unknown symbol", dict(gaps, symbol="NOSUCHSYM")),
                  request("coverage", "gaps from >= to", dict(gaps, **{"to": real_from})),
                  request("coverage", "gaps of a century of 1m", dict(gaps, **{"from": 0,
                                                                               "to": 4102444799}))]
        send("coverage", bodies)
        requests_row("coverage", "nonsense gaps requests", bodies)
        bodies = [request("coverage", "gaps of a real slice", dict(gaps))]
        send("coverage", bodies)
        requests_row("coverage", "a valid gaps request", bodies, ok_expected=True)
        # A forged WRITTEN with every bar a month needs (it would make
        # coverage claim them), and one with fewer (it would make coverage
        # check the month in PostgreSQL and ask for a refill)
        future = 1893456000         # 2030-01-01: nothing stored there
        needed = len(subprocess.run([self.binary("simdump"), real_symbol, "1d", "2030-01-01",
                                     "2030-01-31"], check=True, capture_output=True,
                                    text=True).stdout.splitlines())
        bodies = [{"type": "written", "run_id": huge_id, "symbol": "NOSUCHSYM", "timeframe": "1m",
                   "from": real_from, "to": real_to, "rows": 1, "revisions": 0},
                  {"type": "written", "run_id": huge_id, "symbol": real_symbol, "timeframe": "1d",
                   "from": future, "to": future + 86400 * 30, "rows": needed, "revisions": 0},
                  {"type": "written", "run_id": huge_id, "symbol": real_symbol, "timeframe": "1d",
                   "from": future + 86400 * 365, "to": future + 86400 * 395, "rows": 1,
                   "revisions": 0}]
        send("coverage", bodies)
        self.record("coverage", "WRITTEN of no run (unknown symbol, a month claimed, a month"
                    " short)", len(bodies), 0, 0, 0, "SPEC: no answer")
        self.forged_written = (real_symbol, future)

        # ops: events it must refuse or count as other
        event = {"type": "event", "source": "garbage", "time_ms": 0}
        bodies = [dict(event, name="nonsense", fields={}),
                  dict(event, name="fetcher_health", fields={"provider": "nasdaq"}),
                  dict(event, name="breaker_changed", fields={"provider": "polygon", "to": "x" * 200}),
                  dict(event, name="gaps_found", fields={"symbol": "a b!", "timeframe": "1m"}),
                  dict(event, name="slo", fields={"tier": "T9", "timeframe": "1m"}),
                  dict(event, name="slow_request", fields={"provider": "polygon",
                                                           "duration_ms": "-1" * 100}),
                  dict(event, name="fetcher_health", fields={"k%d" % index: "v" * 256
                                                             for index in range(64)}),
                  {"type": "written", "run_id": huge_id, "symbol": real_symbol, "timeframe": "1m",
                   "from": real_from, "to": real_to, "rows": 1, "revisions": 0}]
        send("ops", bodies)
        self.record("ops", "EVENTs with bad fields, WRITTEN of no run", len(bodies), 0, 0, 0,
                    "SPEC: refused or counted, no answer")

        # Fetchers: FETCHes of no run; a FAILED or BARS goes to the
        # scheduler or the writer, which the lease fences
        fetch = {"type": "fetch", "run_id": huge_id, "lease_token": fake, "symbol": real_symbol,
                 "timeframe": "1m", "from": 0, "to": 4102444799, "attempt": 1}
        for service in ("fetcher.polygon", "fetcher.alpaca"):
            bodies = [fetch, dict(fetch, run_id=huge_id + 1, symbol="NO SUCH!"),
                      dict(fetch, run_id=huge_id + 2, timeframe="1w", **{"from": 0, "to": 86400 * 7}),
                      dict(fetch, run_id=huge_id + 3, attempt=2 ** 32 - 1)]
            send(service, bodies)
            self.record(service, "FETCH of no run: a century, a bad ticker, 1970",
                        len(bodies), 0, 0, 0, "answered FAILED to the scheduler (stale)")
        peer.receive(1.0)
        self.flood_actors(peer)

    def flood_actors(self, peer):
        """2000 refusals each: all counted and answered where SPEC says; the
        log lines they cost are reported (a line each is a disk any peer
        can fill)."""
        self.flood_lines = {}
        before = {name: self.count_lines(name, events) for name, events in FLOOD_LINES.items()}
        bad = {"type": "event", "source": "garbage", "time_ms": 0, "name": "fetcher_health",
               "fields": {"provider": "nasdaq"}}
        bars = {"type": "bars", "run_id": 1, "lease_token": token(), "provider": "polygon",
                "symbol": "NO SUCH!", "timeframe": "1m", "part": 0, "last": True,
                "adjustment": "split", "bars": []}
        for index in range(FLOOD):
            peer.send([header(SEND), b"ops", pack(bad)])
            peer.send([header(SEND), b"writer", pack(bars)])
            peer.send([header(SEND), b"scheduler", b"\xc1"])
            if index % 200 == 0:
                peer.receive(0.001)
        wanted = {"garbage:flood:%d" % index for index in range(FLOOD)}
        for index in range(FLOOD):
            peer.send([header(SEND), b"coverage", pack({
                "type": "gaps", "request_id": "garbage:flood:%d" % index, "symbol": "NOSUCHSYM",
                "timeframe": "1m", "from": 1704205800, "to": 1704229200})])
            if index % 200 == 0:
                peer.receive(0.001)
        deadline = now() + 20
        answered = set()
        while now() < deadline and len(answered) < len(wanted):
            peer.receive(0.2)
            answered = {body.get("request_id") for _, body in peer.delivered
                        if isinstance(body, dict)} & wanted
        self.record("coverage", "flood: 2000 gaps requests of an unknown symbol", FLOOD, FLOOD,
                    len(answered), 0, "each answered, refused")
        if len(answered) < FLOOD:
            self.unanswered += ["flood gaps"] * (FLOOD - len(answered))
        for target in ("ops", "writer", "scheduler"):
            self.record(target, "flood: 2000 refused bodies", FLOOD, 0, 0, 0, "SPEC: no answer")
        time.sleep(1.5)         # the runtime's count lines come once a second
        for name, events in FLOOD_LINES.items():
            self.flood_lines[name] = self.count_lines(name, events) - before[name]

    def count_lines(self, prefix, events):
        return sum(len(self.log_lines(prefix, event)) for event in events)

    # -- the checks -----------------------------------------------------------

    def last_counters(self, prefix, event):
        """The key=value counters of the latest line of event in logs named prefix*."""
        lines = self.log_lines(prefix, event)
        if not lines:
            return {}
        return {key: int(value) for key, value in re.findall(r" (\w+)=(-?\d+)", lines[-1][1])}

    def refused_total(self, prefix):
        """The actor runtime's refused count, from its latest refusal line,
        summed over the processes named prefix*."""
        total = 0
        for name in sorted(os.listdir(self.logs)):
            if not name.startswith(prefix):
                continue
            last = 0
            with open(os.path.join(self.logs, name), errors="replace") as log:
                for line in log:
                    if " event=delivery_refused " in line or " event=deliveries_refused " in line:
                        found = re.search(r" refused=(\d+)", line)
                        if found:
                            last = int(found.group(1))
            total += last
        return total

    def checks(self):
        super().checks()
        for attack in self.attacks:
            if attack.answered < attack.promised or attack.wrong:
                self.failures.append("%s, %s: %d sent, %d answered as SPEC promises (%d promised),"
                                     " %d other answers %s" % (
                                         attack.target, attack.name, attack.sent, attack.answered,
                                         attack.promised, attack.wrong, attack.note))
        if self.unanswered:
            self.failures.append("%d requests unanswered within %.0f s: %s" % (
                len(self.unanswered), ANSWER_WAIT_S, self.unanswered))
        prefixes = {"scheduler": "scheduler", "writer": "writer", "coverage": "coverage",
                    "ops": "ops", "fetcher.polygon": "polygon", "fetcher.alpaca": "alpaca"}
        self.refusal_rows = []
        for service, count in sorted(self.expected_refusals.items()):
            counted = self.refused_total(prefixes[service])
            self.refusal_rows.append((service, count, counted))
            if counted < count:
                self.failures.append("%s refused %d of the %d bodies it had to refuse (runtime"
                                     " refused= in its log)" % (service, counted, count))
        broker = self.last_counters("broker", "broker_stats")
        self.broker_rejected = broker.get("rejected", 0) - self.broker_counters_before.get("rejected", 0)
        self.broker_bounced = broker.get("bounced", 0) - self.broker_counters_before.get("bounced", 0)
        rejected_sent = sum(attack.sent for attack in self.attacks if attack.target == "broker"
                            and re.search(r"random|truncated|unknown|version|READY with|wrong"
                                          r"|broker-to-actor|bad address|HEARTBEAT, CREDIT|20000",
                                          attack.name))
        self.broker_rejected_expected = rejected_sent
        if self.broker_rejected < rejected_sent:
            self.failures.append("broker_stats counted %d rejected frames, %d were sent" % (
                self.broker_rejected, rejected_sent))
        scheduler = self.last_counters("scheduler", "scheduler_stats")
        self.scheduler_stale = scheduler.get("stale")
        if self.scheduler_stale is None or self.scheduler_stale < self.stale_failed_sent:
            self.failures.append("the scheduler counted %s stale FAILED, %d were forged" % (
                self.scheduler_stale, self.stale_failed_sent))
        self.writer_counts = self.last_counters("writer", "writer_stats")
        self.check_forged_written()
        self.count_by_provider()

    def check_forged_written(self):
        """A forged WRITTEN must not make coverage claim bars that are not stored."""
        symbol, future = self.forged_written
        self.actor_peer.close()
        self.actor_peer = self.registered_peer("garbage", "g-check")
        self.actor_peer.send([header(SEND), b"coverage", pack({
            "type": "gaps", "request_id": "garbage:future", "symbol": symbol, "timeframe": "1d",
            "from": future, "to": future + 86400 * 30})])
        reply = None
        deadline = now() + ANSWER_WAIT_S
        while now() < deadline and reply is None:
            self.actor_peer.receive(0.1)
            reply = next((body for _, body in self.actor_peer.delivered if isinstance(body, dict)
                          and body.get("request_id") == "garbage:future"), None)
        stored = int((reply or {}).get("fields", {}).get("stored", -1))
        self.coverage_future = stored
        self.refills = len(self.log_lines("coverage", "refill_requested"))
        if self.refills:
            self.failures.append("coverage asked for %d refills (a forged WRITTEN)" % self.refills)
        if reply is None:
            self.failures.append("coverage did not answer a gaps request after the attacks")
        elif stored != 0:
            self.failures.append("coverage says %d bars stored where none are (a forged WRITTEN"
                                 " was believed)" % stored)

    def count_by_provider(self):
        """Slices each provider served (reported: a forged breaker_open that
        closed a provider to routing would show here)."""
        rows = self.cluster.query("SELECT provider, count(*) FROM gapless.job_runs WHERE"
                                  " timeframe = '1m' AND status = 'succeeded' GROUP BY 1") or []
        self.by_provider = {row[0]: int(row[1]) for row in rows}

    def stop(self):
        if getattr(self, "actor_peer", None):
            self.actor_peer.close()
        self.context.term()
        super().stop()

    def summary(self):
        out = ["garbage.py summary (seed %d)" % self.options.seed,
               "| what | value |", "|---|---|", self.slices_row(), self.bars_row(),
               "| crashes (exits nobody asked for) | %d |" % len(self.crashes),
               "| attacks, seconds | %d, %.1f s |" % (len(self.attacks), self.attack_seconds),
               "| broker: rejected frames counted / sent | %d / %d |" % (
                   self.broker_rejected, self.broker_rejected_expected),
               "| scheduler: stale FAILED counted / forged | %s / %d |" % (
                   self.scheduler_stale, self.stale_failed_sent),
               "| writer: BARS counted stale / refused (writer_stats) | %s / %s |" % (
                   self.writer_counts.get("stale"), self.writer_counts.get("refused")),
               "| coverage: bars it says stored where none are | %d |" % self.coverage_future,
               "| coverage: refills asked for | %d |" % self.refills,
               "| slices by provider | %s |" % ", ".join(
                   "%s %d" % item for item in sorted(self.by_provider.items())),
               "| wall time | %.1f s |" % (self.finished - self.started),
               "", "| attack | target | sent | must answer | answered as SPEC | other answers |"
               " daemon alive | note |", "|---|---|---|---|---|---|---|---|"]
        for attack in self.attacks:
            alive = all(process.alive() for process in self.processes
                        if attack.target.startswith(process.role)
                        or (process.role == "fetcher" and attack.target.endswith(process.name[:-1])))
            out.append("| %s | %s | %d | %d | %d | %d | %s | %s |" % (
                attack.name, attack.target, attack.sent, attack.promised, attack.answered,
                attack.wrong, "yes" if alive else "NO", attack.note.replace("|", "/")))
        out += ["", "| actor | bodies it had to refuse | refused (runtime counter) |",
                "|---|---|---|"]
        out += ["| %s | %d | %d |" % row for row in self.refusal_rows]
        out += ["", "| actor | log lines its flood of %d refusals wrote |" % FLOOD, "|---|---|"]
        out += ["| %s | %d |" % item for item in sorted(self.flood_lines.items())]
        return "\n".join(out)


def main():
    parser = arguments(__doc__.split("\n\n")[0], slices=100, duration=20, timeout=120)
    parser.add_argument("--heavy", action="store_true", help="also the requests that stalled"
                        " the scheduler: a 1m plan of a century, a plan of 10000 symbols")
    return Run(parser.parse_args()).execute()


if __name__ == "__main__":
    sys.exit(main())
