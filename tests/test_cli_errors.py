#!/usr/bin/env python3
"""test_cli_errors — the real gapless binary on malformed input.

Usage: test_cli_errors.py GAPLESS_BINARY

Runs every case of the table below: arguments, the exit status expected
and a piece of the one-line error expected on stderr. Every command is
covered: unknown options, missing values, numbers that overflow or carry
junk, timeframes, dates that do not exist or run backwards, tickers
(empty, too long, bad characters, too many), endpoints. Every command that connects is pointed (GAPLESS_ACTOR_BROKER,
GAPLESS_OPS_PUBLISH) at a TCP port this test listens on: a refused
command must not even connect, and a well-formed one (the control at the
end) must, so the check cannot pass by never listening. Prints
"N passed, M failed".
"""
import os
import socket
import subprocess
import sys

DAY = "--timeframe 1d --from 2024-01-01 --to 2024-02-01"
SYMBOLS_10001 = ",".join("S%d" % index for index in range(10001))

# (arguments, exit status, piece of stderr). Arguments are split on spaces
# unless given as a list.
CASES = [
    # gapless itself
    ([], 2, "usage: gapless"),
    ("--bogus", 2, "gapless: unknown option --bogus"),
    ("frobnicate", 2, "unknown command frobnicate"),
    ("--database", 2, "missing value for --database"),
    ("--schema Bad-Name migrate", 2, "--schema expects 1-63 characters"),
    # migrate (none of these reaches a database)
    ("migrate --bogus", 2, "gapless migrate: unknown option --bogus"),
    ("migrate extra", 2, "unexpected argument extra"),
    ("migrate --migrations", 2, "missing value for --migrations"),
    # enqueue: required options
    ("enqueue AAPL --from 2024-01-01 --to 2024-02-01", 2, "--timeframe is required"),
    ("enqueue AAPL --timeframe 1d --from 2024-01-01", 2, "--from and --to are required"),
    ("enqueue " + DAY, 2, "give symbols (AAPL,MSFT) or --tier"),
    ("enqueue AAPL --tier T1 " + DAY, 2, "give symbols or --tier, not both"),
    ("enqueue AAPL --timeframe", 2, "missing value for --timeframe"),
    ("enqueue AAPL --bogus " + DAY, 2, "gapless enqueue: unknown option --bogus"),
    # enqueue: timeframes
    ("enqueue AAPL --timeframe 2h --from 2024-01-01 --to 2024-02-01", 2, "--timeframe expects"),
    (["enqueue", "AAPL", "--timeframe", "", "--from", "2024-01-01", "--to", "2024-02-01"], 2,
     "--timeframe expects"),
    ("enqueue AAPL --timeframe 1D --from 2024-01-01 --to 2024-02-01", 2, "--timeframe expects"),
    # enqueue: dates
    ("enqueue AAPL --timeframe 1d --from 2024-02-30 --to 2024-03-01", 2,
     "--from expects YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z or Unix seconds, got 2024-02-30"),
    ("enqueue AAPL --timeframe 1d --from 2023-02-29 --to 2023-03-01", 2, "got 2023-02-29"),
    ("enqueue AAPL --timeframe 1d --from 2024-13-01 --to 2024-03-01", 2, "got 2024-13-01"),
    ("enqueue AAPL --timeframe 1d --from 2024-1-01 --to 2024-03-01", 2, "got 2024-1-01"),
    ("enqueue AAPL --timeframe 1d --from 2024-01-01T25:00Z --to 2024-03-01", 2,
     "got 2024-01-01T25:00Z"),
    ("enqueue AAPL --timeframe 1d --from 2024-01-01T10:00 --to 2024-03-01", 2,
     "got 2024-01-01T10:00"),
    ("enqueue AAPL --timeframe 1d --from 2024-01-01 --to 2100-01-01", 2,
     "--to expects YYYY-MM-DD"),
    ("enqueue AAPL --timeframe 1d --from 1969-12-31 --to 2024-01-01", 2, "got 1969-12-31"),
    ("enqueue AAPL --timeframe 1d --from 99999999999 --to 2024-01-01", 2, "got 99999999999"),
    ("enqueue AAPL --timeframe 1d --from -5 --to 2024-01-01", 2, "got -5"),
    (["enqueue", "AAPL", "--timeframe", "1d", "--from", "", "--to", "2024-01-01"], 2,
     "--from expects"),
    ("enqueue AAPL --timeframe 1d --from 2024-02-01 --to 2024-01-01", 2,
     "--from must be before --to"),
    ("enqueue AAPL --timeframe 1d --from 2024-02-01 --to 2024-02-01", 2,
     "--from must be before --to"),
    # enqueue: tickers, before anything is sent
    ("enqueue AAPL,,BB " + DAY, 2, "got an empty one (two commas, or one at an end?), in 'AAPL,,BB'"),
    ("enqueue ,AAPL " + DAY, 2, "got an empty one"),
    ("enqueue AAPL, " + DAY, 2, "got an empty one"),
    (["enqueue", ""] + DAY.split(), 2, "got an empty one"),
    ("enqueue " + "A" * 33 + " " + DAY, 2, "expected a ticker of at most 32 characters"),
    (["enqueue", "AA PL"] + DAY.split(), 2, "got 'AA PL' (the character 0x20)"),
    (["enqueue", "AAPL;rm"] + DAY.split(), 2, "got 'AAPL;rm' (the character 0x3b)"),
    (["enqueue", "AAPL\tX"] + DAY.split(), 2, "(the character 0x09)"),
    ("enqueue " + SYMBOLS_10001 + " " + DAY, 2, "more than 10000 symbols in one request"),
    # enqueue: the other options
    ("enqueue --tier T9 " + DAY, 2, "--tier expects T0, T1 or T2, got T9"),
    ("enqueue AAPL --priority 101 " + DAY, 2, "--priority expects high, normal, low or -100..100"),
    ("enqueue AAPL --priority urgent " + DAY, 2, "got urgent"),
    ("enqueue AAPL --priority +5 " + DAY, 2, "got +5"),
    (["enqueue", "AAPL", "--priority", " 5"] + DAY.split(), 2, "--priority expects"),
    ("enqueue AAPL --priority 99999999999999999999 " + DAY, 2, "got 99999999999999999999"),
    ("enqueue AAPL --provider bloomberg " + DAY, 2, "--provider expects polygon"),
    ("enqueue AAPL --timeout-ms 0 " + DAY, 2, "--timeout-ms expects 1 to 3600000, got 0"),
    ("enqueue AAPL --timeout-ms -1 " + DAY, 2, "got -1"),
    ("enqueue AAPL --timeout-ms 1e3 " + DAY, 2, "got 1e3"),
    ("enqueue AAPL --timeout-ms 99999999999999999999 " + DAY, 2, "got 99999999999999999999"),
    ("enqueue AAPL --broker notanendpoint " + DAY, 2,
     "--broker 'notanendpoint': expected tcp://HOST:PORT or ipc://PATH"),
    ("enqueue AAPL --wait --ops junk " + DAY, 2,
     "--ops 'junk': expected tcp://HOST:PORT or ipc://PATH"),
    # status
    ("status 99999999999999999999999", 2,
     "gapless status: ID expects a whole number from 1 to 9223372036854775807, got"
     " 99999999999999999999999"),
    ("status 9223372036854775808", 2, "ID expects a whole number"),
    ("status 0", 2, "ID expects a whole number"),
    ("status 12x", 2, "got 12x"),
    ("status 0x10", 2, "got 0x10"),
    (["status", ""], 2, "got ''"),
    (["status", " 7"], 2, "ID expects a whole number"),
    ("status -- -5", 2, "got -5"),
    ("status -5", 2, "unknown option -5"),
    ("status 1 2", 2, "unexpected argument 2"),
    ("status --timeout-ms", 2, "missing value for --timeout-ms"),
    ("status --timeout-ms 3600001", 2, "--timeout-ms expects 1 to 3600000"),
    # endpoints (each refused before a socket is opened, CURVE never blamed)
    ("status --broker notanendpoint", 2,
     "--broker 'notanendpoint': expected tcp://HOST:PORT or ipc://PATH"),
    ("status --broker tcp://127.0.0.1", 2, "'tcp://127.0.0.1': expected tcp://HOST:PORT"),
    ("status --broker tcp://:5570", 2, "expected tcp://HOST:PORT"),
    ("status --broker tcp://127.0.0.1:99999", 2, "the port must be 1 to 65535, got '99999'"),
    ("status --broker tcp://127.0.0.1:0", 2, "the port must be 1 to 65535, got '0'"),
    ("status --broker tcp://127.0.0.1:55x", 2, "got '55x'"),
    ("status --broker tcp://bad;host:5570", 2, "the host 'bad;host' has the character ';'"),
    ("status --broker ipc://", 2, "expected ipc://PATH, a path of 1 to"),
    ("status --broker ipc://" + "p" * 200, 2, "expected ipc://PATH, a path of 1 to"),
    ("status --broker inproc://broker", 2, "inproc:// reaches only the same process"),
    ("status --broker udp://127.0.0.1:5570", 2, "expected tcp://HOST:PORT or ipc://PATH"),
    ({"GAPLESS_ACTOR_BROKER": "localhost"}, "status", 2,
     "GAPLESS_ACTOR_BROKER 'localhost': expected tcp://HOST:PORT"),
    # cancel, pause, resume
    ("cancel", 2, "gapless cancel: needs an id"),
    ("pause abc", 2, "gapless pause: ID expects a whole number"),
    ("resume 99999999999999999999", 2, "gapless resume: ID expects a whole number"),
    ("cancel 1 --bogus", 2, "gapless cancel: unknown option --bogus"),
    ("cancel 1 --broker tcp://h", 2, "'tcp://h': expected tcp://HOST:PORT"),
    # dlq
    ("dlq", 2, "usage: gapless dlq"),
    ("dlq frob", 2, "expects list, requeue or purge, got frob"),
    ("dlq list 5", 2, "list takes no id"),
    ("dlq requeue 0", 2, "ID expects a whole number"),
    ("dlq purge 99999999999999999999", 2, "ID expects a whole number"),
    ("dlq requeue 3 4", 2, "unexpected argument 4"),
    ("dlq list --broker junk", 2, "--broker 'junk'"),
    # watch and providers
    ("watch --bogus", 2, "gapless watch: unknown option --bogus"),
    ("watch --timeout-ms 0", 2, "--timeout-ms expects 1 to 3600000, got 0"),
    ("watch --timeout-ms 5s", 2, "got 5s"),
    ("watch --ops bogus", 2, "--ops 'bogus': expected tcp://HOST:PORT or ipc://PATH"),
    ("watch --ops", 2, "missing value for --ops"),
    ("providers extra", 2, "gapless providers: unexpected argument extra"),
    ("providers --ops tcp://127.0.0.1:0", 2, "the port must be 1 to 65535"),
    ({"GAPLESS_OPS_PUBLISH": "nowhere"}, "providers", 2, "GAPLESS_OPS_PUBLISH 'nowhere'"),
    # keygen
    ("keygen", 2, "gapless keygen: expected one NAME"),
    ("keygen a b", 2, "expected one NAME"),
    ("keygen a/b", 2, "NAME must be 1-64 bytes without '/', got a/b"),
    (["keygen", ""], 2, "NAME must be 1-64 bytes"),
    ("keygen " + "k" * 65, 2, "NAME must be 1-64 bytes"),
    ("keygen x --dir", 2, "missing value for --dir"),
    ("keygen x --dir /nonexistent/dir", 1, "cannot write /nonexistent/dir/x"),
    # config
    ("config", 2, "gapless config: expected check FILE... or reference"),
    ("config check", 2, "expected check FILE... or reference"),
    ("config frob", 2, "expected check FILE... or reference"),
    ("config reference extra", 2, "expected check FILE... or reference"),
    ("config check /nonexistent.cfg", 1,
     "gapless config check: cannot read /nonexistent.cfg: No such file or directory"),
    ("config check /", 1, "cannot read /: it is a directory, not a file"),
    ("config check /dev/null", 1, "cannot read /dev/null: it is not a regular file"),
    # coverage
    ("coverage", 2, "gapless coverage: expected SYMBOL and TIMEFRAME"),
    ("coverage AAPL", 2, "expected SYMBOL and TIMEFRAME"),
    ("coverage AAPL 1d extra --from 2024-01-01 --to 2024-02-01", 2, "unexpected argument extra"),
    ("coverage AAPL 2h --from 2024-01-01 --to 2024-02-01", 2, "TIMEFRAME expects"),
    (["coverage", "", "1d", "--from", "2024-01-01", "--to", "2024-02-01"], 2,
     "expected a ticker, got an empty one"),
    (["coverage", "AA PL", "1d", "--from", "2024-01-01", "--to", "2024-02-01"], 2,
     "got 'AA PL'"),
    ("coverage AAPL 1d --from 2024-02-30 --to 2024-03-01", 2, "--from expects"),
    ("coverage AAPL 1d --from 2024-03-01 --to 2024-02-01", 2, "--from must be before --to"),
    ("coverage AAPL 1d --from 2024-01-01", 2, "--from and --to are required"),
    ("coverage AAPL 1d --from 2024-01-01 --to 2024-02-01 --timeout-ms 0", 2,
     "--timeout-ms expects 1 to 3600000"),
    ("coverage AAPL 1d --from 2024-01-01 --to 2024-02-01 --broker bad", 2,
     "--broker 'bad': expected tcp://HOST:PORT"),
    ("coverage AAPL 1d --bogus", 2, "gapless coverage: unknown option --bogus"),
]

COMMANDS = ["migrate", "enqueue", "status", "cancel", "pause", "resume", "dlq", "watch",
            "providers", "keygen", "config", "coverage"]


def run(binary, environment, arguments, timeout=30):
    """(exit status, stdout, stderr) of one run."""
    done = subprocess.run([binary] + arguments, env=environment, capture_output=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return (done.returncode, done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"))


def connections(listener):
    """How many connections reached the listener since the last call."""
    count = 0
    listener.settimeout(0.2)
    try:
        while True:
            connection, _ = listener.accept()
            connection.close()
            count += 1
    except socket.timeout:
        return count


def main():
    binary = os.path.abspath(sys.argv[1])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    base = dict(os.environ)
    base["GAPLESS_ACTOR_BROKER"] = "tcp://127.0.0.1:%d" % port
    base["GAPLESS_OPS_PUBLISH"] = "tcp://127.0.0.1:%d" % port
    base.pop("GAPLESS_ACTOR_INSECURE", None)
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAILED:", what)

    for case in CASES:
        extra, (arguments, status, piece) = ({}, case) if len(case) == 3 else (case[0], case[1:])
        argv = arguments if isinstance(arguments, list) else arguments.split(" ")
        environment = dict(base, **extra)
        rc, out, err = run(binary, environment, argv)
        shown = " ".join(argv)[:100]
        check(rc == status, "gapless %s: exit %d, expected %d (stderr: %s)" % (shown, rc, status,
                                                                            err.strip()[:300]))
        check(piece in err, "gapless %s: stderr lacks %r: %s" % (shown, piece, err.strip()[:300]))
        check(out == "" or piece.startswith("usage"), "gapless %s: wrote to stdout: %s"
              % (shown, out[:200]))
        # one line saying what is wrong, and where to look; or the usage
        check(piece.startswith("usage") or len(err.strip().splitlines()) <= 2,
              "gapless %s: more than one error line: %s" % (shown, err[:300]))
    check(connections(listener) == 0, "a refused command connected to the broker or ops")

    # Every command's --help: the usage on stdout, exit 0, nothing on stderr.
    for command in COMMANDS:
        rc, out, err = run(binary, base, [command, "--help"])
        check(rc == 0 and out.startswith("usage: gapless") and err == "",
              "gapless %s --help: exit %d, stdout %r, stderr %r" % (command, rc, out[:60], err[:200]))

    # The control: a well-formed request does connect (and hears nothing:
    # the listener never answers), so the count above could have seen a
    # refused one.
    rc, out, err = run(binary, base, ["status", "7", "--timeout-ms", "300"])
    check(rc == 1 and "no answer from the broker" in err,
          "status 7 against a silent listener: exit %d, stderr %s" % (rc, err.strip()))
    check(connections(listener) > 0, "the control request did not connect")
    listener.close()
    print("test_cli_errors: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
