#!/usr/bin/env python3
"""check_settings — the settings table against the code that reads keys.

Usage: check_settings.py SOURCE_DIR GAPLESS_BINARY

Reads the table from `gapless config reference` and the keys every
daemon reads from the sources (gl_config_int, gl_config_get, the
fetcher's s_setting, the sim's zconfig_get), and fails, naming each
difference, when a key the code reads is not in the table, or is there
with another default or range, or when a table key is read nowhere. It
also checks that config/REFERENCE.md is what the table prints.
"""
import pathlib
import re
import subprocess
import sys

# Constants the sources use in defaults and ranges.
CONSTANTS = {"INT32_MAX": 2147483647, "INT_MAX": 2147483647, "UINT32_MAX": 4294967295,
             "GL_MSG_MAX_BARS": 50000, "INT64_MAX": 9223372036854775807,
             "GL_MSG_CREDIT_MAX": 1000000, "GL_MSG_MAX_BODY": 16 * 1024 * 1024}
SOURCES = ["actors", "broker", "tools/cli", "tools/sim", "tests/support/gl_echo.c"]


def table(binary):
    """key -> (default, minimum, maximum) from the reference's rows."""
    text = subprocess.run([binary, "config", "reference"], check=True,
                          capture_output=True, text=True).stdout
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        if len(cells) != 6 or not cells[0].startswith("`"):
            continue
        key, default, bounds = cells[0].strip("`"), cells[2].strip("`"), cells[3]
        low = high = None
        if " to " in bounds:
            low, high = (int(part) for part in bounds.split(" to "))
        rows[key] = (default, low, high)
    return text, rows


def evaluate(expression):
    """The value of a simple C integer expression, or None."""
    expression = expression.strip()
    for name, value in CONSTANTS.items():
        expression = re.sub(r"\b%s\b" % name, str(value), expression)
    expression = re.sub(r"([0-9])[uU]?[lL]{1,2}\b", r"\1", expression)
    if not re.fullmatch(r"[0-9 *+()<-]+", expression):
        return None
    return int(eval(expression))  # digits and operators only


def matches(pattern, key):
    """True if a table pattern (segments, '*' for one) names the key."""
    left, right = pattern.split("/"), key.split("/")
    return len(left) == len(right) and all(p == "*" or p == k for p, k in zip(left, right))


def reads(source_dir):
    """(file, key, default, minimum, maximum) for every key read in the code."""
    found = []
    integer = re.compile(r'gl_config_int \([^,]+, "([^"]+)", ([^,]+), ([^,]+), ([^,]+),')
    text_key = re.compile(r'gl_config_get \([^,]+, "([^"]+)", (NULL|"[^"]*")\)')
    setting = re.compile(r's_setting \([^,]+, "([^"]+)", ([^,]+), ([^,]+), ([^,]+),')
    sim = re.compile(r'zconfig_get \([^,]+, "(sim/[^"]+)", "([^"]*)"\)')
    files = []
    for entry in SOURCES:
        path = pathlib.Path(source_dir, entry)
        files += [path] if path.is_file() else sorted(path.rglob("*.c"))
    files = [path for path in files if path.name != "gl_settings.c"]   # the table itself
    for path in files:
        code = re.sub(r"\s+", " ", path.read_text(errors="replace"))
        name = str(path.relative_to(source_dir))
        for key, default, low, high in integer.findall(code):
            found.append((name, key, evaluate(default), evaluate(low), evaluate(high)))
        for key, default in text_key.findall(code):
            found.append((name, key, None if default == "NULL" else default.strip('"'), None, None))
        for key, default, low, high in setting.findall(code):
            found.append((name, "fetcher/*/" + key, evaluate(default), evaluate(low), evaluate(high)))
        for key, default in sim.findall(code):
            found.append((name, key, default, None, None))
    return found, " ".join(path.read_text(errors="replace") for path in files)


def main():
    source_dir, binary = sys.argv[1], sys.argv[2]
    reference, rows = table(binary)
    problems = []
    committed = pathlib.Path(source_dir, "config", "REFERENCE.md").read_text()
    if committed != reference:
        problems.append("config/REFERENCE.md differs from `gapless config reference`:"
                        " regenerate it with build/tools/cli/gapless config reference"
                        " > config/REFERENCE.md")
    found, code = reads(source_dir)
    if len(found) < 40:
        problems.append("only %d key reads found in the sources: the patterns are stale" % len(found))
    for name, key, default, low, high in found:
        pattern = next((p for p in rows if matches(p, key)), None)
        if pattern is None:
            problems.append("%s reads %s, which is not in the table" % (name, key))
            continue
        table_default, table_low, table_high = rows[pattern]
        if default is not None and str(default) != table_default:
            problems.append("%s reads %s with default %r, the table says %r"
                            % (name, key, str(default), table_default))
        if low is not None and (low, high) != (table_low, table_high):
            problems.append("%s reads %s in %s..%s, the table says %s..%s"
                            % (name, key, low, high, table_low, table_high))
    for pattern in rows:
        literal = pattern.split("/")[-1] if "*" in pattern else pattern
        if '"%s' % literal not in code and "/%s\"" % literal not in code \
                and '"%s"' % literal not in code and literal not in code:
            problems.append("the table lists %s, which no code reads" % pattern)
    for problem in problems:
        print("check_settings: " + problem)
    print("check_settings: %d keys in the table, %d reads checked, %d problems"
          % (len(rows), len(found), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
