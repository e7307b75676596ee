/*  gl_cli_args — the checks every gapless command applies to its
    arguments before anything is sent: whole integers in a range, tickers,
    broker and ops endpoints. Each says what is wrong, for a one-line
    usage error.
*/
#ifndef GL_CLI_ARGS_H_INCLUDED
#define GL_CLI_ARGS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  Parses a whole decimal integer in [minimum, maximum]: an optional '-'
//  and digits, nothing before or after (no spaces, no '+', no "12abc"),
//  and no overflow. Returns 0 with the value, or -1.
int gl_cli_args_integer (const char *text, int64_t minimum, int64_t maximum, int64_t *value);

//  Checks a ticker as the protocol takes it: 1-32 of A-Z a-z 0-9 . ^ = : / _ -.
//  Returns 0, or -1 with what is wrong in reason (size bytes).
int gl_cli_args_symbol (const char *ticker, char *reason, size_t size);

//  Checks an endpoint a command connects to from another process:
//  tcp://HOST:PORT (PORT 1-65535) or ipc://PATH. Returns 0, or -1 with
//  what is wrong in reason (size bytes).
int gl_cli_args_endpoint (const char *endpoint, char *reason, size_t size);

#endif
