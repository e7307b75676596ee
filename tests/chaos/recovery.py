#!/usr/bin/env python3
"""recovery.py — what one fetcher kill costs a run.

    tests/chaos/recovery.py [--build DIR] [--slices N] [--rate R] [--at F] [--runs K] [--seed S]

Runs the same backfill on the system of system.py, without faults, with
two polygon fetchers sharing a key (R requests/s): first untouched, then
with one fetcher SIGKILLed when a fraction --at of the slices has ended
(restarted a second later, a new instance), --runs times each,
alternating. Prints, per run, the wall time from the enqueue to the last
slice ended, and for the runs with a kill how long the broker took to
declare the fetcher dead and the scheduler to queue its slices again;
then the median wall time of each kind and their ratio. Both kinds of
run must store exactly the sim's bars. A documented measurement, not a
CI test: the ratio is reported, never asserted.
"""
import re
import sys
import time

from system import HEARTBEAT_MS, System, arguments, now


class Recovery(System):
    """One run: untouched, or with one fetcher kill."""

    program = "recovery.py"
    faults = ""
    polygon_faults = ""

    def __init__(self, options, kill):
        super().__init__(options)
        self.kill_at = options.at if kill else None
        self.killed = None

    def add_processes(self):
        super().add_processes()
        self.processes = [process for process in self.processes
                          if process.role != "fetcher" or process.name.startswith("polygon")]

    def enqueue(self):
        super().enqueue()
        self.enqueued = now()

    def middle(self):
        if self.kill_at is None:
            return
        while True:
            ended = self.cluster.number("SELECT count(*) FROM gapless.job_runs WHERE status IN"
                                        " ('succeeded', 'dead')") or 0
            if ended >= self.kill_at * self.slices:
                break
            self.tick()
            time.sleep(0.05)
        victim = self.process("polygon2")
        victim.kill()
        self.killed = (victim.instance, victim.down_since)
        self.note("SIGKILL %s at %d%% of the slices" % (victim.instance, self.kill_at * 100))
        self.pending.append((now() + 1.0, victim))
        while self.pending:
            self.tick()
            time.sleep(0.05)

    def converge(self):
        ended = super().converge()
        self.wall = self.converged - self.enqueued
        return ended

    def checks(self):
        super().checks()
        self.recovered = self.recovery()     # before a passing run's logs are removed

    def recovery(self):
        """(declared dead after, slices queued again, all queued again after) of the kill."""
        if not self.killed:
            return None
        instance, at = self.killed
        gone = [stamp for stamp, line in self.log_lines("broker", "instance_removed")
                if stamp >= at and ("/%s " % instance) in line]
        lost = [stamp for stamp, line in self.log_lines("scheduler", "slice_lost")
                if stamp >= at and re.search(r" instance=%s( |$)" % re.escape(instance), line)]
        return (min(gone) - at if gone else None, len(lost), max(lost) - at if lost else None)


def seconds(value):
    return "-" if value is None else "%.2f s (%.1f heartbeats)" % (value, value * 1000 / HEARTBEAT_MS)


def main():
    parser = arguments(__doc__.split("\n\n")[0], slices=400, duration=40)
    parser.add_argument("--at", type=float, default=0.4, help="fraction of slices ended at the kill")
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind")
    options = parser.parse_args()
    if not options.rate:
        options.rate = 8
    rows, walls, status = [], {False: [], True: []}, 0
    for run in range(options.runs * 2):
        kill = run % 2 == 1
        system = Recovery(options, kill)
        code = system.execute()
        status |= code
        if code == 0:
            walls[kill].append(system.wall)
            rows.append((kill, system.wall, system.recovered))
    print()
    print("recovery.py: %d slices, 2 polygon fetchers on one key, %d/1s, kill at %d%% of the"
          " slices" % (options.slices, options.rate, options.at * 100))
    print("| run | wall time (enqueue to last slice) | declared dead after | slices queued again |"
          " all queued again after |")
    print("|---|---|---|---|---|")
    for kill, wall, recovery in rows:
        if recovery:
            print("| kill | %.1f s | %s | %d | %s |" % (wall, seconds(recovery[0]), recovery[1],
                                                     seconds(recovery[2])))
        else:
            print("| no kill | %.1f s | | | |" % wall)
    if walls[False] and walls[True]:
        clean = sorted(walls[False])[len(walls[False]) // 2]
        killed = sorted(walls[True])[len(walls[True]) // 2]
        print("| median | no kill %.1f s, kill %.1f s: ratio %.3f | | | |" % (clean, killed, killed / clean))
    return status


if __name__ == "__main__":
    sys.exit(main())
