/*  test_ratelimit — gl_ratelimit on an injected clock: rule parsing,
    exact sliding windows, composite rules, shares that add up to the
    limit, the min(old, new) transition while members join, leave or are
    killed or cut off from the broker (simulated instances sending
    greedily, every window checked),
    and limits learned from 429 and from the provider's counters.
*/
#include "gl_ratelimit.h"
#include "gl_test.h"
#include <stdlib.h>

#define SENDS_MAX 100000

//  Every send of a simulated run, in time order.
typedef struct {
    int64_t times [SENDS_MAX];
    size_t count;
} sends_t;

//  The most sends within any window of window_ms (a send at t and one at
//  t + window_ms are in different windows, as the sim counts).
static uint32_t
s_peak (const sends_t *sends, int64_t window_ms)
{
    uint32_t peak = 0;
    size_t first = 0;
    for (size_t last = 0; last < sends->count; last++) {
        while (sends->times [first] <= sends->times [last] - window_ms)
            first++;
        if (last - first + 1 > peak)
            peak = (uint32_t) (last - first + 1);
    }
    return peak;
}

//  Inserts a send keeping the list sorted (instances interleave).
static void
s_sends_add (sends_t *sends, int64_t time)
{
    size_t position = sends->count;
    while (position > 0 && sends->times [position - 1] > time) {
        sends->times [position] = sends->times [position - 1];
        position--;
    }
    sends->times [position] = time;
    sends->count++;
}

static void
s_test_parse (void)
{
    char error [GL_RATELIMIT_ERROR_MAX];
    const char *bad [] = { "", "5", "5/", "0/1s", "5/0s", "5/1x", "5/1s,", "x/1s",
                           "5/1s,1/1s,1/1s,1/1s,1/1s,1/1s,1/1s,1/1s,1/1s", "2000000/1s" };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        error [0] = 0;
        gl_ratelimit_t *limiter = gl_ratelimit_new (bad [index], 0, error);
        GL_CHECK (limiter == NULL);
        GL_CHECK (strstr (error, "expected") != NULL);
        gl_ratelimit_destroy (&limiter);
    }
    gl_ratelimit_t *limiter = gl_ratelimit_new ("5/1s, 200/60s,10/500ms", 0, error);
    GL_CHECK (limiter != NULL);
    GL_CHECK_INT (gl_ratelimit_rules (limiter), 3);
    GL_CHECK_INT (gl_ratelimit_window_ms (limiter, 1), 60000);
    GL_CHECK_INT (gl_ratelimit_window_ms (limiter, 2), 500);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 1, 0), 200);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 3, 0), 0);
    gl_ratelimit_destroy (&limiter);
    gl_ratelimit_destroy (&limiter);
    GL_CHECK (limiter == NULL);
}

//  5 per second, no guard: five pass at once, the sixth waits exactly
//  until the first leaves the window.
static void
s_test_window (void)
{
    char error [GL_RATELIMIT_ERROR_MAX];
    gl_ratelimit_t *limiter = gl_ratelimit_new ("5/1s", 0, error);
    for (int index = 0; index < 5; index++) {
        GL_CHECK_INT (gl_ratelimit_next (limiter, 10 * index), 10 * index);
        gl_ratelimit_record (limiter, 10 * index);
    }
    GL_CHECK_INT (gl_ratelimit_next (limiter, 50), 1000);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 999), 1000);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 1000), 1000);
    gl_ratelimit_record (limiter, 1000);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 1000), 1010);
    gl_ratelimit_destroy (&limiter);

    //  The guard widens the window.
    limiter = gl_ratelimit_new ("1/1s", 30, error);
    gl_ratelimit_record (limiter, 0);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 1), 1030);
    gl_ratelimit_destroy (&limiter);
}

//  A greedy sender under "5/1s,20/10s" for 60 s: no window over either
//  rule, and exactly the longer rule's budget used.
static void
s_test_composite (void)
{
    char error [GL_RATELIMIT_ERROR_MAX];
    gl_ratelimit_t *limiter = gl_ratelimit_new ("5/1s,20/10s", 0, error);
    static sends_t sends;
    sends.count = 0;
    int64_t now = 0;
    while (now < 60000) {
        int64_t next = gl_ratelimit_next (limiter, now);
        if (next > now) {
            now = next;
            continue;
        }
        gl_ratelimit_record (limiter, now);
        s_sends_add (&sends, now);
    }
    GL_CHECK (s_peak (&sends, 1000) <= 5);
    GL_CHECK_INT (s_peak (&sends, 10000), 20);
    GL_CHECK_INT (sends.count, 120);
    gl_ratelimit_destroy (&limiter);
}

//  Shares add up to the limit exactly.
static void
s_test_shares (void)
{
    char error [GL_RATELIMIT_ERROR_MAX];
    for (uint32_t members = 1; members <= 7; members++) {
        uint32_t sum = 0;
        for (uint32_t index = 0; index < members; index++) {
            gl_ratelimit_t *limiter = gl_ratelimit_new ("10/1s", 0, error);
            gl_ratelimit_share (limiter, index, members, 0);
            sum += gl_ratelimit_limit (limiter, 0, 5000);
            gl_ratelimit_destroy (&limiter);
        }
        GL_CHECK_INT (sum, 10);
    }
    //  Not a member: no share, ever.
    gl_ratelimit_t *limiter = gl_ratelimit_new ("10/1s", 0, error);
    gl_ratelimit_share (limiter, 0, 0, 0);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 5000), INT64_MAX);
    //  Joining: nothing until one window after the change, then the share.
    gl_ratelimit_share (limiter, 1, 2, 6000);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 6500), 0);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 6500), 7000);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 7000), 5);
    //  Growing (a member left): the old share holds for one window.
    gl_ratelimit_share (limiter, 0, 1, 8000);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 8999), 5);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 9000), 10);
    //  Shrinking: the new share at once.
    gl_ratelimit_share (limiter, 0, 3, 9500);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 9500), 4);
    gl_ratelimit_destroy (&limiter);
}

#define INSTANCES 4

//  One simulated fetcher: its limiter, whether it runs, and when it will
//  learn of the next membership change.
typedef struct {
    gl_ratelimit_t *limiter;
    bool running;
    sends_t mine;
} instance_t;

//  Tells every running instance its index among the running ones.
static void
s_announce (instance_t *instances, int64_t now)
{
    uint32_t members = 0;
    for (int index = 0; index < INSTANCES; index++)
        members += instances [index].running;
    uint32_t position = 0;
    for (int index = 0; index < INSTANCES; index++)
        if (instances [index].running)
            gl_ratelimit_share (instances [index].limiter, position++, members, now);
}

//  Four instances on one "10/2s" credential, sending greedily, while
//  they join one by one, one is killed (its death announced 300 ms
//  later, as the broker does after 3 missed heartbeats) and one leaves
//  cleanly: no 2 s window ever holds more than 10 sends, and the steady
//  stretches use at least 95% of the limit.
static void
s_test_sharing (void)
{
    char error [GL_RATELIMIT_ERROR_MAX];
    static instance_t instances [INSTANCES];
    static sends_t all;
    all.count = 0;
    for (int index = 0; index < INSTANCES; index++) {
        instances [index].limiter = gl_ratelimit_new ("10/2s", 0, error);
        gl_ratelimit_share (instances [index].limiter, 0, 0, 0);
        instances [index].running = false;
        instances [index].mine.count = 0;
    }
    //  Events: time, instance, what (1 start, 0 kill silently, -1 leave).
    struct { int64_t time; int instance; int what; } events [] = {
        { 0, 0, 1 }, { 5000, 1, 1 }, { 9000, 2, 1 }, { 9100, 3, 1 },
        { 16000, 1, 0 }, { 24000, 2, -1 }, { 40000, 0, 0 }
    };
    size_t event_count = sizeof (events) / sizeof (events [0]);
    size_t next_event = 0;
    int64_t death_announced_at = -1;
    for (int64_t now = 0; now < 40000; now++) {
        while (next_event < event_count && events [next_event].time == now) {
            instance_t *instance = &instances [events [next_event].instance];
            if (events [next_event].what == 1) {
                instance->running = true;
                s_announce (instances, now);
            }
            else
            if (events [next_event].what == -1) {
                instance->running = false;
                s_announce (instances, now);
            }
            else {
                //  Killed: it stops sending now, but stays a member
                //  until the broker declares it dead.
                gl_ratelimit_share (instance->limiter, 0, 0, now);
                death_announced_at = now + 300;
            }
            next_event++;
        }
        if (now == death_announced_at) {
            instances [1].running = false;
            s_announce (instances, now);
        }
        for (int index = 0; index < INSTANCES; index++) {
            instance_t *instance = &instances [index];
            if (!instance->running)
                continue;
            while (gl_ratelimit_next (instance->limiter, now) == now) {
                gl_ratelimit_record (instance->limiter, now);
                s_sends_add (&all, now);
                s_sends_add (&instance->mine, now);
            }
        }
    }
    GL_CHECK (s_peak (&all, 2000) <= 10);
    //  Steady stretches (from a window after the last change, whole
    //  windows long, as each instance sends its share in bursts): the
    //  full limit.
    int64_t steady [][2] = { { 2000, 6000 }, { 11100, 15100 }, { 18300, 22300 },
                             { 26000, 40000 } };
    for (size_t stretch = 0; stretch < 4; stretch++) {
        size_t count = 0;
        for (size_t index = 0; index < all.count; index++)
            count += all.times [index] >= steady [stretch][0]
                  && all.times [index] < steady [stretch][1];
        double expected = 10.0 * (double) (steady [stretch][1] - steady [stretch][0]) / 2000.0;
        GL_CHECK ((double) count >= 0.95 * expected);
    }
    //  Over the whole run, counting the transitions.
    GL_CHECK ((double) all.count >= 0.85 * 10.0 * 40000 / 2000);
    for (int index = 0; index < INSTANCES; index++)
        gl_ratelimit_destroy (&instances [index].limiter);
}

//  Two instances on "10/2s", heartbeat 100 ms, sending greedily; at cut
//  one is partitioned from the broker but still reaches the provider. It
//  stops at the latest 3 intervals after the cut (it last heard the
//  broker at the cut), while the broker may declare it dead 2 intervals
//  after the cut (it last heard the instance an interval before) and the
//  survivor's share grows. Returns the most sends in any 2 s window over
//  cuts at every 10 ms of a window.
static uint32_t
s_cut_off_peak (int64_t settle_ms)
{
    char error [GL_RATELIMIT_ERROR_MAX];
    static sends_t all;
    uint32_t worst = 0;
    for (int64_t cut = 6000; cut < 8000; cut += 10) {
        gl_ratelimit_t *survivor = gl_ratelimit_new ("10/2s", 0, error);
        gl_ratelimit_t *cut_off = gl_ratelimit_new ("10/2s", 0, error);
        gl_ratelimit_settle (survivor, settle_ms);
        gl_ratelimit_settle (cut_off, settle_ms);
        gl_ratelimit_share (survivor, 0, 2, -10000);
        gl_ratelimit_share (cut_off, 1, 2, -10000);
        all.count = 0;
        for (int64_t now = 0; now < cut + 6000; now++) {
            if (now == cut + 200)
                gl_ratelimit_share (survivor, 0, 1, now);
            while (gl_ratelimit_next (survivor, now) == now) {
                gl_ratelimit_record (survivor, now);
                s_sends_add (&all, now);
            }
            while (now < cut + 300 && gl_ratelimit_next (cut_off, now) == now) {
                gl_ratelimit_record (cut_off, now);
                s_sends_add (&all, now);
            }
        }
        uint32_t peak = s_peak (&all, 2000);
        if (peak > worst)
            worst = peak;
        gl_ratelimit_destroy (&survivor);
        gl_ratelimit_destroy (&cut_off);
    }
    return worst;
}

//  The settle time of 4 heartbeat intervals keeps the sum within the
//  limit whatever the moment of the cut; without it (a window and the
//  guard only) some cut exceeds it, which is why it is there.
static void
s_test_cut_off (void)
{
    GL_CHECK_INT (s_cut_off_peak (400), 10);
    GL_CHECK (s_cut_off_peak (0) > 10);
    //  A grown share waits a window and the settle time.
    char error [GL_RATELIMIT_ERROR_MAX];
    gl_ratelimit_t *limiter = gl_ratelimit_new ("10/1s", 50, error);
    gl_ratelimit_settle (limiter, 400);
    gl_ratelimit_share (limiter, 0, 2, 0);
    gl_ratelimit_share (limiter, 0, 1, 10000);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 11449), 5);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 11450), 10);
    gl_ratelimit_destroy (&limiter);
}

//  A 429 pauses until its Retry-After and tightens the limit by a
//  quarter, recovering linearly over four windows.
static void
s_test_refused (void)
{
    char error [GL_RATELIMIT_ERROR_MAX];
    gl_ratelimit_t *limiter = gl_ratelimit_new ("10/1s", 0, error);
    gl_ratelimit_refused (limiter, 500, 0);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 0), 500);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 500), 500);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 0), 7);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 2000), 8);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 4000), 10);
    //  Repeated refusals tighten further, never below a tenth (at least 1).
    for (int index = 0; index < 20; index++)
        gl_ratelimit_refused (limiter, 0, 5000);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 5000), 1);
    //  No Retry-After: at least the shortest window.
    GL_CHECK_INT (gl_ratelimit_next (limiter, 5000), 6000);
    gl_ratelimit_destroy (&limiter);
}

//  The provider's counters: zero remaining pauses until the reset.
static void
s_test_observe (void)
{
    char error [GL_RATELIMIT_ERROR_MAX];
    gl_ratelimit_t *limiter = gl_ratelimit_new ("100/60s", 0, error);
    gl_ratelimit_observe (limiter, 3, 9000, 100);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 100), 100);
    gl_ratelimit_observe (limiter, 0, 9000, 100);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 100), 9000);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 9000), 9000);
    gl_ratelimit_destroy (&limiter);
}

//  Room: the least free part of any rule, shrinking with each send and
//  growing back as sends leave the window; none while paused.
static void
s_test_room (void)
{
    char error [GL_RATELIMIT_ERROR_MAX];
    gl_ratelimit_t *limiter = gl_ratelimit_new ("5/1s,8/10s", 0, error);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 0), 5);
    for (int send = 0; send < 3; send++)
        gl_ratelimit_record (limiter, 0);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 10), 2);
    //  The 1 s window emptied; the 10 s rule has 5 left.
    GL_CHECK_INT (gl_ratelimit_room (limiter, 1000), 5);
    for (int send = 0; send < 5; send++)
        gl_ratelimit_record (limiter, 1000);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 2000), 0);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 10000), 3);
    //  Half the share: 5/1s is 3 for member 0 of 2, after the transition.
    gl_ratelimit_share (limiter, 0, 2, 20000);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 40000), 3);
    gl_ratelimit_refused (limiter, 500, 40000);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 40100), 0);
    gl_ratelimit_destroy (&limiter);
}

//  A reload (gl_ratelimit_configure): a tighter rule counts the sends
//  made before it; a new shorter rule learns them from a longer one; a
//  rule longer than every old one sends nothing for its first window; the
//  share stays; bad rules change nothing. Then a greedy sender across a
//  reload from 10/1s to 4/1s never puts more than 4 in a 1 s window after
//  it, nor more than 10 before.
static void
s_test_configure (void)
{
    char error [GL_RATELIMIT_ERROR_MAX];
    gl_ratelimit_t *limiter = gl_ratelimit_new ("10/1s", 0, error);
    for (int send = 0; send < 8; send++)
        gl_ratelimit_record (limiter, 100 + send);
    GL_CHECK_INT (gl_ratelimit_configure (limiter, "4/1s", 200, error), 0);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 200), 0);
    //  Eight in the window: a send is allowed when the fifth oldest leaves.
    GL_CHECK_INT (gl_ratelimit_next (limiter, 200), 104 + 1000);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 1108), 4);
    error [0] = 0;
    GL_CHECK_INT (gl_ratelimit_configure (limiter, "0/1s", 1200, error), -1);
    GL_CHECK (strstr (error, "expected") != NULL);
    GL_CHECK_INT (gl_ratelimit_rules (limiter), 1);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 1200), 4);
    gl_ratelimit_destroy (&limiter);

    //  100/10s holds 30 sends of the last 2 s: a new 20/2s rule knows them.
    limiter = gl_ratelimit_new ("100/10s", 0, error);
    for (int send = 0; send < 30; send++)
        gl_ratelimit_record (limiter, 9000 + send * 30);
    GL_CHECK_INT (gl_ratelimit_configure (limiter, "100/10s,20/2s", 10000, error), 0);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 10000), 0);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 12000), 20);
    //  A 60 s rule: nothing is known past 10 s, so no send for a window.
    GL_CHECK_INT (gl_ratelimit_configure (limiter, "50/60s", 20000, error), 0);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 20000), 0);
    GL_CHECK_INT (gl_ratelimit_next (limiter, 20000), 80000);
    GL_CHECK_INT (gl_ratelimit_room (limiter, 80000), 50);
    gl_ratelimit_destroy (&limiter);

    //  The share stays: member 1 of 2 of 20/1s is 10.
    limiter = gl_ratelimit_new ("10/1s", 0, error);
    gl_ratelimit_share (limiter, 1, 2, 0);
    GL_CHECK_INT (gl_ratelimit_configure (limiter, "20/1s", 5000, error), 0);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 5000), 10);
    //  A share transition in progress holds the new rule as much: member 0
    //  of 1 after member 1 of 2 holds 5 of 10 for a window; the reload to
    //  40/1s then holds 20 of 40 until the same time.
    gl_ratelimit_destroy (&limiter);
    limiter = gl_ratelimit_new ("10/1s", 0, error);
    gl_ratelimit_share (limiter, 1, 2, 0);
    gl_ratelimit_share (limiter, 0, 1, 5000);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 5500), 5);
    GL_CHECK_INT (gl_ratelimit_configure (limiter, "40/1s", 5500, error), 0);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 5500), 20);
    GL_CHECK_INT (gl_ratelimit_limit (limiter, 0, 6000), 40);
    gl_ratelimit_destroy (&limiter);

    //  Greedy sends every ms for 3 s, reload at 1.5 s.
    static sends_t before, after;
    before.count = after.count = 0;
    limiter = gl_ratelimit_new ("10/1s", 0, error);
    for (int64_t now = 0; now < 3000; now++) {
        if (now == 1500)
            GL_CHECK_INT (gl_ratelimit_configure (limiter, "4/1s", now, error), 0);
        if (gl_ratelimit_next (limiter, now) == now) {
            gl_ratelimit_record (limiter, now);
            s_sends_add (now < 1500? &before: &after, now);
        }
    }
    GL_CHECK_INT (s_peak (&before, 1000), 10);
    GL_CHECK (after.count > 0);
    //  Every 1 s window that ends at a send after the reload, counting
    //  the sends before it too.
    uint32_t worst = 0;
    for (size_t index = 0; index < after.count; index++) {
        uint32_t in_window = 0;
        for (size_t other = 0; other < before.count; other++)
            in_window += before.times [other] > after.times [index] - 1000;
        for (size_t other = 0; other <= index; other++)
            in_window += after.times [other] > after.times [index] - 1000;
        if (in_window > worst)
            worst = in_window;
    }
    GL_CHECK_INT (worst, 4);
    gl_ratelimit_destroy (&limiter);
}

int
main (void)
{
    s_test_parse ();
    s_test_window ();
    s_test_composite ();
    s_test_shares ();
    s_test_sharing ();
    s_test_cut_off ();
    s_test_refused ();
    s_test_observe ();
    s_test_room ();
    s_test_configure ();
    return gl_test_done ("test_ratelimit");
}
