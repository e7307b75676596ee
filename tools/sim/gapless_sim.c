/*  gapless-sim — the simulated market-data providers, as one process.

    Usage: gapless-sim [--config FILE] [--seed N] [--help]
    Prints one "listening provider=<name> url=<url>" line per listener on
    stdout, then serves until SIGTERM or SIGINT.
*/
#include "gl_sim.h"
#include "gl_log.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

//  Prints the usage text.
static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: gapless-sim [--config FILE] [--seed N] [--help]\n"
        "  --config FILE  ZPL configuration (see config/sim.cfg); default: ephemeral\n"
        "                 ports, no keys, no limits, no faults\n"
        "  --seed N       seed of the fault PRNG (overrides sim/seed)\n"
        "Prints 'listening provider=<name> url=<url>' per listener, serves until\n"
        "SIGTERM/SIGINT. Admin: GET /admin/ping, GET /admin/audit, POST /admin/reset,\n"
        "GET|POST /admin/faults?provider=<name|all>&<setting>=<value>.\n");
}

int
main (int argc, char *argv [])
{
    gl_log_set_name ("sim");
    const char *config = NULL, *seed = NULL;
    for (int index = 1; index < argc; index++) {
        if (strcmp (argv [index], "--help") == 0) {
            s_usage (stdout);
            return 0;
        }
        if (strcmp (argv [index], "--config") == 0 && index + 1 < argc)
            config = argv [++index];
        else
        if (strcmp (argv [index], "--seed") == 0 && index + 1 < argc)
            seed = argv [++index];
        else {
            gl_log_error ("bad_argument", "argument=%s expected=\"--config FILE, --seed N or --help\"",
                          GL_LOG_VALUE (argv [index]));
            s_usage (stderr);
            return 2;
        }
    }
    //  Block the stop signals in every thread; main waits for them.
    sigset_t stops;
    sigemptyset (&stops);
    sigaddset (&stops, SIGTERM);
    sigaddset (&stops, SIGINT);
    pthread_sigmask (SIG_BLOCK, &stops, NULL);
    signal (SIGPIPE, SIG_IGN);

    gl_sim_t *sim = gl_sim_new (config, seed);
    if (!sim)
        return 2;
    if (gl_sim_start (sim, stdout) != 0) {
        gl_sim_destroy (&sim);
        return 1;
    }
    int received = 0;
    sigwait (&stops, &received);
    gl_log_info ("stopping", "signal=%d", received);
    gl_sim_destroy (&sim);
    return 0;
}
