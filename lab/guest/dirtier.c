/*
 * dirtier: the lab guest's workload. Keeps a working set of N MiB dirty at a chosen rate and
 * pattern, and prints a heartbeat line every interval so that a pause of the VM shows up as a gap.
 *
 *   dirtier -m MIB [-r MIBPS|max] [-p seq|random] [-i HEARTBEAT_MS] [-t SECONDS]
 *   dirtier -c      print "clock real_ns=T mono_ns=T" once and exit (the controller compares the
 *                   guest's clock with its own before and after a migration)
 *
 * Output, one line each, flushed at once:
 *   ready mib=N rate=R pattern=P pagesize=S addr=A   (A: where the working set starts)
 *   hb seq=N mono_ns=T real_ns=T gap_us=G pages=P stale=S
 *   end seq=N pages=P max_gap_us=G stale=S
 * P: pages dirtied so far. S: writes that found their page older than this program left it, i.e.
 * updates the hypervisor lost (a migration that missed a dirty page hands the guest a stale copy).
 * Each page's first word counts its writes and a separate array remembers the count expected there;
 * a lost update shows as a page behind its count (or, if the array's page was lost, ahead of it).
 * Heartbeats carry both clocks: a guest's clocks may stop while the VM is paused (TCG stops its
 * virtual clock), so the controller also timestamps the lines as they arrive.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static uint64_t now_ns(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(void) {
    fprintf(stderr, "usage: dirtier -m MIB [-r MIBPS|max] [-p seq|random] [-i HEARTBEAT_MS] [-t SECONDS]\n       dirtier -c\n");
    exit(2);
}

int main(int argc, char **argv) {
    long mib = -1, interval_ms = 10;
    double rate = -1; /* MiB/s; negative means as fast as possible */
    double seconds = 0; /* 0: until signalled */
    int random_pattern = 0;
    int opt;
    while ((opt = getopt(argc, argv, "m:r:p:i:t:c")) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'c':
            printf("clock real_ns=%llu mono_ns=%llu\n", (unsigned long long)now_ns(CLOCK_REALTIME), (unsigned long long)now_ns(CLOCK_MONOTONIC));
            return 0;
        case 'm': mib = strtol(optarg, &end, 10); if (*end || mib < 1) usage(); break;
        case 'r':
            if (strcmp(optarg, "max") == 0) rate = -1;
            else { rate = strtod(optarg, &end); if (*end || rate <= 0) usage(); }
            break;
        case 'p':
            if (strcmp(optarg, "seq") == 0) random_pattern = 0;
            else if (strcmp(optarg, "random") == 0) random_pattern = 1;
            else usage();
            break;
        case 'i': interval_ms = strtol(optarg, &end, 10); if (*end || interval_ms < 1) usage(); break;
        case 't': seconds = strtod(optarg, &end); if (*end || seconds < 0) usage(); break;
        default: usage();
        }
    }
    if (mib < 0) usage();

    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t pages = ((size_t)mib << 20) / page;
    unsigned char *mem = malloc(pages * page);
    uint64_t *expected = calloc(pages, sizeof *expected);
    if (!mem || !expected) { fprintf(stderr, "dirtier: cannot allocate %ld MiB: %s\n", mib, strerror(errno)); return 1; }
    memset(mem, 1, pages * page); /* make the whole working set resident before reporting ready */
    for (size_t i = 0; i < pages; i++) *(uint64_t *)(mem + i * page) = 0;
    uint64_t stale = 0;

    printf("ready mib=%ld rate=%s%.3f pattern=%s pagesize=%zu addr=%p\n", mib, rate < 0 ? "max:" : "",
           rate < 0 ? 0.0 : rate, random_pattern ? "random" : "seq", page, (void *)mem);

    const double pages_per_ns = rate < 0 ? 0 : rate * 1048576.0 / (double)page / 1e9;
    const uint64_t interval_ns = (uint64_t)interval_ms * 1000000ull;
    const uint64_t start = now_ns(CLOCK_MONOTONIC);
    const uint64_t deadline = seconds > 0 ? start + (uint64_t)(seconds * 1e9) : 0;
    uint64_t next_hb = start, last_hb = start, max_gap = 0, seq = 0, dirtied = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    size_t cursor = 0;

    while (!stop_requested) {
        uint64_t t = now_ns(CLOCK_MONOTONIC);
        if (deadline && t >= deadline) break;
        if (t >= next_hb) {
            uint64_t gap = t - last_hb;
            if (seq > 0 && gap > max_gap) max_gap = gap;
            printf("hb seq=%llu mono_ns=%llu real_ns=%llu gap_us=%llu pages=%llu stale=%llu\n",
                   (unsigned long long)seq, (unsigned long long)t,
                   (unsigned long long)now_ns(CLOCK_REALTIME),
                   (unsigned long long)(seq > 0 ? gap / 1000 : 0), (unsigned long long)dirtied,
                   (unsigned long long)stale);
            seq++;
            last_hb = t;
            next_hb = t + interval_ns;
        }
        /* How many pages may be dirtied by now; at "max" rate, a batch at a time. */
        uint64_t budget = 64;
        if (pages_per_ns > 0) {
            double allowed = (double)(t - start) * pages_per_ns;
            if ((double)dirtied >= allowed) {
                uint64_t wake = next_hb;
                uint64_t more = (uint64_t)(((double)dirtied + 1 - allowed) / pages_per_ns);
                if (t + more < wake) wake = t + more;
                struct timespec ts = { (time_t)((wake - t) / 1000000000ull), (long)((wake - t) % 1000000000ull) };
                nanosleep(&ts, NULL);
                continue;
            }
            budget = (uint64_t)(allowed - (double)dirtied) + 1;
            if (budget > 64) budget = 64;
        }
        for (uint64_t k = 0; k < budget; k++) {
            size_t idx;
            if (random_pattern) {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
                idx = (size_t)(rng % pages);
            } else {
                idx = cursor++;
                if (cursor == pages) cursor = 0;
            }
            /* one write per page is enough to make the hypervisor resend it */
            uint64_t *p = (uint64_t *)(mem + idx * page);
            if (*p != expected[idx]) stale++;
            *p = expected[idx] = *p + 1;
            dirtied++;
        }
    }
    printf("end seq=%llu pages=%llu max_gap_us=%llu stale=%llu\n", (unsigned long long)seq,
           (unsigned long long)dirtied, (unsigned long long)(max_gap / 1000), (unsigned long long)stale);
    free(expected);
    free(mem);
    return 0;
}
