#!/usr/bin/env python3
"""partition.py — fetchers cut off from the broker, still reaching the provider.

    tests/chaos/partition.py [--build DIR] [--slices N] [--cuts N] [--cut-seconds S] [--seed S]

Runs the whole system of system.py across network namespaces, with CURVE
between every process and the broker: the broker, scheduler, writer,
coverage, ops and gapless-sim stay in this namespace (the broker on
10.78.0.1, the sim on 10.78.0.2, a bridge between them and the others),
and each fetcher runs in a namespace of its own (10.78.0.11 and up) on a
veth pair. While a 1m backfill runs, a seeded schedule cuts one fetcher,
or every fetcher of one provider, off from the broker for --cut-seconds
(routes to and from the broker blackholed in both directions; the sim
stays reachable), then heals the cut, --cuts times.

The invariants: the provider's rate limit holds for the sum of every
fetcher sharing a key — a cut-off fetcher stops before the broker gives
its share away (protocol/SPEC.md 5.7) — so the sim's audit counts no
request over any limit and no ban; after the cuts heal the system
converges with every slice succeeded (or dead with a reason) and the bars
exactly the sim's. The run fails too if a cut fetcher never noticed the
cut, was never declared dead, or never registered again: a cut that did
not cut proves nothing.

Needs root and network namespaces (ip from iproute2); exits 77 when it
cannot have them.
"""
import os
import re
import socket
import subprocess
import sys
import time

from system import HEARTBEAT_MS, System, arguments, log_time, now

BRIDGE = "glpt0"
BROKER_IP = "10.78.0.1"
SIM_IP = "10.78.0.2"
FIRST_FETCHER_IP = 11
RULE_PRIORITY = 7800


def ip(*arguments, check=True):
    return subprocess.run(["ip"] + list(arguments), check=check, capture_output=True, text=True)


class Partition(System):
    """The system across namespaces, and the cuts."""

    program = "partition.py"

    def __init__(self, options):
        super().__init__(options)
        self.namespaces = {}        # fetcher name -> (namespace, address)
        self.cuts = []              # [names, cut at, healed at]

    # -- the network ------------------------------------------------------------

    def network_up(self):
        self.network_down()
        ip("link", "add", BRIDGE, "type", "bridge")
        ip("addr", "add", BROKER_IP + "/24", "dev", BRIDGE)
        ip("addr", "add", SIM_IP + "/24", "dev", BRIDGE)
        ip("link", "set", BRIDGE, "up")

    def network_down(self):
        for rule in ip("rule", "show", check=False).stdout.splitlines():
            if rule.startswith("%d:" % RULE_PRIORITY):
                ip("rule", "del", "priority", str(RULE_PRIORITY), check=False)
        for name in FETCHERS:
            ip("netns", "del", "glpt-" + name, check=False)
            ip("link", "del", "vpt-" + name, check=False)
        ip("link", "del", BRIDGE, check=False)

    def namespace(self, name):
        """A namespace for one fetcher, on the bridge; returns its prefix."""
        namespace = "glpt-" + name
        address = "10.78.0.%d" % (FIRST_FETCHER_IP + len(self.namespaces))
        ip("netns", "add", namespace)
        ip("link", "add", "vpt-" + name, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        ip("link", "set", "vpt-" + name, "master", BRIDGE, "up")
        ip("-n", namespace, "addr", "add", address + "/24", "dev", "eth0")
        ip("-n", namespace, "link", "set", "eth0", "up")
        ip("-n", namespace, "link", "set", "lo", "up")
        self.namespaces[name] = (namespace, address)
        return ["ip", "netns", "exec", namespace]

    def cut(self, name):
        """Both directions between the fetcher and the broker blackholed;
        the sim's address still routes."""
        namespace, address = self.namespaces[name]
        ip("-n", namespace, "route", "add", "blackhole", BROKER_IP + "/32")
        ip("rule", "add", "from", BROKER_IP, "to", address, "blackhole",
           "priority", str(RULE_PRIORITY))

    def heal(self, name):
        namespace, address = self.namespaces[name]
        ip("-n", namespace, "route", "del", "blackhole", BROKER_IP + "/32")
        ip("rule", "del", "from", BROKER_IP, "to", address, "blackhole",
           "priority", str(RULE_PRIORITY))

    # -- the system ---------------------------------------------------------------

    def start(self):
        self.network_up()
        self.certificates()
        super().start()

    def certificates(self):
        self.certs = os.path.join(self.work, "certs")
        allow = os.path.join(self.certs, "allow")
        os.makedirs(allow)
        for name in ["broker", "cli", "writer", "scheduler", "coverage", "ops"] + FETCHERS:
            subprocess.run([self.binary("cli"), "keygen", name, "--dir", self.certs],
                           check=True, stdout=subprocess.DEVNULL)
            if name != "broker":
                os.link(os.path.join(self.certs, name), os.path.join(allow, name))

    def secret(self, name):
        return {"GAPLESS_ACTOR_CURVE_SECRET": os.path.join(self.certs, name + "_secret")}

    def sim_config(self):
        return super().sim_config().replace("sim\n", "sim\n    address = \"%s\"\n" % SIM_IP, 1)

    def broker_endpoint(self):
        return "tcp://%s:%d" % (BROKER_IP, free_port_on(BROKER_IP))

    def actor_environment(self):
        environment = super().actor_environment()
        environment["GAPLESS_ACTOR_CURVE_SERVER"] = os.path.join(self.certs, "broker")
        environment.update(self.secret("cli"))
        return environment

    def add_processes(self):
        actor = ["--broker", self.endpoint, "--database", self.cluster.url]
        self.add("broker", "broker", ["--bind", self.endpoint, "--heartbeat-ms", str(HEARTBEAT_MS)],
                 instance=False, environment={
                     "GAPLESS_BROKER_CURVE_SECRET": os.path.join(self.certs, "broker_secret"),
                     "GAPLESS_BROKER_CURVE_ALLOW": os.path.join(self.certs, "allow")})
        for role in ("writer", "scheduler", "coverage"):
            self.add(role, role, actor, environment=self.secret(role))
        self.add("ops", "ops", actor + ["--publish", "tcp://127.0.0.1:%d" % free_port_on("127.0.0.1"),
                                        "--http", "0"], environment=self.secret("ops"))
        for name in FETCHERS:
            provider = re.match(r"[a-z]+", name).group(0)
            self.add("fetcher", name, ["--provider", provider, "--broker", self.endpoint],
                     environment=self.secret(name), command=self.namespace(name))

    def stop(self):
        try:
            super().stop()
        finally:
            self.network_down()

    # -- the cuts -----------------------------------------------------------------

    def plan(self):
        """Which fetchers each cut takes: one fetcher, or every fetcher of
        one provider, at random; at least one single polygon fetcher (its
        share goes to the other, which is what the limit must survive)."""
        groups = [[name] for name in FETCHERS] + [[name for name in FETCHERS
                                                   if name.startswith(provider)]
                                                  for provider in ("polygon", "alpaca")]
        plan = [["polygon1"]]
        while len(plan) < self.options.cuts:
            plan.append(self.rng.choice(groups))
        self.rng.shuffle(plan)
        return plan

    def middle(self):
        for names in self.plan():
            self.wait(self.rng.uniform(3, 8))
            for name in names:
                self.cut(name)
            cut = [names, now(), None]
            self.cuts.append(cut)
            self.note("cut %s from the broker for %.0f s" % (",".join(names), self.options.cut_seconds))
            self.wait(self.options.cut_seconds)
            for name in names:
                self.heal(name)
            cut[2] = now()
            self.note("healed %s" % ",".join(names))

    def wait(self, seconds):
        until = now() + seconds
        while now() < until:
            self.tick()
            time.sleep(0.1)

    # -- the checks ---------------------------------------------------------------

    def checks(self):
        super().checks()
        self.check_cuts()

    def events(self, name, event):
        path = os.path.join(self.logs, name + ".log")
        with open(path, errors="replace") as log:
            return [log_time(line) for line in log if " event=%s " % event in line]

    def check_cuts(self):
        """Each cut fetcher noticed the cut, was declared dead by the
        broker, and registered again after the heal."""
        removed = [(log_time(line), line) for _, line in self.log_lines("broker", "instance_removed")]
        self.cut_rows = []
        for names, cut_at, healed_at in self.cuts:
            for name in names:
                dropped = [at for at in self.events(name, "share_dropped") if cut_at <= at < healed_at]
                gone = [at for at, line in removed if cut_at <= at < healed_at
                        and "/%s-" % name in line]
                back = [at for at in self.events(name, "broker_registered") if at >= healed_at]
                row = (name, healed_at - cut_at,
                       dropped[0] - cut_at if dropped else None,
                       gone[0] - cut_at if gone else None,
                       back[0] - healed_at if back else None)
                self.cut_rows.append(row)
                if None in row:
                    self.failures.append("cut of %s: share dropped after %s, declared dead after %s,"
                                         " registered again after %s" % (
                                             name, seconds(dropped), seconds(gone), seconds(back)))

    def summary(self):
        peaks = []
        for provider, entry in sorted(self.audit["providers"].items()):
            for label, key in sorted(entry["keys"].items()):
                if key["total"]:
                    peaks.append("%s %s: %d requests, over_limit %d, bans %d, peak %s" % (
                        provider, label, key["total"], key["over_limit"], key["bans"], ", ".join(
                            "%d of %d" % (peak["peak"], peak["limit"]) for peak in key["peaks"])))
        attempts, classes = self.attempts_and_errors()
        out = [super().summary()]
        out.append("| cuts | %d, %.0f s each, heartbeat %d ms |" % (
            len(self.cuts), self.options.cut_seconds, HEARTBEAT_MS))
        out.append("| sim audit | %s |" % "; ".join(peaks))
        out.append("| retries (attempts spent) | %d; last errors: %s |" % (
            attempts, ", ".join("%s %d" % row for row in classes) or "none"))
        out.append("| dead letters by last error | %s |" % self.dead_letters())
        out.append("| crashes (exits nobody asked for) | %d |" % len(self.crashes))
        out.append("| wall time | %.1f s |" % (self.finished - self.started))
        out.append("")
        out.append("| cut fetcher | cut for | share dropped after | declared dead after |"
                   " registered again after the heal |")
        out.append("|---|---|---|---|---|")
        for name, length, dropped, gone, back in self.cut_rows:
            out.append("| %s | %.1f s | %s | %s | %s |" % (name, length, seconds(dropped),
                                                          seconds(gone), seconds(back)))
        return "\n".join(out)


FETCHERS = ["polygon1", "polygon2", "alpaca1"]


def seconds(value):
    return "never" if value is None else "%.2f s" % value


def free_port_on(address):
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def usable():
    """Why this machine cannot run it, or None."""
    if os.getuid() != 0:
        return "needs root (network namespaces, veth, routes)"
    try:
        ip("netns", "add", "glpt-probe")
    except (OSError, subprocess.CalledProcessError):
        return "no network namespaces here (ip netns add failed)"
    ip("netns", "del", "glpt-probe", check=False)
    return None


def main():
    parser = arguments(__doc__.split("\n\n")[0], slices=400, duration=60)
    parser.add_argument("--cuts", type=int, default=2, help="how many cuts, one after another")
    parser.add_argument("--cut-seconds", type=float, default=30, help="how long each cut lasts")
    options = parser.parse_args()
    why = usable()
    if why:
        print("partition.py: SKIPPED: %s" % why)
        return 77
    partition = Partition(options)
    try:
        return partition.execute()
    finally:
        partition.network_down()


if __name__ == "__main__":
    sys.exit(main())
