#!/usr/bin/env python3
"""soak.py — a steady backfill for --minutes, and every process's RSS and fds.

    tests/chaos/soak.py [--build DIR] [--minutes 30] [--sample 5] [--rss-growth 10]

Starts a whole gapless in a temporary directory (system.py: its own
PostgreSQL cluster, gapless-sim with mild injected faults, the broker, a
writer, a scheduler, three fetchers, coverage and ops where the build has
them) and keeps it busy for --minutes: 1m backfills of ten symbols a few
sessions at a time, the next range enqueued whenever less than one is
left open, so the work never runs out. Every --sample seconds it reads
each process's VmRSS (/proc/PID/status) and open descriptors
(/proc/PID/fd), and PostgreSQL's client backends (pg_stat_activity).

At the end it lets every slice finish and prints a table per process:
median of the first and the last quarter of the samples after the
warm-up (the first --warmup-share of the run), the maximum, and the
growth between the two medians. Fails if any process's RSS grew more
than --rss-growth percent; or if the last quarter's median of its open
descriptors, or of PostgreSQL's backends, is above every sample of the
first quarter (those counts go up and down with the connections open at
the moment; a leaked one stays); and on system.py's checks: every slice
ended, every bar is the sim's exactly, none missing, none twice, no
request over a limit, no unasked exit, every process exits 0 on SIGTERM.

Not in ctest: it takes --minutes and then some (--minutes 2 is the quick
form). Python 3 standard library only; psql from PostgreSQL 15.
"""
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

from system import System, arguments, now

SYMBOLS_PER_GROUP = 10
FIRST_SESSION, LAST_SESSION = "2024-01-01", "2026-01-01"    # past sessions: final bars


class Soak(System):
    """A steady workload and the resources it leaves behind."""

    program = "soak.py"

    def __init__(self, options):
        super().__init__(options)
        self.groups = []            # [symbols, first session, end (excluded)] each
        self.samples = []           # (seconds into the run, {name: (rss kB, fds)}, backends)
        self.enqueues = 0
        self.refused = []

    # -- the workload ---------------------------------------------------------

    def enqueue(self):
        """The calendar's sessions, and the first range."""
        days = subprocess.run([self.binary("simdump"), "SK000", "1d", FIRST_SESSION, LAST_SESSION],
                              check=True, capture_output=True, text=True).stdout
        self.dates = [datetime.datetime.fromtimestamp(int(line.split(",")[1]), datetime.timezone.utc)
                      .strftime("%Y-%m-%d") for line in days.splitlines()]
        # About 20 s of work per range at the providers' pace (two keys).
        self.sessions = max(1, round(self.rate() * 2 * 20 / SYMBOLS_PER_GROUP))
        self.slices = self.bars_expected = 0
        self.next_session = len(self.dates)     # a new group first
        self.enqueue_range()

    def enqueue_range(self):
        """The next sessions of the current symbols; new symbols when the calendar ends."""
        if self.next_session + self.sessions >= len(self.dates):
            index = len(self.groups)
            symbols = ["SK%d%02d" % (index, number) for number in range(SYMBOLS_PER_GROUP)]
            self.groups.append([symbols, self.dates[0], self.dates[0]])
            self.next_session = 0
        group = self.groups[-1]
        first = self.dates[self.next_session]
        end = self.dates[self.next_session + self.sessions]
        code, output = self.cli("enqueue", ",".join(group[0]), "--timeframe", "1m",
                                "--from", first, "--to", end, "--json")
        if code != 0:
            self.refused.append("enqueue %s..%s: %s" % (first, end, output.strip()[:200]))
            return
        answer = json.loads(output)
        expected = SYMBOLS_PER_GROUP * self.sessions
        if answer["slices_new"] != expected:
            self.failures.append("enqueue %s..%s made %d slices, expected %d" % (
                first, end, answer["slices_new"], expected))
        self.slices += answer["slices_new"]
        self.bars_expected += answer["bars_expected"]
        self.enqueues += 1
        group[2] = end
        self.next_session += self.sessions
        self.note("enqueued %s..%s of %s..: %d slices" % (first, end, group[0][0], answer["slices_new"]))

    def open_slices(self):
        return self.cluster.number("SELECT count(*) FROM gapless.job_runs WHERE"
                                   " status NOT IN ('succeeded', 'dead', 'cancelled')")

    def middle(self):
        """--minutes of work, topped up each second, sampled every --sample seconds."""
        self.begin = now()
        end = self.begin + self.options.minutes * 60
        sampled = 0.0
        while now() < end:
            self.tick()
            if now() >= sampled + self.options.sample:
                sampled = now()
                self.sample()
            left = self.open_slices()
            if left is not None and left < SYMBOLS_PER_GROUP * self.sessions:
                self.enqueue_range()
            time.sleep(1)
        self.note("workload over after %d ranges, %d slices" % (self.enqueues, self.slices))

    # -- the samples ----------------------------------------------------------

    @staticmethod
    def resources(pid):
        """(VmRSS in kB, open descriptors) of a process, or None when it is gone."""
        try:
            with open("/proc/%d/status" % pid) as status:
                rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            return rss, len(os.listdir("/proc/%d/fd" % pid))
        except (OSError, StopIteration):
            return None

    def sample(self):
        taken = {}
        for name, pid in [(process.name, process.popen.pid) for process in self.processes
                          if process.alive()] + [("sim", self.sim.pid)]:
            found = self.resources(pid)
            if found:
                taken[name] = found
        backends = self.cluster.number("SELECT count(*) FROM pg_stat_activity WHERE backend_type"
                                       " = 'client backend' AND pid <> pg_backend_pid()")
        self.samples.append((now() - self.begin, taken, backends))

    def quarters(self):
        """The samples after the warm-up: (first quarter, last quarter, all)."""
        warm = self.options.minutes * 60 * self.options.warmup_share
        kept = [sample for sample in self.samples if sample[0] >= warm]
        quarter = max(1, len(kept) // 4)
        return kept[:quarter], kept[-quarter:], kept

    def series(self, samples, pick):
        return [value for value in (pick(sample) for sample in samples) if value is not None]

    def row(self, first, last, every, pick):
        """(first-quarter median, last-quarter median, max, growth %) of one measure."""
        begin, end = self.series(first, pick), self.series(last, pick)
        if not begin or not end:
            return None
        low, high = statistics.median(begin), statistics.median(end)
        growth = (high - low) * 100.0 / low if low else (0.0 if high == low else float("inf"))
        return low, high, max(self.series(every, pick)), growth

    def measures(self):
        """[(name, rss row, fd row)] and the backends' row."""
        first, last, every = self.quarters()
        names = [process.name for process in self.processes] + ["sim"]
        rows = []
        for name in names:
            rss = self.row(first, last, every, lambda sample: sample[1].get(name, (None,))[0])
            fds = self.row(first, last, every, lambda sample: sample[1].get(name, (None, None))[1])
            rows.append((name, rss, fds))
        return rows, self.row(first, last, every, lambda sample: sample[2]), len(first), len(every)

    # -- the checks -----------------------------------------------------------

    def write_samples(self):
        """Every sample as CSV (seconds, process, VmRSS kB, fds) to --samples."""
        with open(self.options.samples, "w") as out:
            out.write("seconds,process,rss_kb,fds\n")
            for seconds, taken, backends in self.samples:
                for name, (rss, fds) in sorted(taken.items()):
                    out.write("%.1f,%s,%d,%d\n" % (seconds, name, rss, fds))
                if backends is not None:
                    out.write("%.1f,postgresql_backends,,%d\n" % (seconds, backends))

    def check_bars(self):
        """system.py's exact comparison, once per group of symbols and its range."""
        totals = [0, 0, 0, 0, 0]
        for symbols, first, end in self.groups:
            self.symbols, self.range = symbols, (first, end)
            super().check_bars()
            for index, value in enumerate((self.compared, self.mismatched, self.missing,
                                           self.extra, self.twice)):
                totals[index] += value
        self.compared, self.mismatched, self.missing, self.extra, self.twice = totals

    def check_resources(self):
        rows, backends, self.quarter_size, self.kept = self.measures()
        first, last, _ = self.quarters()
        if self.quarter_size < 2:
            self.failures.append("too few samples after the warm-up (%d): a longer --minutes"
                                 " or a shorter --sample" % self.kept)
        for name, rss, fds in rows:
            if rss is None:
                self.failures.append("%s: no samples" % name)
                continue
            if rss[3] > self.options.rss_growth:
                self.failures.append("%s: RSS grew %.1f %% (%.0f to %.0f kB), more than %g %%" % (
                    name, rss[3], rss[0], rss[1], self.options.rss_growth))
            if self.held_higher(first, last, lambda sample: sample[1].get(name, (None, None))[1]):
                self.failures.append("%s: open descriptors grew: median %g in the last quarter,"
                                     " at most %g in the first" % (name, fds[1], self.most))
        if self.held_higher(first, last, lambda sample: sample[2]):
            self.failures.append("PostgreSQL client backends grew: median %g in the last quarter,"
                                 " at most %g in the first" % (backends[1], self.most))

    def held_higher(self, first, last, pick):
        """A count that goes up and down with what is open at the moment
        (an HTTP connection, a query) grew when the last quarter's median is
        above the first quarter's maximum: a leaked one is never closed."""
        begin, end = self.series(first, pick), self.series(last, pick)
        self.most = max(begin) if begin else None
        return bool(begin and end) and statistics.median(end) > self.most

    def checks(self):
        super().checks()
        self.failures += self.refused
        self.check_resources()
        if self.options.samples:
            self.write_samples()

    # -- the report -----------------------------------------------------------

    def summary(self):
        rows, backends, quarter, kept = self.measures()
        attempts, classes = self.attempts_and_errors()
        out = ["soak.py summary (seed %d, %g minutes, a sample every %g s)" % (
                   self.options.seed, self.options.minutes, self.options.sample),
               "| what | value |", "|---|---|", self.slices_row(), self.bars_row(),
               "| ranges enqueued | %d (%d sessions x %d symbols each, %d groups of symbols) |" % (
                   self.enqueues, self.sessions, SYMBOLS_PER_GROUP, len(self.groups)),
               "| retries (attempts spent) | %d; last errors: %s |" % (
                   attempts, ", ".join("%s %s" % row for row in classes) or "none"),
               "| faults injected | %s |" % ", ".join(
                   "%s %d" % item for item in sorted(self.injected.items()) if item[1]),
               "| provider limit per key | %s |" % self.limits,
               "| crashes (exits nobody asked for) | %d |" % len(self.crashes),
               "| samples | %d, %d after the warm-up (%g s), %d per quarter |" % (
                   len(self.samples), kept, self.options.minutes * 60 * self.options.warmup_share,
                   quarter),
               "| wall time | %.1f s |" % (self.finished - self.started),
               "",
               "| process | RSS first q. | RSS last q. | RSS max | RSS growth | fds first q."
               " | fds last q. | fds max | fds growth |",
               "|---|---|---|---|---|---|---|---|---|"]
        for name, rss, fds in rows:
            if rss is None:
                out.append("| %s | - | - | - | - | - | - | - | - |" % name)
                continue
            out.append("| %s | %.1f MiB | %.1f MiB | %.1f MiB | %+.1f %% | %g | %g | %g | %+.1f %% |" % (
                name, rss[0] / 1024, rss[1] / 1024, rss[2] / 1024, rss[3], *fds))
        if backends:
            out.append("| PostgreSQL client backends | | | | | %g | %g | %g | %+.1f %% |" % backends)
        return "\n".join(out)


def main():
    parser = arguments(__doc__.split("\n\n")[0], timeout=600)
    parser.add_argument("--minutes", type=float, default=30, help="minutes of steady work")
    parser.add_argument("--sample", type=float, default=5, help="seconds between samples")
    parser.add_argument("--warmup-share", type=float, default=0.1,
                        help="the share of the run left out of the quarters")
    parser.add_argument("--rss-growth", type=float, default=10,
                        help="percent an RSS may grow from the first to the last quarter")
    parser.add_argument("--samples", help="write every sample to this CSV file")
    parser.set_defaults(rate=2)
    return Soak(parser.parse_args()).execute()


if __name__ == "__main__":
    sys.exit(main())
