/*  gl_broker — the GLP/1 broker.

    The hot path is SEND → DELIVER: the body frame is moved from the
    incoming zmq_msg_t to the outgoing one without a copy, the broker never
    decodes it. Only READY and CREDIT bodies are decoded.

    Ownership: an instance_t belongs to the peers table (keyed by its
    routing id's bytes, which the instance holds); the instances table and
    its service's lists only refer to it.
    A queued_t belongs to the one queue that holds it.
*/
#include "gl_broker.h"
#include "gl_log.h"
#include "gl_msg.h"
#include "gl_wire.h"
#include <czmq.h>
#include <zmq.h>

#define S_MAX_FRAMES 4          //  routing id, header, address, body
#define S_LIVENESS 3            //  missed heartbeats before death
#define S_BATCH 1024            //  messages read per poll wake-up
#define S_CONTROL_HWM 100000    //  send HWM headroom for control traffic

typedef struct _service_t service_t;
typedef struct _instance_t instance_t;

//  A ZeroMQ routing id (1 to 255 bytes): the peers table's key.
typedef struct {
    size_t size;
    uint8_t data [255];
} routing_id_t;

//  A message waiting for credit.
typedef struct {
    zmq_msg_t body;
    char *sender;               //  sender's address, for DELIVER and BOUNCE
    char *destination;          //  the address it was sent to
} queued_t;

//  Where a sender's last destination address leads. Actors tend to send to
//  the same address again and again (fetcher to writer), so remembering it
//  spares parsing and looking up the address on every SEND. Valid while
//  generation equals the broker's, which moves whenever an instance or a
//  service is forgotten (the pointers here may then dangle).
typedef struct {
    char address [GL_WIRE_ADDRESS_MAX + 1];
    size_t size;
    service_t *service;
    instance_t *instance;       //  NULL: any instance of the service
    uint64_t generation;        //  0: nothing remembered
} route_t;

struct _service_t {
    char *name;
    zlistx_t *instances;        //  every live instance
    zlistx_t *ready;            //  instances with credit, least recently used first
    zlistx_t *queue;            //  queued_t for any instance, oldest first
};

struct _instance_t {
    routing_id_t routing_id;    //  the peers table's key
    char *address;              //  "service/instance"
    service_t *service;
    uint32_t credit;
    void *ready_handle;         //  handle in service->ready, or NULL
    zlistx_t *queue;            //  queued_t for this instance alone
    route_t route;              //  where its last SEND went
    int64_t last_seen, last_sent;
};

struct _gl_broker_t {
    void *context;
    void *router;
    char id [GL_WIRE_NAME_MAX + 1];
    zhashx_t *peers;            //  routing id -> instance_t (owner)
    zhashx_t *instances;        //  address -> instance_t
    zhashx_t *services;         //  name -> service_t (owner)
    size_t queue_size, queue_limit;
    uint64_t generation;        //  moves when an instance or service is forgotten
    int64_t heartbeat_ms, stats_ms, credit_limit, max_body;
    int64_t now, next_heartbeat, next_stats;
    gl_broker_stats_t stats;
};

static void s_instance_remove (gl_broker_t *self, instance_t *instance, const char *reason);

//  --------------------------------------------------------------------------
//  Queued messages

//  Creates a queued message, taking the body's content.
static queued_t *
s_queued_new (zmq_msg_t *body, const char *sender, const char *destination)
{
    queued_t *self = (queued_t *) zmalloc (sizeof (queued_t));
    zmq_msg_init (&self->body);
    zmq_msg_move (&self->body, body);
    self->sender = strdup (sender);
    self->destination = strdup (destination);
    return self;
}

static void
s_queued_destroy (queued_t **self_p)
{
    if (*self_p) {
        queued_t *self = *self_p;
        zmq_msg_close (&self->body);
        free (self->sender);
        free (self->destination);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Sending

//  Hex form of a routing id, to name a peer that has not registered.
static const char *
s_routing_id_hex (const routing_id_t *routing_id, char *hex)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t index = 0; index < routing_id->size; index++) {
        hex [2 * index] = digits [routing_id->data [index] >> 4];
        hex [2 * index + 1] = digits [routing_id->data [index] & 15];
    }
    hex [2 * routing_id->size] = '\0';
    return hex;
}

//  FNV-1a over a routing id's bytes: the peers table's hash. Hashing the
//  raw bytes spares a hex conversion on every message received.
static size_t
s_routing_id_hash (const void *key)
{
    const routing_id_t *routing_id = (const routing_id_t *) key;
    uint64_t hash = 14695981039346656037ULL;
    for (size_t index = 0; index < routing_id->size; index++)
        hash = (hash ^ routing_id->data [index]) * 1099511628211ULL;
    return (size_t) hash;
}

//  Compares two routing ids (the peers table's comparator).
static int
s_routing_id_compare (const void *left, const void *right)
{
    const routing_id_t *first = (const routing_id_t *) left;
    const routing_id_t *second = (const routing_id_t *) right;
    if (first->size != second->size)
        return first->size < second->size? -1: 1;
    return memcmp (first->data, second->data, first->size);
}

//  Sends routing id + header + up to three frames (the last as a zmq_msg_t
//  whose content moves, when given). Returns 0, or the errno of a failed
//  first send (EHOSTUNREACH, EAGAIN): nothing was sent then.
static int
s_send (gl_broker_t *self, const routing_id_t *routing_id, gl_wire_command_t command,
        const char *first, const void *second, size_t second_size, zmq_msg_t *last)
{
    uint8_t header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (header, command);
    bool more = first || second || last;
    if (zmq_send (self->router, routing_id->data, routing_id->size,
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
        return zmq_errno ();
    //  After the first frame ZeroMQ has accepted the whole message.
    zmq_send (self->router, header, sizeof (header), more? ZMQ_SNDMORE: 0);
    if (first)
        zmq_send (self->router, first, strlen (first), (second || last)? ZMQ_SNDMORE: 0);
    if (second)
        zmq_send (self->router, second, second_size, last? ZMQ_SNDMORE: 0);
    if (last)
        zmq_msg_send (last, self->router, 0);
    return 0;
}

//  Sends a command with an encoded body to a peer. Control traffic: a
//  failure is counted, never retried.
static void
s_send_body (gl_broker_t *self, const routing_id_t *routing_id, gl_wire_command_t command,
             const gl_msg_t *message)
{
    char error [GL_MSG_ERROR_MAX];
    char *data = NULL;
    size_t size = 0;
    if (gl_msg_encode (message, &data, &size, error) != 0) {
        gl_log_error ("encode_failed", "command=%s reason=\"%s\"",
                      gl_wire_command_name (command), error);
        return;
    }
    int rc = s_send (self, routing_id, command, NULL, data, size, NULL);
    if (rc == EHOSTUNREACH)
        self->stats.unreachable++;
    else
    if (rc == EAGAIN)
        self->stats.blocked++;
    free (data);
}

//  Sends ERROR with a code and text to a peer.
static void
s_send_error (gl_broker_t *self, const routing_id_t *routing_id, const char *code,
              const char *text)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_ERROR);
    if (!message)
        return;
    snprintf (message->error.code, sizeof (message->error.code), "%s", code);
    snprintf (message->error.text, sizeof (message->error.text), "%s", text);
    s_send_body (self, routing_id, GL_WIRE_ERROR, message);
    gl_msg_destroy (&message);
}

//  Returns a message to its sender with a reason; empties the body.
static void
s_bounce (gl_broker_t *self, const char *sender, const char *destination,
          zmq_msg_t *body, const char *code, const char *text)
{
    instance_t *instance = (instance_t *) zhashx_lookup (self->instances, sender);
    gl_msg_t *error = gl_msg_new (GL_MSG_ERROR);
    char *data = NULL;
    size_t size = 0;
    char reason [GL_MSG_ERROR_MAX];
    int rc = -1;
    if (instance && error) {
        snprintf (error->error.code, sizeof (error->error.code), "%s", code);
        snprintf (error->error.text, sizeof (error->error.text), "%s", text);
        if (gl_msg_encode (error, &data, &size, reason) == 0) {
            //  BOUNCE's frames: destination, body, error; s_send puts the
            //  zmq_msg_t last, so the body is copied here (a rare path).
            zmq_msg_t error_frame;
            zmq_msg_init_size (&error_frame, size);
            memcpy (zmq_msg_data (&error_frame), data, size);
            uint8_t header [GL_WIRE_HEADER_SIZE];
            gl_wire_header (header, GL_WIRE_BOUNCE);
            rc = zmq_send (self->router, instance->routing_id.data, instance->routing_id.size,
                           ZMQ_SNDMORE | ZMQ_DONTWAIT);
            if (rc != -1) {
                zmq_send (self->router, header, sizeof (header), ZMQ_SNDMORE);
                zmq_send (self->router, destination, strlen (destination), ZMQ_SNDMORE);
                zmq_msg_send (body, self->router, ZMQ_SNDMORE);
                zmq_msg_send (&error_frame, self->router, 0);
                instance->last_sent = self->now;
                rc = 0;
            }
            zmq_msg_close (&error_frame);
        }
    }
    if (rc == 0)
        self->stats.bounced++;
    else {
        self->stats.unbounceable++;
        gl_log_warn ("bounce_lost", "sender=%s destination=%s code=%s", sender,
                     destination, code);
    }
    free (data);
    gl_msg_destroy (&error);
    //  The caller's frame is reused for the next receive: leave it empty
    //  and valid.
    zmq_msg_close (body);
    zmq_msg_init (body);
}

//  --------------------------------------------------------------------------
//  Services and instances

//  Finds a service, creating it when create is true.
static service_t *
s_service_require (gl_broker_t *self, const char *name, bool create)
{
    service_t *service = (service_t *) zhashx_lookup (self->services, name);
    if (!service && create) {
        service = (service_t *) zmalloc (sizeof (service_t));
        service->name = strdup (name);
        service->instances = zlistx_new ();
        service->ready = zlistx_new ();
        service->queue = zlistx_new ();
        zhashx_insert (self->services, name, service);
    }
    return service;
}

//  Destroys a service (the services table's destructor).
static void
s_service_destroy (service_t **self_p)
{
    if (*self_p) {
        service_t *self = *self_p;
        queued_t *queued;
        while ((queued = (queued_t *) zlistx_detach (self->queue, NULL)))
            s_queued_destroy (&queued);
        zlistx_destroy (&self->queue);
        zlistx_destroy (&self->ready);
        zlistx_destroy (&self->instances);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

//  Forgets services that have neither instances nor queued messages, so
//  unknown names sent by peers cannot grow the table for ever. Runs from
//  the heartbeat sweep only, so a service outlives every handler that
//  holds a pointer to it.
static void
s_services_release (gl_broker_t *self)
{
    zlistx_t *empty = zlistx_new ();
    service_t *service = (service_t *) zhashx_first (self->services);
    while (service) {
        if (zlistx_size (service->instances) == 0 && zlistx_size (service->queue) == 0)
            zlistx_add_end (empty, service->name);
        service = (service_t *) zhashx_next (self->services);
    }
    if (zlistx_size (empty))
        self->generation++;     //  remembered routes may point at these
    const char *name;
    while ((name = (const char *) zlistx_detach (empty, NULL)))
        zhashx_delete (self->services, name);
    zlistx_destroy (&empty);
}

//  Destroys an instance (the peers table's destructor).
static void
s_instance_destroy (instance_t **self_p)
{
    if (*self_p) {
        instance_t *self = *self_p;
        queued_t *queued;
        while ((queued = (queued_t *) zlistx_detach (self->queue, NULL)))
            s_queued_destroy (&queued);
        zlistx_destroy (&self->queue);
        free (self->address);
        free (self);
        *self_p = NULL;
    }
}

//  Sends MEMBERSHIP for a change in a service to every registered instance.
static void
s_announce (gl_broker_t *self, service_t *service, const char *instance_address,
            const char *event)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_MEMBERSHIP);
    if (!message)
        return;
    const char *instance_id = strchr (instance_address, '/') + 1;
    snprintf (message->membership.service, sizeof (message->membership.service), "%s",
              service->name);
    snprintf (message->membership.instance, sizeof (message->membership.instance), "%s",
              instance_id);
    snprintf (message->membership.event, sizeof (message->membership.event), "%s", event);
    instance_t *member = (instance_t *) zlistx_first (service->instances);
    while (member) {
        gl_msg_add_member (message, strchr (member->address, '/') + 1);
        member = (instance_t *) zlistx_next (service->instances);
    }
    instance_t *peer = (instance_t *) zhashx_first (self->peers);
    while (peer) {
        s_send_body (self, &peer->routing_id, GL_WIRE_MEMBERSHIP, message);
        peer->last_sent = self->now;
        peer = (instance_t *) zhashx_next (self->peers);
    }
    gl_msg_destroy (&message);
}

//  Takes one credit from an instance and keeps the ready list in order.
static void
s_instance_spend (instance_t *instance)
{
    instance->credit--;
    if (instance->credit == 0) {
        zlistx_detach (instance->service->ready, instance->ready_handle);
        instance->ready_handle = NULL;
    }
    else
        zlistx_move_end (instance->service->ready, instance->ready_handle);
}

//  Delivers a body to an instance that has credit. Returns 0 (the body was
//  handed over), or the errno of the failed send with the body untouched.
static int
s_deliver (gl_broker_t *self, instance_t *instance, const char *sender, zmq_msg_t *body)
{
    int rc = s_send (self, &instance->routing_id, GL_WIRE_DELIVER, sender, NULL, 0, body);
    if (rc == 0) {
        s_instance_spend (instance);
        instance->last_sent = self->now;
        self->stats.delivered++;
    }
    else
    if (rc == EHOSTUNREACH)
        self->stats.unreachable++;
    else
        self->stats.blocked++;
    return rc;
}

//  Sends queued messages while the instance has credit: its own first,
//  then its service's. Returns 0, or -1 if a send was blocked at a
//  high-water mark (the message stays at the head of its queue). An
//  instance found unreachable is removed, and 0 returned.
static int
s_dispatch (gl_broker_t *self, instance_t *instance)
{
    while (instance->credit > 0) {
        zlistx_t *queue = zlistx_size (instance->queue)? instance->queue: instance->service->queue;
        queued_t *queued = (queued_t *) zlistx_first (queue);
        if (!queued)
            return 0;
        int rc = s_deliver (self, instance, queued->sender, &queued->body);
        if (rc == EHOSTUNREACH) {
            s_instance_remove (self, instance, "unreachable");
            return 0;
        }
        if (rc != 0)
            return -1;
        zlistx_detach (queue, NULL);
        self->queue_size--;
        s_queued_destroy (&queued);
    }
    return 0;
}

//  Sends a service's queued messages to its instances with credit.
static void
s_dispatch_service (gl_broker_t *self, service_t *service)
{
    instance_t *instance;
    while (zlistx_size (service->queue)
       && (instance = (instance_t *) zlistx_first (service->ready)))
        if (s_dispatch (self, instance) != 0)
            return;             //  blocked: the heartbeat sweep retries
}

//  Forgets an instance: its own queued messages go back to their senders,
//  the others of its service learn it left.
static void
s_instance_remove (gl_broker_t *self, instance_t *instance, const char *reason)
{
    service_t *service = instance->service;
    gl_log_info ("instance_removed", "address=%s reason=%s", instance->address, reason);
    self->stats.deaths++;
    self->generation++;         //  remembered routes may point at it
    queued_t *queued;
    while ((queued = (queued_t *) zlistx_detach (instance->queue, NULL))) {
        self->queue_size--;
        s_bounce (self, queued->sender, queued->destination, &queued->body,
                  "instance_dead", "the instance died with this message queued for it");
        s_queued_destroy (&queued);
    }
    if (instance->ready_handle)
        zlistx_detach (service->ready, instance->ready_handle);
    void *handle = zlistx_find (service->instances, instance);
    if (handle)
        zlistx_detach (service->instances, handle);
    zhashx_delete (self->instances, instance->address);
    char *address = strdup (instance->address);
    zhashx_delete (self->peers, &instance->routing_id);     //  destroys the instance
    s_announce (self, service, address, "left");
    free (address);
}

//  Adds credit to an instance and delivers what waits for it.
static void
s_instance_credit (gl_broker_t *self, instance_t *instance, uint32_t credit)
{
    uint64_t total = (uint64_t) instance->credit + credit;
    instance->credit = total > (uint64_t) self->credit_limit? (uint32_t) self->credit_limit
                                                             : (uint32_t) total;
    if (instance->credit > 0 && !instance->ready_handle)
        instance->ready_handle = zlistx_add_end (instance->service->ready, instance);
    service_t *service = instance->service;
    if (s_dispatch (self, instance) == 0)
        s_dispatch_service (self, service);
}

//  --------------------------------------------------------------------------
//  Command handlers

//  Decodes a control body of the expected type, or answers ERROR.
static gl_msg_t *
s_decode_control (gl_broker_t *self, const char *peer, const routing_id_t *routing_id,
                  zmq_msg_t *frame, gl_msg_type_t expected)
{
    char error [GL_MSG_ERROR_MAX];
    gl_msg_t *message = gl_msg_decode (zmq_msg_data (frame), zmq_msg_size (frame), error);
    if (message && message->type != expected) {
        snprintf (error, sizeof (error), "expected a %s body, got %s",
                  gl_msg_type_name (expected), gl_msg_type_name (message->type));
        gl_msg_destroy (&message);
    }
    if (!message) {
        self->stats.rejected++;
        gl_log_warn ("frame_rejected", "peer=%s reason=\"%s\"", peer, error);
        s_send_error (self, routing_id, "malformed", error);
    }
    return message;
}

//  READY: registers (or re-registers) an instance and welcomes it.
static void
s_handle_ready (gl_broker_t *self, const char *peer, const routing_id_t *routing_id,
                zmq_msg_t *body)
{
    gl_msg_t *ready = s_decode_control (self, peer, routing_id, body, GL_MSG_READY);
    if (!ready)
        return;
    char address [GL_WIRE_ADDRESS_MAX + 1];
    snprintf (address, sizeof (address), "%s/%s", ready->ready.service, ready->ready.instance);
    instance_t *previous = (instance_t *) zhashx_lookup (self->peers, routing_id);
    if (previous)
        s_instance_remove (self, previous, "registered_again");
    previous = (instance_t *) zhashx_lookup (self->instances, address);
    if (previous)
        s_instance_remove (self, previous, "replaced");

    instance_t *instance = (instance_t *) zmalloc (sizeof (instance_t));
    instance->routing_id = *routing_id;
    instance->address = strdup (address);
    instance->service = s_service_require (self, ready->ready.service, true);
    instance->queue = zlistx_new ();
    instance->last_seen = instance->last_sent = self->now;
    zhashx_insert (self->peers, &instance->routing_id, instance);
    zhashx_insert (self->instances, address, instance);
    zlistx_add_end (instance->service->instances, instance);
    gl_log_info ("instance_ready", "address=%s credit=%u", address, ready->ready.credit);

    gl_msg_t *welcome = gl_msg_new (GL_MSG_WELCOME);
    if (welcome) {
        welcome->welcome.heartbeat_ms = (uint32_t) self->heartbeat_ms;
        snprintf (welcome->welcome.broker, sizeof (welcome->welcome.broker), "%s", self->id);
        welcome->welcome.credit_limit = (uint32_t) self->credit_limit;
        welcome->welcome.queue_limit = (uint32_t) self->queue_limit;
        welcome->welcome.max_body = (uint32_t) self->max_body;
        s_send_body (self, routing_id, GL_WIRE_WELCOME, welcome);
        gl_msg_destroy (&welcome);
    }
    s_announce (self, instance->service, address, "joined");
    s_instance_credit (self, instance, ready->ready.credit);
    gl_msg_destroy (&ready);
}

//  CREDIT: adds credit and delivers waiting messages.
static void
s_handle_credit (gl_broker_t *self, instance_t *instance, zmq_msg_t *body)
{
    gl_msg_t *credit = s_decode_control (self, instance->address, &instance->routing_id, body,
                                         GL_MSG_CREDIT);
    if (credit) {
        s_instance_credit (self, instance, credit->credit.credit);
        gl_msg_destroy (&credit);
    }
}

//  Queues a message for an instance (or for any instance of a service
//  when instance is NULL), or bounces it when the queue is full.
static void
s_enqueue (gl_broker_t *self, service_t *service, instance_t *instance,
           const char *sender, const char *destination, zmq_msg_t *body)
{
    if (self->queue_size >= (size_t) self->queue_limit) {
        s_bounce (self, sender, destination, body, "queue_full",
                  "the broker's queue is full; retry later");
        return;
    }
    queued_t *queued = s_queued_new (body, sender, destination);
    zlistx_add_end (instance? instance->queue: service->queue, queued);
    self->queue_size++;
    self->stats.queued++;
}

//  Routes a body from sender to a resolved destination (an instance, or
//  any instance of a service): delivers it now when an instance has credit
//  and nothing waits before it, else queues it.
static void
s_route (gl_broker_t *self, const char *sender, const char *destination, service_t *service,
         instance_t *instance, zmq_msg_t *body)
{
    bool targeted = instance != NULL;
    if (targeted) {
        if (instance->credit == 0 || zlistx_size (instance->queue)) {
            s_enqueue (self, service, instance, sender, destination, body);
            return;
        }
    }
    else {
        instance = (instance_t *) zlistx_first (service->ready);
        if (!instance || zlistx_size (service->queue)) {
            s_enqueue (self, service, NULL, sender, destination, body);
            return;
        }
    }
    int rc = s_deliver (self, instance, sender, body);
    if (rc == EHOSTUNREACH) {
        //  Removing the instance may free the sender's strings (a peer
        //  sending to itself): keep copies.
        char sender_copy [GL_WIRE_ADDRESS_MAX + 1], destination_copy [GL_WIRE_ADDRESS_MAX + 1];
        snprintf (sender_copy, sizeof (sender_copy), "%s", sender);
        snprintf (destination_copy, sizeof (destination_copy), "%s", destination);
        s_instance_remove (self, instance, "unreachable");
        if (targeted)
            s_bounce (self, sender_copy, destination_copy, body, "instance_dead",
                      "the instance has gone");
        else                    //  to the next instance
            s_route (self, sender_copy, destination_copy, service, NULL, body);
    }
    else
    if (rc == EAGAIN)
        s_enqueue (self, service, targeted? instance: NULL, sender, destination, body);
}

//  Validates a SEND's address frame and remembers where it leads in the
//  sender's route. An instance address that is not registered leaves the
//  route's service NULL, and is not remembered. Returns false when the
//  address is malformed (and answers ERROR).
static bool
s_route_learn (gl_broker_t *self, instance_t *sender, zmq_msg_t *address)
{
    size_t service_size, instance_size;
    size_t address_size = zmq_msg_size (address);
    route_t *route = &sender->route;
    route->generation = 0;
    if (!gl_wire_address_parse (zmq_msg_data (address), address_size,
                                &service_size, &instance_size)) {
        self->stats.rejected++;
        gl_log_warn ("frame_rejected", "peer=%s reason=bad_address", sender->address);
        s_send_error (self, &sender->routing_id, "malformed",
                      "SEND: expected an address 'service' or 'service/instance'");
        return false;
    }
    memcpy (route->address, zmq_msg_data (address), address_size);
    route->address [address_size] = '\0';
    route->size = address_size;
    if (instance_size) {
        route->instance = (instance_t *) zhashx_lookup (self->instances, route->address);
        route->service = route->instance? route->instance->service: NULL;
    }
    else {
        route->instance = NULL;
        route->service = s_service_require (self, route->address, true);
    }
    if (route->service)
        route->generation = self->generation;
    return true;
}

//  SEND: validates the destination and body size, then routes.
static void
s_handle_send (gl_broker_t *self, instance_t *instance, zmq_msg_t *address, zmq_msg_t *body)
{
    route_t *route = &instance->route;
    bool remembered = route->generation == self->generation
                   && route->size == zmq_msg_size (address)
                   && memcmp (route->address, zmq_msg_data (address), route->size) == 0;
    if (!remembered && !s_route_learn (self, instance, address))
        return;
    if ((int64_t) zmq_msg_size (body) > self->max_body)
        s_bounce (self, instance->address, route->address, body, "too_large",
                  "the body is larger than broker/max_body");
    else
    if (!route->service)
        s_bounce (self, instance->address, route->address, body, "no_such_instance",
                  "no instance is registered at this address");
    else
        s_route (self, instance->address, route->address, route->service, route->instance,
                 body);
}

//  Checks the frame count a command needs; logs and counts a mismatch.
static bool
s_frames_ok (gl_broker_t *self, const char *peer, gl_wire_command_t command, int frames)
{
    int wanted = command == GL_WIRE_SEND? 4
               : (command == GL_WIRE_READY || command == GL_WIRE_CREDIT)? 3: 2;
    if (frames == wanted)
        return true;
    self->stats.rejected++;
    gl_log_warn ("frame_rejected", "peer=%s reason=frame_count command=%s frames=%d wanted=%d",
                 peer, gl_wire_command_name (command), frames, wanted);
    return false;
}

//  Handles one message of `frames` frames (frame 0 is the routing id;
//  S_MAX_FRAMES + 1 means more than S_MAX_FRAMES, which no command has).
static void
s_handle_message (gl_broker_t *self, zmq_msg_t *frame, int frames)
{
    routing_id_t from;
    from.size = zmq_msg_size (&frame [0]);
    if (from.size == 0 || from.size > sizeof (from.data))
        return;                 //  ZeroMQ never gives a ROUTER such an id
    memcpy (from.data, zmq_msg_data (&frame [0]), from.size);
    const routing_id_t *routing_id = &from;
    instance_t *instance = (instance_t *) zhashx_lookup (self->peers, routing_id);
    char hex [2 * sizeof (from.data) + 1];
    const char *peer = instance? instance->address: s_routing_id_hex (routing_id, hex);
    if (instance)
        instance->last_seen = self->now;

    gl_wire_command_t command;
    gl_wire_header_status_t status = frames < 2? GL_WIRE_HEADER_MALFORMED
        : gl_wire_header_parse (zmq_msg_data (&frame [1]), zmq_msg_size (&frame [1]), &command);
    if (status != GL_WIRE_HEADER_OK) {
        self->stats.rejected++;
        const char *reason = status == GL_WIRE_HEADER_BAD_VERSION? "bad_version"
                           : status == GL_WIRE_HEADER_BAD_COMMAND? "bad_command": "malformed";
        gl_log_warn ("frame_rejected", "peer=%s reason=%s", peer, reason);
        //  A wrong version is answered to anyone: it is how a peer learns
        //  what this broker speaks.
        if (status == GL_WIRE_HEADER_BAD_VERSION || instance)
            s_send_error (self, routing_id, reason,
                          status == GL_WIRE_HEADER_BAD_VERSION? "this broker speaks GLP version 1"
                                                              : "expected a GLP/1 header");
        return;
    }
    if (!s_frames_ok (self, peer, command, frames)) {
        if (instance)
            s_send_error (self, routing_id, "malformed",
                          "wrong number of frames for the command");
        return;
    }
    if (command == GL_WIRE_READY) {
        s_handle_ready (self, peer, routing_id, &frame [2]);
        return;
    }
    if (!instance && command != GL_WIRE_DISCONNECT) {
        s_send_error (self, routing_id, "not_registered",
                      "send READY first");
        return;
    }
    switch (command) {
        case GL_WIRE_HEARTBEAT:
            break;
        case GL_WIRE_CREDIT:
            s_handle_credit (self, instance, &frame [2]);
            break;
        case GL_WIRE_SEND:
            s_handle_send (self, instance, &frame [2], &frame [3]);
            break;
        case GL_WIRE_DISCONNECT:
            if (instance)
                s_instance_remove (self, instance, "disconnected");
            break;
        default:
            self->stats.rejected++;
            gl_log_warn ("frame_rejected", "peer=%s reason=bad_command command=%s", peer,
                         gl_wire_command_name (command));
            s_send_error (self, routing_id, "bad_command",
                          "this command is not sent to a broker");
    }
}

//  Reads one whole multipart message into frame[] (at most S_MAX_FRAMES;
//  the rest is read and dropped), waiting up to the socket's receive
//  timeout when wait is true. Returns the frame count, 0 when nothing
//  came, -1 on a socket error, or S_MAX_FRAMES + 1 when longer.
static int
s_receive (gl_broker_t *self, zmq_msg_t *frame, bool wait)
{
    int frames = 0;
    bool too_long = false;
    int more = 1;
    while (more) {
        zmq_msg_t *target = frames < S_MAX_FRAMES? &frame [frames]: &frame [S_MAX_FRAMES];
        int flags = frames == 0 && !wait? ZMQ_DONTWAIT: 0;
        if (zmq_msg_recv (target, self->router, flags) == -1) {
            if (frames == 0 && zmq_errno () == EAGAIN)
                return 0;
            if (zmq_errno () == EINTR && frames == 0)
                return 0;
            return -1;
        }
        more = zmq_msg_more (target);
        if (frames < S_MAX_FRAMES)
            frames++;
        else
            too_long = true;
    }
    return too_long? S_MAX_FRAMES + 1: frames;
}

//  Waits up to timeout ms for a message, then reads and handles up to
//  S_BATCH of them. A blocking receive with a timeout makes fewer system
//  calls than zmq_poll followed by a receive, which matters when the
//  broker keeps up with its input and waits often.
static int
s_handle_input (gl_broker_t *self, int timeout)
{
    zmq_setsockopt (self->router, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    zmq_msg_t frame [S_MAX_FRAMES + 1];
    for (int index = 0; index <= S_MAX_FRAMES; index++)
        zmq_msg_init (&frame [index]);
    int rc = 0;
    for (int count = 0; count < S_BATCH; count++) {
        int frames = s_receive (self, frame, count == 0);
        if (count == 0)
            self->now = zclock_mono ();
        if (frames <= 0) {
            rc = frames;
            break;
        }
        self->stats.received++;
        s_handle_message (self, frame, frames);
    }
    for (int index = 0; index <= S_MAX_FRAMES; index++)
        zmq_msg_close (&frame [index]);
    return rc;
}

//  Heartbeats quiet peers and removes those silent for S_LIVENESS beats.
static void
s_heartbeat (gl_broker_t *self)
{
    zlistx_t *dead = zlistx_new ();
    instance_t *instance = (instance_t *) zhashx_first (self->peers);
    while (instance) {
        if (self->now - instance->last_seen > S_LIVENESS * self->heartbeat_ms)
            zlistx_add_end (dead, instance);
        else
        if (self->now - instance->last_sent >= self->heartbeat_ms) {
            if (s_send (self, &instance->routing_id, GL_WIRE_HEARTBEAT, NULL, NULL, 0, NULL) == 0)
                instance->last_sent = self->now;
        }
        instance = (instance_t *) zhashx_next (self->peers);
    }
    while ((instance = (instance_t *) zlistx_detach (dead, NULL)))
        s_instance_remove (self, instance, "silent");
    zlistx_destroy (&dead);
    //  Retry what a high-water mark blocked, then drop empty services.
    service_t *service = (service_t *) zhashx_first (self->services);
    while (service) {
        s_dispatch_service (self, service);
        service = (service_t *) zhashx_next (self->services);
    }
    s_services_release (self);
}

//  Logs the counters.
static void
s_log_stats (gl_broker_t *self)
{
    gl_broker_stats_t *stats = &self->stats;
    gl_log_info ("broker_stats",
        "received=%" PRIu64 " delivered=%" PRIu64 " queued=%" PRIu64 " waiting=%zu"
        " bounced=%" PRIu64 " unbounceable=%" PRIu64 " rejected=%" PRIu64
        " unreachable=%" PRIu64 " blocked=%" PRIu64 " deaths=%" PRIu64 " instances=%zu",
        stats->received, stats->delivered, stats->queued, self->queue_size, stats->bounced,
        stats->unbounceable, stats->rejected, stats->unreachable, stats->blocked,
        stats->deaths, zhashx_size (self->peers));
}

int
gl_broker_run (gl_broker_t *self, volatile sig_atomic_t *stop)
{
    self->now = zclock_mono ();
    self->next_heartbeat = self->now + self->heartbeat_ms;
    self->next_stats = self->now + self->stats_ms;
    while (!*stop) {
        int64_t timeout = self->next_heartbeat - self->now;
        if (s_handle_input (self, timeout > 0? (int) timeout: 0) == -1
        && zmq_errno () != EINTR) {
            gl_log_error ("socket_failed", "reason=\"%s\"", zmq_strerror (zmq_errno ()));
            return -1;
        }
        if (self->now >= self->next_heartbeat) {
            s_heartbeat (self);
            self->next_heartbeat = self->now + self->heartbeat_ms;
        }
        if (self->now >= self->next_stats) {
            s_log_stats (self);
            self->next_stats = self->now + self->stats_ms;
        }
    }
    s_log_stats (self);
    return 0;
}

gl_broker_stats_t
gl_broker_stats (gl_broker_t *self)
{
    return self->stats;
}

//  --------------------------------------------------------------------------
//  Construction

//  Reads the numeric settings; returns 0 or -1 with the reason.
static int
s_configure (gl_broker_t *self, gl_config_t *config, char *error)
{
    int64_t queue_limit;
    if (gl_config_int (config, "broker/heartbeat_ms", 1000, 10, 600000, &self->heartbeat_ms, error)
     || gl_config_int (config, "broker/queue_limit", 100000, 1, 100000000, &queue_limit, error)
     || gl_config_int (config, "broker/credit_limit", 10000, 1, 1000000, &self->credit_limit, error)
     || gl_config_int (config, "broker/max_body", GL_MSG_MAX_BODY, 1, GL_MSG_MAX_BODY,
                       &self->max_body, error)
     || gl_config_int (config, "broker/stats_ms", 10000, 100, 86400000, &self->stats_ms, error))
        return -1;
    self->queue_limit = (size_t) queue_limit;
    const char *id = gl_config_get (config, "broker/id", NULL);
    char host [64] = "broker";
    gethostname (host, sizeof (host) - 1);
    if (id && !gl_wire_instance_valid (id, strlen (id))) {
        snprintf (error, GL_CONFIG_ERROR_MAX,
                  "config: broker/id = '%s': expected 1-64 of A-Z a-z 0-9 . _ : -", id);
        return -1;
    }
    if (id)
        snprintf (self->id, sizeof (self->id), "%s", id);
    else
        snprintf (self->id, sizeof (self->id), "%.40s:%d", host, (int) getpid ());
    return 0;
}

//  Creates the ROUTER socket and binds every configured endpoint.
static int
s_bind (gl_broker_t *self, gl_config_t *config, char *error)
{
    const char *endpoints = gl_config_get (config, "broker/bind", "tcp://127.0.0.1:5570");
    self->router = zmq_socket (self->context, ZMQ_ROUTER);
    int on = 1, linger = 0;
    int hwm = (int) self->credit_limit + S_CONTROL_HWM;
    zmq_setsockopt (self->router, ZMQ_ROUTER_MANDATORY, &on, sizeof (on));
    zmq_setsockopt (self->router, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (self->router, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (self->router, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    char *list = strdup (endpoints);
    char *saveptr = NULL;
    int rc = 0;
    for (char *endpoint = strtok_r (list, ", ", &saveptr); endpoint && rc == 0;
         endpoint = strtok_r (NULL, ", ", &saveptr)) {
        if (zmq_bind (self->router, endpoint) != 0) {
            snprintf (error, GL_CONFIG_ERROR_MAX, "config: broker/bind: cannot bind '%s': %s",
                      endpoint, zmq_strerror (zmq_errno ()));
            rc = -1;
        }
        else
            gl_log_info ("broker_bound", "endpoint=%s", endpoint);
    }
    free (list);
    return rc;
}

gl_broker_t *
gl_broker_new (gl_config_t *config, char *error)
{
    gl_broker_t *self = (gl_broker_t *) zmalloc (sizeof (gl_broker_t));
    self->context = zmq_ctx_new ();
    self->generation = 1;
    self->peers = zhashx_new ();
    //  Keys are the instances' own routing ids: not copied, not freed.
    zhashx_set_key_hasher (self->peers, s_routing_id_hash);
    zhashx_set_key_comparator (self->peers, s_routing_id_compare);
    zhashx_set_key_duplicator (self->peers, NULL);
    zhashx_set_key_destructor (self->peers, NULL);
    zhashx_set_destructor (self->peers, (zhashx_destructor_fn *) s_instance_destroy);
    self->instances = zhashx_new ();
    self->services = zhashx_new ();
    zhashx_set_destructor (self->services, (zhashx_destructor_fn *) s_service_destroy);
    if (s_configure (self, config, error) != 0 || s_bind (self, config, error) != 0)
        gl_broker_destroy (&self);
    return self;
}

void
gl_broker_destroy (gl_broker_t **self_p)
{
    if (self_p && *self_p) {
        gl_broker_t *self = *self_p;
        zhashx_destroy (&self->instances);
        zhashx_destroy (&self->peers);
        zhashx_destroy (&self->services);
        if (self->router)
            zmq_close (self->router);
        zmq_ctx_term (self->context);
        free (self);
        *self_p = NULL;
    }
}
