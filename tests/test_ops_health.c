/*  test_ops_health — /health says what ops cannot reach, with a
    PostgreSQL cluster of its own (stopped and started again here, so no
    other test's database goes away) and a broker of its own:

    - 200 with broker and database reachable;
    - 503 naming the database once the cluster stops, and
      gapless_ops_database_up 0 in /metrics;
    - 200 again once it is back;
    - 503 naming the broker once the broker is killed.
    Waits are conditions with deadlines.
*/
#include "gl_process.h"
#include "gl_simclient.h"
#include "gl_test.h"
#include <czmq.h>

static char s_http [64], s_pg_dir [512], s_pg_script [512];

//  Runs tools/pg.sh with a verb on the test's cluster; returns its status.
static int
s_pg (const char *verb)
{
    char command [2048];
    snprintf (command, sizeof command, "%s %s %s%s >>pg.log 2>&1", s_pg_script, verb,
              strcmp (verb, "start") == 0? "--for-tests ": "", s_pg_dir);
    int status = system (command);
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

//  GET /health: its status, and whether its body holds text.
static long
s_health (const char *text, bool *holds)
{
    gl_simclient_reply_t reply;
    gl_simclient_request ("GET", s_http, "/health", NULL, 2000, &reply);
    long status = reply.status;
    *holds = reply.body && strstr (reply.body, text);
    gl_simclient_reply_free (&reply);
    return status;
}

//  Waits until /health answers status with text in its body.
static bool
s_wait_health (long expected, const char *text)
{
    int64_t deadline = zclock_mono () + 30000;
    bool holds = false;
    long status = 0;
    while (zclock_mono () < deadline) {
        if ((status = s_health (text, &holds)) == expected && holds)
            return true;
        zclock_sleep (50);
    }
    fprintf (stderr, "/health: %ld, expected %ld with \"%s\"\n", status, expected, text);
    return false;
}

//  The metric line's value, or -1.
static double
s_metric (const char *series)
{
    gl_simclient_reply_t reply;
    gl_simclient_request ("GET", s_http, "/metrics", NULL, 2000, &reply);
    char pattern [256];
    snprintf (pattern, sizeof pattern, "\n%s ", series);
    const char *found = reply.body? strstr (reply.body, pattern): NULL;
    double value = found? atof (found + strlen (pattern)): -1;
    gl_simclient_reply_free (&reply);
    return value;
}

int
main (void)
{
    char cwd [256], url [512] = "", broker [64], publish [64], port [16], path [512];
    snprintf (s_pg_script, sizeof s_pg_script, "%s/tools/pg.sh", getenv ("GL_SOURCE_DIR"));
    snprintf (s_pg_dir, sizeof s_pg_dir, "%s/ops_health_pg", getcwd (cwd, sizeof cwd));
    GL_CHECK_INT (s_pg ("start"), 0);
    char url_path [600];
    snprintf (url_path, sizeof url_path, "%s/url", s_pg_dir);
    FILE *file = fopen (url_path, "r");
    if (file) {
        if (fgets (url, sizeof url, file))
            url [strcspn (url, "\n")] = '\0';
        fclose (file);
    }
    GL_CHECK (*url);
    char command [2048];
    snprintf (command, sizeof command, "%s --database '%s' migrate >>pg.log 2>&1",
              gl_process_binary ("tools/cli/gapless", path, sizeof path), url);
    GL_CHECK_INT (system (command), 0);
    int http_port = gl_process_free_port ();
    snprintf (port, sizeof port, "%d", http_port);
    snprintf (s_http, sizeof s_http, "http://127.0.0.1:%d", http_port);
    snprintf (broker, sizeof broker, "tcp://127.0.0.1:%d", gl_process_free_port ());
    snprintf (publish, sizeof publish, "tcp://127.0.0.1:%d", gl_process_free_port ());
    char broker_path [512], ops_path [512];
    char *broker_argv [] = { (char *) gl_process_binary ("broker/gapless-broker", broker_path,
                                                         sizeof broker_path),
                             "--bind", broker, "--heartbeat-ms", "100", NULL };
    pid_t broker_pid = gl_process_start (broker_argv, "health_broker.log");
    setenv ("GAPLESS_BROKER_HEARTBEAT_MS", "100", 1);
    char *ops_argv [] = { (char *) gl_process_binary ("actors/ops/gapless-ops", ops_path,
                                                      sizeof ops_path),
                          "--broker", broker, "--database", url, "--publish", publish,
                          "--http", port, NULL };
    pid_t ops_pid = gl_process_start (ops_argv, "health_ops.log");
    GL_CHECK (s_wait_health (200, "\"status\": \"ok\""));
    GL_CHECK (s_wait_health (200, "\"ops\": 1"));
    //  The database stops: 503, and why
    GL_CHECK_INT (s_pg ("stop"), 0);
    GL_CHECK (s_wait_health (503, "database unreachable"));
    GL_CHECK_INT (s_metric ("gapless_ops_database_up"), 0);
    GL_CHECK_INT (s_metric ("gapless_ops_broker_up"), 1);
    //  Back: 200 again
    GL_CHECK_INT (s_pg ("start"), 0);
    GL_CHECK (s_wait_health (200, "\"database\": true"));
    //  The broker dies: 503, and why
    gl_process_stop (broker_pid, SIGKILL);
    GL_CHECK (s_wait_health (503, "broker unreachable"));
    GL_CHECK_INT (s_metric ("gapless_ops_broker_up"), 0);
    int status = gl_process_stop (ops_pid, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    GL_CHECK_INT (s_pg ("stop"), 0);
    return gl_test_done ("test_ops_health");
}
