/*
 * main.c — hotlined: options, start-up, signals. A thin shell: everything it
 * starts is in cfg.c, store.c, spool.c, server.c and session.c.
 *
 *   hotlined -c FILE [--listen HOST:PORT] [--redis HOST:PORT] [--menus DIR]
 *            [--workers N] [--check]
 *
 * Start-up errors exit 1 with FILE:LINE. SIGHUP reloads the config and the
 * menus: a broken new config is logged and the old one kept; requests in
 * flight finish on the config they started with. SIGTERM/SIGINT stop
 * accepting, wait for requests in flight (http.drain seconds at most), and
 * exit 0.
 *
 * With `workers = N` (N > 1; 0: one per core) this process checks the
 * config, maps the shared metrics and becomes the supervisor of N forked
 * workers (workers.c); each worker then starts here as a single hotlined
 * would, with its own connections opened after the fork.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alert.h"
#include "caseev.h"
#include "live.h"
#include "cfg.h"
#include "confirm.h"
#include "dialect.h"
#include "fcount.h"
#include "gw.h"
#include "http_client.h"
#include "log.h"
#include "menu_pub.h"
#include "metrics.h"
#include "sentinel.h"
#include "server.h"
#include "session.h"
#include "spool.h"
#include "store.h"
#include "workers.h"

#define SPOOL_RETRY_S 5
#define LISTEN_WAIT_S 2
#define GAUGES_S 1              /* a worker refreshes its gauges */

struct opts {
    const char *config;
    struct cfg_overrides ov;
    int check;
};

static struct gw gw;
static struct opts opts;
static struct event *drain_timer;
static struct sentinel *sentinel;
static struct caseev *caseev;     /* case events, stream retention */
static struct live *live;         /* the consoles' live queue */
static struct event *stop_timer;
static struct event *listen_timer;
static int listening;
static int listen_failed;               /* exit 1: the port could not be had */
static struct timeval stop_deadline;
static struct metrics_shm *shm;         /* workers: the shared metrics */
static int worker = -1;                 /* workers: this one's index */
static struct event *gauge_timer;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hotlined -c FILE [--listen HOST:PORT] [--redis HOST:PORT]"
            " [--menus DIR] [--workers N] [--check]\n"
            "  -c, --config FILE   configuration (see config/hotlined.cfg)\n"
            "      --listen H:P    override listen\n"
            "      --redis H:P     override redis.host/port\n"
            "      --menus DIR     override menus\n"
            "      --workers N     override workers (0: one per core)\n"
            "      --check         load config and menus, report, exit\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
        { "config", required_argument, NULL, 'c' },
        { "listen", required_argument, NULL, 'l' },
        { "redis", required_argument, NULL, 'r' },
        { "menus", required_argument, NULL, 'm' },
        { "workers", required_argument, NULL, 'w' },
        { "check", no_argument, NULL, 'k' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    while ((c = getopt_long(argc, argv, "c:h", longs, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'l': o->ov.listen = optarg; break;
        case 'r': o->ov.redis = optarg; break;
        case 'm': o->ov.menus_dir = optarg; break;
        case 'w': o->ov.workers = optarg; break;
        case 'k': o->check = 1; break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (!o->config || optind != argc)
        return -1;
    return 0;
}

/* Starts accepting requests. A new process on a shared port (an upgrade,
 * another worker) gets connections from the kernel as soon as it listens,
 * so it listens only once Redis is ready — or after LISTEN_WAIT_S, so that
 * it still answers (by replay and fallback) during a Redis outage. */
static void start_listening(void)
{
    char err[512];

    if (listening || gw.draining)
        return;
    listening = 1;
    if (server_start(&gw, err, sizeof err) != 0) {
        log_error("%s", err);
        listen_failed = 1;
        event_base_loopbreak(gw.base);
    }
}

static void on_listen_timer(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    (void)arg;
    if (!listening)
        log_warn("Redis not ready after %d s: answering without it",
                 LISTEN_WAIT_S);
    start_listening();
}

/* Both connections (sessions, and filings) are up: start listening. */
static void on_store_ready(struct store *s, void *arg)
{
    (void)s;
    if (store_ready(gw.store) && store_ready(gw.fstore))
        start_listening();
    mpub_check(gw.mpub);
    gw_spool_drain(arg);
}

static void on_master(const char *host, int port, void *arg)
{
    (void)arg;
    store_retarget(gw.store, host, port);
    store_retarget(gw.fstore, host, port);
    alert_retarget(gw.alert, host, port);
    mpub_retarget(gw.mpub, host, port);
    live_retarget(live, host, port);
}

static void on_gauge_timer(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    (void)arg;
    server_gauges(&gw);
    mpub_funnel_refresh(gw.mpub);
}

static void on_drain_timer(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    gw_spool_drain(arg);
}

static void on_sighup(evutil_socket_t fd, short ev, void *arg)
{
    struct cfg *next = NULL;
    char err[4096];

    (void)fd;
    (void)ev;
    (void)arg;
    if (cfg_load(opts.config, &opts.ov, &next, err, sizeof err) != 0) {
        log_error("reload failed, keeping the running config: %s", err);
        return;
    }
    if (strcmp(next->listen_host, gw.cfg->listen_host) != 0 ||
        next->listen_port != gw.cfg->listen_port)
        log_warn("reload: listen address changes need a restart");
    if (next->workers != gw.cfg->workers && worker < 0)
        log_warn("reload: a change of workers needs a restart");
    cfg_release(gw.cfg);
    gw.cfg = next;
    server_apply_limits(&gw);
    mpub_check(gw.mpub);
    log_set_level((enum log_level)log_level_parse(gw.cfg->log_level));
    log_info("reloaded %s: %zu channels, %zu menus", gw.cfg->file,
             gw.cfg->nchannels, gw.cfg->nmenus);
}

static void on_stop_timer(evutil_socket_t fd, short ev, void *arg)
{
    struct timeval now;

    (void)fd;
    (void)ev;
    (void)arg;
    evutil_gettimeofday(&now, NULL);
    if (gw.inflight == 0)
        fcount_flush(gw.fcount);    /* the funnel's last counts */
    if ((gw.inflight == 0 && (fcount_pending(gw.fcount) == 0 ||
                              !store_ready(gw.store))) ||
        evutil_timercmp(&now, &stop_deadline, >)) {
        if (gw.inflight)
            log_warn("drain time over with %d requests in flight",
                     gw.inflight);
        if (fcount_pending(gw.fcount))
            log_warn("stopping with %lld funnel counts not written",
                     fcount_pending(gw.fcount));
        event_base_loopexit(gw.base, NULL);
    }
}

static void on_sigterm(evutil_socket_t fd, short ev, void *arg)
{
    struct timeval tick = { 0, 20000 };
    struct timeval drain;

    (void)fd;
    (void)ev;
    (void)arg;
    if (gw.draining)
        return;
    gw.draining = 1;
    log_info("stopping: %d requests in flight", gw.inflight);
    server_stop_accepting(&gw);
    evutil_gettimeofday(&stop_deadline, NULL);
    drain.tv_sec = gw.cfg->drain_s;
    drain.tv_usec = 0;
    evutil_timeradd(&stop_deadline, &drain, &stop_deadline);
    stop_timer = event_new(gw.base, -1, EV_PERSIST, on_stop_timer, NULL);
    event_add(stop_timer, &tick);
}

/* Creates the spool's directory if needed (one level, like var/). */
static int ensure_dir_of(const char *path)
{
    char *copy = strdup(path);
    char *dir;
    int rc = 0;

    if (!copy)
        return -1;
    dir = dirname(copy);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        rc = -1;
    free(copy);
    return rc;
}

static int start(char *err, size_t errlen)
{
    struct store_opts so = { 0 };
    struct timeval every = { SPOOL_RETRY_S, 0 };

    if (ensure_dir_of(gw.cfg->spool_path) != 0) {
        snprintf(err, errlen, "spool directory for %s: %s",
                 gw.cfg->spool_path, strerror(errno));
        return -1;
    }
    gw.spool = spool_open(gw.cfg->spool_path, err, errlen);
    if (!gw.spool)
        return -1;
    if (spool_depth(gw.spool))
        log_warn("spool: %zu help requests waiting for Redis",
                 spool_depth(gw.spool));
    if (!gw.metrics)
        gw.metrics = metrics_new();
    gw.hc = hc_new(gw.base, NULL);
    so.host = gw.cfg->redis_host;
    so.port = gw.cfg->redis_port;
    so.password = gw.cfg->redis_password;
    so.timeout_ms = gw.cfg->redis_timeout_ms;
    session_scripts_init();
    so.scripts = gw_scripts;
    so.nscripts = GW_SCRIPT_COUNT;
    so.on_ready = on_store_ready;
    so.arg = &gw;
    gw.store = store_new(gw.base, &so);
    gw.fstore = store_new(gw.base, &so);
    gw.confirm = gw.fstore ? confirm_new(gw.fstore) : NULL;
    gw.fcount = fcount_new(gw.base, gw.store, gw.metrics, gw.cfg->prefix);
    if (!gw.metrics || !gw.store || !gw.fstore || !gw.confirm || !gw.hc ||
        !gw.fcount) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gw.alert = alert_new(&gw);
    caseev = caseev_new(&gw);
    gw.mpub = mpub_new(&gw);
    live = live_new(&gw);
    if (!gw.alert || !caseev || !gw.mpub || !live) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (gw.cfg->nsentinels) {
        sentinel = sentinel_new(gw.base,
                                (const char *const *)gw.cfg->sentinels,
                                gw.cfg->nsentinels, gw.cfg->sentinel_master,
                                gw.cfg->redis_timeout_ms, on_master, NULL);
        if (!sentinel) {
            snprintf(err, errlen, "redis.sentinels: expected HOST:PORT");
            return -1;
        }
    }
    {
        struct timeval wait = { LISTEN_WAIT_S, 0 };

        listen_timer = evtimer_new(gw.base, on_listen_timer, NULL);
        if (!listen_timer || evtimer_add(listen_timer, &wait) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    drain_timer = event_new(gw.base, -1, EV_PERSIST, on_drain_timer, &gw);
    event_add(drain_timer, &every);
    if (worker >= 0) {
        struct timeval g = { GAUGES_S, 0 };

        gauge_timer = event_new(gw.base, -1, EV_PERSIST, on_gauge_timer,
                                NULL);
        if (!gauge_timer || event_add(gauge_timer, &g) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* The supervisor's SIGHUP: its config is the one a restarted worker
 * starts with, so it reloads too (a broken one: keeps the old). */
static void on_supervisor_hup(void *arg)
{
    struct cfg *next = NULL;
    char err[4096];

    (void)arg;
    if (cfg_load(opts.config, &opts.ov, &next, err, sizeof err) != 0) {
        log_error("reload failed, keeping the running config: %s", err);
        return;
    }
    if (next->workers != gw.cfg->workers)
        log_warn("reload: a change of workers needs a restart");
    cfg_release(gw.cfg);
    gw.cfg = next;
}

/* workers > 1: becomes the supervisor, and returns 1 in each worker (with
 * gw.metrics its slot), or 0 in the supervisor once all stopped (*rc). */
static int fork_workers(int n, int *rc)
{
    struct workers_opts wo = { 0 };
    int r;

    shm = metrics_shm_new(n);
    if (!shm) {
        log_error("workers: the shared metrics could not be mapped");
        *rc = 1;
        return 0;
    }
    wo.n = n;
    wo.stop_s = gw.cfg->drain_s;
    wo.shm = shm;
    wo.on_hup = on_supervisor_hup;
    r = workers_run(&wo, &worker, rc);
    if (r == 1) {
        gw.metrics = metrics_shm_slot(shm, worker);
        metrics_gauges_reset(gw.metrics);
        log_info("worker %d of %d", worker, n);
        return 1;
    }
    if (r < 0) {
        log_error("workers: no worker could be forked");
        *rc = 1;
    }
    metrics_shm_free(shm);
    return 0;
}

/* The event loop's base. On epoll, EPOLL_USE_CHANGELIST gathers the
 * add/delete changes of a loop iteration and applies what is left of them
 * before the next epoll_wait: hiredis's libevent adapter deletes and re-adds
 * the Redis fd's read event around every reply, and adds then deletes its
 * write event around every command, so without it each costs epoll_ctl
 * calls (a syscall is dear on a VM). The flag's caveat (an fd dup()ed while
 * registered) does not apply: hotlined dups no fd. */
static struct event_base *new_base(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *b;

    if (!ec)
        return NULL;
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    b = event_base_new_with_config(ec);
    event_config_free(ec);
    return b;
}

int main(int argc, char **argv)
{
    struct event *sig[3];
    char err[4096];
    int rc = 0, nworkers;

    cfg_set_dialects(dialect_for_cfg);  /* core/cfg.c asks us */
    if (parse_args(argc, argv, &opts) != 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* A file-size limit (LimitFSIZE) is a full disk to the spool: the
     * append fails with EFBIG and is undone, instead of killing the
     * process with every caller in flight. */
    signal(SIGXFSZ, SIG_IGN);
    hc_global_init();
    if (cfg_load(opts.config, &opts.ov, &gw.cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    log_set_level((enum log_level)log_level_parse(gw.cfg->log_level));
    if (opts.check) {
        printf("%s: ok: %zu channels, %zu menus\n", opts.config,
               gw.cfg->nchannels, gw.cfg->nmenus);
        cfg_release(gw.cfg);
        return 0;
    }
    nworkers = gw.cfg->workers ? gw.cfg->workers : workers_cores();
    if (nworkers > 1 && !fork_workers(nworkers, &rc)) {
        cfg_release(gw.cfg);
        return rc;
    }
    gw.base = new_base();
    if (!gw.base || start(err, sizeof err) != 0) {
        log_error("%s", gw.base ? err : "event_base_new failed");
        rc = 1;
        goto out;
    }
    sig[0] = evsignal_new(gw.base, SIGHUP, on_sighup, NULL);
    sig[1] = evsignal_new(gw.base, SIGTERM, on_sigterm, NULL);
    sig[2] = evsignal_new(gw.base, SIGINT, on_sigterm, NULL);
    for (int i = 0; i < 3; i++)
        event_add(sig[i], NULL);
    if (worker >= 0)
        workers_unblock();      /* the supervisor's forwards wait till now */
    log_info("hotlined ready: %zu channels, %zu menus", gw.cfg->nchannels,
             gw.cfg->nmenus);
    event_base_dispatch(gw.base);
    if (listen_failed)
        rc = 1;
    for (int i = 0; i < 3; i++)
        event_free(sig[i]);
    log_info("stopped");
out:
    if (drain_timer)
        event_free(drain_timer);
    if (stop_timer)
        event_free(stop_timer);
    if (listen_timer)
        event_free(listen_timer);
    if (gauge_timer)
        event_free(gauge_timer);
    if (gw.http)
        evhttp_free(gw.http);
    sentinel_free(sentinel);
    alert_free(gw.alert);
    caseev_free(caseev);
    live_free(live);
    hc_free(gw.hc);
    store_free(gw.store);
    store_free(gw.fstore);      /* settles a WAIT in flight first */
    fcount_free(gw.fcount);     /* after its store: a reply out comes first */
    confirm_free(gw.confirm);
    mpub_free(gw.mpub);         /* after the stores: their callbacks ran */
    spool_close(gw.spool);
    metrics_free(gw.metrics);
    cfg_release(gw.cfg);
    if (gw.base)
        event_base_free(gw.base);
    return rc;
}
