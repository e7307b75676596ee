#!/usr/bin/env python3
"""kill.py — kill anything, lose nothing: gapless under a seeded storm.

    tests/chaos/kill.py [--build DIR] [--slices N] [--duration S] [--seed S]

Starts a whole gapless in a temporary directory — its own PostgreSQL
cluster, gapless-sim (polygon and alpaca with keys, limits and injected
5xx, hangs, truncated bodies, empty answers and 429s), the broker, a
writer, a scheduler, two polygon fetchers sharing one key, one alpaca
fetcher, and coverage and ops where the build has them — enqueues a 1m
backfill of at least N slices, then for at least S seconds SIGKILLs a
random process of a random role every few seconds and restarts it,
restarts PostgreSQL once (pg_ctl restart -m immediate) and SIGSTOPs one
fetcher for longer than the lease.

When every slice has ended it checks that each one succeeded or is dead
with a reason; that the bars in PostgreSQL are the sim's, every column,
none missing, none twice; that no slice stayed running past its lease
while something could have taken it back; that the sim saw no request
over any rate limit and banned no key; and that every process still
running exits 0 on SIGTERM. Prints a summary table and exits 0 only when
every check holds. The seed fixes the storm (which process, when, the
sim's fault draws): `--seed S` replays a failing run's schedule.

Python 3 standard library only; psql, runuser and pg_ctl from PostgreSQL 15.
"""
import re
import signal
import sys
import time

from system import HEARTBEAT_MS, LEASE_S, RESCUE_MS, System, arguments, now


class Run(System):
    """The storm and what was seen."""

    program = "kill.py"

    def __init__(self, options):
        super().__init__(options)
        self.kills = {}
        self.fetcher_kills = []     # (instance, wall time of the kill)
        self.samples = []           # (db now, [(run id, lease expiry)]) of expired running slices
        self.outages = []           # (from, to): nobody could take a lease back
        self.stall = None           # (instance, stopped at, continued at)

    # -- the storm ------------------------------------------------------------

    def middle(self):
        self.storm()

    def plan(self):
        """The seeded schedule: kills (every role at least --kills times),
        one PostgreSQL restart, one SIGSTOP past the lease."""
        roles = [role for role in self.roles for _ in range(self.options.kills)]
        self.rng.shuffle(roles)
        moments, moment = [], 0.0
        while moment < self.options.duration or len(moments) < len(roles):
            moment += self.rng.uniform(self.options.interval * 0.5, self.options.interval * 1.5)
            moments.append(moment)
        while len(roles) < len(moments):
            roles.append(self.rng.choice(self.roles))
        plan = [(moment, "kill", role) for moment, role in zip(moments, roles)]
        plan.append((self.rng.uniform(0.3, 0.6) * moments[-1], "pg_restart", None))
        plan.append((self.rng.uniform(0.1, 0.3) * moments[-1], "stall", None))
        return sorted(plan, key=lambda step: step[0])

    def storm(self):
        plan = self.plan()
        begin = self.last_kill = now()
        for moment, action, role in plan:
            while now() < begin + moment:
                self.tick()
                time.sleep(0.1)
            getattr(self, "do_" + action)(role)
        while self.pending or self.stall_open():
            self.tick()
            time.sleep(0.1)
        self.note("storm over")

    def stall_open(self):
        return self.stall is not None and self.stall[2] is None

    def do_kill(self, role):
        candidates = [process for process in self.processes if process.role == role
                      and process.alive() and not process.stopped]
        if not candidates:
            return
        process = self.rng.choice(candidates)
        process.kill()
        self.last_kill = process.down_since
        self.kills[role] = self.kills.get(role, 0) + 1
        if role == "fetcher":
            self.fetcher_kills.append((process.instance, process.down_since))
        delay = self.rng.uniform(0.2, 1.5)
        self.pending.append((now() + delay, process))
        self.note("SIGKILL %s (%s), restart in %.1f s" % (process.instance, role, delay))

    def do_pg_restart(self, _):
        began = now()
        self.note("PostgreSQL restart -m immediate")
        self.cluster.restart_immediate()
        self.outages.append((began, now()))
        self.note("PostgreSQL back after %.1f s" % (now() - began))

    def do_stall(self, _):
        fetchers = [process for process in self.processes if process.role == "fetcher"
                    and process.alive()]
        process = self.rng.choice(fetchers)
        process.popen.send_signal(signal.SIGSTOP)
        process.stopped = True
        self.stall = [process.instance, now(), None]
        self.stalled = process
        self.note("SIGSTOP %s for %d s (lease %d s)" % (process.instance, LEASE_S + 3, LEASE_S))

    def tick(self):
        """Also resumes the stalled fetcher and samples leases."""
        super().tick()
        if self.stall_open() and now() >= self.stall[1] + LEASE_S + 3:
            self.stalled.popen.send_signal(signal.SIGCONT)
            self.stalled.stopped = False
            self.stall[2] = now()
            self.note("SIGCONT %s" % self.stall[0])
        if now() >= getattr(self, "sampled_at", 0) + 1:
            self.sample_leases()

    def restarting(self, process):
        if process.role == "scheduler":
            self.outages.append((process.down_since, now()))

    def sample_leases(self):
        self.sampled_at = now()
        rows = self.cluster.query("SELECT extract(epoch FROM now()), id, extract(epoch FROM"
                                  " lease_expires_at) FROM gapless.job_runs WHERE status ="
                                  " 'running' AND lease_expires_at < now()", timeout=5)
        if rows is None:
            return
        db_now = float(rows[0][0]) if rows else now()
        self.samples.append((db_now, [(int(row[1]), float(row[2])) for row in rows]))

    # -- the checks -----------------------------------------------------------

    def checks(self):
        super().checks()
        self.check_leases()

    def check_leases(self):
        """No running slice past its lease, beyond the rescue timer and the
        time nobody could rescue it (scheduler or PostgreSQL down)."""
        allowance = 2 * RESCUE_MS / 1000 + self.options.lease_slack
        self.lease_overdue = 0.0
        offenders = set()
        for sampled, expired in self.samples:
            for run_id, expiry in expired:
                blind = sum(max(0.0, min(end, sampled) - max(begin, expiry))
                            for begin, end in self.outages)
                overdue = sampled - expiry - blind
                self.lease_overdue = max(self.lease_overdue, overdue)
                if overdue > allowance:
                    offenders.add(run_id)
        if offenders:
            self.failures.append("%d slices stayed running past their lease (most %.1f s over;"
                                 " allowed %.1f s): %s" % (len(offenders), self.lease_overdue,
                                                          allowance, sorted(offenders)[:10]))

    def redispatch(self):
        """Per fetcher kill (and the SIGSTOP): how many of its slices were
        queued again (slice_lost) and when the last was, when the broker
        removed it; each counted until the same instance's next event."""
        lost = self.log_lines("scheduler", "slice_lost")
        removed = self.log_lines("broker", "instance_removed")
        events = sorted(self.fetcher_kills + ([tuple(self.stall[:2])] if self.stall else []),
                        key=lambda event: event[1])
        rows = []
        for instance, at in events:
            later = [when for other, when in events if other == instance and when > at]
            until = min(later) if later else float("inf")
            times = [stamp for stamp, line in lost if at <= stamp < until
                     and re.search(r" instance=%s( |$)" % re.escape(instance), line)]
            gone = [stamp for stamp, line in removed if at <= stamp < until
                    and ("/%s " % instance) in line]
            rows.append((instance, at, len(times), max(times) - at if times else None,
                         min(gone) - at if gone else None))
        return rows

    def summary(self):
        lost = self.log_lines("scheduler", "slice_lost")
        rescued = sum(int(re.search(r"slices=(\d+)", line).group(1))
                      for _, line in self.log_lines("scheduler", "leases_rescued"))
        attempts, classes = self.attempts_and_errors()
        out = []
        out.append("kill.py summary (seed %d)" % self.options.seed)
        out.append("| what | value |")
        out.append("|---|---|")
        out.append(self.slices_row())
        out.append(self.bars_row())
        out.append("| kills by role | %s |" % ", ".join(
            "%s %d" % (role, self.kills.get(role, 0)) for role in self.roles))
        if self.skipped:
            out.append("| roles absent from the build | %s (not started, not killed) |"
                       % ", ".join(self.skipped))
        out.append("| PostgreSQL restarts (-m immediate) | 1 |")
        if self.stall:
            out.append("| SIGSTOP | %s for %.1f s (lease %d s) |" % (
                self.stall[0], (self.stall[2] or now()) - self.stall[1], LEASE_S))
        out.append("| crashes (exits nobody asked for) | %d |" % len(self.crashes))
        out.append("| retries (attempts spent) | %d; last errors: %s |" % (
            attempts, ", ".join("%s %s" % (row[0], row[1]) for row in classes) or "none"))
        out.append("| dead letters by last error | %s |" % self.dead_letters())
        out.append("| slices queued again on a departure (worker_lost) | %d |" % len(lost))
        requeued = sorted(row[3] for row in self.redispatch() if row[3] is not None)
        if requeued:
            out.append("| fetcher kills holding slices: all queued again after | %d kills,"
                       " median %.2f s, most %.2f s (%.1f heartbeats) |" % (
                           len(requeued), requeued[len(requeued) // 2], requeued[-1],
                           requeued[-1] * 1000 / HEARTBEAT_MS))
        out.append("| rescues (leases expired) | %d |" % rescued)
        out.append("| most a running slice was past its lease | %.1f s (rescue timer %.1f s,"
                   " outages excluded) |" % (max(self.lease_overdue, 0.0), RESCUE_MS / 1000))
        out.append("| faults injected | %s |" % ", ".join(
            "%s %d" % item for item in sorted(self.injected.items()) if item[1]))
        out.append("| over-limit requests, bans | 0, 0 |" if not any("sim audit" in failure
                   for failure in self.failures) else "| over-limit requests, bans | see failures |")
        out.append("| provider limit per key, fetchers' guard | %s, %d ms |" % (
            self.limits, self.options.guard_ms))
        out.append("| time to converge after the last kill | %.1f s |" % (self.converged - self.last_kill))
        out.append("| wall time | %.1f s |" % (self.finished - self.started))
        out.append("")
        out.append("| fetcher kill | slices queued again | departure seen | all queued again |")
        out.append("|---|---|---|---|")
        for instance, at, count, requeued, gone in self.redispatch():
            stall = " (SIGSTOP)" if self.stall and at == self.stall[1] else ""
            out.append("| %s%s | %d | %s | %s |" % (
                instance, stall, count,
                "%.2f s (%.1f heartbeats)" % (gone, gone * 1000 / HEARTBEAT_MS) if gone is not None else "-",
                "%.2f s" % requeued if requeued is not None else "- (held none)"))
        return "\n".join(out)


def main():
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=2, help="kills of every role, at least")
    parser.add_argument("--interval", type=float, default=3, help="mean seconds between kills")
    parser.add_argument("--lease-slack", type=float, default=3,
                        help="seconds a rescue may lag besides the rescue timer and outages")
    return Run(parser.parse_args()).execute()


if __name__ == "__main__":
    sys.exit(main())
