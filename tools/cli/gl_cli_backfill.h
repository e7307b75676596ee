/*  gl_cli_backfill — gapless enqueue, status, cancel, pause, resume and
    dlq: the commands that talk to the scheduler through the broker. Each
    takes its argv (argv [0] is the command's name) and returns the exit
    status: 0 done, 1 refused or no answer, 2 bad arguments.
*/
#ifndef GL_CLI_BACKFILL_H_INCLUDED
#define GL_CLI_BACKFILL_H_INCLUDED

int gl_cli_enqueue (int argc, char **argv);
int gl_cli_status (int argc, char **argv);
int gl_cli_control (int argc, char **argv);     //  cancel, pause, resume
int gl_cli_dlq (int argc, char **argv);

#endif
