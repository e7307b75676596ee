/*  gapless-broker — runs the GLP/1 broker until SIGTERM or SIGINT;
    SIGHUP checks the configuration file again. */
#include "gl_actor.h"
#include "gl_broker.h"
#include "gl_log.h"
#include "gl_settings.h"
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t s_stop = 0, s_reload = 0;

static void
s_signal_reload (int signal_number)
{
    (void) signal_number;
    s_reload = 1;
}

//  SIGHUP: the file again; a valid one replaces the running configuration
//  and its log level applies.
static void
s_on_reload (void *argument)
{
    gl_config_t **config_p = (gl_config_t **) argument;
    gl_config_t *fresh = gl_settings_reload (*config_p);
    if (fresh) {
        char error [GL_CONFIG_ERROR_MAX];
        gl_actor_log_level (fresh, error);
        gl_config_destroy (config_p);
        *config_p = fresh;
    }
}

static void
s_signal (int signal_number)
{
    (void) signal_number;
    s_stop = 1;
}

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "Usage: gapless-broker [OPTIONS]\n"
        "Routes GLP/1 messages between gapless actors (see protocol/SPEC.md).\n\n"
        "  -c, --config FILE      ZPL configuration (keys under broker/)\n"
        "  -b, --bind ENDPOINTS   endpoints to bind, comma-separated\n"
        "                         (default tcp://127.0.0.1:5570)\n"
        "      --heartbeat-ms N   heartbeat interval in ms (default 1000)\n"
        "  -h, --help             this help\n\n"
        "Across hosts: broker/curve_secret (the broker's secret certificate, see\n"
        "gapless keygen) and broker/curve_allow (a directory of the public\n"
        "certificates of the actors allowed in) make tcp endpoints that leave this\n"
        "host CURVE; without them such an endpoint is refused unless broker/insecure = 1.\n\n"
        "Environment: GAPLESS_BROKER_BIND, GAPLESS_BROKER_HEARTBEAT_MS and any\n"
        "GAPLESS_BROKER_<KEY> override the file; GAPLESS_LOG_LEVEL sets logging.\n");
}

int
main (int argc, char **argv)
{
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "bind", required_argument, NULL, 'b' },
        { "heartbeat-ms", required_argument, NULL, 'H' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *config_path = NULL, *bind = NULL, *heartbeat = NULL;
    int option;
    while ((option = getopt_long (argc, argv, "c:b:h", options, NULL)) != -1) {
        switch (option) {
            case 'c': config_path = optarg; break;
            case 'b': bind = optarg; break;
            case 'H': heartbeat = optarg; break;
            case 'h': s_usage (stdout); return 0;
            default: s_usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "gapless-broker: unexpected argument '%s'\n", argv [optind]);
        s_usage (stderr);
        return 2;
    }
    gl_log_set_name ("broker");
    char error [GL_CONFIG_ERROR_MAX];
    gl_config_t *config = gl_config_load (config_path, error);
    if (!config) {
        fprintf (stderr, "gapless-broker: %s\n", error);
        return 2;
    }
    if (bind)
        gl_config_set (config, "broker/bind", bind);
    if (heartbeat)
        gl_config_set (config, "broker/heartbeat_ms", heartbeat);
    //  after the flags, as on SIGHUP: a key a flag gives is the flag's
    if (gl_settings_check_start (config, "broker") != 0) {
        gl_config_destroy (&config);
        return 2;
    }
    gl_broker_t *broker = gl_actor_log_level (config, error) == 0? gl_broker_new (config, error)
                                                                 : NULL;
    if (!broker) {
        fprintf (stderr, "gapless-broker: %s\n", error);
        gl_config_destroy (&config);
        return 2;
    }
    //  SIGHUP: every key checked; the log level applies at once, the rest
    //  (endpoints, bounds) at the next start. The CURVE allow list is
    //  re-read whenever its directory changes, without a signal.
    gl_broker_on_reload (broker, &s_reload, s_on_reload, &config);
    struct sigaction action;
    memset (&action, 0, sizeof (action));
    action.sa_handler = s_signal;
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
    action.sa_handler = s_signal_reload;
    sigaction (SIGHUP, &action, NULL);
    gl_log_info ("broker_started", "pid=%d", (int) getpid ());
    int rc = gl_broker_run (broker, &s_stop);
    gl_broker_destroy (&broker);
    gl_config_destroy (&config);
    gl_log_info ("broker_stopped", "clean=%s", rc == 0? "yes": "no");
    return rc == 0? 0: 1;
}
