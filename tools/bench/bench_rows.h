/*  bench_rows — one result row of a benchmark, the way tools/bench/run
    gathers them: with --rows a bench prints each row as tab-separated

        name  measured  baseline  ratio  target  pass|fail|-

    on stdout (and nothing else there), instead of its own table.

    Header-only, for the benches in this folder.
*/
#ifndef BENCH_ROWS_H_INCLUDED
#define BENCH_ROWS_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

//  True when --rows is among the arguments; removes it so the bench's own
//  argument parsing stays as it was.
static inline bool
bench_rows_requested (int *argc, char **argv)
{
    for (int index = 1; index < *argc; index++)
        if (strcmp (argv [index], "--rows") == 0) {
            memmove (argv + index, argv + index + 1, (size_t) (*argc - index) * sizeof (char *));
            (*argc)--;
            return true;
        }
    return false;
}

//  Prints a row. compare is ">=", "<=", "<", ">" or NULL (no target:
//  verdict "-"). Returns false only when a target was missed.
static inline bool
bench_rows_print (const char *name, const char *measured, const char *baseline, double ratio,
                  const char *compare, double target)
{
    bool pass = true;
    if (compare && strcmp (compare, ">=") == 0)
        pass = ratio >= target;
    else if (compare && strcmp (compare, "<=") == 0)
        pass = ratio <= target;
    else if (compare && strcmp (compare, "<") == 0)
        pass = ratio < target;
    else if (compare && strcmp (compare, ">") == 0)
        pass = ratio > target;
    if (compare)
        printf ("%s\t%s\t%s\t%.2f\t%s %.2f\t%s\n", name, measured, baseline, ratio, compare,
                target, pass? "pass": "fail");
    else
        printf ("%s\t%s\t%s\t%.2f\t-\t-\n", name, measured, baseline, ratio);
    fflush (stdout);
    return pass;
}

#endif
