/*  gl_coverage — what is stored, per symbol and timeframe, in memory.

    For each symbol-timeframe it holds three range sets (gl_rangeset):
      covered    every bar the calendar expects in these ranges is
                 accounted for: stored, or confirmed to have no trades;
      no_trades  of those, the ranges every allowed provider answered
                 without a bar (kept so they are never fetched again);
      errors     ranges of slices that are dead or failing (job_runs);
    and the holes found in written slices, each with the providers that
    answered without its bars. Covered ranges are merged across closed
    time (a night, a weekend, a holiday: no bar expected between them),
    so a symbol-timeframe stored without a hole is one range, 16 bytes.

    Every count follows the symbol's calendar (gl_calendar: sessions,
    holidays, early closes, DST, the bar grid in force) and nothing is
    expected before the symbol's listing date. Nothing here reads the
    database: the actor loads, feeds and persists it, so the GAPS answer
    comes from memory.
*/
#ifndef GL_COVERAGE_H_INCLUDED
#define GL_COVERAGE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gl_calendar.h"
#include "gl_capability.h"
#include "gl_rangeset.h"
#include "gl_timeframe.h"

typedef struct _gl_coverage_t gl_coverage_t;

//  What a range holds: each expected bar counted once.
typedef struct {
    int64_t expected;           //  bars the calendar expects
    int64_t stored;             //  covered, not as no trades
    int64_t no_trades;          //  confirmed empty by every allowed provider
    int64_t not_fetched;        //  missing, no failing slice over them
    int64_t provider_error;     //  missing inside a dead or failing slice
    size_t ranges;              //  covered ranges that meet the range
    size_t gaps;                //  missing runs
    int64_t first_covered;      //  of the whole symbol-timeframe, -1 if none
    int64_t last_covered;
} gl_coverage_report_t;

//  One missing run: from its first missing bar's start to its last one's
//  end (closed time between two missing bars does not split it).
typedef struct {
    int64_t from, to;
    int64_t bars;               //  missing bars in it
    int64_t errors;             //  of them inside dead or failing slices
} gl_coverage_gap_t;

//  Called per gap, in order; return non-zero to stop the walk.
typedef int (gl_coverage_gap_fn) (const gl_coverage_gap_t *gap, void *argument);

//  A hole of a written slice, the providers (bit 1 << gl_provider_t)
//  that answered without its bars, and those asked to refill it.
typedef struct {
    int64_t from, to;
    uint32_t tried;
    uint32_t asked;
} gl_coverage_hole_t;

//  What a written or audited slice left.
typedef struct {
    size_t holes;               //  missing runs left to refill
    int64_t missing;            //  bars in them
    int64_t confirmed;          //  bars just classified no trades
    int64_t refill_from, refill_to;     //  span of the holes left
    gl_provider_t refill;       //  the provider to ask now; INVALID: none left,
                                //  or the next one was asked already
} gl_coverage_outcome_t;

//  Per tier and timeframe: symbols sampled in session and those lagging.
typedef struct {
    size_t sampled, violations;
} gl_coverage_slo_t;

#define GL_COVERAGE_TIERS 3     //  T0, T1, T2

//  Creates an empty tracker with an XNYS calendar (with the configured
//  closures, gl_calendar_set_configured_closures) and a 24x7 one.
//  Returns NULL (logged) if the zone cannot be read. Caller owns return
//  value.
gl_coverage_t *gl_coverage_new (void);

//  Destroys the tracker and nulls the caller's pointer. Safe twice.
void gl_coverage_destroy (gl_coverage_t **self_p);

//  Sets the bar grid of an intraday timeframe (the one bar_grids
//  recorded at its first write). Returns 0, or -1 for a daily or weekly
//  timeframe or an invalid grid.
int gl_coverage_set_grid (gl_coverage_t *self, gl_timeframe_t timeframe, gl_grid_t grid);

//  Records a symbol's calendar, tier ("T0".."T2") and listing (00:00 UTC
//  of its listing date, 0 for none). Returns 0, or -1 for a bad argument.
int gl_coverage_set_symbol (gl_coverage_t *self, const char *symbol, gl_calendar_kind_t kind,
                            const char *tier, int64_t listed_from);

//  True if the symbol was recorded with gl_coverage_set_symbol.
bool gl_coverage_has_symbol (gl_coverage_t *self, const char *symbol);

//  Bars the symbol's calendar expects in [from, to) (from its listing
//  on), less those known to have no trades: what a complete answer
//  stores. -1 for a bad timeframe or range.
int64_t gl_coverage_needed (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                            int64_t from, int64_t to);

//  Bars the calendar expects in [from, to) from the listing on, or -1.
int64_t gl_coverage_expected (gl_coverage_t *self, const char *symbol,
                              gl_timeframe_t timeframe, int64_t from, int64_t to);

//  Adds a range known complete (loading, or a slice whose rows match
//  gl_coverage_needed): covered, holes in it forgotten. Returns 0 or -1.
int gl_coverage_cover (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                       int64_t from, int64_t to);

//  Adds a range confirmed to have no trades (covered too). Returns 0 or -1.
int gl_coverage_add_no_trades (gl_coverage_t *self, const char *symbol,
                               gl_timeframe_t timeframe, int64_t from, int64_t to);

//  Adds a known hole (loading). Returns 0 or -1.
int gl_coverage_add_hole (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                          const gl_coverage_hole_t *hole);

//  Replaces every failing range: clear, then add each.
void gl_coverage_clear_errors (gl_coverage_t *self);
int gl_coverage_add_error (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                           int64_t from, int64_t to);

//  Applies what a slice [from, to) holds after an answer: present is the
//  sorted bar starts stored in it (any provider). Expected bars neither
//  present nor no-trades are holes; answered (INVALID when the audit
//  found them) is added to each hole's providers, and a hole every
//  allowed provider has answered without becomes no trades. The rest
//  are uncovered and kept as holes, with the next provider to ask in
//  outcome, once: a provider asked already is not asked again. Returns 0, or -1 for a bad timeframe or range, or out of memory.
int gl_coverage_apply (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                       int64_t from, int64_t to, const int64_t *present, size_t count,
                       gl_provider_t answered, const gl_provider_t *allowed,
                       size_t allowed_count, gl_coverage_outcome_t *outcome);

//  Accounts for every expected bar of [from, to) and calls gap (NULL for
//  none) per missing run. Returns 0, or -1 for a bad timeframe or range.
int gl_coverage_account (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                         int64_t from, int64_t to, gl_coverage_report_t *report,
                         gl_coverage_gap_fn *gap, void *argument);

//  Fills slo [tier][timeframe] as of now: each symbol-timeframe whose
//  session is open is sampled; it violates when an expected bar that
//  ended 2 intervals ago or earlier lies after its last covered instant.
void gl_coverage_slo (gl_coverage_t *self, int64_t now,
                      gl_coverage_slo_t slo [GL_COVERAGE_TIERS][GL_TF_1W + 1]);

//  Where a walk over covered time is: the index of a symbol-timeframe and
//  the instant reached in it.
typedef struct {
    size_t index;
    int64_t from;
} gl_coverage_cursor_t;
#define GL_COVERAGE_CURSOR_START { 0, INT64_MIN }

//  The next window of covered time after the cursor, in index order: at
//  most longest seconds (0: the continuity audit's window, 30 days or
//  2000 bars when that is longer), never across a range's end. Moves the
//  cursor past it. Returns false at the end of the symbol-timeframes.
bool gl_coverage_next_window (gl_coverage_t *self, gl_coverage_cursor_t *cursor,
                              int64_t longest, const char **symbol, gl_timeframe_t *timeframe,
                              int64_t *from, int64_t *to);

//  The symbol-timeframes the tracker holds, by index 0 .. count - 1 (an
//  index stays valid while the tracker lives).
size_t gl_coverage_count (gl_coverage_t *self);
int gl_coverage_key (gl_coverage_t *self, size_t index, const char **symbol,
                     gl_timeframe_t *timeframe);

//  The covered and the no-trades ranges and the holes of an index.
const gl_rangeset_t *gl_coverage_covered (gl_coverage_t *self, size_t index);
const gl_rangeset_t *gl_coverage_no_trades (gl_coverage_t *self, size_t index);
const gl_coverage_hole_t *gl_coverage_holes (gl_coverage_t *self, size_t index, size_t *count);

//  Takes the next index changed since it was last taken for that use
//  (persisting or reporting), or returns -1 when none is left.
typedef enum {
    GL_COVERAGE_UNSAVED = 0,
    GL_COVERAGE_UNREPORTED = 1,
} gl_coverage_change_t;
int64_t gl_coverage_take_changed (gl_coverage_t *self, gl_coverage_change_t change);

//  Marks an index changed again (its save failed). 
void gl_coverage_mark_changed (gl_coverage_t *self, size_t index, gl_coverage_change_t change);

#endif
