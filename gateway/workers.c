/*
 * workers.c — the supervisor of `workers = N` (see workers.h).
 *
 * The supervisor has no event loop: it blocks SIGCHLD, SIGHUP, SIGTERM and
 * SIGINT and takes them with sigtimedwait, so a forked worker inherits no
 * epoll set, timer or connection of its parent. A worker is forked with
 * those signals still blocked and unblocks them (workers_unblock) once its
 * own handlers are in place: a SIGHUP sent in between waits instead of
 * killing it.
 *
 * Restarts: a worker that ran YOUNG_S or more is started again after
 * RESTART_MIN_MS; one that dies younger waits twice as long as the one
 * before (up to RESTART_MAX_S), so a crash loop costs little. A worker of
 * the first start that exits 1 within YOUNG_S (it could not listen, ...)
 * stops them all: hotlined exits 1 as a single process would.
 */
#include "workers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

#define YOUNG_S 10.0            /* died younger: it may be a crash loop */
#define RESTART_MIN_MS 100
#define RESTART_MAX_S 30.0
#define STOP_MARGIN_S 5         /* after the drain time, SIGKILL */

struct wk {
    pid_t pid;                  /* 0: not running */
    int gen;                    /* starts so far */
    int young;                  /* deaths in a row before YOUNG_S */
    double started;
    double restart_at;          /* when pid is 0 */
};

struct sup {
    const struct workers_opts *o;
    struct wk w[METRICS_MAX_WORKERS];
    int live;
    int stopping;
    int killed;                 /* SIGKILL sent after the deadline */
    double deadline;
    int rc;
};

static sigset_t old_mask;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int workers_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        return 1;
    return n > METRICS_MAX_WORKERS ? METRICS_MAX_WORKERS : (int)n;
}

void workers_unblock(void)
{
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
}

/* Forks worker i. Returns 0 in the child, 1 in the supervisor (also when
 * fork failed: then it is tried again a second later). */
static int spawn(struct sup *s, int i)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    struct wk *w = &s->w[i];

    if (pid == 0) {
        /* Dies with the supervisor, even a SIGKILLed one. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(0);
        return 0;
    }
    if (pid < 0) {
        log_error("workers: fork of worker %d: %s", i, strerror(errno));
        w->restart_at = now_s() + 1;
        return 1;
    }
    w->pid = pid;
    w->started = now_s();
    metrics_shm_worker(s->o->shm, i, (int)pid, 1, w->gen > 0);
    w->gen++;
    s->live++;
    return 1;
}

static void signal_all(struct sup *s, int sig)
{
    for (int i = 0; i < s->o->n; i++) {
        if (s->w[i].pid > 0)
            kill(s->w[i].pid, sig);
    }
}

static void stop_all(struct sup *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->deadline = now_s() + s->o->stop_s + STOP_MARGIN_S;
    log_info("workers: stopping %d workers", s->live);
    signal_all(s, SIGTERM);
}

/* Worker i (pid) ended with wait status st: log it and plan its restart. */
static void ended(struct sup *s, int i, pid_t pid, int st)
{
    struct wk *w = &s->w[i];
    double ran = now_s() - w->started;
    double delay = RESTART_MIN_MS / 1000.0;
    char how[64];

    w->pid = 0;
    s->live--;
    metrics_shm_worker(s->o->shm, i, (int)pid, 0, 0);
    if (WIFSIGNALED(st))
        snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(how, sizeof how, "exited %d", WEXITSTATUS(st));
    if (s->stopping) {
        log_info("workers: worker %d (pid %ld) %s", i, (long)pid, how);
        return;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 1 && w->gen == 1 &&
        ran < YOUNG_S) {
        log_error("workers: worker %d (pid %ld) could not start: stopping",
                  i, (long)pid);
        s->rc = 1;
        stop_all(s);
        return;
    }
    w->young = ran < YOUNG_S ? w->young + 1 : 0;
    for (int k = 1; k < w->young && delay < RESTART_MAX_S; k++)
        delay *= 2;
    if (delay > RESTART_MAX_S)
        delay = RESTART_MAX_S;
    w->restart_at = now_s() + delay;
    log_warn("workers: worker %d (pid %ld) %s after %.1f s; restarting in "
             "%.1f s", i, (long)pid, how, ran, delay);
}

static void reap(struct sup *s)
{
    pid_t pid;
    int st;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < s->o->n; i++) {
            if (s->w[i].pid == pid) {
                ended(s, i, pid, st);
                break;
            }
        }
    }
}

/* How long sigtimedwait may sleep: until the next restart or deadline. */
static struct timespec next_wait(const struct sup *s)
{
    double t = 1.0, now = now_s();
    struct timespec ts;

    for (int i = 0; i < s->o->n && !s->stopping; i++) {
        if (s->w[i].pid == 0 && s->w[i].restart_at - now < t)
            t = s->w[i].restart_at - now;
    }
    if (s->stopping && s->deadline - now < t)
        t = s->deadline - now;
    if (t < 0.001)
        t = 0.001;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    return ts;
}

/* Handles one signal taken by sigtimedwait (or none: -1). */
static void on_signal(struct sup *s, int sig)
{
    if (sig == SIGHUP) {
        log_info("workers: SIGHUP: reloading %d workers", s->live);
        if (s->o->on_hup)
            s->o->on_hup(s->o->arg);
        signal_all(s, SIGHUP);
    } else if (sig == SIGTERM || sig == SIGINT) {
        stop_all(s);
    }
}

/* The supervisor's loop; returns 1 in a freshly forked worker (its index
 * in *slot), 0 when every worker stopped. */
static int supervise(struct sup *s, const sigset_t *set, int *slot)
{
    for (;;) {
        struct timespec ts;
        double now;

        if (s->stopping && s->live == 0)
            return 0;
        ts = next_wait(s);
        on_signal(s, sigtimedwait(set, NULL, &ts));
        reap(s);
        now = now_s();
        if (s->stopping && !s->killed && now >= s->deadline) {
            log_warn("workers: %d still running after the drain time: "
                     "SIGKILL", s->live);
            signal_all(s, SIGKILL);
            s->killed = 1;
        }
        for (int i = 0; i < s->o->n && !s->stopping; i++) {
            if (s->w[i].pid == 0 && now >= s->w[i].restart_at &&
                spawn(s, i) == 0) {
                *slot = i;
                return 1;
            }
        }
    }
}

int workers_run(const struct workers_opts *o, int *slot, int *rc)
{
    static struct sup s;
    sigset_t set;

    memset(&s, 0, sizeof s);
    s.o = o;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, &old_mask);
    log_info("workers: starting %d workers", o->n);
    for (int i = 0; i < o->n; i++) {
        if (spawn(&s, i) == 0) {
            *slot = i;
            return 1;
        }
    }
    if (s.live == 0) {
        workers_unblock();
        return -1;
    }
    if (supervise(&s, &set, slot) == 1)
        return 1;
    log_info("workers: all stopped");
    *rc = s.rc;
    workers_unblock();
    return 0;
}
