/*  gl_broker — the GLP/1 broker: one ROUTER socket that registers actor
    instances, routes their messages by service or instance under credit,
    queues within a bound, bounces what it cannot deliver, and watches
    heartbeats. protocol/SPEC.md is the contract.

    Configuration keys (gl_config):
      broker/bind          endpoints, comma-separated (tcp://127.0.0.1:5570)
      broker/id            the broker's id in WELCOME (default: host:pid)
      broker/heartbeat_ms  heartbeat interval (default 1000)
      broker/queue_limit   messages queued in all (default 100000)
      broker/credit_limit  most credit one instance may hold (default 10000)
      broker/max_body      largest body accepted, bytes (default 16 MiB)
      broker/stats_ms      interval of the broker_stats log line (default 10000)
*/
#ifndef GL_BROKER_H_INCLUDED
#define GL_BROKER_H_INCLUDED

#include <signal.h>
#include <stdint.h>
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
    uint64_t rejected;          //  malformed, unknown or out-of-place frames
    uint64_t unreachable;       //  sends that found the peer gone
    uint64_t blocked;           //  sends refused at a high-water mark
    uint64_t deaths;            //  instances declared dead or disconnected
} gl_broker_stats_t;

//  Creates a broker from configuration and binds its endpoints. Returns
//  NULL with the reason in error (GL_CONFIG_ERROR_MAX bytes).
//  Caller owns return value.
gl_broker_t *gl_broker_new (gl_config_t *config, char *error);

//  Destroys the broker and nulls the caller's pointer. Safe twice.
void gl_broker_destroy (gl_broker_t **self_p);

//  Serves until *stop becomes non-zero (a signal handler sets it).
//  Returns 0 on a clean stop, -1 if the socket failed.
int gl_broker_run (gl_broker_t *self, volatile sig_atomic_t *stop);

//  The counters so far.
gl_broker_stats_t gl_broker_stats (gl_broker_t *self);

#endif
