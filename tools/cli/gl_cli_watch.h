/*  gl_cli_watch — gapless watch: a full-terminal dashboard of the ops
    publication (backfills with their bars, providers with health,
    breaker and limit use, the queue and live instances), redrawn in
    place with ncurses; q or Ctrl-C quits. Laid out for 80x24 and more.
    With --json it prints one snapshot instead and exits.
*/
#ifndef GL_CLI_WATCH_H_INCLUDED
#define GL_CLI_WATCH_H_INCLUDED

//  gapless watch: argv [0] is "watch". Returns the exit status: 0 done,
//  1 ops did not answer (--json), 2 bad arguments or no terminal.
int gl_cli_watch (int argc, char **argv);

#endif
