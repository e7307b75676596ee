/*  gl_ops_metrics — Prometheus families, series and the text format.  */
#include "gl_ops_metrics.h"
#include "gl_log.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *labels;               //  'a="x",b="y"', escaped; "" for none
    double value;               //  counter, gauge
    uint64_t counts [GL_OPS_BUCKETS_MAX + 1];   //  histogram, per bucket
    double sum;
} s_series_t;

typedef struct {
    char *name, *help;
    gl_ops_metric_kind_t kind;
    double bounds [GL_OPS_BUCKETS_MAX];
    size_t bound_count;
    s_series_t *series;
    size_t series_count, series_size;
} s_family_t;

struct _gl_ops_metrics_t {
    s_family_t *families;
    size_t family_count, family_size;
};

gl_ops_metrics_t *
gl_ops_metrics_new (void)
{
    return (gl_ops_metrics_t *) calloc (1, sizeof (gl_ops_metrics_t));
}

//  Frees every series of a family.
static void
s_family_clear (s_family_t *family)
{
    for (size_t index = 0; index < family->series_count; index++)
        free (family->series [index].labels);
    family->series_count = 0;
}

void
gl_ops_metrics_destroy (gl_ops_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_ops_metrics_t *self = *self_p;
    for (size_t index = 0; index < self->family_count; index++) {
        s_family_clear (&self->families [index]);
        free (self->families [index].series);
        free (self->families [index].name);
        free (self->families [index].help);
    }
    free (self->families);
    free (self);
    *self_p = NULL;
}

//  The family of that name, or NULL (logged: a name ops does not declare
//  is a bug in ops, not bad input).
static s_family_t *
s_family (gl_ops_metrics_t *self, const char *name)
{
    for (size_t index = 0; index < self->family_count; index++)
        if (strcmp (self->families [index].name, name) == 0)
            return &self->families [index];
    gl_log_error ("metric_unknown", "name=%s", name);
    return NULL;
}

int
gl_ops_metrics_declare (gl_ops_metrics_t *self, const char *name, gl_ops_metric_kind_t kind,
                        const char *help, const double *bounds, size_t bound_count)
{
    for (size_t index = 0; index < self->family_count; index++)
        if (strcmp (self->families [index].name, name) == 0)
            return -1;
    if (bound_count > GL_OPS_BUCKETS_MAX)
        return -1;
    if (self->family_count == self->family_size) {
        size_t size = self->family_size? self->family_size * 2: 32;
        s_family_t *grown = (s_family_t *) realloc (self->families, size * sizeof (s_family_t));
        if (!grown)
            return -1;
        self->families = grown;
        self->family_size = size;
    }
    s_family_t *family = &self->families [self->family_count];
    *family = (s_family_t) { .name = strdup (name), .help = strdup (help), .kind = kind,
                             .bound_count = kind == GL_OPS_HISTOGRAM? bound_count: 0 };
    if (!family->name || !family->help) {
        free (family->name);
        free (family->help);
        return -1;
    }
    if (kind == GL_OPS_HISTOGRAM)
        memcpy (family->bounds, bounds, bound_count * sizeof (double));
    self->family_count++;
    return 0;
}

//  Formats label pairs as 'a="x",b="y"', escaping backslash, quote and
//  newline. Returns the length, or -1 if it does not fit.
static int
s_format_labels (const char *const *labels, char *buffer, size_t size)
{
    size_t used = 0;
    buffer [0] = '\0';
    for (size_t pair = 0; labels && labels [pair] && labels [pair + 1]; pair += 2) {
        int written = snprintf (buffer + used, size - used, "%s%s=\"", pair? ",": "",
                                labels [pair]);
        if (written < 0 || (size_t) written >= size - used)
            return -1;
        used += (size_t) written;
        for (const char *cursor = labels [pair + 1]; *cursor; cursor++) {
            const char *escaped = *cursor == '\\'? "\\\\": *cursor == '"'? "\\\"":
                                  *cursor == '\n'? "\\n": NULL;
            size_t length = escaped? strlen (escaped): 1;
            if (used + length + 2 >= size)
                return -1;
            memcpy (buffer + used, escaped? escaped: cursor, length);
            used += length;
        }
        buffer [used++] = '"';
        buffer [used] = '\0';
    }
    return (int) used;
}

//  The series of a family with those labels, made if new; NULL on out of
//  memory or labels too long.
static s_series_t *
s_series (gl_ops_metrics_t *self, const char *name, const char *const *labels)
{
    s_family_t *family = s_family (self, name);
    char text [1024];
    if (!family || s_format_labels (labels, text, sizeof text) < 0)
        return NULL;
    for (size_t index = 0; index < family->series_count; index++)
        if (strcmp (family->series [index].labels, text) == 0)
            return &family->series [index];
    if (family->series_count == family->series_size) {
        size_t size = family->series_size? family->series_size * 2: 8;
        s_series_t *grown = (s_series_t *) realloc (family->series, size * sizeof (s_series_t));
        if (!grown)
            return NULL;
        family->series = grown;
        family->series_size = size;
    }
    s_series_t *series = &family->series [family->series_count];
    *series = (s_series_t) { .labels = strdup (text) };
    if (!series->labels)
        return NULL;
    family->series_count++;
    return series;
}

void
gl_ops_metrics_set (gl_ops_metrics_t *self, const char *name, const char *const *labels,
                    double value)
{
    s_series_t *series = s_series (self, name, labels);
    if (series)
        series->value = value;
}

void
gl_ops_metrics_add (gl_ops_metrics_t *self, const char *name, const char *const *labels,
                    double delta)
{
    s_series_t *series = s_series (self, name, labels);
    if (series)
        series->value += delta;
}

void
gl_ops_metrics_observe (gl_ops_metrics_t *self, const char *name, const char *const *labels,
                        double value)
{
    s_family_t *family = s_family (self, name);
    s_series_t *series = family? s_series (self, name, labels): NULL;
    if (!series)
        return;
    size_t bucket = 0;
    while (bucket < family->bound_count && value > family->bounds [bucket])
        bucket++;
    series->counts [bucket]++;
    series->sum += value;
}

void
gl_ops_metrics_set_histogram (gl_ops_metrics_t *self, const char *name,
                              const char *const *labels, const uint64_t *counts, double sum)
{
    s_family_t *family = s_family (self, name);
    s_series_t *series = family? s_series (self, name, labels): NULL;
    if (!series)
        return;
    memcpy (series->counts, counts, (family->bound_count + 1) * sizeof (uint64_t));
    series->sum = sum;
}

void
gl_ops_metrics_reset (gl_ops_metrics_t *self, const char *name)
{
    s_family_t *family = s_family (self, name);
    if (family)
        s_family_clear (family);
}

//  Appends a formatted line to the text; false on out of memory.
static bool
s_append (char **text, size_t *used, size_t *size, const char *format, ...)
{
    va_list arguments;
    va_start (arguments, format);
    int length = vsnprintf (NULL, 0, format, arguments);
    va_end (arguments);
    if (length < 0)
        return false;
    if (*used + (size_t) length + 1 > *size) {
        size_t grown_size = (*size + (size_t) length + 1) * 2;
        char *grown = (char *) realloc (*text, grown_size);
        if (!grown)
            return false;
        *text = grown;
        *size = grown_size;
    }
    va_start (arguments, format);
    vsnprintf (*text + *used, *size - *used, format, arguments);
    va_end (arguments);
    *used += (size_t) length;
    return true;
}

//  Renders one histogram series: cumulative buckets, sum and count.
static bool
s_render_histogram (const s_family_t *family, const s_series_t *series, char **text,
                    size_t *used, size_t *size)
{
    const char *comma = *series->labels? ",": "";
    uint64_t total = 0;
    bool ok = true;
    for (size_t bucket = 0; ok && bucket <= family->bound_count; bucket++) {
        total += series->counts [bucket];
        char bound [32];
        if (bucket < family->bound_count)
            snprintf (bound, sizeof bound, "%g", family->bounds [bucket]);
        else
            snprintf (bound, sizeof bound, "+Inf");
        ok = s_append (text, used, size, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", family->name,
                       series->labels, comma, bound, total);
    }
    const char *open = *series->labels? "{": "", *close = *series->labels? "}": "";
    return ok && s_append (text, used, size, "%s_sum%s%s%s %.9g\n%s_count%s%s%s %" PRIu64 "\n",
                           family->name, open, series->labels, close, series->sum,
                           family->name, open, series->labels, close, total);
}

char *
gl_ops_metrics_render (gl_ops_metrics_t *self)
{
    static const char *kinds [] = { "counter", "gauge", "histogram" };
    char *text = NULL;
    size_t used = 0, size = 0;
    bool ok = s_append (&text, &used, &size, "%s", "");
    for (size_t index = 0; ok && index < self->family_count; index++) {
        const s_family_t *family = &self->families [index];
        ok = s_append (&text, &used, &size, "# HELP %s %s\n# TYPE %s %s\n", family->name,
                       family->help, family->name, kinds [family->kind]);
        for (size_t item = 0; ok && item < family->series_count; item++) {
            const s_series_t *series = &family->series [item];
            if (family->kind == GL_OPS_HISTOGRAM)
                ok = s_render_histogram (family, series, &text, &used, &size);
            else
                ok = s_append (&text, &used, &size, "%s%s%s%s %.15g\n", family->name,
                               *series->labels? "{": "", series->labels,
                               *series->labels? "}": "", series->value);
        }
    }
    if (!ok) {
        free (text);
        return NULL;
    }
    return text;
}
