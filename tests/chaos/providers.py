#!/usr/bin/env python3
"""providers.py — provider faults: a shared key under churn, a provider down.

    tests/chaos/providers.py [--build DIR] [--scenario churn|outage|both] [--slices N] [--seed S]

Runs the whole system of system.py, in one of two scenarios:

churn   Four polygon fetchers share one key; the sim bans the key after
        2 refused (over-limit) requests in 60 s, for 10 minutes. While
        the backfill runs, a seeded schedule makes fetchers leave (SIGTERM,
        a clean exit) or die (SIGKILL) and join again, every --interval
        seconds on average, one at least always running. Only polygon
        fetchers run, so every request goes through the shared key. The
        sim must count no request over the limit and no ban, and the bars
        must be exact.

outage  Polygon (two fetchers sharing a key) and alpaca (one) serve.
        After --outage-at seconds polygon goes down: every request is a
        500 (`POST /admin/faults?server_error=1` on the sim) for
        --outage-seconds, then it recovers. Polygon's breaker must open,
        the slices must flow to alpaca meanwhile, the breaker must close
        again after the recovery with polygon serving, no slice may be
        dead-lettered, and the bars must be exact.

Each prints a summary table and exits 0 only when every check holds.
"""
import json
import re
import signal
import sys
import time
import urllib.request

from system import System, arguments, log_time, now

GRACE_S = 5     # a slice fetched before the outage may still commit after it began


class Providers(System):
    """What both scenarios share: the waiting loop and the log reading."""

    def wait(self, seconds):
        until = now() + seconds
        while now() < until:
            self.tick()
            time.sleep(0.1)

    def events(self, prefix, event):
        """(time, line) of an event in the logs of processes named prefix*."""
        return [(log_time(line), line) for _, line in self.log_lines(prefix, event)]

    def common_rows(self):
        attempts, classes = self.attempts_and_errors()
        return ["| retries (attempts spent) | %d; last errors: %s |" % (
                    attempts, ", ".join("%s %d" % row for row in classes) or "none"),
                "| dead letters by last error | %s |" % self.dead_letters(),
                "| crashes (exits nobody asked for) | %d |" % len(self.crashes),
                "| over-limit requests, bans | %s |" % self.audit_text(),
                "| wall time | %.1f s |" % (self.finished - self.started)]

    def audit_text(self):
        parts = []
        for provider, entry in sorted(self.audit["providers"].items()):
            for key in entry["keys"].values():
                if key["total"]:
                    parts.append("%s: %d requests, over_limit %d, bans %d, peak %s" % (
                        provider, key["total"], key["over_limit"], key["bans"], ", ".join(
                            "%d of %d" % (peak["peak"], peak["limit"]) for peak in key["peaks"])))
        return "; ".join(parts)


class Churn(Providers):
    """Four fetchers on one key, leaving, dying and joining."""

    program = "providers.py churn"
    polygon_faults = ""     # with no other provider, an empty answer would be a hole

    def __init__(self, options):
        super().__init__(options)
        self.changes = {"leave (SIGTERM)": 0, "kill (SIGKILL)": 0, "join": 0}
        self.leave_codes = []

    def add_processes(self):
        super().add_processes()
        self.processes = [process for process in self.processes if process.role != "fetcher"]
        for index in range(1, 5):
            self.add("fetcher", "polygon%d" % index,
                     ["--provider", "polygon", "--broker", self.endpoint])

    def restarting(self, process):
        if process.role == "fetcher":
            self.changes["join"] += 1

    def middle(self):
        begin = now()
        while now() < begin + self.options.duration:
            self.wait(self.rng.uniform(self.options.interval * 0.5, self.options.interval * 1.5))
            running = [process for process in self.processes if process.role == "fetcher"
                       and process.alive()]
            if len(running) < 2:
                continue
            process = self.rng.choice(running)
            if self.rng.random() < 0.5:
                code = process.terminate()
                process.down_since = now()
                self.leave_codes.append(code)
                if code != 0:
                    self.failures.append("%s exited %s on SIGTERM" % (process.instance, code))
                self.changes["leave (SIGTERM)"] += 1
            else:
                process.kill()
                self.changes["kill (SIGKILL)"] += 1
            delay = self.rng.uniform(0.5, 4)
            self.pending.append((now() + delay, process))
            self.note("%s left, back in %.1f s" % (process.instance, delay))
        while self.pending:
            self.tick()
            time.sleep(0.1)

    def checks(self):
        super().checks()
        providers = self.cluster.query("SELECT provider, count(*) FROM gapless.ohlc_bars"
                                       " GROUP BY 1") or []
        self.bar_providers = {row[0]: int(row[1]) for row in providers}
        self.share_changes = len(self.events("polygon", "share_changed"))
        if self.changes["join"] == 0 or self.share_changes == 0:
            self.failures.append("no fetcher joined or no share changed: the churn churned nothing")

    def summary(self):
        out = [super().summary()]
        out.append("| fetchers sharing polygon's key | 4, limit %s, ban after 2 refusals in 60 s |"
                   % self.limits)
        out.append("| membership changes | %s |" % ", ".join(
            "%s %d" % item for item in self.changes.items()))
        out.append("| share changes the fetchers logged | %d |" % self.share_changes)
        out.append("| bars by provider | %s |" % ", ".join(
            "%s %d" % item for item in sorted(self.bar_providers.items())))
        return "\n".join(out + self.common_rows())


class Outage(Providers):
    """Polygon down for minutes; the work goes to alpaca."""

    program = "providers.py outage"

    def middle(self):
        self.wait(self.options.outage_at)
        self.set_faults("polygon", server_error=1)
        self.down = now()
        self.note("polygon down")
        self.wait(self.options.outage_seconds)
        self.set_faults("polygon", server_error=0.03)
        self.up = now()
        self.note("polygon back")

    def set_faults(self, provider, **settings):
        query = "&".join("%s=%s" % item for item in settings.items())
        request = urllib.request.Request("%s/admin/faults?provider=%s&%s" % (
            self.urls["admin"], provider, query), data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            json.load(answer)

    def converge(self):
        """Also waits for polygon's breakers to close (recovery is the
        point), as long as the slices take."""
        ended = super().converge()
        deadline = now() + 60
        while ended and not self.closed_again() and now() < deadline:
            self.tick()
            time.sleep(0.5)
        return ended

    def breaker_changes(self):
        changes = []
        for stamp, line in self.events("polygon", "breaker_changed"):
            found = re.search(r"from=(\S+) to=(\S+)", line)
            changes.append((stamp, found.group(1), found.group(2)))
        return sorted(changes)

    def closed_again(self):
        return any(stamp >= self.up and to == "closed" for stamp, _, to in self.breaker_changes())

    def checks(self):
        super().checks()
        changes = self.breaker_changes()
        opened = [stamp for stamp, _, to in changes if to == "open" and self.down <= stamp < self.up]
        closed = [stamp for stamp, _, to in changes if to == "closed" and stamp >= self.up]
        self.opened_after = opened[0] - self.down if opened else None
        self.closed_after = closed[0] - self.up if closed else None
        if not opened:
            self.failures.append("polygon's breaker never opened during the outage")
        if not closed:
            self.failures.append("polygon's breaker never closed after the recovery")
        during = self.cluster.query(
            "SELECT provider, count(*) FROM gapless.job_runs WHERE status = 'succeeded'"
            " AND finished_at >= to_timestamp(%f) AND finished_at < to_timestamp(%f) GROUP BY 1"
            % (self.down, self.up)) or []
        after = self.cluster.query(
            "SELECT provider, count(*) FROM gapless.job_runs WHERE status = 'succeeded'"
            " AND finished_at >= to_timestamp(%f) GROUP BY 1" % self.up) or []
        self.during = {row[0]: int(row[1]) for row in during}
        self.after = {row[0]: int(row[1]) for row in after}
        if not self.during.get("alpaca"):
            self.failures.append("no slice went to alpaca while polygon was down")
        late = self.cluster.number(
            "SELECT count(*) FROM gapless.job_runs WHERE status = 'succeeded' AND provider ="
            " 'polygon' AND finished_at >= to_timestamp(%f) AND finished_at < to_timestamp(%f)"
            % (self.down + GRACE_S, self.up))
        if late:
            self.failures.append("%d slices succeeded at polygon more than %d s into an outage"
                                 " that answered only 500s" % (late, GRACE_S))
        if self.statuses.get("dead"):
            self.failures.append("%d slices dead-lettered by the outage" % self.statuses["dead"])
        self.polygon_served_after = self.cluster.number(
            "SELECT count(*) FROM gapless.ohlc_bars WHERE provider = 'polygon'"
            " AND as_of >= to_timestamp(%f)" % self.up) or 0

    def summary(self):
        def seconds(value):
            return "never" if value is None else "%.1f s" % value
        out = [super().summary()]
        out.append("| outage | polygon every request 500 for %.0f s, from %.0f s into the backfill |"
                   % (self.up - self.down, self.options.outage_at))
        out.append("| polygon's breaker opened after | %s of the outage |" % seconds(self.opened_after))
        out.append("| polygon's breaker closed after | %s of the recovery |" % seconds(self.closed_after))
        out.append("| slices succeeded during the outage | %s |" % (", ".join(
            "%s %d" % item for item in sorted(self.during.items())) or "none"))
        out.append("| slices succeeded after the recovery | %s; polygon bars stored since %d |" % (
            ", ".join("%s %d" % item for item in sorted(self.after.items())) or "none",
            self.polygon_served_after))
        return "\n".join(out + self.common_rows())


def main():
    parser = arguments(__doc__.split("\n\n")[0], slices=300, duration=40, timeout=240)
    parser.add_argument("--scenario", choices=("churn", "outage", "both"), default="both")
    parser.add_argument("--interval", type=float, default=3,
                        help="churn: mean seconds between membership changes")
    parser.add_argument("--outage-at", type=float, default=5,
                        help="outage: seconds into the backfill polygon goes down")
    parser.add_argument("--outage-seconds", type=float, default=40,
                        help="outage: how long polygon answers only 500s")
    options = parser.parse_args()
    status = 0
    for scenario in (("churn", "outage") if options.scenario == "both" else (options.scenario,)):
        status |= (Churn if scenario == "churn" else Outage)(options).execute()
    return status


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
