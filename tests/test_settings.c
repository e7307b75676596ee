/*  test_settings — the table of every key and the check of a file: keys
    by pattern, every kind of mistake reported (all of them, with the key),
    typos answered with the closest key; the shipped configurations valid;
    and SIGHUP on real processes (a broker, a scheduler): a valid file is
    taken, its changed keys logged as live or needing a restart; an invalid
    one is refused with each problem and the process keeps serving; the
    command line every daemon shares, with each daemon's own flags.
*/
#include "gl_process.h"
#include <czmq.h>
#include <glob.h>
#include <sys/stat.h>
#include "gl_settings.h"
#include "gl_test.h"

//  Collects problems as "key: problem" lines.
typedef struct {
    char text [8192];
    int count;
} s_problems_t;

static void
s_collect (const char *key, const char *problem, void *argument)
{
    s_problems_t *problems = (s_problems_t *) argument;
    size_t used = strlen (problems->text);
    snprintf (problems->text + used, sizeof problems->text - used, "%s: %s\n", key, problem);
    problems->count++;
}

//  Writes text to path with mode.
static void
s_write (const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen (path, "w");
    GL_CHECK (file != NULL);
    if (file) {
        fputs (text, file);
        fclose (file);
    }
    chmod (path, mode);
}

//  Checks a configuration text; returns its problems.
static s_problems_t
s_check_text (const char *text, mode_t mode)
{
    s_write ("settings-check.cfg", text, mode);
    s_problems_t problems = { "", 0 };
    char error [GL_CONFIG_ERROR_MAX];
    gl_config_t *config = gl_config_load ("settings-check.cfg", error);
    GL_CHECK (config != NULL);
    if (config)
        problems.count = gl_settings_check (config, s_collect, &problems);
    gl_config_destroy (&config);
    return problems;
}

static void
s_test_table (void)
{
    GL_CHECK (gl_settings_find ("scheduler/lease_seconds") != NULL);
    GL_CHECK_STR (gl_settings_find ("fetcher/polygon/limits")->key, "fetcher/*/limits");
    GL_CHECK_STR (gl_settings_find ("fetcher/alpaca/breaker/window")->key,
                  "fetcher/*/breaker/window");
    GL_CHECK_STR (gl_settings_find ("scheduler/route/1h")->key, "scheduler/route/*");
    GL_CHECK_STR (gl_settings_find ("sim/polygon/keys/anyone")->key, "sim/*/keys/*");
    GL_CHECK_STR (gl_settings_find ("sim/admin/port")->key, "sim/*/port");
    GL_CHECK (gl_settings_find ("fetcher/nobody/limits") == NULL);
    GL_CHECK (gl_settings_find ("scheduler/route/2h") == NULL);
    GL_CHECK (gl_settings_find ("scheduler/lease_seconds/x") == NULL);
    GL_CHECK (gl_settings_find ("scheduler") == NULL);
    size_t count = 0;
    const gl_setting_t *table = gl_settings_table (&count);
    GL_CHECK (count > 50);
    for (size_t index = 0; index < count; index++) {
        GL_CHECK (table [index].meaning && *table [index].meaning);
        if (table [index].kind == GL_SETTING_INT) {
            int64_t fallback = strtoll (table [index].fallback, NULL, 10);
            GL_CHECK (fallback >= table [index].minimum && fallback <= table [index].maximum);
        }
    }
}

//  Every kind of mistake, each reported with its key.
static void
s_test_check (void)
{
    s_problems_t problems = s_check_text (
        "scheduler\n"
        "    lease_secnds = 120\n"                  //  a typo
        "    lease_seconds = 2\n"                   //  out of range
        "    claim_max = many\n"                    //  not a number
        "    slice\n"
        "        1m = fortnight\n"                  //  not a unit
        "    route\n"
        "        1h = \"yahoo,nobody\"\n"           //  not a provider of 1h
        "fetcher\n"
        "    polygon\n"
        "        limits = \"5/0s\"\n"               //  malformed limits
        "        key = \"inline\"\n"                //  a credential others can read
        "        breaker\n"
        "            window = 5\n"                  //  minimum_calls 10 > window
        "    nobody\n"
        "        limits = \"5/1s\"\n"               //  no such provider
        "broker\n"
        "    bind = \"udp://x\"\n"                  //  not an endpoint
        "    curve_secret = \"/x_secret\"\n"        //  without curve_allow
        "writer\n"
        "    notify = \"scheduler,Bad Name\"\n"     //  not a service
        "log\n"
        "    level = loud\n", 0644);
    GL_CHECK_INT (problems.count, 13);
    const char *expected [] = {
        "scheduler/lease_secnds: unknown key (did you mean scheduler/lease_seconds?)",
        "scheduler/lease_seconds: '2': expected an integer from 5 to 86400",
        "scheduler/claim_max: 'many': expected an integer",
        "scheduler/slice/1m: 'fortnight': expected one of: session week month year",
        "scheduler/route/1h: 'yahoo' is not a provider",
        "fetcher/polygon/limits: ratelimit: '5/0s'",
        "fetcher/polygon/key: a credential written in a file others may read",
        "fetcher/polygon/breaker/minimum_calls: must be at most fetcher/polygon/breaker/window",
        "fetcher/nobody/limits: unknown key",
        "broker/bind: 'udp://x': expected tcp://",
        "broker/curve_allow: goes together with broker/curve_secret",
        "writer/notify: 'Bad': expected service names",
        "log/level: 'loud': expected one of: debug info warn error",
    };
    for (size_t index = 0; index < sizeof expected / sizeof expected [0]; index++)
        if (!strstr (problems.text, expected [index])) {
            fprintf (stderr, "missing: %s\nin:\n%s", expected [index], problems.text);
            GL_CHECK (false);
        }
    //  A credential in an owner-only file is the owner's business; a
    //  _file form only exists for credentials
    problems = s_check_text ("fetcher\n    polygon\n        key = \"k\"\n"
                             "        key_file = \"/k\"\n        limits_file = \"/l\"\n", 0600);
    GL_CHECK_INT (problems.count, 1);
    GL_CHECK (strstr (problems.text, "fetcher/polygon/limits_file: unknown key") != NULL);
    //  Valid: nothing
    problems = s_check_text ("scheduler\n    route\n        1d = \"polygon,yahoo\"\n", 0644);
    GL_CHECK_INT (problems.count, 0);
}

//  The files the project ships are valid: config/*.cfg, config/hosts/*.cfg.
static void
s_test_shipped (void)
{
    const char *source = getenv ("GL_SOURCE_DIR");
    char pattern [1024];
    snprintf (pattern, sizeof pattern, "%s/config/{,hosts/}*.cfg", source? source: "..");
    glob_t files;
    GL_CHECK_INT (glob (pattern, GLOB_BRACE, NULL, &files), 0);
    GL_CHECK (files.gl_pathc >= 5);
    for (size_t index = 0; index < files.gl_pathc; index++) {
        char error [GL_CONFIG_ERROR_MAX];
        gl_config_t *config = gl_config_load (files.gl_pathv [index], error);
        GL_CHECK (config != NULL);
        s_problems_t problems = { "", 0 };
        GL_CHECK_INT (config? gl_settings_check (config, s_collect, &problems): -1, 0);
        if (problems.count)
            fprintf (stderr, "%s:\n%s", files.gl_pathv [index], problems.text);
        gl_config_destroy (&config);
    }
    globfree (&files);
}

//  Counts the lines of a log holding every one of the words.
static int
s_log_lines (const char *log, const char *first, const char *second)
{
    char command [1024], output [64];
    snprintf (command, sizeof command, "grep -F -- '%s' %s | grep -c -F -- '%s'", first, log, second);
    gl_process_run (command, output, sizeof output);
    return atoi (output);
}

//  Waits (bounded) until the log holds a line with both words.
static bool
s_wait_log (const char *log, const char *first, const char *second)
{
    for (int tries = 0; tries < 200; tries++) {
        if (s_log_lines (log, first, second) > 0)
            return true;
        zclock_sleep (25);
    }
    return false;
}

//  SIGHUP on a running process: a valid change is taken and described,
//  an invalid file refused with its problems, and the process lives on.
static void
s_test_sighup (const char *binary, const char *log, const char *valid, const char *changed,
               const char *restart_key, const char *invalid, const char *problem_key)
{
    char path [512], file [64];
    gl_process_binary (binary, path, sizeof path);
    snprintf (file, sizeof file, "%s.cfg", log);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", gl_process_free_port ());
    s_write (file, "log\n    level = info\n", 0644);
    unlink (log);
    char *argv [] = { path, "--config", file, strstr (binary, "broker")? "--bind": "--broker",
                      endpoint, NULL };
    pid_t pid = gl_process_start (argv, log);
    GL_CHECK (s_wait_log (log, "started", "level=info"));
    s_write (file, valid, 0644);
    kill (pid, SIGHUP);
    GL_CHECK (s_wait_log (log, "event=config_reload_done", "restart_needed=1"));
    GL_CHECK_INT (s_log_lines (log, "event=config_reloaded", changed), 1);
    GL_CHECK_INT (s_log_lines (log, "event=config_restart_needed", restart_key), 1);
    s_write (file, invalid, 0644);
    kill (pid, SIGHUP);
    GL_CHECK (s_wait_log (log, "event=config_reload_refused", problem_key));
    GL_CHECK (s_wait_log (log, "event=config_reload_refused", "the running configuration stays"));
    GL_CHECK_INT (kill (pid, 0), 0);                //  still serving
    int status = gl_process_stop (pid, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

//  Runs a daemon with arguments; returns its exit status, output in output.
static int
s_daemon (const char *binary, const char *arguments, char *output, size_t size)
{
    char path [512], command [1024];
    gl_process_binary (binary, path, sizeof path);
    snprintf (command, sizeof command, "%s %s 2>&1", path, arguments);
    return gl_process_run (command, output, size);
}

//  The command line every daemon shares (gl_actor_command_line): --help,
//  a bad flag, a stray argument, a missing file, and each daemon's own
//  flags reaching its keys (a value out of range is refused by key).
static void
s_test_command_line (void)
{
    const char *daemons [] = { "actors/scheduler/gapless-scheduler", "actors/writer/gapless-writer",
                               "actors/coverage/gapless-coverage", "actors/ops/gapless-ops" };
    char output [4096];
    for (size_t index = 0; index < 4; index++) {
        GL_CHECK_INT (s_daemon (daemons [index], "--help", output, sizeof output), 0);
        GL_CHECK (strstr (output, "--broker") != NULL);
        GL_CHECK_INT (s_daemon (daemons [index], "--bogus", output, sizeof output), 2);
        GL_CHECK_INT (s_daemon (daemons [index], "stray", output, sizeof output), 2);
        GL_CHECK (strstr (output, "unexpected argument 'stray'") != NULL);
        GL_CHECK_INT (s_daemon (daemons [index], "--config /nonexistent.cfg", output,
                                sizeof output), 2);
        GL_CHECK (strstr (output, "/nonexistent.cfg") != NULL);
    }
    GL_CHECK_INT (s_daemon (daemons [1], "--credit 0", output, sizeof output), 2);
    GL_CHECK (strstr (output, "writer/credit") != NULL);
    GL_CHECK_INT (s_daemon (daemons [3], "--http 70000", output, sizeof output), 2);
    GL_CHECK (strstr (output, "ops/http") != NULL);
}

int
main (void)
{
    s_test_table ();
    s_test_check ();
    s_test_shipped ();
    s_test_command_line ();
    s_test_sighup ("broker/gapless-broker", "settings-broker.log",
                   "log\n    level = debug\nbroker\n    stats_ms = 500\n",
                   "key=log/level", "key=broker/stats_ms",
                   "broker\n    stats_ms = soon\n", "key=broker/stats_ms");
    s_test_sighup ("actors/scheduler/gapless-scheduler", "settings-scheduler.log",
                   "log\n    level = debug\nscheduler\n    not_now_ms = 250\n"
                   "    dispatch_ms = 100\n    route\n        1d = \"polygon,yahoo\"\n",
                   "key=scheduler/route/1d", "key=scheduler/dispatch_ms",
                   "scheduler\n    route\n        1d = \"finnhub\"\n    live_shar = 10\n",
                   "key=scheduler/live_shar");
    return gl_test_done ("test_settings");
}
