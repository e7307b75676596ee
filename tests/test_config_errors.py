#!/usr/bin/env python3
"""test_config_errors — configuration files with every kind of mistake.

Usage: test_config_errors.py BUILD_DIR

Each mistake (unknown key, misspelled section, bad indentation, a key
without a value, a bad number, a value out of range, a wrong unit, a key
given twice, a NUL byte, a 1 MiB line, an unclosed quote, a directory, an
unreadable file, an empty file, ...) is written to a file and given to:

- `gapless config check`: exit 1, stderr naming FILE:LINE and the problem;
- gapless-broker and gapless-fetcher at start: exit 2, the same;
- a running gapless-broker and gapless-ops on SIGHUP: config_reload_refused
  naming the file and line, the process still serving (the broker answers
  a CLI through itself, ops its /health page) and on its old settings: the
  bad files ask for log/level = error, and the info line of the next good
  reload still appears.

Prints "N passed, M failed".
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

GOOD = b"log\n    level = info\n"

# (name, content, the FILE:LINE expected (":N" after the path, or "" when
# the problem is the whole file), a piece of the problem). Every content
# also asks for log/level = error where it can, so a reload taken by
# mistake would show.
MISTAKES = [
    ("unknown_key", b"log\n    level = error\nbroker\n    heartbeat_mss = 100\n", ":4",
     "broker/heartbeat_mss: unknown key (did you mean broker/heartbeat_ms?)"),
    ("misspelled_section", b"log\n    level = error\nbrokr\n    heartbeat_ms = 100\n", ":4",
     "brokr/heartbeat_ms: unknown key (did you mean broker/heartbeat_ms?)"),
    ("indent_two", b"log\n    level = error\nbroker\n  heartbeat_ms = 100\n", ":4",
     "is not valid ZPL: indented by 2 spaces (ZPL indents with 4 per level)"),
    ("indent_deep", b"log\n    level = error\nbroker\n        heartbeat_ms = 100\n", ":4",
     "is not valid ZPL: indented deeper than the key above it (broker)"),
    ("indent_tab", b"log\n    level = error\nbroker\n\theartbeat_ms = 100\n", ":4",
     "a tab in the indentation"),
    ("indent_orphan", b"    heartbeat_ms = 100\n", ":1", "indented deeper than the key above it"),
    ("no_value", b"log\n    level = error\nbroker\n    heartbeat_ms =\n", ":4",
     "broker/heartbeat_ms has no value after '='"),
    ("bare_key", b"log\n    level = error\nbroker\n    heartbeat_ms\n", ":4",
     "broker/heartbeat_ms has no value (expected KEY = VALUE"),
    ("bad_number", b"log\n    level = error\nbroker\n    heartbeat_ms = fast\n", ":4",
     "broker/heartbeat_ms: 'fast': expected an integer from 10 to 600000"),
    ("number_junk", b"log\n    level = error\nbroker\n    heartbeat_ms = 100ms\n", ":4",
     "'100ms': expected an integer from 10 to 600000"),
    ("out_of_range", b"log\n    level = error\nbroker\n    heartbeat_ms = 5\n", ":4",
     "'5': expected an integer from 10 to 600000"),
    ("overflow", b"log\n    level = error\nbroker\n    queue_bytes = 99999999999999999999\n", ":4",
     "expected an integer from 65536 to 1099511627776"),
    ("wrong_unit", b"log\n    level = error\nfetcher\n    polygon\n        limits = \"10/1x\"\n",
     ":5", "fetcher/polygon/limits: ratelimit: '10/1x'"),
    ("bad_choice", b"log\n    level = loud\n", ":2", "log/level: 'loud': expected one of"),
    ("bad_endpoint", b"log\n    level = error\nops\n    publish = \"localhost:5570\"\n", ":4",
     "'localhost:5570': expected tcp://, ipc:// or inproc:// endpoints"),
    ("duplicate_key", b"log\n    level = error\nbroker\n    heartbeat_ms = 100\n"
     b"    heartbeat_ms = 200\n", ":5", "broker/heartbeat_ms given again (first at line 4)"),
    ("duplicate_section", b"log\n    level = error\nbroker\n    heartbeat_ms = 100\nbroker\n"
     b"    stats_ms = 200\n", ":5", "broker given again (first at line 3)"),
    ("slash_name", b"log\n    level = error\nbroker/heartbeat_ms = 100\n", ":3",
     "a name with '/' is never read"),
    ("ini_section", b"[log]\nlevel = error\n", ":1", "ZPL is not INI"),
    ("nul_byte", b"log\n    level = error\nbroker\n    heart\0beat_ms = 100\n", ":4",
     "is not valid ZPL: the control byte 0x00 (is it a binary file?)"),
    ("binary", bytes(range(256)) * 4, ":1", "the control byte 0x00"),
    ("long_line", b"log\n    level = error\nbroker\n    id = \"" + b"x" * (1 << 20) + b"\"\n", ":4",
     "the line is 1048587 bytes long, more than the 1024 ZPL reads"),
    ("unclosed_quote", b"log\n    level = error\nbroker\n    bind = \"tcp://127.0.0.1:5570\n", ":4",
     "is not valid ZPL: the quote \" is never closed"),
    ("after_quote", b"log\n    level = error\nbroker\n    id = \"a\" b\n", ":4",
     "text after the closing quote: 'b'"),
    ("empty", b"", "", "no key at all (an empty file?)"),
    ("comments_only", b"# nothing but a comment\n\n", "", "no key at all"),
    ("inline_secret", b"log\n    level = error\nfetcher\n    polygon\n        key = \"abc\"\n", ":5",
     "fetcher/polygon/key: a credential written in a file others may read"),
]

# Files whose mistake is the file itself: (name, how to make it, problem).
SPECIAL = [
    ("directory", "directory", "it is a directory, not a file"),
    ("missing", "missing", "No such file or directory"),
    ("unreadable", "unreadable", "Permission denied"),
]


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAILED:", what, flush=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_nobody():
    """The prefix that runs a command as an unprivileged user (root reads
    any file), or [] when this is not root."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def make_special(path, kind):
    if os.path.isdir(path):
        os.rmdir(path)
    elif os.path.exists(path):
        os.unlink(path)
    if kind == "directory":
        os.mkdir(path)
    elif kind == "unreadable":
        with open(path, "wb") as out:
            out.write(GOOD)
        os.chmod(path, 0o000)


def write(path, content, mode=0o644):
    if os.path.isdir(path):
        os.rmdir(path)
    with open(path, "wb") as out:
        out.write(content)
    os.chmod(path, mode)


def run(argv, timeout=10):
    """(exit status, stderr); a process still running at the timeout (a
    daemon that started on a bad file) is killed and reported as -1."""
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        return -1, "still running after %d s: %s" % (timeout, (expired.stderr or b"")
                                                      .decode("utf-8", "replace"))
    return done.returncode, done.stderr.decode("utf-8", "replace")


def test_check(check, gapless, directory):
    """gapless config check on each mistake, then the broker and a fetcher
    started on it."""
    broker = os.path.join(BUILD, "broker", "gapless-broker")
    fetcher = os.path.join(BUILD, "actors", "fetcher", "gapless-fetcher")
    cases = [(name, content, line, piece) for name, content, line, piece in MISTAKES]
    cases += [(name, kind, "", piece) for name, kind, piece in SPECIAL]
    for name, content, line, piece in cases:
        path = os.path.join(directory, name + ".cfg")
        if isinstance(content, bytes):
            write(path, content)
        else:
            make_special(path, content)
        nobody = as_nobody() if name == "unreadable" else []
        place = path + line
        rc, err = run(nobody + [gapless, "config", "check", path])
        check(rc == 1, "config check %s: exit %d, expected 1: %s" % (name, rc, err[:300]))
        check(place in err and piece in err,
              "config check %s: stderr lacks %r and %r: %s" % (name, place, piece, err[:300]))
        port = free_port()
        for argv in ([broker, "--config", path, "--bind", "tcp://127.0.0.1:%d" % port],
                     [fetcher, "--provider", "polygon", "--config", path,
                      "--broker", "tcp://127.0.0.1:%d" % port]):
            rc, err = run(nobody + argv, timeout=3)
            role = os.path.basename(argv[0])
            check(rc == 2, "%s on %s: exit %d, expected 2: %s" % (role, name, rc, err[:300]))
            check(place in err and piece in err and err.startswith(role + ": "),
                  "%s on %s: stderr lacks %r and %r: %s" % (role, name, place, piece, err[:300]))
        if name == "unreadable":
            os.chmod(path, 0o644)


def read_from(log, offset):
    with open(log, "rb") as text:
        text.seek(offset)
        return text.read().decode("utf-8", "replace")


def wait_text(log, offset, predicate, seconds=10):
    """Waits (bounded) until the log's text after offset satisfies the
    predicate; returns that text (or the last seen)."""
    deadline = time.monotonic() + seconds
    while True:
        text = read_from(log, offset)
        if predicate(text) or time.monotonic() > deadline:
            return text
        time.sleep(0.02)


def refusals(text):
    """The refused reloads in a log's text: a file that does not load is one
    config_reload_refused line, a file with problems one per problem (with
    key=) and the verdict."""
    return sum(1 for line in text.splitlines()
               if "event=config_reload_refused" in line and " key=" not in line)


def health(log):
    """ops' /health status code (any answer means it serves), or 0."""
    for line in read_from(log, 0).splitlines():
        if "event=ops_started" in line:
            address = line.split("http=")[1].split()[0]
            try:
                return urllib.request.urlopen("http://%s/health" % address, timeout=5).status
            except urllib.error.HTTPError as error:
                return error.code
            except OSError:
                return 0
    return 0


def start(argv, log, environment, ready):
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(log, "wb"),
                               env=environment)
    text = wait_text(log, 0, lambda text: ready in text)
    return process, ready in text


def test_reload(check, gapless, directory):
    """SIGHUP with each mistake on a running broker and ops: refused, named
    with its line, and the daemon serves on its old settings."""
    config = os.path.join(directory, "running.cfg")
    # ops' endpoint in the file, not a flag: the one endpoint key no flag
    # of the broker or of ops gives, so bad_endpoint is the file's
    good = GOOD + b"ops\n    publish = \"tcp://127.0.0.1:%d\"\n" % free_port()
    write(config, good)
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("GAPLESS_")}
    logs = {role: os.path.join(directory, role + ".log") for role in ("broker", "ops")}
    processes = {}
    processes["broker"], ok = start(
        [os.path.join(BUILD, "broker", "gapless-broker"), "--config", config, "--bind", endpoint],
        logs["broker"], environment, "event=broker_started")
    check(ok, "the broker did not start")
    processes["ops"], ok = start(
        [os.path.join(BUILD, "actors", "ops", "gapless-ops"), "--config", config, "--broker",
         endpoint, "--http", "0", "--database", "postgresql://127.0.0.1:1/none"],
        logs["ops"], environment, "event=actor_registered")
    check(ok, "ops did not register")
    for name, content, line, piece in MISTAKES + [(n, k, "", p) for n, k, p in SPECIAL[:2]]:
        if isinstance(content, bytes):
            write(config, content)
        else:
            make_special(config, content)
        for role, process in processes.items():
            offset = os.path.getsize(logs[role])
            process.send_signal(signal.SIGHUP)
            text = wait_text(logs[role], offset, lambda text: refusals(text) > 0)
            check(refusals(text) == 1, "%s on SIGHUP with %s: %d refusals: %s"
                  % (role, name, refusals(text), text[:300]))
            named = ("running.cfg" + line in text or "line=%s " % line[1:] in text) if line \
                else piece in text
            check(named, "%s on SIGHUP with %s: the refusal names neither %s nor %r: %s"
                  % (role, name, config + line, piece, text[:300]))
            check(process.poll() is None, "%s died on SIGHUP with %s" % (role, name))
        # still serving: a CLI request goes through the broker (no
        # scheduler: it waits there) and ops answers /health
        rc, err = run([gapless, "status", "--broker", endpoint, "--timeout-ms", "300"])
        check(rc == 1 and "no reply from scheduler" in err,
              "the broker does not serve after SIGHUP with %s: %s" % (name, err.strip()[:200]))
        check(health(logs["ops"]) in (200, 503),
              "ops does not answer /health after SIGHUP with %s" % name)
        # on its old settings: the bad file's log/level = error was refused,
        # so the info line of the next, good reload appears
        write(config, good)
        for role, process in processes.items():
            offset = os.path.getsize(logs[role])
            process.send_signal(signal.SIGHUP)
            text = wait_text(logs[role], offset, lambda text: "event=config_reload_done" in text)
            check("level=info" in text and "event=config_reload_done" in text,
                  "%s: no info config_reload_done after the refused %s" % (role, name))
    for role, process in processes.items():
        process.send_signal(signal.SIGTERM)
        check(process.wait(timeout=20) == 0, "%s did not stop cleanly" % role)


def main():
    global BUILD
    BUILD = os.path.abspath(sys.argv[1])
    gapless = os.path.join(BUILD, "tools", "cli", "gapless")
    directory = tempfile.mkdtemp(prefix="test_config_errors.")
    os.chmod(directory, 0o755)          # the unprivileged run reaches its files
    check = Checks()
    try:
        test_check(check, gapless, directory)
        test_reload(check, gapless, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print("test_config_errors: %d passed, %d failed" % (check.passed, check.failed))
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
