/*  gl_ops_pub — XPUB with subscription callbacks and a subscriber count.  */
#include "gl_ops_pub.h"
#include "gl_curve.h"
#include "gl_log.h"

struct _gl_ops_pub_t {
    zsock_t *socket;
    zactor_t *monitor;
    zloop_t *loop;
    gl_ops_pub_subscribe_fn *subscribe;
    void *argument;
    uint64_t sent, dropped;
    int64_t subscribers;
    gl_curve_guard_t *guard;        //  CURVE subscribers' allow list, or NULL
};

//  zloop: a subscription or unsubscription from a subscriber.
static int
s_on_subscription (zloop_t *loop, zsock_t *socket, void *argument)
{
    gl_ops_pub_t *self = (gl_ops_pub_t *) argument;
    zframe_t *frame = zframe_recv (socket);
    if (!frame)
        return 0;
    size_t size = zframe_size (frame);
    const char *data = (const char *) zframe_data (frame);
    if (size >= 1 && data [0] == 1 && self->subscribe) {
        char prefix [256];
        snprintf (prefix, sizeof prefix, "%.*s", (int) (size - 1 < 255? size - 1: 255), data + 1);
        self->subscribe (self, prefix, self->argument);
    }
    zframe_destroy (&frame);
    return 0;
}

//  zloop: a connection event from the socket monitor.
static int
s_on_monitor (zloop_t *loop, zsock_t *socket, void *argument)
{
    gl_ops_pub_t *self = (gl_ops_pub_t *) argument;
    zmsg_t *event = zmsg_recv (socket);
    char *name = event? zmsg_popstr (event): NULL;
    if (name && strcmp (name, "ACCEPTED") == 0)
        self->subscribers++;
    else
    if (name && strcmp (name, "DISCONNECTED") == 0 && self->subscribers > 0)
        self->subscribers--;
    zstr_free (&name);
    zmsg_destroy (&event);
    return 0;
}

//  Makes the socket a CURVE server for an endpoint that leaves this host,
//  or accepts it plain when told insecure, or refuses. Returns 0 or -1.
static int
s_secure (gl_ops_pub_t *self, const char *endpoint, const gl_ops_pub_security_t *security)
{
    if (gl_curve_endpoint_local (endpoint))
        return 0;
    char error [GL_CURVE_ERROR_MAX] = "";
    if (security && security->curve_secret && security->curve_allow) {
        self->guard = gl_curve_guard_new (zsys_init (), security->curve_allow, error);
        if (self->guard && gl_curve_server (self->socket, security->curve_secret, error) == 0)
            return 0;
    }
    else
    if (security && security->insecure) {
        gl_log_warn ("publish_insecure", "endpoint=%s reason=\"ops/insecure = 1: subscribers"
                     " from other hosts are neither authenticated nor encrypted\"", endpoint);
        return 0;
    }
    else
        snprintf (error, sizeof error, "an endpoint other hosts can reach needs CURVE"
                  " (ops/curve_secret and ops/curve_allow) or ops/insecure = 1");
    gl_log_error ("publish_not_bound", "endpoint=%s reason=%s", endpoint, GL_LOG_VALUE (error));
    return -1;
}

gl_ops_pub_t *
gl_ops_pub_new (const char *endpoint, int hwm, zloop_t *loop,
                const gl_ops_pub_security_t *security, gl_ops_pub_subscribe_fn *subscribe,
                void *argument)
{
    gl_ops_pub_t *self = (gl_ops_pub_t *) zmalloc (sizeof (gl_ops_pub_t));
    if (!self)
        return NULL;
    self->loop = loop;
    self->subscribe = subscribe;
    self->argument = argument;
    self->socket = zsock_new (ZMQ_XPUB);
    if (self->socket) {
        zsock_set_sndhwm (self->socket, hwm);
        zsock_set_xpub_verbose (self->socket, 1);
        zsock_set_xpub_nodrop (self->socket, 1);
        zsock_set_linger (self->socket, 0);
        self->monitor = zactor_new (zmonitor, self->socket);
    }
    if (self->monitor) {
        zstr_sendx (self->monitor, "LISTEN", "ACCEPTED", "DISCONNECTED", NULL);
        zstr_sendx (self->monitor, "START", NULL);
        zsock_wait (self->monitor);
    }
    if (self->monitor && s_secure (self, endpoint, security) != 0) {
        gl_ops_pub_destroy (&self);
        return NULL;
    }
    if (!self->monitor || zsock_bind (self->socket, "%s", endpoint) == -1) {
        gl_log_error ("publish_not_bound", "endpoint=%s reason=\"%s\"", endpoint,
                      zmq_strerror (zmq_errno ()));
        gl_ops_pub_destroy (&self);
        return NULL;
    }
    zloop_reader (loop, self->socket, s_on_subscription, self);
    zloop_reader (loop, (zsock_t *) zactor_sock (self->monitor), s_on_monitor, self);
    return self;
}

void
gl_ops_pub_destroy (gl_ops_pub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_ops_pub_t *self = *self_p;
    if (self->loop && self->socket)
        zloop_reader_end (self->loop, self->socket);
    if (self->loop && self->monitor)
        zloop_reader_end (self->loop, (zsock_t *) zactor_sock (self->monitor));
    zactor_destroy (&self->monitor);
    zsock_destroy (&self->socket);
    gl_curve_guard_destroy (&self->guard);
    free (self);
    *self_p = NULL;
}

uint64_t
gl_ops_pub_refused (gl_ops_pub_t *self)
{
    return gl_curve_guard_refused (self->guard);
}

int
gl_ops_pub_send_encoded (gl_ops_pub_t *self, const char *topic, const char *data, size_t size)
{
    void *handle = zsock_resolve (self->socket);
    if (zmq_send (handle, topic, strlen (topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        self->dropped++;
        return -1;
    }
    //  Once the first frame is taken the second is too (ZeroMQ sends
    //  multipart messages whole).
    zmq_send (handle, data, size, ZMQ_DONTWAIT);
    self->sent++;
    return 0;
}

int
gl_ops_pub_send (gl_ops_pub_t *self, const char *topic, const gl_ops_map_t *map)
{
    char *data = NULL;
    size_t size = 0;
    if (gl_ops_map_encode (map, &data, &size) != 0) {
        self->dropped++;
        return -1;
    }
    int rc = gl_ops_pub_send_encoded (self, topic, data, size);
    free (data);
    return rc;
}

uint64_t
gl_ops_pub_sent (gl_ops_pub_t *self)
{
    return self->sent;
}

uint64_t
gl_ops_pub_dropped (gl_ops_pub_t *self)
{
    return self->dropped;
}

int64_t
gl_ops_pub_subscribers (gl_ops_pub_t *self)
{
    return self->subscribers;
}
