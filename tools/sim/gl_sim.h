/*  gl_sim — the gapless-sim server: one HTTP listener per simulated
    provider on 127.0.0.1, plus an admin listener, configured from a ZPL
    file (see config/sim.cfg and tools/sim/README.md).

    libmicrohttpd runs one thread per connection, so a hanging or slow
    answer holds only its own connection: the simplest model in which a
    fault never blocks other clients, and keep-alive clients each keep a
    thread (the sim serves tens of clients, not thousands).

    Admin paths (/admin/...) are answered on every listener, so a test
    holding one provider's URL can reach them, and on the admin listener.
*/
#ifndef GL_SIM_H_INCLUDED
#define GL_SIM_H_INCLUDED

#include <stdint.h>
#include <stdio.h>

typedef struct _gl_sim_t gl_sim_t;

//  Loads the configuration (NULL: built-in defaults: ephemeral ports, no
//  keys, no limits, no faults) and builds the server without listening.
//  seed, if not NULL, overrides sim/seed. Logs the reason and returns NULL
//  on a bad configuration. Caller owns return value.
gl_sim_t *gl_sim_new (const char *config_path, const char *seed);

//  Starts every listener and prints one "listening provider=<name>
//  url=http://127.0.0.1:<port>" line per listener to out, then flushes.
//  Returns 0, or -1 (logged) if a listener cannot start.
int gl_sim_start (gl_sim_t *self, FILE *out);

//  Stops the listeners (waking hanging answers) and destroys the server;
//  nulls the caller's pointer. Safe twice.
void gl_sim_destroy (gl_sim_t **self_p);

#endif
