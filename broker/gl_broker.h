/*  gl_broker — the GLP/1 broker: one ROUTER socket that registers actor
    instances, routes their messages by service or instance under credit,
    queues within bounds, bounces what it cannot deliver, and watches
    heartbeats. protocol/SPEC.md is the contract.

    Configuration keys (gl_config):
      broker/bind                   endpoints, comma-separated (tcp://127.0.0.1:5570)
      broker/id                     the broker's id in WELCOME (default: host:pid)
      broker/heartbeat_ms           heartbeat interval (default 1000)
      broker/queue_limit            messages queued in all (default 100000)
      broker/queue_bytes            bytes queued in all (default 256 MiB)
      broker/service_queue_bytes    bytes queued for one service and its
                                    instances (default 64 MiB)
      broker/sender_queue_share     percent of queue_limit and of queue_bytes
                                    one sender may fill (default 50)
      broker/no_instance_timeout_ms longest wait of a message for a service
                                    with no instance (default 30000)
      broker/credit_limit           most credit one instance may hold (default 10000)
      broker/max_body               largest frame accepted, bytes (default 16 MiB)
      broker/stats_ms               interval of the broker_stats log line (default 10000)
      broker/curve_secret           the broker's secret certificate (gapless keygen):
                                    tcp endpoints other hosts reach are CURVE servers
      broker/curve_allow            directory of the public certificates of the
                                    actors allowed in (re-read when it changes)
      broker/insecure               1: accept plain tcp from other hosts (default 0:
                                    such an endpoint without CURVE is refused)
    Endpoints that stay on this host (ipc, inproc, tcp on loopback) are
    bound as they are; see actors/lib/gl_curve.h.
*/
#ifndef GL_BROKER_H_INCLUDED
#define GL_BROKER_H_INCLUDED

#include <signal.h>
#include <stdint.h>
#include <zmq.h>
#include "gl_config.h"

typedef struct _gl_broker_t gl_broker_t;

//  Counters the broker keeps; every way a message can fail to arrive has
//  one.
typedef struct {
    uint64_t received;          //  messages read from the socket
    uint64_t delivered;         //  DELIVERs handed to ZeroMQ
    uint64_t queued;            //  SENDs that had to wait for credit
    uint64_t bounced;           //  BOUNCEs sent
    uint64_t unbounceable;      //  bounces whose sender had gone
    uint64_t refused;           //  SENDs bounced queue_full (a bound was reached)
    uint64_t expired;           //  messages bounced no_instance (waited too long)
    uint64_t rejected;          //  malformed, unknown or out-of-place frames
    uint64_t unreachable;       //  sends that found the peer gone
    uint64_t blocked;           //  sends refused at a high-water mark
    uint64_t broken;            //  sends that failed after their first frame
    uint64_t out_of_memory;     //  allocations that failed (the message was refused)
    uint64_t deaths;            //  instances declared dead or disconnected
    uint64_t replaced;          //  registrations taken over by another connection
    uint64_t curve_refused;     //  CURVE clients whose key is not in the allow list
} gl_broker_stats_t;

//  Creates a broker from configuration and binds its endpoints. Returns
//  NULL with the reason in error (GL_CONFIG_ERROR_MAX bytes): a bad key,
//  an endpoint that cannot be bound, or an ipc endpoint another live
//  process (another broker) is serving. Caller owns return value.
gl_broker_t *gl_broker_new (gl_config_t *config, char *error);

//  Destroys the broker and nulls the caller's pointer. Safe twice.
void gl_broker_destroy (gl_broker_t **self_p);

//  Serves until *stop becomes non-zero (a signal handler sets it), then
//  bounces what is queued and tells every peer DISCONNECT shutdown.
//  Returns 0 on a clean stop, -1 if the socket failed.
int gl_broker_run (gl_broker_t *self, volatile sig_atomic_t *stop);

//  While serving, calls fn(argument) whenever *flag is set (a SIGHUP
//  handler sets it), and clears it. The run loop wakes within a heartbeat
//  interval, at once when the signal interrupts its wait.
void gl_broker_on_reload (gl_broker_t *self, volatile sig_atomic_t *flag,
                          void (*fn) (void *argument), void *argument);

//  The counters so far.
gl_broker_stats_t gl_broker_stats (gl_broker_t *self);

//  For the fuzzer and in-process tests: handles one message as if read
//  from the socket. frame[0] is the routing id; frames is the count
//  (S_MAX_FRAMES + 1, i.e. 5, means "more than 4"). The frames stay the
//  caller's (each is left valid, possibly emptied).
void gl_broker_handle (gl_broker_t *self, zmq_msg_t *frame, int frames);

//  For the fuzzer and in-process tests: runs the heartbeat sweep now
//  (deaths, timeouts, retries, releasing empty services).
void gl_broker_sweep (gl_broker_t *self);

//  The broker's ZeroMQ context, for peers that connect over inproc.
void *gl_broker_context (gl_broker_t *self);

#endif
