/*  gl_client — one request, one reply, over the broker.  */
#include "gl_client.h"
#include "gl_actor.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    gl_actor_t *actor;
    const char *service;
    gl_msg_t *request;
    gl_msg_t *reply;
    char request_id [GL_MSG_NAME_MAX + 1];
    bool registered, sent;
    char error [256];
} s_call_t;

//  The request's request_id field.
static char *
s_request_id (gl_msg_t *request)
{
    if (request->type == GL_MSG_ENQUEUE)
        return request->enqueue.request_id;
    return request->type == GL_MSG_GAPS? request->gaps.request_id: request->command.request_id;
}

//  Registered: sends the request (once).
static void
s_on_connection (gl_actor_t *actor, bool registered, void *argument)
{
    s_call_t *call = (s_call_t *) argument;
    call->registered |= registered;
    if (!registered || call->sent)
        return;
    if (gl_actor_send (actor, call->service, call->request) != 0) {
        snprintf (call->error, sizeof call->error, "the request could not be sent");
        gl_actor_stop (actor);
    }
    call->sent = true;
}

//  The reply to our request ends the call; any other is a late answer.
static int
s_handle_reply (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    s_call_t *call = (s_call_t *) argument;
    if (strcmp ((*message_p)->reply.request_id, call->request_id) != 0)
        return 0;
    call->reply = *message_p;
    *message_p = NULL;
    gl_actor_stop (actor);
    return 0;
}

//  The broker could not deliver the request.
static void
s_on_bounce (gl_actor_t *actor, const char *destination, gl_msg_t *message, const char *code,
             const char *text, void *argument)
{
    s_call_t *call = (s_call_t *) argument;
    if (strcmp (code, "not_registered") == 0) {
        call->sent = false;             //  sent again once registered anew
        return;
    }
    snprintf (call->error, sizeof call->error, "the broker could not deliver the request to %s:"
              " %s (%.120s)", destination, code, text);
    gl_actor_stop (actor);
}

//  zloop: the time is up.
static int
s_on_timeout (zloop_t *loop, int timer_id, void *argument)
{
    s_call_t *call = (s_call_t *) argument;
    gl_actor_stop (call->actor);
    return 0;
}

//  Sends the request and waits for its reply.
gl_msg_t *
gl_client_request (const char *endpoint, const char *service, gl_msg_t *request,
                   int64_t timeout_ms, char *error)
{
    static uint64_t sequence = 0;
    char host [32] = "host", instance [41];
    gethostname (host, sizeof host - 1);
    for (char *cursor = host; *cursor; cursor++)
        if (!strchr ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-", *cursor))
            *cursor = '-';
    snprintf (instance, sizeof instance, "cli-%.24s-%d", host, (int) getpid ());
    s_call_t call = { .service = service, .request = request };
    snprintf (call.request_id, sizeof call.request_id, "%s:%" PRIu64, instance, ++sequence);
    snprintf (s_request_id (request), GL_MSG_NAME_MAX + 1, "%s", call.request_id);
    gl_actor_options_t options = { .service = "cli", .instance = instance, .credit = 4 };
    //  CURVE to a broker on another host: GAPLESS_ACTOR_CURVE_SECRET and
    //  GAPLESS_ACTOR_CURVE_SERVER (or GAPLESS_ACTOR_INSECURE=1)
    char reason [GL_CONFIG_ERROR_MAX] = "";
    gl_config_t *config = gl_config_load (NULL, reason);
    if (!config || gl_actor_options_configure (&options, config, reason) != 0) {
        snprintf (error, 256, "%.255s", reason);
        gl_config_destroy (&config);
        return NULL;
    }
    options.endpoint = endpoint;
    call.actor = gl_actor_new (&options);
    gl_config_destroy (&config);
    if (!call.actor) {
        snprintf (error, 256, "cannot use the broker endpoint %s", endpoint);
        return NULL;
    }
    gl_actor_on (call.actor, GL_MSG_REPLY, s_handle_reply, &call);
    gl_actor_on_connection (call.actor, s_on_connection, &call);
    gl_actor_on_bounce (call.actor, s_on_bounce, &call);
    zloop_timer (gl_actor_loop (call.actor), (size_t) timeout_ms, 1, s_on_timeout, &call);
    gl_actor_run (call.actor);
    gl_actor_destroy (&call.actor);
    if (!call.reply) {
        if (*call.error)
            snprintf (error, 256, "%s", call.error);
        else
        if (!call.registered)
            snprintf (error, 256, "no answer from the broker at %s within %" PRId64 " ms"
                      " (is gapless-broker running there?)", endpoint, timeout_ms);
        else
            snprintf (error, 256, "no reply from %s within %" PRId64 " ms (is it running?)",
                      service, timeout_ms);
    }
    return call.reply;
}
