/*  gl_cli_backfill — gapless enqueue, status, cancel, pause, resume and
    dlq: the commands that talk to the scheduler through the broker. Each
    takes its argv (argv [0] is the command's name) and returns the exit
    status: 0 done, 1 refused or no answer, 2 bad arguments.
*/
#ifndef GL_CLI_BACKFILL_H_INCLUDED
#define GL_CLI_BACKFILL_H_INCLUDED

#include <stdint.h>
#include "gl_msg.h"

int gl_cli_enqueue (int argc, char **argv);
int gl_cli_status (int argc, char **argv);
int gl_cli_control (int argc, char **argv);     //  cancel, pause, resume
int gl_cli_dlq (int argc, char **argv);

//  What the other commands that talk through the broker share: a date
//  (YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z or Unix seconds; returns 0 or -1),
//  and a reply printed as one JSON object.
int gl_cli_parse_time (const char *text, int64_t *seconds);
void gl_cli_print_reply (const gl_msg_t *reply);

#endif
