/*  gl_coverage — the in-memory coverage of every symbol-timeframe. See
    gl_coverage.h.
*/
#include "gl_coverage.h"
#include "gl_log.h"
#include <czmq.h>
#include <string.h>

#define S_WEEK 604800
#define S_FAR_PAST 0            //  the earliest instant a count may start at

typedef struct {
    gl_calendar_kind_t kind;
    char tier [3];
    int64_t listed_from;
} s_symbol_t;

typedef struct {
    char *symbol;
    gl_timeframe_t timeframe;
    gl_rangeset_t *covered;
    gl_rangeset_t *no_trades;   //  NULL until a range has no trades
    gl_rangeset_t *errors;      //  NULL until a slice fails
    gl_coverage_hole_t *holes;
    uint32_t hole_count, hole_capacity;
    bool changed [2];           //  queued for gl_coverage_take_changed
} s_entry_t;

//  Indexes waiting for one use of gl_coverage_take_changed.
typedef struct {
    size_t *items;
    size_t count, capacity, next;
} s_queue_t;

struct _gl_coverage_t {
    gl_calendar_t *xnys, *always;
    zhashx_t *symbols;          //  ticker -> s_symbol_t
    zhashx_t *index;            //  "ticker|tf" -> entry index + 1
    s_entry_t *entries;
    size_t count, capacity;
    s_queue_t queues [2];
};

//  Frees a symbol record (zhashx destructor).
static void
s_symbol_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

gl_coverage_t *
gl_coverage_new (void)
{
    gl_coverage_t *self = (gl_coverage_t *) calloc (1, sizeof (gl_coverage_t));
    if (!self)
        return NULL;
    self->xnys = gl_calendar_new (GL_CALENDAR_XNYS);
    self->always = gl_calendar_new (GL_CALENDAR_24X7);
    self->symbols = zhashx_new ();
    self->index = zhashx_new ();
    if (!self->xnys || !self->always || !self->symbols || !self->index) {
        gl_log_error ("coverage_not_created", "reason=\"no calendar or out of memory\"");
        gl_coverage_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->symbols, s_symbol_destroy);
    return self;
}

void
gl_coverage_destroy (gl_coverage_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_coverage_t *self = *self_p;
    for (size_t index = 0; index < self->count; index++) {
        s_entry_t *entry = &self->entries [index];
        free (entry->symbol);
        gl_rangeset_destroy (&entry->covered);
        gl_rangeset_destroy (&entry->no_trades);
        gl_rangeset_destroy (&entry->errors);
        free (entry->holes);
    }
    free (self->entries);
    for (int use = 0; use < 2; use++)
        free (self->queues [use].items);
    zhashx_destroy (&self->symbols);
    zhashx_destroy (&self->index);
    gl_calendar_destroy (&self->xnys);
    gl_calendar_destroy (&self->always);
    free (self);
    *self_p = NULL;
}

int
gl_coverage_set_grid (gl_coverage_t *self, gl_timeframe_t timeframe, gl_grid_t grid)
{
    if (!self || gl_calendar_set_grid (self->xnys, timeframe, grid))
        return -1;
    return gl_calendar_set_grid (self->always, timeframe, grid);
}

int
gl_coverage_set_symbol (gl_coverage_t *self, const char *symbol, gl_calendar_kind_t kind,
                        const char *tier, int64_t listed_from)
{
    if (!self || !symbol || !*symbol || strlen (symbol) > 32
    ||  (kind != GL_CALENDAR_XNYS && kind != GL_CALENDAR_24X7)
    ||  !tier || strlen (tier) != 2 || tier [0] != 'T' || tier [1] < '0' || tier [1] > '2')
        return -1;
    s_symbol_t *record = (s_symbol_t *) zhashx_lookup (self->symbols, symbol);
    if (!record) {
        record = (s_symbol_t *) calloc (1, sizeof (s_symbol_t));
        if (!record)
            return -1;
        zhashx_insert (self->symbols, symbol, record);
    }
    record->kind = kind;
    memcpy (record->tier, tier, 3);
    record->listed_from = listed_from;
    return 0;
}

bool
gl_coverage_has_symbol (gl_coverage_t *self, const char *symbol)
{
    return self && symbol && zhashx_lookup (self->symbols, symbol) != NULL;
}

//  The calendar of a symbol (XNYS when it is not recorded).
static gl_calendar_t *
s_calendar (gl_coverage_t *self, const char *symbol)
{
    s_symbol_t *record = (s_symbol_t *) zhashx_lookup (self->symbols, symbol);
    return record && record->kind == GL_CALENDAR_24X7? self->always: self->xnys;
}

//  The first instant bars are expected for a symbol.
static int64_t
s_listed_from (gl_coverage_t *self, const char *symbol)
{
    s_symbol_t *record = (s_symbol_t *) zhashx_lookup (self->symbols, symbol);
    return record? record->listed_from: S_FAR_PAST;
}

//  Queues an entry for a use of take_changed, once.
static void
s_changed (gl_coverage_t *self, size_t index, gl_coverage_change_t change)
{
    s_entry_t *entry = &self->entries [index];
    s_queue_t *queue = &self->queues [change];
    if (entry->changed [change])
        return;
    if (queue->count == queue->capacity) {
        size_t capacity = queue->capacity? queue->capacity * 2: 64;
        size_t *items = (size_t *) realloc (queue->items, capacity * sizeof (size_t));
        if (!items)
            return;             //  reported again at its next change
        queue->items = items;
        queue->capacity = capacity;
    }
    queue->items [queue->count++] = index;
    entry->changed [change] = true;
}

//  Marks an entry changed for every use.
static void
s_touch (gl_coverage_t *self, size_t index)
{
    s_changed (self, index, GL_COVERAGE_UNSAVED);
    s_changed (self, index, GL_COVERAGE_UNREPORTED);
}

int64_t
gl_coverage_take_changed (gl_coverage_t *self, gl_coverage_change_t change)
{
    s_queue_t *queue = &self->queues [change];
    if (queue->next == queue->count) {
        queue->next = queue->count = 0;
        return -1;
    }
    size_t index = queue->items [queue->next++];
    self->entries [index].changed [change] = false;
    return (int64_t) index;
}

void
gl_coverage_mark_changed (gl_coverage_t *self, size_t index, gl_coverage_change_t change)
{
    if (self && index < self->count)
        s_changed (self, index, change);
}

//  The entry index of a symbol-timeframe, created when create is set.
//  Returns -1 when absent (or for bad input, or out of memory).
static int64_t
s_find (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe, bool create)
{
    if (!self || !symbol || !*symbol || strlen (symbol) > 32
    ||  timeframe < GL_TF_1M || timeframe > GL_TF_1W)
        return -1;
    char key [48];
    snprintf (key, sizeof key, "%s|%s", symbol, gl_timeframe_name (timeframe));
    size_t found = (size_t) zhashx_lookup (self->index, key);
    if (found || !create)
        return (int64_t) found - 1;
    if (self->count == self->capacity) {
        size_t capacity = self->capacity? self->capacity * 2: 64;
        s_entry_t *entries = (s_entry_t *) realloc (self->entries, capacity * sizeof (s_entry_t));
        if (!entries)
            return -1;
        self->entries = entries;
        self->capacity = capacity;
    }
    s_entry_t *entry = &self->entries [self->count];
    *entry = (s_entry_t) { .symbol = strdup (symbol), .timeframe = timeframe,
                           .covered = gl_rangeset_new () };
    if (!entry->symbol || !entry->covered) {
        free (entry->symbol);
        gl_rangeset_destroy (&entry->covered);
        return -1;
    }
    zhashx_insert (self->index, key, (void *) (self->count + 1));
    return (int64_t) self->count++;
}

size_t
gl_coverage_count (gl_coverage_t *self)
{
    return self? self->count: 0;
}

int
gl_coverage_key (gl_coverage_t *self, size_t index, const char **symbol,
                 gl_timeframe_t *timeframe)
{
    if (!self || index >= self->count)
        return -1;
    *symbol = self->entries [index].symbol;
    *timeframe = self->entries [index].timeframe;
    return 0;
}

//  The longest window of one audit query: 30 days, or 2000 bars.
static int64_t
s_window (gl_timeframe_t timeframe)
{
    int64_t bars = 2000 * gl_timeframe_seconds (timeframe);
    return bars > 30 * 86400? bars: 30 * 86400;
}

bool
gl_coverage_next_window (gl_coverage_t *self, gl_coverage_cursor_t *cursor, int64_t longest,
                         const char **symbol, gl_timeframe_t *timeframe, int64_t *from,
                         int64_t *to)
{
    for (; self && cursor->index < self->count; cursor->index++, cursor->from = INT64_MIN) {
        const s_entry_t *entry = &self->entries [cursor->index];
        const gl_range_t *range = gl_rangeset_at (entry->covered,
                                                  gl_rangeset_find (entry->covered, cursor->from));
        if (!range)
            continue;
        *symbol = entry->symbol;
        *timeframe = entry->timeframe;
        *from = range->from > cursor->from? range->from: cursor->from;
        int64_t end = *from + (longest > 0? longest: s_window (entry->timeframe));
        *to = range->to < end? range->to: end;
        cursor->from = *to;
        return true;
    }
    return false;
}

const gl_rangeset_t *
gl_coverage_covered (gl_coverage_t *self, size_t index)
{
    return self && index < self->count? self->entries [index].covered: NULL;
}

const gl_rangeset_t *
gl_coverage_no_trades (gl_coverage_t *self, size_t index)
{
    return self && index < self->count? self->entries [index].no_trades: NULL;
}

const gl_coverage_hole_t *
gl_coverage_holes (gl_coverage_t *self, size_t index, size_t *count)
{
    *count = self && index < self->count? self->entries [index].hole_count: 0;
    return *count? self->entries [index].holes: NULL;
}

//  --------------------------------------------------------------------------
//  Counting bars

//  Bars the symbol's calendar expects in [from, to), from its listing on.
static int64_t
s_count (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe, int64_t from,
         int64_t to)
{
    int64_t listed = s_listed_from (self, symbol);
    if (from < listed)
        from = listed;
    if (from >= to)
        return 0;
    return gl_calendar_count_bars (s_calendar (self, symbol), timeframe, from, to);
}

//  Expected bars of [from, to) inside the ranges of a set.
static int64_t
s_count_inside (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                const gl_rangeset_t *set, int64_t from, int64_t to)
{
    int64_t total = 0;
    for (size_t index = gl_rangeset_find (set, from); index < gl_rangeset_size (set); index++) {
        const gl_range_t *range = gl_rangeset_at (set, index);
        if (range->from >= to)
            break;
        int64_t count = s_count (self, symbol, timeframe, range->from > from? range->from: from,
                                 range->to < to? range->to: to);
        if (count > 0)
            total += count;
    }
    return total;
}

int64_t
gl_coverage_expected (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                      int64_t from, int64_t to)
{
    if (!self || !symbol || from >= to || timeframe < GL_TF_1M || timeframe > GL_TF_1W)
        return -1;
    return s_count (self, symbol, timeframe, from, to);
}

int64_t
gl_coverage_needed (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                    int64_t from, int64_t to)
{
    int64_t expected = gl_coverage_expected (self, symbol, timeframe, from, to);
    int64_t index = s_find (self, symbol, timeframe, false);
    if (expected <= 0 || index < 0)
        return expected;
    return expected - s_count_inside (self, symbol, timeframe,
                                      self->entries [index].no_trades, from, to);
}

//  Stops a bar walk at the first bar, keeping it.
static int
s_first_bar_found (int64_t bar_start, void *argument)
{
    *(int64_t *) argument = bar_start;
    return 1;
}

//  Keeps the latest bar of a walk.
static int
s_last_bar_seen (int64_t bar_start, void *argument)
{
    *(int64_t *) argument = bar_start;
    return 0;
}

//  The first and last expected bar starts of [from, to), which holds at
//  least one. The last is looked for in a window before to that doubles
//  until it holds a bar, so a long stretch costs a few short walks.
static void
s_bounds (gl_calendar_t *calendar, gl_timeframe_t timeframe, int64_t from, int64_t to,
          int64_t *first, int64_t *last)
{
    *first = *last = from;
    gl_calendar_each_bar (calendar, timeframe, from, to, s_first_bar_found, first);
    for (int64_t window = S_WEEK + gl_timeframe_seconds (timeframe);; window *= 2) {
        int64_t start = to - window > *first? to - window: *first;
        int64_t found = -1;
        gl_calendar_each_bar (calendar, timeframe, start, to, s_last_bar_seen, &found);
        if (found >= 0 || start == *first) {
            *last = found >= 0? found: *first;
            return;
        }
    }
}

//  --------------------------------------------------------------------------
//  Changing coverage

//  Joins the range holding instant with its neighbours when no bar is
//  expected between them (closed time).
static void
s_bridge (gl_coverage_t *self, s_entry_t *entry, int64_t instant)
{
    size_t index = gl_rangeset_find (entry->covered, instant);
    const gl_range_t *range = gl_rangeset_at (entry->covered, index);
    if (!range)
        return;
    int64_t from = range->from, to = range->to;
    const gl_range_t *next = gl_rangeset_at (entry->covered, index + 1);
    if (next && s_count (self, entry->symbol, entry->timeframe, to, next->from) == 0)
        gl_rangeset_add (entry->covered, to, next->from);
    const gl_range_t *previous = index? gl_rangeset_at (entry->covered, index - 1): NULL;
    if (previous && s_count (self, entry->symbol, entry->timeframe, previous->to, from) == 0)
        gl_rangeset_add (entry->covered, previous->to, from);
}

//  Covers [from, to) in an entry and joins it across closed time.
static int
s_cover (gl_coverage_t *self, s_entry_t *entry, int64_t from, int64_t to)
{
    if (gl_rangeset_add (entry->covered, from, to))
        return -1;
    s_bridge (self, entry, from);
    return 0;
}

//  Forgets the holes of an entry inside [from, to); returns the union of
//  their providers, tried and asked.
static gl_coverage_hole_t
s_forget_holes (s_entry_t *entry, int64_t from, int64_t to)
{
    gl_coverage_hole_t merged = { from, to, 0, 0 };
    uint32_t kept = 0;
    for (uint32_t index = 0; index < entry->hole_count; index++) {
        gl_coverage_hole_t *hole = &entry->holes [index];
        if (hole->from >= from && hole->to <= to) {
            merged.tried |= hole->tried;
            merged.asked |= hole->asked;
        }
        else
            entry->holes [kept++] = *hole;
    }
    entry->hole_count = kept;
    return merged;
}

//  Appends a hole to an entry. Returns 0, or -1 on out of memory.
static int
s_add_hole (s_entry_t *entry, const gl_coverage_hole_t *hole)
{
    if (entry->hole_count == entry->hole_capacity) {
        uint32_t capacity = entry->hole_capacity? entry->hole_capacity * 2: 4;
        gl_coverage_hole_t *holes = (gl_coverage_hole_t *)
            realloc (entry->holes, capacity * sizeof (gl_coverage_hole_t));
        if (!holes)
            return -1;
        entry->holes = holes;
        entry->hole_capacity = capacity;
    }
    entry->holes [entry->hole_count++] = *hole;
    return 0;
}

int
gl_coverage_cover (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                   int64_t from, int64_t to)
{
    int64_t index = s_find (self, symbol, timeframe, true);
    if (index < 0 || from >= to)
        return -1;
    s_entry_t *entry = &self->entries [index];
    s_forget_holes (entry, from, to);
    s_touch (self, (size_t) index);
    return s_cover (self, entry, from, to);
}

//  Adds [from, to) to a set created on first use.
static int
s_add_lazy (gl_rangeset_t **set_p, int64_t from, int64_t to)
{
    if (!*set_p)
        *set_p = gl_rangeset_new ();
    return *set_p? gl_rangeset_add (*set_p, from, to): -1;
}

int
gl_coverage_add_no_trades (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                           int64_t from, int64_t to)
{
    int64_t index = s_find (self, symbol, timeframe, true);
    if (index < 0 || from >= to)
        return -1;
    s_entry_t *entry = &self->entries [index];
    s_touch (self, (size_t) index);
    if (s_add_lazy (&entry->no_trades, from, to))
        return -1;
    s_forget_holes (entry, from, to);
    return s_cover (self, entry, from, to);
}

int
gl_coverage_add_hole (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                      const gl_coverage_hole_t *hole)
{
    int64_t index = s_find (self, symbol, timeframe, true);
    if (index < 0 || !hole || hole->from >= hole->to)
        return -1;
    return s_add_hole (&self->entries [index], hole);
}

void
gl_coverage_clear_errors (gl_coverage_t *self)
{
    for (size_t index = 0; self && index < self->count; index++)
        gl_rangeset_clear (self->entries [index].errors);
}

int
gl_coverage_add_error (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                       int64_t from, int64_t to)
{
    int64_t index = s_find (self, symbol, timeframe, true);
    if (index < 0 || from >= to)
        return -1;
    return s_add_lazy (&self->entries [index].errors, from, to);
}

//  A walk over the expected bars of a slice, sorting them into present
//  and missing runs.
typedef struct {
    const int64_t *present;
    size_t count, position;
    const gl_rangeset_t *no_trades;
    int64_t length, to;
    int64_t run_from, run_last; //  the missing run in progress, run_from -1: none
    gl_range_t *runs;           //  missing runs found
    size_t run_count, run_capacity;
    int64_t missing;
    bool failed;                //  out of memory
} s_walk_t;

//  Closes the missing run in progress.
static void
s_walk_close (s_walk_t *walk)
{
    if (walk->run_from < 0)
        return;
    if (walk->run_count == walk->run_capacity) {
        size_t capacity = walk->run_capacity? walk->run_capacity * 2: 16;
        gl_range_t *runs = (gl_range_t *) realloc (walk->runs, capacity * sizeof (gl_range_t));
        if (!runs) {
            walk->failed = true;
            return;
        }
        walk->runs = runs;
        walk->run_capacity = capacity;
    }
    int64_t end = walk->run_last + walk->length;
    walk->runs [walk->run_count++] = (gl_range_t) { walk->run_from, end < walk->to? end: walk->to };
    walk->run_from = -1;
}

//  Sorts one expected bar into the present or a missing run.
static int
s_walk_bar (int64_t bar_start, void *argument)
{
    s_walk_t *walk = (s_walk_t *) argument;
    while (walk->position < walk->count && walk->present [walk->position] < bar_start)
        walk->position++;
    bool present = !walk->present
        || (walk->position < walk->count && walk->present [walk->position] == bar_start)
        || gl_rangeset_contains (walk->no_trades, bar_start, bar_start + 1);
    if (present)
        s_walk_close (walk);
    else {
        if (walk->run_from < 0)
            walk->run_from = bar_start;
        walk->run_last = bar_start;
        walk->missing++;
    }
    return walk->failed? -1: 0;
}

//  The bit of every allowed provider.
static uint32_t
s_allowed_mask (const gl_provider_t *allowed, size_t count)
{
    uint32_t mask = 0;
    for (size_t index = 0; index < count; index++)
        mask |= 1u << allowed [index];
    return mask;
}

//  Settles one missing run of a slice: no trades when every allowed
//  provider answered without it, else uncovered and kept as a hole.
static int
s_settle_run (gl_coverage_t *self, size_t index, const gl_range_t *run,
              const gl_coverage_hole_t *providers, uint32_t allowed, int64_t bars,
              gl_coverage_outcome_t *outcome)
{
    s_entry_t *entry = &self->entries [index];
    if (allowed && (providers->tried & allowed) == allowed) {
        outcome->confirmed += bars;
        return s_add_lazy (&entry->no_trades, run->from, run->to);
    }
    if (gl_rangeset_remove (entry->covered, run->from, run->to))
        return -1;
    gl_coverage_hole_t hole = { run->from, run->to, providers->tried, providers->asked };
    if (outcome->holes == 0)
        outcome->refill_from = run->from;
    outcome->refill_to = run->to;
    outcome->holes++;
    outcome->missing += bars;
    return s_add_hole (entry, &hole);
}

//  The first allowed provider not in tried, or INVALID.
static gl_provider_t
s_next_provider (const gl_provider_t *allowed, size_t count, uint32_t tried)
{
    for (size_t index = 0; index < count; index++)
        if (!(tried & (1u << allowed [index])))
            return allowed [index];
    return GL_PROVIDER_INVALID;
}

int
gl_coverage_apply (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                   int64_t from, int64_t to, const int64_t *present, size_t count,
                   gl_provider_t answered, const gl_provider_t *allowed, size_t allowed_count,
                   gl_coverage_outcome_t *outcome)
{
    *outcome = (gl_coverage_outcome_t) { 0 };
    int64_t index = s_find (self, symbol, timeframe, true);
    if (index < 0 || from >= to)
        return -1;
    s_entry_t *entry = &self->entries [index];
    s_walk_t walk = { present, count, 0, entry->no_trades, gl_timeframe_seconds (timeframe),
                      to, -1, -1, NULL, 0, 0, 0, false };
    int64_t listed = s_listed_from (self, symbol);
    int rc = 0;
    if ((listed > from? listed: from) < to)
        rc = gl_calendar_each_bar (s_calendar (self, symbol), timeframe,
                                   listed > from? listed: from, to, s_walk_bar, &walk);
    s_walk_close (&walk);
    if (rc || walk.failed) {
        free (walk.runs);
        return -1;
    }
    //  The slice's holes share the providers of the holes it held before
    gl_coverage_hole_t providers = s_forget_holes (entry, from, to);
    if (answered != GL_PROVIDER_INVALID)
        providers.tried |= 1u << answered;
    uint32_t mask = s_allowed_mask (allowed, allowed_count);
    gl_provider_t next = s_next_provider (allowed, allowed_count, providers.tried);
    bool ask = next != GL_PROVIDER_INVALID && !(providers.asked & (1u << next));
    if (ask)
        providers.asked |= 1u << next;
    s_touch (self, (size_t) index);
    rc = s_cover (self, entry, from, to);
    for (size_t run = 0; run < walk.run_count && rc == 0; run++) {
        int64_t bars = s_count (self, symbol, timeframe, walk.runs [run].from, walk.runs [run].to);
        rc = s_settle_run (self, (size_t) index, &walk.runs [run], &providers, mask, bars, outcome);
    }
    if (rc == 0 && outcome->holes && ask)
        outcome->refill = next;
    free (walk.runs);
    return rc;
}

//  --------------------------------------------------------------------------
//  Accounting

//  Counts one uncovered stretch [from, to) as missing bars and reports it.
static int
s_stretch (gl_coverage_t *self, const s_entry_t *entry, const char *symbol,
           gl_timeframe_t timeframe, int64_t from, int64_t to, gl_coverage_report_t *report,
           gl_coverage_gap_fn *gap, void *argument)
{
    int64_t missing = s_count (self, symbol, timeframe, from, to);
    if (missing <= 0)
        return 0;
    int64_t errors = entry? s_count_inside (self, symbol, timeframe, entry->errors, from, to): 0;
    report->provider_error += errors;
    report->not_fetched += missing - errors;
    report->gaps++;
    if (!gap)
        return 0;
    int64_t listed = s_listed_from (self, symbol);
    gl_coverage_gap_t found = { 0, 0, missing, errors };
    int64_t first, last;
    s_bounds (s_calendar (self, symbol), timeframe, from > listed? from: listed, to, &first, &last);
    found.from = first;
    found.to = last + gl_timeframe_seconds (timeframe) < to? last + gl_timeframe_seconds (timeframe)
                                                           : to;
    return gap (&found, argument);
}

int
gl_coverage_account (gl_coverage_t *self, const char *symbol, gl_timeframe_t timeframe,
                     int64_t from, int64_t to, gl_coverage_report_t *report,
                     gl_coverage_gap_fn *gap, void *argument)
{
    *report = (gl_coverage_report_t) { .first_covered = -1, .last_covered = -1 };
    report->expected = gl_coverage_expected (self, symbol, timeframe, from, to);
    if (report->expected < 0)
        return -1;
    int64_t index = s_find (self, symbol, timeframe, false);
    const s_entry_t *entry = index >= 0? &self->entries [index]: NULL;
    const gl_rangeset_t *covered = entry? entry->covered: NULL;
    size_t size = gl_rangeset_size (covered);
    if (size) {
        report->first_covered = gl_rangeset_at (covered, 0)->from;
        report->last_covered = gl_rangeset_at (covered, size - 1)->to;
    }
    int64_t cursor = from, covered_bars = 0;
    int stopped = 0;
    for (size_t range = gl_rangeset_find (covered, from); range < size; range++) {
        const gl_range_t *next = gl_rangeset_at (covered, range);
        if (next->from >= to)
            break;
        int64_t low = next->from > from? next->from: from, high = next->to < to? next->to: to;
        if (cursor < low && !stopped)
            stopped = s_stretch (self, entry, symbol, timeframe, cursor, low, report, gap,
                                 argument);
        else
        if (cursor < low)
            s_stretch (self, entry, symbol, timeframe, cursor, low, report, NULL, NULL);
        covered_bars += s_count (self, symbol, timeframe, low, high);
        report->ranges++;
        cursor = high;
    }
    if (cursor < to)
        s_stretch (self, entry, symbol, timeframe, cursor, to, report, stopped? NULL: gap,
                   argument);
    report->no_trades = entry? s_count_inside (self, symbol, timeframe, entry->no_trades, from, to)
                             : 0;
    report->stored = covered_bars - report->no_trades;
    return 0;
}

//  --------------------------------------------------------------------------
//  Freshness

//  True if the symbol's session is open at now (always for 24x7).
static bool
s_in_session (gl_coverage_t *self, const char *symbol, int64_t now)
{
    gl_calendar_t *calendar = s_calendar (self, symbol);
    if (calendar == self->always)
        return true;
    int64_t open, close;
    return gl_calendar_previous_session (calendar, now + 1, &open, &close) == 0 && now < close;
}

//  The end of what is covered at or before now, or a week before now
//  when nothing is.
static int64_t
s_latest_covered (const gl_rangeset_t *covered, int64_t now)
{
    size_t index = gl_rangeset_find (covered, now);
    const gl_range_t *range = gl_rangeset_at (covered, index);
    if (range && range->from <= now)
        return now;
    range = index? gl_rangeset_at (covered, index - 1): NULL;
    return range? range->to: now - S_WEEK;
}

void
gl_coverage_slo (gl_coverage_t *self, int64_t now,
                 gl_coverage_slo_t slo [GL_COVERAGE_TIERS][GL_TF_1W + 1])
{
    memset (slo, 0, sizeof (gl_coverage_slo_t) * GL_COVERAGE_TIERS * (GL_TF_1W + 1));
    for (size_t index = 0; index < self->count; index++) {
        const s_entry_t *entry = &self->entries [index];
        s_symbol_t *record = (s_symbol_t *) zhashx_lookup (self->symbols, entry->symbol);
        if (!record || !s_in_session (self, entry->symbol, now))
            continue;
        gl_coverage_slo_t *cell = &slo [record->tier [1] - '0'][entry->timeframe];
        int64_t length = gl_timeframe_seconds (entry->timeframe);
        int64_t latest = s_latest_covered (entry->covered, now);
        //  A bar is late once it ended 2 intervals ago: it started 3 ago
        int64_t late_before = now - 3 * length + 1;
        cell->sampled++;
        if (latest < late_before
        &&  s_count (self, entry->symbol, entry->timeframe, latest, late_before) > 0)
            cell->violations++;
    }
}
