/*  gl_broker — the GLP/1 broker.

    The hot path is SEND → DELIVER: the body frame is moved from the
    incoming zmq_msg_t to the outgoing one without a copy, the broker never
    decodes it. Only READY and CREDIT bodies are decoded.

    Ownership: an instance_t belongs to the peers table (keyed by its
    routing id's bytes, which the instance holds); the instances table,
    its service's lists and the followers list only refer to it.
    A queued_t belongs to the one queue (a list threaded through the
    messages) that holds it; it refers to its sender's account (owned by
    the accounts table) and to the service whose bound it counts against
    (a service is not released while anything is queued for it or its
    instances).

    Memory is bounded by what peers cannot choose: queued messages by
    count and bytes (in all, per service, per sender), instances by
    connections, services by instances plus queued messages (a service is
    created for a SEND only when its message is queued), frames by
    ZMQ_MAXMSGSIZE. Every allocation the broker makes is checked; a failed
    one refuses the message that needed it, with a bounce or an error, and
    is counted. Queuing a message allocates only what the broker checks
    itself. CZMQ's tables and lists still abort the process if one of
    their nodes cannot be allocated; they grow only with registrations
    (one per connection) and services, never per message.
*/
#include "gl_broker.h"
#include "gl_curve.h"
#include "gl_log.h"
#include "gl_msg.h"
#include "gl_wire.h"
#include <czmq.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <zmq.h>

#define S_MAX_FRAMES 4          //  routing id, header, address, body
#define S_LIVENESS 3            //  missed heartbeats before death
#define S_BATCH 1024            //  messages read per poll wake-up
#define S_CONTROL_HWM 100000    //  send HWM headroom for control traffic
#define S_QUEUED_OVERHEAD 256   //  bytes a queued message costs beyond its body
#define S_COPY_BELOW 8192       //  queued bodies smaller than this are copied
#define S_SHUTDOWN_LINGER_MS 500    //  time to flush DISCONNECT shutdown at exit
#define S_REJECT_LOG_MS 1000    //  at most one frame_rejected line per interval

typedef struct _service_t service_t;
typedef struct _instance_t instance_t;

//  A ZeroMQ routing id (1 to 255 bytes): the peers table's key.
typedef struct {
    size_t size;
    uint8_t data [255];
} routing_id_t;

//  What one sender has queued, against its share of the bounds. Lives in
//  the accounts table while the sender has anything queued.
typedef struct {
    size_t messages;
    size_t bytes;
} account_t;

//  Frees an account (the accounts table's destructor).
static void
s_account_destroy (account_t **self_p)
{
    free (*self_p);
    *self_p = NULL;
}

//  A message waiting for credit.
typedef struct _queued_t queued_t;
struct _queued_t {
    queued_t *next;             //  the next in its queue
    zmq_msg_t body;
    char *sender;               //  sender's address, for DELIVER and BOUNCE
    char *destination;          //  the address it was sent to
    size_t cost;                //  bytes charged against the bounds
    int64_t queued_at;          //  when it was queued (monotonic ms)
    account_t *account;         //  the sender's account
    service_t *service;         //  the service whose bound it counts against
};

//  Messages waiting, oldest first: a list threaded through the messages
//  themselves, so that queuing one allocates nothing but the message
//  (CZMQ's lists abort the process when a node cannot be allocated).
typedef struct {
    queued_t *head, *tail;
    size_t size;
} queue_t;

//  Where a sender's last destination address leads. Actors tend to send to
//  the same address again and again (fetcher to writer), so remembering it
//  spares parsing and looking up the address on every SEND. Valid while
//  generation equals the broker's, which moves whenever an instance or a
//  service is forgotten (the pointers here may then dangle).
typedef struct {
    char address [GL_WIRE_ADDRESS_MAX + 1];
    size_t size;
    bool targeted;              //  the address names an instance
    service_t *service;         //  NULL: no such service (yet) or instance
    instance_t *instance;       //  NULL: any instance of the service
    uint64_t generation;        //  0: nothing remembered
} route_t;

struct _service_t {
    char *name;
    zlistx_t *instances;        //  every live instance, oldest registration first
    zlistx_t *ready;            //  instances with credit, least recently used first
    queue_t queue;              //  for any instance
    size_t queued_bytes;        //  cost queued here and for its instances alone
    int64_t empty_since;        //  when it last had no instance
};

struct _instance_t {
    routing_id_t routing_id;    //  the peers table's key
    char *address;              //  "service/instance"
    service_t *service;
    uint32_t credit;
    void *ready_handle;         //  handle in service->ready, or NULL
    void *follower_handle;      //  handle in the broker's followers, or NULL
    queue_t queue;              //  for this instance alone
    char (*follow) [GL_MSG_NAME_MAX + 1];   //  ready.follow patterns
    size_t follow_count;
    route_t route;              //  where its last SEND went
    int64_t last_seen, last_sent;
    int fd;                     //  its connection's descriptor, -1 if unknown
};

//  One frame to send: bytes (copied by ZeroMQ), or a zmq_msg_t whose
//  content moves when the send succeeds.
typedef struct {
    const void *data;
    size_t size;
    zmq_msg_t *message;
} part_t;

struct _gl_broker_t {
    void *context;
    void *router;
    gl_curve_guard_t *guard;    //  the allow list of CURVE endpoints, or NULL
    volatile sig_atomic_t *reload;      //  set by a signal handler: call reload_fn
    void (*reload_fn) (void *argument);
    void *reload_argument;
    char id [GL_WIRE_NAME_MAX + 1];
    void *monitor;              //  the router's DISCONNECTED events, or NULL
    zhashx_t *peers;            //  routing id -> instance_t (owner)
    zhashx_t *connections;      //  descriptor + 1 -> instance_t
    zhashx_t *instances;        //  address -> instance_t
    zhashx_t *services;         //  name -> service_t (owner)
    zhashx_t *accounts;         //  sender address -> account_t (owner)
    zlistx_t *followers;        //  instances with follow patterns
    size_t queue_size, queue_limit;
    size_t queue_bytes, queue_bytes_limit, service_bytes_limit;
    size_t sender_messages_limit, sender_bytes_limit;
    uint64_t generation;        //  moves when an instance or service is forgotten
    int64_t heartbeat_ms, stats_ms, credit_limit, max_body, no_instance_timeout_ms;
    int64_t now, next_heartbeat, next_stats;
    int64_t reject_logged;      //  when the last frame_rejected line was written
    uint64_t rejects_unlogged;  //  rejected frames since, not written
    gl_broker_stats_t stats;
};

static void s_instance_remove (gl_broker_t *self, instance_t *instance, const char *reason);
static void s_dispatch_service (gl_broker_t *self, service_t *service);

//  --------------------------------------------------------------------------
//  Routing ids

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

//  The connections table's key for a descriptor: the descriptor + 1, as
//  a pointer (a table key is never NULL).
static void *
s_fd_key (int fd)
{
    return (void *) (uintptr_t) (fd + 1);
}

//  Hashes a connections table key.
static size_t
s_fd_hash (const void *key)
{
    return (size_t) (uintptr_t) key;
}

//  Compares two connections table keys.
static int
s_fd_compare (const void *left, const void *right)
{
    return left == right? 0: (uintptr_t) left < (uintptr_t) right? -1: 1;
}

//  --------------------------------------------------------------------------
//  Sending

//  Sends routing id + header + parts. Returns 0; or the errno of a failed
//  first frame (EHOSTUNREACH, EAGAIN): nothing was sent, every part is
//  untouched; or -1 when a later frame failed (the message is broken,
//  counted; a zmq_msg_t part may or may not have moved).
static int
s_send (gl_broker_t *self, const routing_id_t *routing_id, gl_wire_command_t command,
        part_t *parts, size_t count)
{
    uint8_t header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (header, command);
    if (zmq_send (self->router, routing_id->data, routing_id->size,
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        int error = zmq_errno ();
        if (error == EHOSTUNREACH)
            self->stats.unreachable++;
        else
            self->stats.blocked++;
        return error == EHOSTUNREACH? EHOSTUNREACH: EAGAIN;
    }
    //  After the first frame ZeroMQ has room for the whole message; a
    //  later failure (ETERM, EINTR) leaves it broken, which is counted.
    int rc = zmq_send (self->router, header, sizeof (header), count? ZMQ_SNDMORE: 0);
    for (size_t index = 0; index < count && rc != -1; index++) {
        int flags = index + 1 < count? ZMQ_SNDMORE: 0;
        rc = parts [index].message? zmq_msg_send (parts [index].message, self->router, flags)
                                  : zmq_send (self->router, parts [index].data,
                                              parts [index].size, flags);
    }
    if (rc == -1) {
        self->stats.broken++;
        gl_log_error ("send_broken", "command=%s reason=\"%s\"", gl_wire_command_name (command),
                      zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

//  Sends a command with an encoded body to a peer. Control traffic: a
//  failure is counted, never retried. Returns what s_send does, or -1 if
//  the body could not be encoded.
static int
s_send_body (gl_broker_t *self, const routing_id_t *routing_id, gl_wire_command_t command,
             const gl_msg_t *message)
{
    char error [GL_MSG_ERROR_MAX];
    char *data = NULL;
    size_t size = 0;
    if (gl_msg_encode (message, &data, &size, error) != 0) {
        gl_log_error ("encode_failed", "command=%s reason=\"%s\"",
                      gl_wire_command_name (command), error);
        return -1;
    }
    part_t part = { data, size, NULL };
    int rc = s_send (self, routing_id, command, &part, 1);
    free (data);
    return rc;
}

//  Builds an error body with a code and text. Returns NULL on out of memory.
static gl_msg_t *
s_error_new (const char *code, const char *text)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_ERROR);
    if (message) {
        snprintf (message->error.code, sizeof (message->error.code), "%s", code);
        snprintf (message->error.text, sizeof (message->error.text), "%s", text);
    }
    return message;
}

//  Sends ERROR, or DISCONNECT with its optional error body, to a peer.
static void
s_send_error (gl_broker_t *self, const routing_id_t *routing_id, gl_wire_command_t command,
              const char *code, const char *text)
{
    gl_msg_t *message = s_error_new (code, text);
    if (!message) {
        self->stats.out_of_memory++;
        return;
    }
    s_send_body (self, routing_id, command, message);
    gl_msg_destroy (&message);
}

//  Returns a message to the peer at routing_id with a reason: BOUNCE with
//  the destination and the body as sent (an empty body frame when echo is
//  false). Empties the body. Returns true if the bounce was sent.
static bool
s_bounce_to (gl_broker_t *self, const routing_id_t *routing_id, const void *destination,
             size_t destination_size, zmq_msg_t *body, bool echo, const char *code,
             const char *text)
{
    gl_msg_t *error = s_error_new (code, text);
    char *data = NULL;
    size_t size = 0;
    char reason [GL_MSG_ERROR_MAX];
    bool sent = false;
    if (!error)
        self->stats.out_of_memory++;
    else
    if (gl_msg_encode (error, &data, &size, reason) == 0) {
        part_t parts [3] = {
            { destination, destination_size, NULL },
            { "", 0, echo? body: NULL },
            { data, size, NULL },
        };
        sent = s_send (self, routing_id, GL_WIRE_BOUNCE, parts, 3) == 0;
    }
    free (data);
    gl_msg_destroy (&error);
    if (sent)
        self->stats.bounced++;
    //  The caller's frame may be reused for the next receive: leave it
    //  empty and valid.
    zmq_msg_close (body);
    zmq_msg_init (body);
    return sent;
}

//  Returns a message to its sender, named by address, with a reason.
//  Empties the body.
static void
s_bounce (gl_broker_t *self, const char *sender, const char *destination,
          zmq_msg_t *body, const char *code, const char *text)
{
    instance_t *instance = (instance_t *) zhashx_lookup (self->instances, sender);
    bool sent = false;
    if (instance) {
        sent = s_bounce_to (self, &instance->routing_id, destination, strlen (destination),
                            body, true, code, text);
        if (sent)
            instance->last_sent = self->now;
    }
    else {
        zmq_msg_close (body);
        zmq_msg_init (body);
    }
    if (!sent) {
        self->stats.unbounceable++;
        gl_log_debug ("bounce_lost", "sender=%s destination=%s code=%s", sender,
                      destination, code);
    }
}

//  --------------------------------------------------------------------------
//  Queued messages and their bounds

//  The bytes a message costs while queued: its body and the broker's own
//  bookkeeping, so that empty bodies are bounded too.
static size_t
s_cost (size_t body_size, const char *sender, const char *destination)
{
    return body_size + S_QUEUED_OVERHEAD + strlen (sender) + strlen (destination);
}

//  Why a message of this cost may not be queued now, or NULL if it may.
static const char *
s_over_bound (gl_broker_t *self, service_t *service, account_t *account, size_t cost)
{
    if (self->queue_size >= self->queue_limit || self->queue_bytes + cost > self->queue_bytes_limit)
        return "the broker's queue is full; retry later";
    if ((service? service->queued_bytes: 0) + cost > self->service_bytes_limit)
        return "the queue of this service is full (broker/service_queue_bytes); retry later";
    if (account && (account->messages >= self->sender_messages_limit
                 || account->bytes + cost > self->sender_bytes_limit))
        return "this sender has its share of the queue (broker/sender_queue_share); retry later";
    return NULL;
}

//  Creates a queued message, taking the body's content. A small body is
//  copied: libzmq may receive it into a shared 8 KiB buffer, which one
//  queued message would keep alive whole. Returns NULL on out of memory
//  (the body is then untouched).
static queued_t *
s_queued_new (zmq_msg_t *body, const char *sender, const char *destination, size_t cost)
{
    queued_t *self = (queued_t *) calloc (1, sizeof (queued_t));
    if (!self)
        return NULL;
    self->sender = strdup (sender);
    self->destination = strdup (destination);
    size_t size = zmq_msg_size (body);
    bool copy = size < S_COPY_BELOW;
    if (!self->sender || !self->destination
    ||  (copy? zmq_msg_init_size (&self->body, size): zmq_msg_init (&self->body)) != 0) {
        free (self->sender);
        free (self->destination);
        free (self);
        return NULL;
    }
    if (copy && size)
        memcpy (zmq_msg_data (&self->body), zmq_msg_data (body), size);
    if (copy) {
        zmq_msg_close (body);
        zmq_msg_init (body);
    }
    else
        zmq_msg_move (&self->body, body);
    self->cost = cost;
    return self;
}

//  Destroys a queued message (already taken off its queue and its bounds).
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

//  Appends a message to a queue.
static void
s_queue_append (queue_t *queue, queued_t *queued)
{
    queued->next = NULL;
    if (queue->tail)
        queue->tail->next = queued;
    else
        queue->head = queued;
    queue->tail = queued;
    queue->size++;
}

//  Detaches the first message of a queue; NULL when it is empty.
static queued_t *
s_queue_pop (queue_t *queue)
{
    queued_t *queued = queue->head;
    if (queued) {
        queue->head = queued->next;
        if (!queue->head)
            queue->tail = NULL;
        queue->size--;
        queued->next = NULL;
    }
    return queued;
}

//  Moves every message of source to the end of target, in order.
static void
s_queue_splice (queue_t *target, queue_t *source)
{
    if (!source->head)
        return;
    if (target->tail)
        target->tail->next = source->head;
    else
        target->head = source->head;
    target->tail = source->tail;
    target->size += source->size;
    *source = (queue_t) { NULL, NULL, 0 };
}

//  Destroys every message of a queue, bounds untouched (the broker is
//  being destroyed).
static void
s_queue_purge (queue_t *queue)
{
    queued_t *queued;
    while ((queued = s_queue_pop (queue)))
        s_queued_destroy (&queued);
}

//  Takes the first message off a queue and releases what it held of the
//  bounds (its sender's account is forgotten when it holds nothing more).
//  Returns NULL when the queue is empty.
static queued_t *
s_queued_take (gl_broker_t *self, queue_t *queue)
{
    queued_t *queued = s_queue_pop (queue);
    if (!queued)
        return NULL;
    self->queue_size--;
    self->queue_bytes -= queued->cost;
    queued->service->queued_bytes -= queued->cost;
    queued->account->messages--;
    queued->account->bytes -= queued->cost;
    if (queued->account->messages == 0)
        zhashx_delete (self->accounts, queued->sender);
    queued->account = NULL;
    return queued;
}

//  Bounces every message of a queue with a reason.
static void
s_queue_bounce_all (gl_broker_t *self, queue_t *queue, const char *code, const char *text)
{
    queued_t *queued;
    while ((queued = s_queued_take (self, queue))) {
        s_bounce (self, queued->sender, queued->destination, &queued->body, code, text);
        s_queued_destroy (&queued);
    }
}

//  --------------------------------------------------------------------------
//  Services and instances

//  Creates a service and adds it to the table. Returns NULL on out of memory.
static service_t *
s_service_new (gl_broker_t *self, const char *name)
{
    service_t *service = (service_t *) calloc (1, sizeof (service_t));
    if (!service)
        return NULL;
    service->name = strdup (name);
    service->instances = zlistx_new ();
    service->ready = zlistx_new ();
    service->empty_since = self->now;
    if (!service->name || !service->instances || !service->ready
    ||  zhashx_insert (self->services, name, service) != 0) {
        zlistx_destroy (&service->ready);
        zlistx_destroy (&service->instances);
        free (service->name);
        free (service);
        return NULL;
    }
    return service;
}

//  Destroys a service (the services table's destructor). The broker is
//  being destroyed or the service is empty: nothing is charged any more.
static void
s_service_destroy (service_t **self_p)
{
    if (*self_p) {
        service_t *self = *self_p;
        s_queue_purge (&self->queue);
        zlistx_destroy (&self->ready);
        zlistx_destroy (&self->instances);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

//  Forgets services that have neither instances nor queued messages, so
//  names sent by peers cannot grow the table for ever. Runs from the
//  heartbeat sweep only, so a service outlives every handler that holds a
//  pointer to it.
static void
s_services_release (gl_broker_t *self)
{
    zlistx_t *empty = zlistx_new ();
    if (!empty) {
        self->stats.out_of_memory++;
        return;                 //  the next sweep tries again
    }
    service_t *service = (service_t *) zhashx_first (self->services);
    while (service) {
        if (zlistx_size (service->instances) == 0 && service->queue.size == 0)
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
        s_queue_purge (&self->queue);
        free (self->follow);
        free (self->address);
        free (self);
        *self_p = NULL;
    }
}

//  True if the instance follows the service by one of its patterns.
static bool
s_follows (const instance_t *instance, const char *service)
{
    for (size_t index = 0; index < instance->follow_count; index++)
        if (gl_wire_pattern_matches (instance->follow [index], service))
            return true;
    return false;
}

//  Builds a MEMBERSHIP body for a service: the event, the instance it is
//  about, the live count and the first GL_MSG_MAX_MEMBERS instances in
//  order of registration. Returns NULL on out of memory.
static gl_msg_t *
s_membership_new (service_t *service, const char *instance_id, const char *event)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_MEMBERSHIP);
    if (!message)
        return NULL;
    snprintf (message->membership.service, sizeof (message->membership.service), "%s",
              service->name);
    snprintf (message->membership.instance, sizeof (message->membership.instance), "%s",
              instance_id);
    snprintf (message->membership.event, sizeof (message->membership.event), "%s", event);
    message->membership.count = zlistx_size (service->instances);
    instance_t *member = (instance_t *) zlistx_first (service->instances);
    while (member && message->membership.member_count < GL_MSG_MAX_MEMBERS) {
        if (gl_msg_add_member (message, strchr (member->address, '/') + 1) != 0) {
            gl_msg_destroy (&message);
            return NULL;
        }
        member = (instance_t *) zlistx_next (service->instances);
    }
    return message;
}

//  Sends a MEMBERSHIP body to one instance.
static void
s_send_membership (gl_broker_t *self, instance_t *peer, const gl_msg_t *message)
{
    if (s_send_body (self, &peer->routing_id, GL_WIRE_MEMBERSHIP, message) == 0)
        peer->last_sent = self->now;
}

//  Sends MEMBERSHIP for a change in a service to its instances and to the
//  peers that follow it (SPEC 5.5): nobody else hears of it.
static void
s_announce (gl_broker_t *self, service_t *service, const char *instance_address,
            const char *event)
{
    gl_msg_t *message = s_membership_new (service, strchr (instance_address, '/') + 1, event);
    if (!message) {
        self->stats.out_of_memory++;
        return;
    }
    instance_t *peer = (instance_t *) zlistx_first (service->instances);
    while (peer) {
        s_send_membership (self, peer, message);
        peer = (instance_t *) zlistx_next (service->instances);
    }
    peer = (instance_t *) zlistx_first (self->followers);
    while (peer) {
        if (peer->service != service && s_follows (peer, service->name))
            s_send_membership (self, peer, message);
        peer = (instance_t *) zlistx_next (self->followers);
    }
    gl_msg_destroy (&message);
}

//  Tells a newly registered follower the present members of every live
//  service it follows (its own service it hears of as a member).
static void
s_send_current (gl_broker_t *self, instance_t *instance)
{
    if (instance->follow_count == 0)
        return;
    service_t *service = (service_t *) zhashx_first (self->services);
    while (service) {
        instance_t *newest = (instance_t *) zlistx_last (service->instances);
        if (newest && service != instance->service && s_follows (instance, service->name)) {
            gl_msg_t *message = s_membership_new (service, strchr (newest->address, '/') + 1,
                                                  "current");
            if (message)
                s_send_membership (self, instance, message);
            else
                self->stats.out_of_memory++;
            gl_msg_destroy (&message);
        }
        service = (service_t *) zhashx_next (self->services);
    }
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
//  handed over), EHOSTUNREACH or EAGAIN with the body untouched, or -1
//  when the message broke after its first frame (it is lost, counted).
static int
s_deliver (gl_broker_t *self, instance_t *instance, const char *sender, zmq_msg_t *body)
{
    part_t parts [2] = { { sender, strlen (sender), NULL }, { NULL, 0, body } };
    int rc = s_send (self, &instance->routing_id, GL_WIRE_DELIVER, parts, 2);
    if (rc == 0 || rc == -1) {
        s_instance_spend (instance);
        instance->last_sent = self->now;
    }
    if (rc == 0)
        self->stats.delivered++;
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
        queue_t *queue = instance->queue.size? &instance->queue: &instance->service->queue;
        queued_t *queued = queue->head;
        if (!queued)
            return 0;
        int rc = s_deliver (self, instance, queued->sender, &queued->body);
        if (rc == EHOSTUNREACH) {
            s_instance_remove (self, instance, "unreachable");
            return 0;
        }
        if (rc == EAGAIN)
            return -1;
        queued = s_queued_take (self, queue);
        s_queued_destroy (&queued);
    }
    return 0;
}

//  Sends a service's queued messages to its instances with credit, least
//  recently served first (the round robin of SPEC 5.2 applied to the
//  backlog: each instance takes what its credit allows, then the next).
static void
s_dispatch_service (gl_broker_t *self, service_t *service)
{
    instance_t *instance;
    while (service->queue.size
       && (instance = (instance_t *) zlistx_first (service->ready)))
        if (s_dispatch (self, instance) != 0)
            return;             //  blocked: the heartbeat sweep retries
}

//  Forgets an instance: its own queued messages go back to their senders,
//  the members and followers of its service learn it left.
static void
s_instance_remove (gl_broker_t *self, instance_t *instance, const char *reason)
{
    service_t *service = instance->service;
    gl_log_info ("instance_removed", "address=%s reason=%s", instance->address, reason);
    self->stats.deaths++;
    self->generation++;         //  remembered routes may point at it
    s_queue_bounce_all (self, &instance->queue, "instance_dead",
                        "the instance died with this message queued for it");
    if (instance->ready_handle)
        zlistx_detach (service->ready, instance->ready_handle);
    if (instance->follower_handle)
        zlistx_detach (self->followers, instance->follower_handle);
    void *handle = zlistx_find (service->instances, instance);
    if (handle)
        zlistx_detach (service->instances, handle);
    if (zlistx_size (service->instances) == 0)
        service->empty_since = self->now;
    zhashx_delete (self->instances, instance->address);
    if (instance->fd >= 0 && zhashx_lookup (self->connections, s_fd_key (instance->fd)) == instance)
        zhashx_delete (self->connections, s_fd_key (instance->fd));
    char address [GL_WIRE_ADDRESS_MAX + 1];
    snprintf (address, sizeof (address), "%s", instance->address);
    zhashx_delete (self->peers, &instance->routing_id);     //  destroys the instance
    s_announce (self, service, address, "left");
}

//  Sets an instance's credit, cut at broker/credit_limit, and delivers
//  what waits for it.
static void
s_instance_set_credit (gl_broker_t *self, instance_t *instance, uint64_t credit)
{
    instance->credit = credit > (uint64_t) self->credit_limit? (uint32_t) self->credit_limit
                                                              : (uint32_t) credit;
    if (instance->credit == 0 && instance->ready_handle) {
        zlistx_detach (instance->service->ready, instance->ready_handle);
        instance->ready_handle = NULL;
    }
    if (instance->credit > 0 && !instance->ready_handle)
        instance->ready_handle = zlistx_add_end (instance->service->ready, instance);
    service_t *service = instance->service;
    if (s_dispatch (self, instance) == 0)
        s_dispatch_service (self, service);
}

//  Stores a READY's follow patterns in the instance and keeps the
//  followers list right. Returns 0, or -1 on out of memory.
static int
s_instance_follow (gl_broker_t *self, instance_t *instance, const gl_msg_t *ready)
{
    size_t count = ready->ready.follow_count;
    char (*follow) [GL_MSG_NAME_MAX + 1] = NULL;
    if (count) {
        follow = malloc (count * sizeof (*follow));
        if (!follow)
            return -1;
        memcpy (follow, ready->ready.follow, count * sizeof (*follow));
    }
    free (instance->follow);
    instance->follow = follow;
    instance->follow_count = count;
    if (count && !instance->follower_handle)
        instance->follower_handle = zlistx_add_end (self->followers, instance);
    if (!count && instance->follower_handle) {
        zlistx_detach (self->followers, instance->follower_handle);
        instance->follower_handle = NULL;
    }
    return 0;
}

//  Creates an instance for a READY, not yet in any table. Returns NULL on
//  out of memory.
static instance_t *
s_instance_new (gl_broker_t *self, const routing_id_t *routing_id, const char *address)
{
    instance_t *instance = (instance_t *) calloc (1, sizeof (instance_t));
    if (!instance)
        return NULL;
    instance->routing_id = *routing_id;
    instance->address = strdup (address);
    instance->last_seen = instance->last_sent = self->now;
    instance->fd = -1;
    if (!instance->address)
        s_instance_destroy (&instance);
    return instance;
}

//  Adds a new instance to the tables and its service (created if need
//  be). Returns 0, or -1 on out of memory: the instance is then destroyed
//  and what was handed to it from a replaced one bounced.
static int
s_instance_insert (gl_broker_t *self, instance_t *instance, const char *service_name)
{
    service_t *service = (service_t *) zhashx_lookup (self->services, service_name);
    if (!service)
        service = s_service_new (self, service_name);
    if (service) {
        instance->service = service;
        if (zhashx_insert (self->peers, &instance->routing_id, instance) != 0)
            service = NULL;
    }
    if (!service) {
        s_queue_bounce_all (self, &instance->queue, "instance_dead",
                            "the instance was replaced and the broker is out of memory");
        s_instance_destroy (&instance);
        return -1;
    }
    zhashx_insert (self->instances, instance->address, instance);
    zlistx_add_end (service->instances, instance);
    return 0;
}

//  Sends WELCOME with the broker's limits.
static void
s_send_welcome (gl_broker_t *self, instance_t *instance)
{
    gl_msg_t *welcome = gl_msg_new (GL_MSG_WELCOME);
    if (!welcome) {
        self->stats.out_of_memory++;
        return;
    }
    welcome->welcome.heartbeat_ms = (uint32_t) self->heartbeat_ms;
    snprintf (welcome->welcome.broker, sizeof (welcome->welcome.broker), "%s", self->id);
    welcome->welcome.credit_limit = (uint32_t) self->credit_limit;
    welcome->welcome.queue_limit = (uint32_t) self->queue_limit;
    welcome->welcome.max_body = (uint32_t) self->max_body;
    if (s_send_body (self, &instance->routing_id, GL_WIRE_WELCOME, welcome) == 0)
        instance->last_sent = self->now;
    gl_msg_destroy (&welcome);
}

//  --------------------------------------------------------------------------
//  Command handlers


//  True when a rejected frame gets its own log line: the first in each
//  interval. The others are counted and said in one line when the
//  interval is over (s_log_rejects_unlogged), so a flood of junk never
//  becomes a flood of lines; stats.rejected counts every one.
static bool
s_reject_logged (gl_broker_t *self)
{
    if (self->reject_logged && self->now - self->reject_logged < S_REJECT_LOG_MS) {
        self->rejects_unlogged++;
        return false;
    }
    self->reject_logged = self->now;
    return true;
}

//  Writes how many rejected frames were not logged, once their interval
//  is over (or at once, at a stop).
static void
s_log_rejects_unlogged (gl_broker_t *self, bool now)
{
    if (self->rejects_unlogged && (now || self->now - self->reject_logged >= S_REJECT_LOG_MS)) {
        gl_log_warn ("frames_rejected", "count=%" PRIu64 " rejected=%" PRIu64,
                     self->rejects_unlogged, self->stats.rejected);
        self->rejects_unlogged = 0;
        self->reject_logged = self->now;
    }
}

//  Decodes a control body of the expected type, or answers ERROR.
static gl_msg_t *
s_decode_control (gl_broker_t *self, const char *peer, const routing_id_t *routing_id,
                  zmq_msg_t *frame, gl_msg_type_t expected)
{
    char error [GL_MSG_ERROR_MAX];
    if ((int64_t) zmq_msg_size (frame) > self->max_body) {
        self->stats.rejected++;
        if (s_reject_logged (self))
            gl_log_warn ("frame_rejected", "peer=%s reason=too_large", peer);
        s_send_error (self, routing_id, GL_WIRE_ERROR, "too_large",
                      "the body is larger than the max_body of WELCOME");
        return NULL;
    }
    gl_msg_t *message = gl_msg_decode (zmq_msg_data (frame), zmq_msg_size (frame), error);
    if (message && message->type != expected) {
        snprintf (error, sizeof (error), "expected a %s body, got %s",
                  gl_msg_type_name (expected), gl_msg_type_name (message->type));
        gl_msg_destroy (&message);
    }
    if (!message) {
        self->stats.rejected++;
        if (s_reject_logged (self))
            gl_log_warn ("frame_rejected", "peer=%s reason=\"%s\"", peer, error);
        s_send_error (self, routing_id, GL_WIRE_ERROR, "malformed", error);
    }
    return message;
}

//  A READY again on a connection already registered under the same
//  address: the registration is renewed in place. Credit and follow
//  patterns are replaced by the new ones; queued messages stay; the
//  members hear nothing (nothing changed for them).
static void
s_instance_renew (gl_broker_t *self, instance_t *instance, const gl_msg_t *ready)
{
    if (s_instance_follow (self, instance, ready) != 0) {
        self->stats.out_of_memory++;
        s_send_error (self, &instance->routing_id, GL_WIRE_ERROR, "malformed",
                      "out of memory: READY not taken, send it again");
        return;
    }
    gl_log_info ("instance_renewed", "address=%s credit=%u", instance->address,
                 ready->ready.credit);
    s_send_welcome (self, instance);
    s_send_current (self, instance);
    s_instance_set_credit (self, instance, ready->ready.credit);
}

//  Remembers which connection an instance came on (fd -1: not known, as
//  for inproc), so that the connection's closing removes it. An instance
//  that still holds the descriptor has lost its connection: the event
//  saying so was not seen (the monitor's queue was full).
static void
s_instance_connect (gl_broker_t *self, instance_t *instance, int fd)
{
    if (fd < 0)
        return;
    instance_t *previous = (instance_t *) zhashx_lookup (self->connections, s_fd_key (fd));
    if (previous && previous != instance)
        s_instance_remove (self, previous, "connection_lost");
    instance->fd = fd;
    if (zhashx_insert (self->connections, s_fd_key (fd), instance) != 0)
        instance->fd = -1;      //  out of memory: the heartbeats still find its death
}

//  Forgets the instances whose connections closed (SPEC 5.4): a peer
//  killed on its own host is gone at once, not after 3 silent heartbeats.
static void
s_handle_monitor (gl_broker_t *self)
{
    if (!self->monitor)
        return;
    zmq_msg_t event;
    zmq_msg_init (&event);
    while (zmq_msg_recv (&event, self->monitor, ZMQ_DONTWAIT) != -1) {
        //  Frame 1: event number (16 bits) and value, the descriptor
        //  (32 bits), host order; frame 2: the endpoint, not needed.
        uint16_t number = 0;
        uint32_t fd = 0;
        if (zmq_msg_size (&event) == 6) {
            memcpy (&number, zmq_msg_data (&event), 2);
            memcpy (&fd, (uint8_t *) zmq_msg_data (&event) + 2, 4);
        }
        while (zmq_msg_more (&event) && zmq_msg_recv (&event, self->monitor, 0) != -1)
            ;
        instance_t *instance = number == ZMQ_EVENT_DISCONNECTED && fd < INT32_MAX
            ? (instance_t *) zhashx_lookup (self->connections, s_fd_key ((int) fd)): NULL;
        if (instance)
            s_instance_remove (self, instance, "connection_lost");
    }
    zmq_msg_close (&event);
}

//  READY: registers an instance and welcomes it (SPEC 5.1). The same
//  address from another connection takes the registration over: the old
//  connection is told DISCONNECT replaced and forgotten, and the messages
//  queued for that address pass to the new connection.
static void
s_handle_ready (gl_broker_t *self, const char *peer, const routing_id_t *routing_id, int fd,
                zmq_msg_t *body)
{
    gl_msg_t *ready = s_decode_control (self, peer, routing_id, body, GL_MSG_READY);
    if (!ready)
        return;
    char address [GL_WIRE_ADDRESS_MAX + 1];
    snprintf (address, sizeof (address), "%s/%s", ready->ready.service, ready->ready.instance);
    instance_t *current = (instance_t *) zhashx_lookup (self->peers, routing_id);
    instance_t *holder = (instance_t *) zhashx_lookup (self->instances, address);
    if (current && current == holder) {
        s_instance_renew (self, current, ready);
        gl_msg_destroy (&ready);
        return;
    }
    instance_t *instance = s_instance_new (self, routing_id, address);
    if (!instance || s_instance_follow (self, instance, ready) != 0) {
        s_instance_destroy (&instance);
        self->stats.out_of_memory++;
        s_send_error (self, routing_id, GL_WIRE_ERROR, "malformed",
                      "out of memory: READY not taken, send it again");
        gl_msg_destroy (&ready);
        return;
    }
    if (current)                //  this connection under another address
        s_instance_remove (self, current, "registered_again");
    if (holder) {
        s_send_error (self, &holder->routing_id, GL_WIRE_DISCONNECT, "replaced",
                      "another connection registered this service/instance");
        s_queue_splice (&instance->queue, &holder->queue);
        self->stats.replaced++;
        s_instance_remove (self, holder, "replaced");
    }
    if (s_instance_insert (self, instance, ready->ready.service) != 0) {
        self->stats.out_of_memory++;
        s_send_error (self, routing_id, GL_WIRE_ERROR, "malformed",
                      "out of memory: READY not taken, send it again");
        gl_msg_destroy (&ready);
        return;
    }
    s_instance_connect (self, instance, fd);
    gl_log_info ("instance_ready", "address=%s credit=%u follow=%zu", address,
                 ready->ready.credit, ready->ready.follow_count);
    s_send_welcome (self, instance);
    s_announce (self, instance->service, address, "joined");
    s_send_current (self, instance);
    s_instance_set_credit (self, instance, ready->ready.credit);
    gl_msg_destroy (&ready);
}

//  CREDIT: adds credit and delivers waiting messages.
static void
s_handle_credit (gl_broker_t *self, instance_t *instance, zmq_msg_t *body)
{
    gl_msg_t *credit = s_decode_control (self, instance->address, &instance->routing_id, body,
                                         GL_MSG_CREDIT);
    if (credit) {
        s_instance_set_credit (self, instance,
                               (uint64_t) instance->credit + credit->credit.credit);
        gl_msg_destroy (&credit);
    }
}

//  Finds (or opens) the account of a sender. NULL on out of memory.
static account_t *
s_account_require (gl_broker_t *self, const char *sender)
{
    account_t *account = (account_t *) zhashx_lookup (self->accounts, sender);
    if (!account) {
        account = (account_t *) calloc (1, sizeof (account_t));
        if (account && zhashx_insert (self->accounts, sender, account) != 0) {
            free (account);
            account = NULL;
        }
    }
    return account;
}

//  Queues a message for an instance (or for any instance of a service when
//  instance is NULL; the service named by destination is created when it
//  does not exist), or bounces it queue_full when a bound is reached.
static void
s_enqueue (gl_broker_t *self, service_t *service, instance_t *instance,
           const char *sender, const char *destination, zmq_msg_t *body)
{
    size_t cost = s_cost (zmq_msg_size (body), sender, destination);
    account_t *account = (account_t *) zhashx_lookup (self->accounts, sender);
    const char *full = s_over_bound (self, service, account, cost);
    if (full) {
        self->stats.refused++;
        s_bounce (self, sender, destination, body, "queue_full", full);
        return;
    }
    if (!service)
        service = s_service_new (self, destination);
    if (!account && service)
        account = s_account_require (self, sender);
    queued_t *queued = service && account? s_queued_new (body, sender, destination, cost): NULL;
    if (!queued) {
        if (account && account->messages == 0)
            zhashx_delete (self->accounts, sender);
        self->stats.out_of_memory++;
        self->stats.refused++;
        s_bounce (self, sender, destination, body, "queue_full",
                  "the broker is out of memory; retry later");
        return;
    }
    s_queue_append (instance? &instance->queue: &service->queue, queued);
    queued->queued_at = self->now;
    queued->account = account;
    queued->service = service;
    account->messages++;
    account->bytes += cost;
    service->queued_bytes += cost;
    self->queue_size++;
    self->queue_bytes += cost;
    self->stats.queued++;
}

//  Routes a body from sender to a resolved destination (an instance, or
//  any instance of a service, which may not exist yet): delivers it now
//  when an instance has credit and nothing waits before it, else queues it.
static void
s_route (gl_broker_t *self, const char *sender, const char *destination, service_t *service,
         instance_t *instance, zmq_msg_t *body)
{
    bool targeted = instance != NULL;
    if (targeted) {
        if (instance->credit == 0 || instance->queue.size) {
            s_enqueue (self, service, instance, sender, destination, body);
            return;
        }
    }
    else {
        instance = service? (instance_t *) zlistx_first (service->ready): NULL;
        if (!instance || service->queue.size) {
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
    if (rc == EAGAIN)           //  requeued, at the tail: nothing waited before it
        s_enqueue (self, service, targeted? instance: NULL, sender, destination, body);
}

//  Validates a SEND's address frame and remembers where it leads in the
//  sender's route. An address whose instance or service does not exist
//  leaves the route's service NULL and is not remembered. Returns false
//  when the address is malformed (and answers ERROR).
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
        if (s_reject_logged (self))
            gl_log_warn ("frame_rejected", "peer=%s reason=bad_address", sender->address);
        s_send_error (self, &sender->routing_id, GL_WIRE_ERROR, "malformed",
                      "SEND: expected an address 'service' or 'service/instance'");
        return false;
    }
    memcpy (route->address, zmq_msg_data (address), address_size);
    route->address [address_size] = '\0';
    route->size = address_size;
    route->targeted = instance_size > 0;
    if (route->targeted) {
        route->instance = (instance_t *) zhashx_lookup (self->instances, route->address);
        route->service = route->instance? route->instance->service: NULL;
    }
    else {
        route->instance = NULL;
        route->service = (service_t *) zhashx_lookup (self->services, route->address);
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
    //  Only an inproc peer can get here with a larger body: over tcp and
    //  ipc ZMQ_MAXMSGSIZE drops the connection first.
    if ((int64_t) zmq_msg_size (body) > self->max_body) {
        self->stats.rejected++;
        if (s_bounce_to (self, &instance->routing_id, route->address, route->size, body, false,
                         "too_large", "the body is larger than the max_body of WELCOME"))
            instance->last_sent = self->now;
    }
    else
    if (route->targeted && !route->service)
        s_bounce (self, instance->address, route->address, body, "no_such_instance",
                  "no instance is registered at this address");
    else
        s_route (self, instance->address, route->address, route->service, route->instance,
                 body);
}

//  The frame count a command needs (routing id and header included).
static int
s_frames_wanted (gl_wire_command_t command)
{
    return command == GL_WIRE_SEND? 4
         : (command == GL_WIRE_READY || command == GL_WIRE_CREDIT)? 3: 2;
}

//  True for the commands an actor sends to the broker.
static bool
s_actor_command (gl_wire_command_t command)
{
    return command == GL_WIRE_READY || command == GL_WIRE_HEARTBEAT || command == GL_WIRE_CREDIT
        || command == GL_WIRE_DISCONNECT || command == GL_WIRE_SEND;
}

//  A message from a peer that has not registered (SPEC 5.1): a well-formed
//  SEND comes back as BOUNCE not_registered, DISCONNECT is ignored, READY
//  is handled by the caller; anything else is answered ERROR
//  not_registered.
static void
s_handle_stranger (gl_broker_t *self, const char *peer, const routing_id_t *routing_id,
                   gl_wire_command_t command, zmq_msg_t *frame, int frames)
{
    if (command == GL_WIRE_DISCONNECT)
        return;
    self->stats.rejected++;
    gl_log_debug ("frame_rejected", "peer=%s reason=not_registered command=%s", peer,
                  gl_wire_command_name (command));
    if (command == GL_WIRE_SEND && frames == 4) {
        size_t size = zmq_msg_size (&frame [2]);
        bool echo = (int64_t) zmq_msg_size (&frame [3]) <= self->max_body;
        s_bounce_to (self, routing_id, zmq_msg_data (&frame [2]), size, &frame [3], echo,
                     "not_registered", "send READY first");
    }
    else
        s_send_error (self, routing_id, GL_WIRE_ERROR, "not_registered", "send READY first");
}

//  Handles one message of `frames` frames (frame 0 is the routing id;
//  S_MAX_FRAMES + 1 means more than S_MAX_FRAMES, which no command has).
static void
s_handle_message (gl_broker_t *self, zmq_msg_t *frame, int frames)
{
    routing_id_t from;
    from.size = frames > 0? zmq_msg_size (&frame [0]): 0;
    if (from.size == 0 || from.size > sizeof (from.data))
        return;                 //  ZeroMQ never gives a ROUTER such an id
    memcpy (from.data, zmq_msg_data (&frame [0]), from.size);
    const routing_id_t *routing_id = &from;
    gl_wire_command_t command;
    gl_wire_header_status_t status = frames < 2? GL_WIRE_HEADER_MALFORMED
        : gl_wire_header_parse (zmq_msg_data (&frame [1]), zmq_msg_size (&frame [1]), &command);
    //  A connection that closed before this one registered is forgotten
    //  first: this one may have been given its descriptor.
    if (status == GL_WIRE_HEADER_OK && command == GL_WIRE_READY)
        s_handle_monitor (self);
    instance_t *instance = (instance_t *) zhashx_lookup (self->peers, routing_id);
    char hex [2 * sizeof (from.data) + 1];
    const char *peer = instance? instance->address: s_routing_id_hex (routing_id, hex);
    if (instance)
        instance->last_seen = self->now;

    if (status != GL_WIRE_HEADER_OK) {
        self->stats.rejected++;
        const char *reason = status == GL_WIRE_HEADER_BAD_VERSION? "bad_version"
                           : status == GL_WIRE_HEADER_BAD_COMMAND? "bad_command": "malformed";
        if (s_reject_logged (self))
            gl_log_warn ("frame_rejected", "peer=%s reason=%s", peer, reason);
        //  A wrong version is answered to anyone: it is how a peer learns
        //  what this broker speaks.
        if (status == GL_WIRE_HEADER_BAD_VERSION || instance)
            s_send_error (self, routing_id, GL_WIRE_ERROR, reason,
                          status == GL_WIRE_HEADER_BAD_VERSION? "this broker speaks GLP version 1"
                                                              : "expected a GLP/1 header");
        return;
    }
    if (!instance && command != GL_WIRE_READY) {
        s_handle_stranger (self, peer, routing_id, command, frame, frames);
        return;
    }
    if (!s_actor_command (command)) {
        //  Before the frame count: a command the broker sends is refused
        //  for its direction however many frames it came with (SPEC 5.6)
        self->stats.rejected++;
        if (s_reject_logged (self))
            gl_log_warn ("frame_rejected", "peer=%s reason=bad_command command=%s", peer,
                         gl_wire_command_name (command));
        s_send_error (self, routing_id, GL_WIRE_ERROR, "bad_command",
                      "this command is not sent to a broker");
        return;
    }
    if (frames != s_frames_wanted (command)) {
        self->stats.rejected++;
        if (s_reject_logged (self))
            gl_log_warn ("frame_rejected", "peer=%s reason=frame_count command=%s frames=%d "
                         "wanted=%d", peer, gl_wire_command_name (command), frames,
                         s_frames_wanted (command));
        s_send_error (self, routing_id, GL_WIRE_ERROR, "malformed",
                      "wrong number of frames for the command");
        return;
    }
    switch (command) {
        case GL_WIRE_READY:
            //  The routing id frame is the ROUTER's own, without the
            //  connection's metadata; the header came off the wire.
            s_handle_ready (self, peer, routing_id, zmq_msg_get (&frame [1], ZMQ_SRCFD),
                            &frame [2]);
            break;
        case GL_WIRE_HEARTBEAT:
            break;
        case GL_WIRE_CREDIT:
            s_handle_credit (self, instance, &frame [2]);
            break;
        case GL_WIRE_SEND:
            s_handle_send (self, instance, &frame [2], &frame [3]);
            break;
        default:                //  GL_WIRE_DISCONNECT: s_actor_command let no other by
            s_instance_remove (self, instance, "disconnected");
    }
}

//  Reads one whole multipart message into frame[] (at most S_MAX_FRAMES;
//  the rest is read and dropped) if one is there. Returns the frame
//  count, 0 when none was, -1 on a socket error, or S_MAX_FRAMES + 1 when
//  longer.
static int
s_receive (gl_broker_t *self, zmq_msg_t *frame)
{
    int frames = 0;
    bool too_long = false;
    int more = 1;
    while (more) {
        zmq_msg_t *target = frames < S_MAX_FRAMES? &frame [frames]: &frame [S_MAX_FRAMES];
        int flags = frames == 0? ZMQ_DONTWAIT: 0;
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

//  Waits up to timeout ms for a message or a closed connection, then
//  handles up to S_BATCH messages and, once none is left, the closed
//  connections. In that order: what a peer sent just before its
//  connection closed (a fetcher killed after its last BARS) is already
//  queued when the closing is announced, and is routed, not refused as
//  coming from nobody. A batch that leaves messages waiting leaves the
//  closings for the next turn, which the waiting messages make at once
//  (a flood that never lets the router drain leaves them to the
//  heartbeats, which find those deaths as before).
static int
s_handle_input (gl_broker_t *self, int timeout)
{
    zmq_pollitem_t items [] = {{self->router, 0, ZMQ_POLLIN, 0},
                               {self->monitor, 0, ZMQ_POLLIN, 0}};
    int ready = zmq_poll (items, self->monitor? 2: 1, timeout);
    self->now = zclock_mono ();
    if (ready == -1)
        return zmq_errno () == EINTR? 0: -1;
    bool closings = self->monitor && items [1].revents;
    zmq_msg_t frame [S_MAX_FRAMES + 1];
    for (int index = 0; index <= S_MAX_FRAMES; index++)
        zmq_msg_init (&frame [index]);
    int rc = 0;
    bool drained = false;
    for (int count = 0; count < S_BATCH && (items [0].revents || closings); count++) {
        int frames = s_receive (self, frame);
        if (frames <= 0) {
            rc = frames;
            drained = frames == 0;
            break;
        }
        self->stats.received++;
        s_handle_message (self, frame, frames);
    }
    for (int index = 0; index <= S_MAX_FRAMES; index++)
        zmq_msg_close (&frame [index]);
    if (closings && drained)
        s_handle_monitor (self);
    return rc;
}

//  Bounces no_instance what has waited broker/no_instance_timeout_ms for
//  a service that has had no instance all that time. The queue is in
//  order, so the sweep stops at the first message still within its time.
static void
s_expire (gl_broker_t *self, service_t *service)
{
    if (zlistx_size (service->instances))
        return;
    queued_t *queued;
    while ((queued = service->queue.head)) {
        int64_t since = queued->queued_at > service->empty_since? queued->queued_at
                                                                 : service->empty_since;
        if (self->now - since < self->no_instance_timeout_ms)
            return;
        queued = s_queued_take (self, &service->queue);
        self->stats.expired++;
        s_bounce (self, queued->sender, queued->destination, &queued->body, "no_instance",
                  "no instance of the service registered in broker/no_instance_timeout_ms");
        s_queued_destroy (&queued);
    }
}

//  Heartbeats quiet peers, removes those silent for S_LIVENESS beats,
//  expires messages for absent services, retries what a high-water mark
//  blocked, and releases empty services.
static void
s_heartbeat (gl_broker_t *self)
{
    zlistx_t *dead = zlistx_new ();
    instance_t *instance = (instance_t *) zhashx_first (self->peers);
    while (instance && dead) {
        if (self->now - instance->last_seen > S_LIVENESS * self->heartbeat_ms)
            zlistx_add_end (dead, instance);
        else
        if (self->now - instance->last_sent >= self->heartbeat_ms) {
            if (s_send (self, &instance->routing_id, GL_WIRE_HEARTBEAT, NULL, 0) == 0)
                instance->last_sent = self->now;
        }
        instance = (instance_t *) zhashx_next (self->peers);
    }
    if (!dead)
        self->stats.out_of_memory++;    //  the next sweep tries again
    while (dead && (instance = (instance_t *) zlistx_detach (dead, NULL)))
        s_instance_remove (self, instance, "silent");
    zlistx_destroy (&dead);
    service_t *service = (service_t *) zhashx_first (self->services);
    while (service) {
        s_expire (self, service);
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
        " waiting_bytes=%zu bounced=%" PRIu64 " unbounceable=%" PRIu64 " refused=%" PRIu64
        " expired=%" PRIu64 " rejected=%" PRIu64 " unreachable=%" PRIu64 " blocked=%" PRIu64
        " broken=%" PRIu64 " out_of_memory=%" PRIu64 " deaths=%" PRIu64 " replaced=%" PRIu64
        " curve_refused=%" PRIu64 " instances=%zu",
        stats->received, stats->delivered, stats->queued, self->queue_size, self->queue_bytes,
        stats->bounced, stats->unbounceable, stats->refused, stats->expired, stats->rejected,
        stats->unreachable, stats->blocked, stats->broken, stats->out_of_memory,
        stats->deaths, stats->replaced, gl_curve_guard_refused (self->guard),
        zhashx_size (self->peers));
}

//  At a stop: bounces every queued message shutdown (it would be lost with
//  the process) and tells every peer DISCONNECT shutdown.
static void
s_shutdown (gl_broker_t *self)
{
    service_t *service = (service_t *) zhashx_first (self->services);
    while (service) {
        s_queue_bounce_all (self, &service->queue, "shutdown", "the broker is stopping");
        service = (service_t *) zhashx_next (self->services);
    }
    instance_t *instance = (instance_t *) zhashx_first (self->peers);
    while (instance) {
        s_queue_bounce_all (self, &instance->queue, "shutdown", "the broker is stopping");
        instance = (instance_t *) zhashx_next (self->peers);
    }
    instance = (instance_t *) zhashx_first (self->peers);
    while (instance) {
        s_send_error (self, &instance->routing_id, GL_WIRE_DISCONNECT, "shutdown",
                      "the broker is stopping; reconnect with backoff");
        instance = (instance_t *) zhashx_next (self->peers);
    }
    //  Give ZeroMQ a moment to flush those at zmq_ctx_term.
    int linger = S_SHUTDOWN_LINGER_MS;
    zmq_setsockopt (self->router, ZMQ_LINGER, &linger, sizeof (linger));
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
        if (self->reload && *self->reload) {
            *self->reload = 0;
            self->reload_fn (self->reload_argument);
        }
        if (self->now >= self->next_heartbeat) {
            s_heartbeat (self);
            s_log_rejects_unlogged (self, false);
            self->next_heartbeat = self->now + self->heartbeat_ms;
        }
        if (self->now >= self->next_stats) {
            s_log_stats (self);
            self->next_stats = self->now + self->stats_ms;
        }
    }
    self->now = zclock_mono ();
    s_shutdown (self);
    s_log_rejects_unlogged (self, true);
    s_log_stats (self);
    return 0;
}

void
gl_broker_on_reload (gl_broker_t *self, volatile sig_atomic_t *flag, void (*fn) (void *argument),
                     void *argument)
{
    self->reload = fn? flag: NULL;
    self->reload_fn = fn;
    self->reload_argument = argument;
}

gl_broker_stats_t
gl_broker_stats (gl_broker_t *self)
{
    self->stats.curve_refused = gl_curve_guard_refused (self->guard);
    return self->stats;
}

void
gl_broker_handle (gl_broker_t *self, zmq_msg_t *frame, int frames)
{
    self->now = zclock_mono ();
    self->stats.received++;
    s_handle_message (self, frame, frames);
}

void
gl_broker_sweep (gl_broker_t *self)
{
    self->now = zclock_mono ();
    s_heartbeat (self);
}

void *
gl_broker_context (gl_broker_t *self)
{
    return self->context;
}

//  --------------------------------------------------------------------------
//  Construction

//  Reads the queue bounds; returns 0 or -1 with the reason.
static int
s_configure_bounds (gl_broker_t *self, gl_config_t *config, char *error)
{
    int64_t queue_limit, queue_bytes, service_bytes, share;
    if (gl_config_int (config, "broker/queue_limit", 100000, 1, 100000000, &queue_limit, error)
     || gl_config_int (config, "broker/queue_bytes", 256LL << 20, 1 << 16, 1LL << 40,
                       &queue_bytes, error)
     || gl_config_int (config, "broker/service_queue_bytes", 64LL << 20, 1 << 16, 1LL << 40,
                       &service_bytes, error)
     || gl_config_int (config, "broker/sender_queue_share", 50, 1, 100, &share, error)
     || gl_config_int (config, "broker/no_instance_timeout_ms", 30000, 1, 86400000,
                       &self->no_instance_timeout_ms, error))
        return -1;
    self->queue_limit = (size_t) queue_limit;
    self->queue_bytes_limit = (size_t) queue_bytes;
    self->service_bytes_limit = (size_t) service_bytes;
    self->sender_messages_limit = (size_t) (queue_limit * share / 100);
    self->sender_bytes_limit = (size_t) (queue_bytes / 100 * share);
    if (self->sender_messages_limit == 0)
        self->sender_messages_limit = 1;
    return 0;
}

//  Reads the numeric settings and the id; returns 0 or -1 with the reason.
static int
s_configure (gl_broker_t *self, gl_config_t *config, char *error)
{
    if (gl_config_int (config, "broker/heartbeat_ms", 1000, 10, 600000, &self->heartbeat_ms, error)
     || gl_config_int (config, "broker/credit_limit", 10000, 1, GL_MSG_CREDIT_MAX,
                       &self->credit_limit, error)
     || gl_config_int (config, "broker/max_body", GL_MSG_MAX_BODY, 1024, GL_MSG_MAX_BODY,
                       &self->max_body, error)
     || gl_config_int (config, "broker/stats_ms", 10000, 100, 86400000, &self->stats_ms, error)
     || s_configure_bounds (self, config, error))
        return -1;
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
    for (char *c = self->id; *c; c++)          //  a host name may hold other bytes
        if (!gl_wire_instance_valid (c, 1))
            *c = '-';
    return 0;
}

//  True if another process serves this ipc endpoint. ZeroMQ's ipc bind
//  first unlinks whatever file is at the path, so that the socket file of
//  a crashed broker does not block a restart; but that also silently takes
//  the path from a live broker, whose actors then reach the new one or
//  neither. A connect() tells the two apart: a live listener accepts, a
//  stale file refuses (ECONNREFUSED), no file is ENOENT. Two brokers
//  starting in the same instant can still race; that is the operator's.
static bool
s_ipc_in_use (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) != 0 || endpoint [6] == '@' || endpoint [6] == '\0')
        return false;           //  abstract sockets refuse a second bind themselves
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen (endpoint + 6) >= sizeof (address.sun_path))
        return false;           //  zmq_bind reports it
    strcpy (address.sun_path, endpoint + 6);
    int handle = socket (AF_UNIX, SOCK_STREAM, 0);
    if (handle == -1)
        return false;
    bool in_use = connect (handle, (struct sockaddr *) &address, sizeof (address)) == 0;
    close (handle);
    return in_use;
}

//  Binds one endpoint, refusing an ipc path another process serves.
static int
s_bind_endpoint (gl_broker_t *self, const char *endpoint, char *error)
{
    if (s_ipc_in_use (endpoint)) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: broker/bind: '%s' is in use: another "
                  "process (another broker?) accepts connections on it", endpoint);
        return -1;
    }
    if (zmq_bind (self->router, endpoint) != 0) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: broker/bind: cannot bind '%s': %s",
                  endpoint, zmq_strerror (zmq_errno ()));
        return -1;
    }
    gl_log_info ("broker_bound", "endpoint=%s", endpoint);
    return 0;
}

//  Binds the endpoints of the list that stay on this host (local true) or
//  the others. Returns 0 or -1 with error.
static int
s_bind_list (gl_broker_t *self, const char *endpoints, bool local, char *error)
{
    char *list = strdup (endpoints);
    if (!list) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "broker: out of memory");
        return -1;
    }
    char *saveptr = NULL;
    int rc = 0;
    for (char *endpoint = strtok_r (list, ", ", &saveptr); endpoint && rc == 0;
         endpoint = strtok_r (NULL, ", ", &saveptr))
        if (gl_curve_endpoint_local (endpoint) == local)
            rc = s_bind_endpoint (self, endpoint, error);
    free (list);
    return rc;
}

//  True if the list names an endpoint that leaves this host.
static bool
s_any_remote (const char *endpoints)
{
    char *list = strdup (endpoints), *saveptr = NULL;
    bool remote = false;
    for (char *endpoint = list? strtok_r (list, ", ", &saveptr): NULL; endpoint && !remote;
         endpoint = strtok_r (NULL, ", ", &saveptr))
        remote = !gl_curve_endpoint_local (endpoint);
    free (list);
    return remote;
}

//  Makes the socket a CURVE server guarded by the allow list, or accepts
//  plain tcp when told insecure (loudly), or refuses. Returns 0 or -1.
static int
s_secure (gl_broker_t *self, gl_config_t *config, char *error)
{
    const char *secret = gl_config_get (config, "broker/curve_secret", NULL);
    const char *allow = gl_config_get (config, "broker/curve_allow", NULL);
    int64_t insecure;
    if (gl_config_int (config, "broker/insecure", 0, 0, 1, &insecure, error))
        return -1;
    if (!secret != !allow) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: broker/curve_secret and broker/curve_allow"
                  " go together: the broker's secret certificate and the directory of the"
                  " actors' public certificates");
        return -1;
    }
    char reason [GL_CURVE_ERROR_MAX];
    if (secret) {
        if (!(self->guard = gl_curve_guard_new (self->context, allow, reason))
        ||  gl_curve_server (self->router, secret, reason) == -1) {
            snprintf (error, GL_CONFIG_ERROR_MAX, "config: broker/curve: %.480s", reason);
            return -1;
        }
        gl_log_info ("broker_curve", "allow=%s", GL_LOG_VALUE (allow));
        return 0;
    }
    if (!insecure) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: broker/bind: a tcp endpoint other hosts"
                  " can reach needs CURVE (broker/curve_secret and broker/curve_allow; see"
                  " gapless keygen), or broker/insecure = 1 to accept plain tcp");
        return -1;
    }
    gl_log_warn ("broker_insecure", "reason=\"broker/insecure = 1: tcp from other hosts is"
                 " neither authenticated nor encrypted; anyone who reaches the port can join\"");
    fprintf (stderr, "gapless-broker: WARNING: insecure: plain tcp from other hosts is accepted"
             " (broker/insecure = 1)\n");
    return 0;
}

//  Creates the ROUTER socket and binds every configured endpoint: those
//  that stay on this host first, as they are; then, made a CURVE server
//  (libzmq takes a listener's security at bind), the others.
static int
s_bind (gl_broker_t *self, gl_config_t *config, char *error)
{
    const char *endpoints = gl_config_get (config, "broker/bind", "tcp://127.0.0.1:5570");
    self->router = zmq_socket (self->context, ZMQ_ROUTER);
    if (!self->router) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "broker: cannot create a socket: %s",
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    int on = 1, linger = 0;
    int hwm = (int) self->credit_limit + S_CONTROL_HWM;
    //  Every frame is at most max_body (a header and an address are far
    //  smaller): libzmq drops a connection that sends a larger frame
    //  before the broker allocates it.
    int64_t largest = self->max_body;
    if (zmq_setsockopt (self->router, ZMQ_ROUTER_MANDATORY, &on, sizeof (on))
    ||  zmq_setsockopt (self->router, ZMQ_LINGER, &linger, sizeof (linger))
    ||  zmq_setsockopt (self->router, ZMQ_SNDHWM, &hwm, sizeof (hwm))
    ||  zmq_setsockopt (self->router, ZMQ_RCVHWM, &hwm, sizeof (hwm))
    ||  zmq_setsockopt (self->router, ZMQ_MAXMSGSIZE, &largest, sizeof (largest))) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "broker: cannot set socket options: %s",
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (s_bind_list (self, endpoints, true, error) != 0)
        return -1;
    if (!s_any_remote (endpoints))
        return 0;
    if (s_secure (self, config, error) != 0)
        return -1;
    return s_bind_list (self, endpoints, false, error);
}

//  Watches the router's connections close (DISCONNECTED carries the
//  descriptor that messages' ZMQ_SRCFD names), on an inproc PAIR whose
//  name is this broker's own.
static int
s_monitor (gl_broker_t *self, char *error)
{
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "inproc://gl-broker-monitor-%p", (void *) self);
    int linger = 0;
    if (zmq_socket_monitor (self->router, endpoint, ZMQ_EVENT_DISCONNECTED) != 0
    ||  !(self->monitor = zmq_socket (self->context, ZMQ_PAIR))
    ||  zmq_setsockopt (self->monitor, ZMQ_LINGER, &linger, sizeof (linger))
    ||  zmq_connect (self->monitor, endpoint) != 0) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "broker: cannot monitor the socket: %s",
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

//  Creates the tables. Returns 0, or -1 on out of memory.
static int
s_tables_new (gl_broker_t *self)
{
    self->peers = zhashx_new ();
    self->connections = zhashx_new ();
    self->instances = zhashx_new ();
    self->services = zhashx_new ();
    self->accounts = zhashx_new ();
    self->followers = zlistx_new ();
    if (!self->peers || !self->connections || !self->instances || !self->services
    ||  !self->accounts || !self->followers)
        return -1;
    //  Keys are the instances' own routing ids: not copied, not freed.
    zhashx_set_key_hasher (self->peers, s_routing_id_hash);
    zhashx_set_key_comparator (self->peers, s_routing_id_compare);
    zhashx_set_key_duplicator (self->peers, NULL);
    zhashx_set_key_destructor (self->peers, NULL);
    zhashx_set_key_hasher (self->connections, s_fd_hash);
    zhashx_set_key_comparator (self->connections, s_fd_compare);
    zhashx_set_key_duplicator (self->connections, NULL);
    zhashx_set_key_destructor (self->connections, NULL);
    zhashx_set_destructor (self->peers, (zhashx_destructor_fn *) s_instance_destroy);
    zhashx_set_destructor (self->services, (zhashx_destructor_fn *) s_service_destroy);
    zhashx_set_destructor (self->accounts, (zhashx_destructor_fn *) s_account_destroy);
    return 0;
}

gl_broker_t *
gl_broker_new (gl_config_t *config, char *error)
{
    gl_broker_t *self = (gl_broker_t *) calloc (1, sizeof (gl_broker_t));
    if (!self) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "broker: out of memory");
        return NULL;
    }
    self->generation = 1;
    self->now = zclock_mono ();
    self->context = zmq_ctx_new ();
    if (!self->context || s_tables_new (self) != 0) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "broker: out of memory");
        gl_broker_destroy (&self);
    }
    else
    if (s_configure (self, config, error) != 0 || s_bind (self, config, error) != 0
    ||  s_monitor (self, error) != 0)
        gl_broker_destroy (&self);
    return self;
}

void
gl_broker_destroy (gl_broker_t **self_p)
{
    if (self_p && *self_p) {
        gl_broker_t *self = *self_p;
        zlistx_destroy (&self->followers);
        zhashx_destroy (&self->instances);
        zhashx_destroy (&self->connections);
        zhashx_destroy (&self->peers);
        zhashx_destroy (&self->services);
        zhashx_destroy (&self->accounts);
        if (self->monitor) {
            zmq_socket_monitor (self->router, NULL, 0);
            zmq_close (self->monitor);
        }
        if (self->router)
            zmq_close (self->router);
        if (self->context)
            zmq_ctx_shutdown (self->context);     //  wakes the guard's thread
        gl_curve_guard_destroy (&self->guard);
        if (self->context)
            zmq_ctx_term (self->context);
        free (self);
        *self_p = NULL;
    }
}
