/*  test_curve — CURVE between hosts with real processes: gapless keygen
    writes a pair (secret owner-only, never overwritten); a broker with
    CURVE admits an actor whose key is in its allow list, refuses and
    counts one whose key is not (and one without CURVE), and admits it
    once its certificate is copied in, without a restart; a broker or an
    actor on an endpoint other hosts reach without CURVE refuses to start
    unless told insecure, and then warns; ops' publication to other hosts
    reaches allowed CURVE subscribers only, and counts the others.
*/
#include "gl_actor.h"
#include "gl_curve.h"
#include "gl_ops_pub.h"
#include "gl_process.h"
#include "gl_test.h"
#include <sys/stat.h>

static char s_dir [256], s_cli [512], s_broker_path [512];

//  Stops a loop once the actor registered (or when the deadline timer fires).
static int
s_check_registered (zloop_t *loop, int timer_id, void *argument)
{
    gl_actor_t *actor = (gl_actor_t *) argument;
    if (gl_actor_registered (actor))
        gl_actor_stop (actor);
    return 0;
}

static int
s_give_up (zloop_t *loop, int timer_id, void *argument)
{
    gl_actor_stop ((gl_actor_t *) argument);
    return 0;
}

//  Connects an actor (certificate name, or NULL for plain) to the broker;
//  returns how many times it registered within a few seconds.
static uint64_t
s_registrations (const char *endpoint, const char *name)
{
    char secret [512], server [512];
    snprintf (secret, sizeof secret, "%s/%s_secret", s_dir, name? name: "");
    snprintf (server, sizeof server, "%s/broker", s_dir);
    gl_actor_options_t options = { .endpoint = endpoint, .service = "echo",
                                   .instance = name? name: "plain",
                                   .curve_secret = name? secret: NULL,
                                   .curve_server = name? server: NULL };
    gl_actor_t *actor = gl_actor_new (&options);
    GL_CHECK (actor != NULL);
    if (!actor)
        return 0;
    zloop_timer (gl_actor_loop (actor), 20, 0, s_check_registered, actor);
    zloop_timer (gl_actor_loop (actor), 3000, 1, s_give_up, actor);
    gl_actor_run (actor);
    uint64_t registrations = gl_actor_stats (actor).registrations;
    gl_actor_destroy (&actor);
    return registrations;
}

//  keygen: a pair, the secret owner-only, never overwritten.
static void
s_test_keygen (void)
{
    char command [1024], output [2048];
    snprintf (command, sizeof command, "%s keygen broker --dir %s 2>&1", s_cli, s_dir);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 0);
    GL_CHECK (strstr (output, "broker_secret") != NULL);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 1);         //  never overwritten
    GL_CHECK (strstr (output, "exists already") != NULL);
    snprintf (command, sizeof command, "%s keygen --dir %s 2>&1", s_cli, s_dir);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 2);
    snprintf (command, sizeof command, "%s keygen a/b 2>&1", s_cli);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 2);
    char path [512], error [GL_CURVE_ERROR_MAX];
    struct stat info;
    snprintf (path, sizeof path, "%s/broker_secret", s_dir);
    GL_CHECK (stat (path, &info) == 0 && (info.st_mode & 0777) == 0600);
    snprintf (path, sizeof path, "%s/allowed", s_dir);
    GL_CHECK_INT (gl_curve_keygen (path, "allowed", error), 0);
    snprintf (path, sizeof path, "%s/stranger", s_dir);
    GL_CHECK_INT (gl_curve_keygen (path, "stranger", error), 0);
    //  A secret others can read is refused; so is a public file as a secret
    snprintf (path, sizeof path, "%s/stranger_secret", s_dir);
    chmod (path, 0644);
    zcert_t *cert = gl_curve_load_secret (path, error);
    GL_CHECK (cert == NULL && strstr (error, "chmod 600") != NULL);
    chmod (path, 0600);
    cert = gl_curve_load_secret (path, error);
    GL_CHECK (cert != NULL);
    zcert_destroy (&cert);
    //  The allow list holds the allowed actor's public certificate: alone
    //  there, without its _secret, it is no secret certificate
    snprintf (command, sizeof command, "mkdir -p %s/allow && cp %s/allowed %s/allow/", s_dir,
              s_dir, s_dir);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 0);
    snprintf (path, sizeof path, "%s/allow/allowed", s_dir);
    cert = gl_curve_load_secret (path, error);
    GL_CHECK (cert == NULL && strstr (error, "no secret key") != NULL);
}

//  Which endpoints stay on this host.
static void
s_test_local (void)
{
    GL_CHECK (gl_curve_endpoint_local ("ipc:///tmp/x"));
    GL_CHECK (gl_curve_endpoint_local ("inproc://x"));
    GL_CHECK (gl_curve_endpoint_local ("tcp://127.0.0.1:5570"));
    GL_CHECK (gl_curve_endpoint_local ("tcp://localhost:5570"));
    GL_CHECK (gl_curve_endpoint_local ("tcp://[::1]:5570"));
    GL_CHECK (!gl_curve_endpoint_local ("tcp://0.0.0.0:5570"));
    GL_CHECK (!gl_curve_endpoint_local ("tcp://10.0.0.2:5570"));
    GL_CHECK (!gl_curve_endpoint_local ("tcp://127.0.0.1;10.0.0.2:5570"));
    GL_CHECK (!gl_curve_endpoint_local ("tcp://broker-host:5570"));
    GL_CHECK (!gl_curve_endpoint_local (NULL));
}

//  Starts a broker on endpoint with the environment's settings.
static pid_t
s_broker_start (const char *endpoint)
{
    char *argv [] = { s_broker_path, "--bind", (char *) endpoint, NULL };
    return gl_process_start (argv, "curve-broker.log");
}

//  The allow list at work.
static void
s_test_allow_list (void)
{
    int port = gl_process_free_port ();
    char bind [64], endpoint [64], path [512], output [4096], command [1024];
    snprintf (bind, sizeof bind, "tcp://0.0.0.0:%d", port);
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    snprintf (path, sizeof path, "%s/broker_secret", s_dir);
    setenv ("GAPLESS_BROKER_CURVE_SECRET", path, 1);
    snprintf (path, sizeof path, "%s/allow", s_dir);
    setenv ("GAPLESS_BROKER_CURVE_ALLOW", path, 1);
    setenv ("GAPLESS_BROKER_STATS_MS", "200", 1);
    pid_t broker = s_broker_start (bind);
    GL_CHECK (broker > 0);
    GL_CHECK (s_registrations (endpoint, "allowed") >= 1);
    GL_CHECK_INT (s_registrations (endpoint, "stranger"), 0);
    GL_CHECK_INT (s_registrations (endpoint, NULL), 0);               //  no CURVE at all
    //  Allowed without a restart once its certificate is in the list
    snprintf (command, sizeof command, "cp %s/stranger %s/allow/", s_dir, s_dir);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 0);
    GL_CHECK (s_registrations (endpoint, "stranger") >= 1);
    int status = gl_process_stop (broker, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    //  The refusal was logged with the key, and counted
    GL_CHECK_INT (gl_process_run ("grep -c 'event=curve_refused' curve-broker.log", output, sizeof output), 0);
    GL_CHECK (atoi (output) >= 1);
    GL_CHECK_INT (gl_process_run ("grep 'event=broker_stats' curve-broker.log | tail -1 | grep -o"
                           " 'curve_refused=[0-9]*'", output, sizeof output), 0);
    GL_CHECK (atoi (output + strlen ("curve_refused=")) >= 1);
    unsetenv ("GAPLESS_BROKER_CURVE_SECRET");
    unsetenv ("GAPLESS_BROKER_CURVE_ALLOW");
    //  A key of its own the ops test refuses
    snprintf (path, sizeof path, "%s/stranger_only", s_dir);
    char error [GL_CURVE_ERROR_MAX];
    GL_CHECK_INT (gl_curve_keygen (path, "stranger_only", error), 0);
}

//  A SUB socket to endpoint as the named client (NULL: plain), trusting
//  the server certificate named server.
static zsock_t *
s_subscriber (const char *endpoint, const char *name, const char *server)
{
    zsock_t *socket = zsock_new (ZMQ_SUB);
    char secret [512], public [512], error [GL_CURVE_ERROR_MAX];
    snprintf (secret, sizeof secret, "%s/%s_secret", s_dir, name? name: "");
    snprintf (public, sizeof public, "%s/%s", s_dir, server);
    if (socket && name)
        GL_CHECK_INT (gl_curve_client (socket, secret, public, error), 0);
    zsock_set_subscribe (socket, "");
    zsock_connect (socket, "%s", endpoint);
    return socket;
}

//  Messages waiting on a socket, read without blocking.
static int
s_drain (zsock_t *socket)
{
    int count = 0;
    zmsg_t *message;
    while ((message = zmsg_recv_nowait (socket))) {
        zmsg_destroy (&message);
        count++;
    }
    return count;
}

//  ops' publication from other hosts: CURVE subscribers whose key is in
//  the allow list hear it, others do not and are counted; plain only when
//  insecure.
static void
s_test_ops_publish (void)
{
    char path [512], error [GL_CURVE_ERROR_MAX], command [1024], output [256];
    snprintf (path, sizeof path, "%s/ops", s_dir);
    GL_CHECK_INT (gl_curve_keygen (path, "ops", error), 0);
    snprintf (command, sizeof command, "mkdir -p %s/subscribers && cp %s/allowed %s/subscribers/",
              s_dir, s_dir, s_dir);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 0);
    char secret [512], allow [512], bind [64], endpoint [64];
    snprintf (secret, sizeof secret, "%s/ops_secret", s_dir);
    snprintf (allow, sizeof allow, "%s/subscribers", s_dir);
    int port = gl_process_free_port ();
    snprintf (bind, sizeof bind, "tcp://0.0.0.0:%d", port);
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    zloop_t *loop = zloop_new ();
    GL_CHECK (gl_ops_pub_new (bind, 100, loop, NULL, NULL, NULL) == NULL);     //  needs CURVE
    gl_ops_pub_security_t security = { .curve_secret = secret, .curve_allow = allow };
    gl_ops_pub_t *pub = gl_ops_pub_new (bind, 100, loop, &security, NULL, NULL);
    GL_CHECK (pub != NULL);
    zsock_t *allowed = s_subscriber (endpoint, "allowed", "ops");
    zsock_t *stranger = s_subscriber (endpoint, "stranger_only", "ops");
    zsock_t *plain = s_subscriber (endpoint, NULL, "ops");
    int heard [3] = { 0, 0, 0 };
    for (int round = 0; pub && round < 100 && (heard [0] == 0 || round < 40); round++) {
        gl_ops_pub_send_encoded (pub, "test", "\x80", 1);
        zclock_sleep (25);
        heard [0] += s_drain (allowed);
        heard [1] += s_drain (stranger);
        heard [2] += s_drain (plain);
    }
    GL_CHECK (heard [0] > 0);
    GL_CHECK_INT (heard [1], 0);
    GL_CHECK_INT (heard [2], 0);
    GL_CHECK (pub && gl_ops_pub_refused (pub) >= 1);
    zsock_destroy (&allowed);
    zsock_destroy (&stranger);
    zsock_destroy (&plain);
    gl_ops_pub_destroy (&pub);
    gl_ops_pub_security_t insecure = { .insecure = true };
    pub = gl_ops_pub_new (bind, 100, loop, &insecure, NULL, NULL);
    GL_CHECK (pub != NULL);
    gl_ops_pub_destroy (&pub);
    zloop_destroy (&loop);
}

//  Plain tcp to other hosts only when told insecure.
static void
s_test_insecure (void)
{
    char command [1024], output [4096];
    snprintf (command, sizeof command, "%s --bind tcp://0.0.0.0:%d 2>&1", s_broker_path,
              gl_process_free_port ());
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 2);
    GL_CHECK (strstr (output, "needs CURVE") != NULL);
    char bind [64];
    snprintf (bind, sizeof bind, "tcp://0.0.0.0:%d", gl_process_free_port ());
    setenv ("GAPLESS_BROKER_INSECURE", "1", 1);
    pid_t broker = s_broker_start (bind);
    zclock_sleep (300);
    int status = gl_process_stop (broker, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    unsetenv ("GAPLESS_BROKER_INSECURE");
    GL_CHECK_INT (gl_process_run ("grep -c 'WARNING: insecure' curve-broker.log", output, sizeof output), 0);
    //  An actor the same way
    gl_actor_options_t options = { .endpoint = "tcp://192.0.2.1:5570", .service = "echo" };
    gl_actor_t *actor = gl_actor_new (&options);
    GL_CHECK (actor == NULL);
    options.insecure = true;
    actor = gl_actor_new (&options);
    GL_CHECK (actor != NULL);
    gl_actor_destroy (&actor);
    //  Half a CURVE configuration is an error, not plain tcp
    options.insecure = false;
    options.curve_secret = "/nonexistent_secret";
    actor = gl_actor_new (&options);
    GL_CHECK (actor == NULL);
}

int
main (void)
{
    snprintf (s_dir, sizeof s_dir, "curve-certs");
    char command [600], output [256];
    snprintf (command, sizeof command, "rm -rf %s curve-broker.log && mkdir -p %s", s_dir, s_dir);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 0);
    gl_process_binary ("tools/cli/gapless", s_cli, sizeof s_cli);
    gl_process_binary ("broker/gapless-broker", s_broker_path, sizeof s_broker_path);
    s_test_local ();
    s_test_keygen ();
    s_test_allow_list ();
    s_test_insecure ();
    s_test_ops_publish ();
    return gl_test_done ("test_curve");
}
