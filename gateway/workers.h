/*
 * workers.h — `workers = N` (N > 1): the supervisor process and its N
 * workers. The supervisor forks the workers, each of which then starts like
 * a single hotlined (its own event loop, Redis connections, curl multi, its
 * own SO_REUSEPORT listening socket on the shared port), and stays behind:
 * it restarts a worker that dies (with backoff while they keep dying
 * young), forwards SIGHUP to every worker, and on SIGTERM/SIGINT forwards
 * SIGTERM, waits for all of them (SIGKILL after the drain time and a
 * margin) and returns. A worker dies with the supervisor (PDEATHSIG).
 */
#ifndef HOTLINE_WORKERS_H
#define HOTLINE_WORKERS_H

struct metrics_shm;

struct workers_opts {
    int n;                      /* workers, 2..METRICS_MAX_WORKERS */
    int stop_s;                 /* after SIGTERM: SIGKILL what still runs */
    struct metrics_shm *shm;    /* pids and up flags for /metrics */
    void (*on_hup)(void *arg);  /* the supervisor's own reload */
    void *arg;
};

/* Forks the workers and supervises them. Returns 1 in a worker, just
 * forked, with its index in *slot and SIGCHLD, SIGHUP, SIGTERM and SIGINT
 * still blocked (see workers_unblock).
 * Returns 0 in the supervisor once every worker has stopped, with *rc the
 * exit status for hotlined: 0 after a stop asked by a signal, 1 when a
 * worker of the first start-up exited 1 (the port could not be had, ...).
 * -1 when nothing could be forked at all. */
int workers_run(const struct workers_opts *o, int *slot, int *rc);

/* In a worker: unblocks the signals the supervisor blocked, once the
 * worker's own handlers are in place. */
void workers_unblock(void);

/* The online core count, at least 1 and at most METRICS_MAX_WORKERS. */
int workers_cores(void);

#endif
