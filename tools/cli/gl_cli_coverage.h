/*  gl_cli_coverage — gapless coverage: asks the coverage tracker, through
    the broker, what is stored of one symbol and timeframe over a range:
    the covered ranges, the gaps, and every expected bar counted as
    stored, no trades, not fetched or provider error. Takes its argv
    (argv [0] is the command's name) and returns the exit status: 0 done,
    1 refused or no answer, 2 bad arguments.
*/
#ifndef GL_CLI_COVERAGE_H_INCLUDED
#define GL_CLI_COVERAGE_H_INCLUDED

int gl_cli_coverage (int argc, char **argv);

#endif
