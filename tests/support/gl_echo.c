/*  gapless-echo — the demo actor: answers every echo message to its
    sender. Used by the set-up check, the broker tests and the benchmark. */
#include "gl_actor.h"
#include "gl_config.h"
#include "gl_log.h"
#include <getopt.h>

//  Sends the echo straight back to the instance that sent it.
static int
s_handle_echo (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    if (gl_actor_send (actor, sender, *message_p) != 0)
        gl_log_warn ("echo_dropped", "sender=%s sequence=%" PRIu64, sender,
                     (*message_p)->echo.sequence);
    return 0;
}

//  Prints the command-line help.
static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "Usage: gapless-echo [OPTIONS]\n"
        "Registers with the broker and answers every echo message to its sender.\n\n"
        "  -c, --config FILE      ZPL configuration (keys under actor/)\n"
        "  -e, --broker ENDPOINT  broker endpoint (default tcp://127.0.0.1:5570)\n"
        "  -s, --service NAME     service to register as (default echo)\n"
        "  -i, --instance ID      instance id (default host:pid)\n"
        "      --credit N         messages held at once (default 100)\n"
        "  -h, --help             this help\n\n"
        "Environment: GAPLESS_ACTOR_BROKER overrides the endpoint.\n");
}

int
main (int argc, char **argv)
{
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "broker", required_argument, NULL, 'e' },
        { "service", required_argument, NULL, 's' },
        { "instance", required_argument, NULL, 'i' },
        { "credit", required_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *config_path = NULL, *broker = NULL, *credit = NULL;
    gl_actor_options_t actor_options = { .service = "echo" };
    int option;
    while ((option = getopt_long (argc, argv, "c:e:s:i:h", options, NULL)) != -1) {
        switch (option) {
            case 'c': config_path = optarg; break;
            case 'e': broker = optarg; break;
            case 's': actor_options.service = optarg; break;
            case 'i': actor_options.instance = optarg; break;
            case 'C': credit = optarg; break;
            case 'h': s_usage (stdout); return 0;
            default: s_usage (stderr); return 2;
        }
    }
    gl_log_set_name ("echo");
    char error [GL_CONFIG_ERROR_MAX];
    gl_config_t *config = gl_config_load (config_path, error);
    if (!config) {
        fprintf (stderr, "gapless-echo: %s\n", error);
        return 2;
    }
    int64_t credit_value, heartbeat_ms;
    if ((broker && gl_config_set (config, "actor/broker", broker) != 0)
     || (credit && gl_config_set (config, "actor/credit", credit) != 0)) {
        fprintf (stderr, "gapless-echo: cannot set the command-line options\n");
        gl_config_destroy (&config);
        return 2;
    }
    if (gl_config_int (config, "actor/credit", 100, 1, 1000000, &credit_value, error)
     || gl_config_int (config, "broker/heartbeat_ms", 1000, 10, 600000, &heartbeat_ms, error)
     || gl_actor_options_configure (&actor_options, config, error)) {
        fprintf (stderr, "gapless-echo: %s\n", error);
        gl_config_destroy (&config);
        return 2;
    }
    actor_options.credit = (uint32_t) credit_value;
    actor_options.heartbeat_ms = (uint32_t) heartbeat_ms;
    gl_actor_t *actor = gl_actor_new (&actor_options);
    if (!actor) {
        gl_config_destroy (&config);
        return 2;
    }
    gl_actor_on (actor, GL_MSG_ECHO, s_handle_echo, NULL);
    //  -1 when another process took this address over: exit non-zero.
    int rc = gl_actor_run (actor);
    gl_actor_destroy (&actor);
    gl_config_destroy (&config);
    return rc == 0? 0: 1;
}
