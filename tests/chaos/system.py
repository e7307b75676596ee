#!/usr/bin/env python3
"""system.py — a whole gapless in a temporary directory, for the chaos drivers.

A System starts its own PostgreSQL cluster (tools/pg.sh --for-tests,
migrated with `gapless migrate`), gapless-sim (polygon and alpaca with a
key each, limits, a ban after 2 refusals in 60 s, and the faults the
driver asks for), the broker on a free loopback port, a writer, a
scheduler, two polygon fetchers sharing one key, one alpaca fetcher, and
coverage and ops where the build has them. It enqueues a 1m backfill of
at least --slices slices, waits until every slice has ended, and checks
the invariants of ARCHITECTURE.md on what is left: every slice succeeded
or is dead with a reason; the bars in PostgreSQL are the sim's ground
truth in every column, none missing, none twice; the sim saw no request
over any limit and banned no key; every process still running exits 0
on SIGTERM. A driver (kill.py, partition.py, providers.py ...) subclasses
it and breaks the system in between.

Python 3 standard library only; psql, runuser and pg_ctl from PostgreSQL 15.
"""
import argparse
import datetime
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

PG_BIN = "/usr/lib/postgresql/15/bin"
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEARTBEAT_MS = 250
LEASE_S = 10
RESCUE_MS = 500
TERMINAL = ("succeeded", "dead", "cancelled")
BINARIES = {
    "broker": "broker/gapless-broker",
    "writer": "actors/writer/gapless-writer",
    "scheduler": "actors/scheduler/gapless-scheduler",
    "fetcher": "actors/fetcher/gapless-fetcher",
    "coverage": "actors/coverage/gapless-coverage",
    "ops": "actors/ops/gapless-ops",
    "sim": "tools/sim/gapless-sim",
    "cli": "tools/cli/gapless",
    "simdump": "tests/support/gapless-simdump",
}


def now():
    return time.time()


def log_time(line):
    """The wall time of a gl_log line (ts=...Z), or None."""
    found = re.match(r"ts=(\S+)Z ", line)
    if not found:
        return None
    stamp = datetime.datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%S.%f")
    return stamp.replace(tzinfo=datetime.timezone.utc).timestamp()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """The run's own PostgreSQL cluster, started by tools/pg.sh."""

    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        subprocess.run([os.path.join(TOP, "tools/pg.sh"), "start", "--for-tests", self.dir],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.dir, "url")) as url_file:
            self.url = url_file.read().strip()
        socket_dir = urllib.parse.parse_qs(urllib.parse.urlparse(self.url).query)["host"][0]
        self.home = os.path.dirname(socket_dir)

    def query(self, sql, timeout=30):
        """Rows of a query as lists of text, or None when the server fails."""
        try:
            done = subprocess.run(["psql", "-XAtq", "-F", "\t", self.url, "-c", sql],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if done.returncode != 0:
            return None
        return [line.split("\t") for line in done.stdout.splitlines()]

    def number(self, sql):
        rows = self.query(sql)
        return int(rows[0][0]) if rows and rows[0] and rows[0][0] != "" else None

    def restart_immediate(self):
        """pg_ctl restart -m immediate: a crash and a recovery."""
        command = [PG_BIN + "/pg_ctl", "restart", "-m", "immediate", "-w", "-t", "60",
                   "-D", os.path.join(self.home, "data"), "-l", os.path.join(self.home, "server.log")]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--"] + command
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        subprocess.run([os.path.join(TOP, "tools/pg.sh"), "stop", self.dir],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Process:
    """One daemon of a role; each start is a new incarnation."""

    def __init__(self, run, role, name, arguments, environment=None, instance=True, command=None):
        self.run, self.role, self.name = run, role, name
        self.arguments, self.environment, self.instance_flag = arguments, environment or {}, instance
        self.command = command or []    # a prefix, e.g. ip netns exec NAME
        self.generation = 0
        self.popen = None
        self.instance = None
        self.stopped = False        # SIGSTOPped now
        self.down_since = None

    def start(self):
        self.generation += 1
        self.instance = "%s-%d" % (self.name, self.generation)
        argv = self.command + [self.run.binary(self.role)] + self.arguments
        if self.instance_flag:
            argv += ["--instance", self.instance]
        environment = dict(self.run.environment, **self.environment)
        log = open(os.path.join(self.run.logs, self.name + ".log"), "a")
        self.popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environment)
        log.close()
        self.down_since = None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def kill(self):
        # When the signal left, in whole milliseconds as the logs say it:
        # the broker may log the death within the same millisecond.
        self.down_since = math.floor(now() * 1000) / 1000
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def terminate(self):
        """SIGTERM and the exit status (None if it had to be killed)."""
        if not self.alive():
            return self.popen.returncode if self.popen else None
        if self.stopped:
            self.popen.send_signal(signal.SIGCONT)
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            return None




class System:
    """The whole system, the backfill and the checks; drivers add the faults."""

    program = "system.py"
    faults = ("            server_error = 0.03\n            hang = 0.02\n"
              "            hang_ms = 1500\n            truncate = 0.02\n"
              "            rate_limited = 0.03\n            retry_after_s = 1\n")
    polygon_faults = "            empty = 0.03\n"

    def __init__(self, options):
        self.options = options
        self.rng = random.Random(options.seed)
        self.work = tempfile.mkdtemp(prefix="gapless-%s." % self.program.split(".")[0])
        os.chmod(self.work, 0o755)
        self.logs = os.path.join(self.work, "logs")
        os.mkdir(self.logs)
        self.build = os.path.abspath(options.build)
        self.processes = []
        self.crashes = []
        self.pending = []           # (due, process): restarts to do
        self.skipped = []
        self.failures = []
        self.sim = self.cluster = None

    def binary(self, role):
        return os.path.join(self.build, BINARIES[role])

    def note(self, text):
        if self.options.verbose:
            print("%s: %7.1f s %s" % (self.program, now() - self.started, text), flush=True)

    # -- starting -----------------------------------------------------------

    def rate(self):
        """Requests per second per provider key."""
        return self.options.rate or max(2, round(self.options.slices / self.options.duration / 2))

    def start(self):
        self.started = now()
        self.cluster = Cluster(self.work)
        with open(os.path.join(self.logs, "migrate.log"), "w") as log:
            subprocess.run([self.binary("cli"), "migrate", "--database", self.cluster.url],
                           check=True, stdout=log, stderr=subprocess.STDOUT)
        self.start_sim()
        self.endpoint = self.broker_endpoint()
        self.limits = "%d/1s" % self.rate()
        self.environment = self.actor_environment()
        self.add_processes()
        for process in self.processes:
            process.start()
        self.roles = sorted({process.role for process in self.processes})

    def broker_endpoint(self):
        return "tcp://127.0.0.1:%d" % free_port()

    def actor_environment(self):
        environment = dict(os.environ, **{
            "GAPLESS_BROKER_HEARTBEAT_MS": str(HEARTBEAT_MS),
            "GAPLESS_SCHEDULER_LEASE_SECONDS": str(LEASE_S),
            "GAPLESS_SCHEDULER_DISPATCH_MS": "50",
            "GAPLESS_SCHEDULER_RESCUE_MS": str(RESCUE_MS),
            "GAPLESS_SCHEDULER_NOT_NOW_MS": "200",
            "GAPLESS_SCHEDULER_HORIZON_SECONDS": "5",
            "GAPLESS_SCHEDULER_MAX_ATTEMPTS": str(self.options.max_attempts),
            "GAPLESS_FETCHER_POLYGON_BASE_URL": self.urls["polygon"],
            "GAPLESS_FETCHER_POLYGON_KEY": "pk-chaos",
            "GAPLESS_FETCHER_POLYGON_LIMITS": self.limits,
            "GAPLESS_FETCHER_ALPACA_BASE_URL": self.urls["alpaca"],
            "GAPLESS_FETCHER_ALPACA_KEY": "AKCHAOS",
            "GAPLESS_FETCHER_ALPACA_SECRET": "chaos-secret",
            "GAPLESS_FETCHER_ALPACA_LIMITS": self.limits,
        })
        for provider in ("POLYGON", "ALPACA"):
            environment["GAPLESS_FETCHER_%s_TIMEOUT_MS" % provider] = "5000"
            environment["GAPLESS_FETCHER_%s_HEALTH_MS" % provider] = "250"
            environment["GAPLESS_FETCHER_%s_GUARD_MS" % provider] = str(self.options.guard_ms)
        environment.pop("DATABASE_URL", None)
        return environment

    def add_processes(self):
        actor = ["--broker", self.endpoint, "--database", self.cluster.url]
        self.add("broker", "broker", ["--bind", self.endpoint, "--heartbeat-ms", str(HEARTBEAT_MS)],
                 instance=False)
        self.add("writer", "writer", actor)
        self.add("scheduler", "scheduler", actor)
        self.add("fetcher", "polygon1", ["--provider", "polygon", "--broker", self.endpoint])
        self.add("fetcher", "polygon2", ["--provider", "polygon", "--broker", self.endpoint])
        self.add("fetcher", "alpaca1", ["--provider", "alpaca", "--broker", self.endpoint])
        self.add("coverage", "coverage", actor)
        self.add("ops", "ops", actor + ["--publish", "tcp://127.0.0.1:%d" % free_port(),
                                        "--http", "0"])

    def add(self, role, name, arguments, instance=True, environment=None, command=None):
        if not os.access(self.binary(role), os.X_OK):
            self.skipped.append(role)
            return None
        process = Process(self, role, name, arguments, environment=environment,
                          instance=instance, command=command)
        self.processes.append(process)
        return process

    def process(self, name):
        return next(process for process in self.processes if process.name == name)

    def sim_config(self):
        """gapless-sim's configuration: keys, limits, the faults the run injects."""
        rate = self.rate()
        return ("sim\n    seed = %d\n"
                "    polygon\n        limits = \"%d/1s\"\n        abuse = \"2/60s\"\n"
                "        ban_s = 600\n        keys\n            default = \"pk-chaos\"\n"
                "        faults\n%s%s"
                "    alpaca\n        limits = \"%d/1s\"\n        abuse = \"2/60s\"\n"
                "        ban_s = 600\n        keys\n            default = \"AKCHAOS:chaos-secret\"\n"
                "        faults\n%s") % (self.options.seed, rate, self.faults, self.polygon_faults,
                                          rate, self.faults)

    def start_sim(self):
        path = os.path.join(self.work, "sim.cfg")
        with open(path, "w") as config_file:
            config_file.write(self.sim_config())
        listening = os.path.join(self.logs, "sim.out")
        with open(listening, "w") as out, open(os.path.join(self.logs, "sim.log"), "w") as log:
            self.sim = subprocess.Popen(self.sim_command() + ["--config", path,
                                        "--seed", str(self.options.seed)], stdout=out, stderr=log)
        self.urls = {}
        deadline = now() + 30
        while "admin" not in self.urls and now() < deadline and self.sim.poll() is None:
            time.sleep(0.05)
            with open(listening) as out:
                for line in out:
                    found = re.match(r"listening provider=(\S+) url=(\S+)", line)
                    if found:
                        self.urls[found.group(1)] = found.group(2)
        if "admin" not in self.urls:
            raise RuntimeError("gapless-sim did not start, see %s/sim.log" % self.logs)

    def sim_command(self):
        return [self.binary("sim")]

    def cli(self, *arguments):
        done = subprocess.run([self.binary("cli")] + list(arguments) +
                              ["--broker", self.endpoint, "--timeout-ms", "10000"],
                              capture_output=True, text=True, env=self.environment)
        return done.returncode, done.stdout if done.returncode == 0 else done.stdout + done.stderr

    def wait_fetchers(self, expected):
        deadline = now() + 60
        while now() < deadline:
            code, output = self.cli("enqueue", "X", "--timeframe", "1d", "--from", "2024-01-01",
                                    "--to", "2024-02-01", "--plan", "--json")
            if code == 0 and json.loads(output).get("fetcher_instances") == expected:
                return
            time.sleep(0.2)
        raise RuntimeError("the scheduler never saw %d fetchers" % expected)

    # -- the backfill ---------------------------------------------------------

    def enqueue(self):
        """A 1m backfill of at least --slices sessions x symbols, in one enqueue."""
        count = 10 if self.options.slices <= 1000 else 20
        self.symbols = ["CH%02d" % index for index in range(count)]
        sessions = -(-self.options.slices // count)
        days = subprocess.run([self.binary("simdump"), self.symbols[0], "1d", "2024-01-01",
                               "2030-01-01"], check=True, capture_output=True, text=True).stdout
        dates = [datetime.datetime.fromtimestamp(int(line.split(",")[1]), datetime.timezone.utc)
                 .strftime("%Y-%m-%d") for line in days.splitlines()]
        self.range = (dates[0], dates[sessions])
        code, output = self.cli("enqueue", ",".join(self.symbols), "--timeframe", "1m",
                                "--from", self.range[0], "--to", self.range[1], "--json")
        if code != 0:
            raise RuntimeError("enqueue failed: " + output)
        answer = json.loads(output)
        self.slices = answer["slices_new"]
        self.bars_expected = answer["bars_expected"]
        if self.slices != count * sessions:
            self.failures.append("enqueue made %d slices, expected %d" % (self.slices, count * sessions))
        self.note("enqueued backfill %d: %d slices, %d bars, %s..%s" % (
            answer["backfill_id"], self.slices, self.bars_expected, *self.range))

    # -- the storm ------------------------------------------------------------


    # -- while it runs --------------------------------------------------------

    def tick(self):
        """Restarts what is due and notices crashes; drivers add their faults."""
        for due, process in list(self.pending):
            if now() >= due:
                self.pending.remove((due, process))
                self.restarting(process)
                process.start()
                self.note("restarted %s" % process.instance)
        for process in self.processes:
            if process.popen.poll() is not None and process.down_since is None:
                self.crashes.append("%s exited %s unasked" % (process.instance, process.popen.returncode))
                process.down_since = now()
                self.pending.append((now() + 0.5, process))
                self.note("CRASH %s exit %s" % (process.instance, process.popen.returncode))

    def restarting(self, process):
        """Called before a process is started again."""

    def converge(self):
        """Waits until every slice has ended; returns True if they did."""
        deadline = now() + self.options.timeout
        steady = 0
        while now() < deadline:
            self.tick()
            open_slices = self.cluster.number("SELECT count(*) FROM gapless.job_runs WHERE"
                                              " status NOT IN ('succeeded', 'dead', 'cancelled')")
            steady = steady + 1 if open_slices == 0 else 0
            if steady >= 3:
                self.converged = now()
                self.note("every slice ended")
                return True
            time.sleep(1)
        rows = self.cluster.query("SELECT id, symbol, slice_from, status, attempt, error_class,"
                                  " lease_owner, lease_expires_at FROM gapless.job_runs WHERE status"
                                  " NOT IN ('succeeded', 'dead', 'cancelled') ORDER BY id LIMIT 10")
        self.failures.append("slices still open after %d s: %s" % (self.options.timeout, rows))
        self.converged = now()
        return False

    # -- the checks -----------------------------------------------------------

    def check_slices(self):
        rows = self.cluster.query("SELECT status, count(*) FROM gapless.job_runs WHERE timeframe"
                                  " = '1m' GROUP BY status")
        self.statuses = {row[0]: int(row[1]) for row in rows}
        nameless = self.cluster.number("SELECT count(*) FROM gapless.job_runs WHERE status = 'dead'"
                                       " AND (error_class IS NULL OR error_message IS NULL"
                                       " OR error_message = '')")
        if nameless:
            self.failures.append("%d dead slices without a reason" % nameless)
        others = sum(count for status, count in self.statuses.items()
                     if status not in ("succeeded", "dead"))
        if others:
            self.failures.append("slices neither succeeded nor dead: %s" % self.statuses)
        empty = self.cluster.query("SELECT symbol, slice_from FROM gapless.job_runs WHERE"
                                   " timeframe = '1m' AND status = 'succeeded' AND coalesce(rows_written, 0) = 0")
        if empty:
            self.failures.append("%d slices succeeded with no bar (every provider answered empty):"
                                 " %s" % (len(empty), empty[:5]))

    def check_bars(self):
        """Every bar of every succeeded slice is the sim's, once; a dead slice holds none."""
        dead = self.cluster.query("SELECT symbol, extract(epoch FROM slice_from)::bigint,"
                                  " extract(epoch FROM slice_to)::bigint FROM gapless.job_runs"
                                  " WHERE timeframe = '1m' AND status = 'dead'")
        self.compared = self.mismatched = self.missing = self.extra = self.twice = 0
        examples = []
        for symbol in self.symbols:
            holes = [(int(row[1]), int(row[2])) for row in dead if row[0] == symbol]
            truth = {}
            dump = subprocess.run([self.binary("simdump"), symbol, "1m", self.range[0], self.range[1]],
                                  check=True, capture_output=True, text=True).stdout
            for line in dump.splitlines():
                fields = line.split(",")
                start = int(fields[1])
                if not any(low <= start < high for low, high in holes):
                    truth[start] = fields
            rows = self.cluster.query(
                "SELECT extract(epoch FROM ts)::bigint, open, high, low, close, volume, vwap,"
                " trade_count, provisional, adjustment, provider FROM gapless.ohlc_bars WHERE"
                " symbol = '%s' AND timeframe = '1m' ORDER BY ts, provider" % symbol, timeout=300)
            seen = set()
            for row in rows:
                start = int(row[0])
                if start in seen:
                    self.twice += 1
                    examples.append("%s %d stored twice (%s)" % (symbol, start, row[10]))
                    continue
                seen.add(start)
                expected = truth.get(start)
                if expected is None:
                    self.extra += 1
                    examples.append("%s %d stored, not the sim's%s" % (
                        symbol, start, " (a dead slice's)" if holes else ""))
                    continue
                self.compared += 1
                if not self.same_bar(row, expected):
                    self.mismatched += 1
                    examples.append("%s %d differs: stored %s, sim %s" % (symbol, start, row, expected))
            self.missing += sum(1 for start in truth if start not in seen)
            examples += ["%s %d missing" % (symbol, start) for start in sorted(truth)
                         if start not in seen][:3]
        if self.mismatched or self.missing or self.extra or self.twice:
            self.failures.append("bars: %d compared, %d differ, %d missing, %d not the sim's,"
                                 " %d twice; %s" % (self.compared, self.mismatched, self.missing,
                                                    self.extra, self.twice, examples[:6]))

    @staticmethod
    def same_bar(row, expected):
        """Exact: the stored doubles are the sim's decimals, volume and
        trades the sim's integers; final, split-adjusted, from the sim."""
        prices = [float(row[index]) for index in (1, 2, 3, 4)]
        sim_prices = [int(round(float(expected[index]) * 100)) / 100 for index in (2, 3, 4, 5)]
        return (prices == sim_prices
                and float(row[5]) == int(expected[6])
                and row[6] != "" and float(row[6]) == int(round(float(expected[7]) * 100)) / 100
                and row[7] != "" and int(row[7]) == int(expected[8])
                and row[8] == "f" and row[9] in ("split", "")
                and row[10] in ("polygon", "alpaca"))

    def check_audit(self):
        with urllib.request.urlopen(self.urls["admin"] + "/admin/audit", timeout=10) as answer:
            self.audit = json.load(answer)
        self.injected = {}
        for provider in ("polygon", "alpaca"):
            entry = self.audit["providers"][provider]
            for kind, count in entry["faults"]["injected"].items():
                self.injected[kind] = self.injected.get(kind, 0) + int(count)
            for label, key in entry["keys"].items():
                peaks = [(peak["peak"], peak["limit"]) for peak in key["peaks"]]
                if key["over_limit"] or key["bans"] or any(peak > limit for peak, limit in peaks):
                    self.failures.append("sim audit %s/%s: over_limit %d, bans %d, peaks %s" % (
                        provider, label, key["over_limit"], key["bans"], peaks))
                if label != "default":
                    self.failures.append("sim audit %s: requests as %s (%d)" % (
                        provider, label, key["total"]))

    def stop(self):
        """SIGTERM every process; each must exit 0."""
        for process in reversed(self.processes):
            code = process.terminate()
            if code != 0:
                self.failures.append("%s exited %s on SIGTERM" % (process.instance, code))
        self.sim.send_signal(signal.SIGTERM)
        if self.sim.wait(timeout=30) != 0:
            self.failures.append("gapless-sim exited %s on SIGTERM" % self.sim.returncode)
        self.cluster.stop()

    # -- the report -----------------------------------------------------------

    def log_lines(self, prefix, event):
        """(wall time, line) of every line of an event in the logs of processes named prefix*."""
        found = []
        for name in sorted(os.listdir(self.logs)):
            if name.startswith(prefix):
                with open(os.path.join(self.logs, name), errors="replace") as log:
                    for line in log:
                        if " event=%s " % event in line or line.rstrip().endswith("event=" + event):
                            found.append((log_time(line), line))
        return found


    def attempts_and_errors(self):
        """(attempts spent, [(error class, count)]) over every slice."""
        attempts = self.cluster.number("SELECT coalesce(sum(attempt), 0) FROM gapless.job_runs") or 0
        classes = self.cluster.query("SELECT error_class, count(*) FROM gapless.job_runs WHERE"
                                     " error_class IS NOT NULL GROUP BY 1 ORDER BY 2 DESC") or []
        return attempts, [(row[0], int(row[1])) for row in classes]

    def dead_letters(self):
        dead = self.cluster.query("SELECT error_class, count(*) FROM gapless.job_runs WHERE"
                                  " status = 'dead' GROUP BY 1 ORDER BY 2 DESC") or []
        return ", ".join("%s %s" % (row[0], row[1]) for row in dead) or "none"

    def bars_row(self):
        return ("| bars compared with the sim | %d of %d expected; %d differ, %d missing, %d twice,"
                " %d foreign |" % (self.compared, self.bars_expected, self.mismatched,
                                   self.missing, self.twice, self.extra))

    def slices_row(self):
        return "| slices | %d (%s) |" % (self.slices, ", ".join(
            "%s %d" % item for item in sorted(self.statuses.items())))

    # -- the whole run ----------------------------------------------------------

    def middle(self):
        """What the driver does while the backfill runs."""

    def checks(self):
        self.check_slices()
        self.check_bars()
        self.check_audit()

    def summary(self):
        return "\n".join(["%s summary (seed %d)" % (self.program, self.options.seed),
                          "| what | value |", "|---|---|", self.slices_row(), self.bars_row()])

    def execute(self):
        """Starts, enqueues, runs the driver's middle, converges, checks, stops;
        prints the summary and every failure; returns the exit status."""
        signal.signal(signal.SIGTERM, interrupted)      # ctest's timeout: clean up first
        print("%s: seed %d, work in %s" % (self.program, self.options.seed, self.work), flush=True)
        ok = False
        try:
            self.start()
            self.wait_fetchers(sum(1 for process in self.processes if process.role == "fetcher"))
            self.enqueue()
            self.middle()
            self.converge()
            self.finished = now()
            self.checks()
            summary = self.summary()
            self.stop()
            self.failures += self.crashes
            print(summary)
            ok = not self.failures
        except (Exception, KeyboardInterrupt) as error:   # the run broke: report, keep the logs
            self.failures.append("driver: %r" % error)
            for process in self.processes:
                process.terminate()
            if self.sim:
                self.sim.kill()
            if self.cluster:
                self.cluster.stop()
        for failure in self.failures:
            print("%s: FAILED: %s" % (self.program, failure))
        if ok and not self.options.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print("%s: logs in %s/logs (replay: %s --seed %d)" % (
                self.program, self.work, sys.argv[0], self.options.seed))
        print("%s: %s" % (self.program, "passed" if ok else "FAILED"))
        return 0 if ok else 1


def interrupted(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def arguments(description, slices=300, duration=40, timeout=240):
    """The options every driver takes; a driver adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--build", default=os.environ.get("GL_BINARY_DIR", os.path.join(TOP, "build")))
    parser.add_argument("--slices", type=int, default=slices, help="at least this many 1m slices")
    parser.add_argument("--duration", type=float, default=duration, help="seconds of faults, at least")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=int, default=0, help="requests/s per provider key"
                        " (default: what makes the backfill last about --duration)")
    parser.add_argument("--max-attempts", type=int, default=8)
    parser.add_argument("--guard-ms", type=int, default=250,
                        help="fetcher/*/guard_ms: the margin kept inside each rate-limit window")
    parser.add_argument("--timeout", type=float, default=timeout,
                        help="seconds to converge after the faults")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--verbose", action="store_true")
    return parser
