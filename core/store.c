/*
 * store.c — hiredis async on libevent, with deadlines and reconnection.
 *
 * hiredis 0.14 has no command timeout, no connect timeout and no automatic
 * reconnect (DESIGN.md, "Known limits"). Here every command carries a
 * `struct pending` with a libevent timer: whichever comes first — the reply or
 * the timer — runs the caller's callback; the other is ignored. hiredis
 * always calls back eventually (with NULL when the context dies), and that is
 * when the pending record is freed. The record and its timer are one
 * allocation, and commands are put in Redis's protocol here, straight into
 * one buffer (hiredis's own formatting builds each argument with a printf
 * of its own and a string allocated per command): the hot path's cost.
 *
 * Writing: hiredis's libevent adapter adds a write event for each command
 * and writes when the loop reports the socket writable (an epoll_ctl to
 * add it, an epoll_wait, an epoll_ctl to remove it). Instead, the first
 * command of a loop iteration activates `flush`, which libevent runs after
 * the callbacks already due in that iteration: it writes every command
 * queued by then in one write(2), and the write event hiredis added is
 * removed before the loop ever gave it to the kernel (the base gathers
 * epoll changes per iteration, gateway/main.c). What the socket does not
 * take leaves that event in place, and hiredis writes the rest as before.
 * The context's events are this file's (ev_attach), not the adapter's:
 * the same hooks on persistent events, so that a reply does not remove
 * the read event only for hiredis to add it again (an epoll_ctl a read).
 *
 * The connection walks DOWN → CONNECTING → PREPARING (AUTH, SCRIPT LOAD) →
 * READY. A drop, a failed connect, or three deadlines in a row free the
 * context and schedule a reconnect with backoff from 100 ms up to 2 s.
 */
#include "store.h"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum store_state { ST_DOWN, ST_CONNECTING, ST_PREPARING, ST_READY };

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define TIMEOUTS_BEFORE_RESET 3
#define SHA_LEN 40

struct store {
    struct event_base *base;
    redisAsyncContext *ac;
    enum store_state state;
    char *host;
    int port;
    char *password;
    int timeout_ms;
    char **scripts;
    char (*shas)[SHA_LEN + 1];
    size_t nscripts;
    size_t loaded;              /* scripts loaded on this connection */
    store_event_cb on_ready;
    void *arg;
    struct event *retry;        /* reconnect timer */
    struct event *connect_deadline;
    struct event *flush;        /* writes the commands queued (see above) */
    int flush_due;              /* flush is active */
    int backoff_ms;
    int timeouts_in_row;
    unsigned generation;        /* connections that became ready */
    struct store_stats stats;
};

struct pending {
    struct store *s;
    store_cb cb;
    void *arg;
    struct event *timer;        /* in the same allocation, after this */
    int done;                   /* the caller's callback has run */
};

#define FMT_STACK 4096          /* commands up to this are built on the stack */

static void store_connect(struct store *s);

static struct timeval ms_tv(int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    return tv;
}

static void schedule_reconnect(struct store *s)
{
    struct timeval tv = ms_tv(s->backoff_ms);

    s->state = ST_DOWN;
    evtimer_add(s->retry, &tv);
    s->backoff_ms *= 2;
    if (s->backoff_ms > BACKOFF_MAX_MS)
        s->backoff_ms = BACKOFF_MAX_MS;
}

/* Drops the current context (its pending callbacks run with NULL) and
 * schedules a reconnect. Safe to call from our timers, not from inside a
 * hiredis callback. */
static void drop_connection(struct store *s, const char *why)
{
    redisAsyncContext *ac = s->ac;

    if (!ac)
        return;
    log_warn("redis %s:%d: %s; reconnecting", s->host, s->port, why);
    s->ac = NULL;
    evtimer_del(s->connect_deadline);
    ac->data = NULL;
    redisAsyncFree(ac);
    s->stats.reconnects++;
    schedule_reconnect(s);
}

static void on_pending_timeout(evutil_socket_t fd, short ev, void *arg)
{
    struct pending *p = arg;
    struct store *s = p->s;

    (void)fd;
    (void)ev;
    if (p->done)
        return;
    p->done = 1;
    s->stats.errors++;
    s->stats.timeouts++;
    p->cb(NULL, p->arg);
    if (++s->timeouts_in_row >= TIMEOUTS_BEFORE_RESET)
        drop_connection(s, "commands time out");
}

static void on_reply(redisAsyncContext *ac, void *r, void *arg)
{
    struct pending *p = arg;
    redisReply *reply = r;

    (void)ac;
    if (!p->done) {
        p->done = 1;
        if (p->s) {
            p->s->timeouts_in_row = 0;
            if (!reply || reply->type == REDIS_REPLY_ERROR)
                p->s->stats.errors++;
        }
        p->cb(reply, p->arg);
    }
    event_del(p->timer);
    free(p);
}

/* Decimal digits of n into out (no NUL); their count. */
static size_t put_uint(char *out, size_t n)
{
    char tmp[24];
    size_t k = 0, i;

    do
        tmp[k++] = (char)('0' + n % 10);
    while ((n /= 10) != 0);
    for (i = 0; i < k; i++)
        out[i] = tmp[k - 1 - i];
    return k;
}

static size_t uint_len(size_t n)
{
    size_t k = 1;

    while ((n /= 10) != 0)
        k++;
    return k;
}

/* Bytes of argv in Redis's protocol (an array of bulk strings). */
static size_t resp_len(int argc, const size_t *argvlen)
{
    size_t n = 3 + uint_len((size_t)argc);

    for (int i = 0; i < argc; i++)
        n += 5 + uint_len(argvlen[i]) + argvlen[i];
    return n;
}

/* Writes argv in Redis's protocol to out (resp_len bytes); the length. */
static size_t resp_put(char *out, int argc, const char **argv,
                       const size_t *argvlen)
{
    size_t n = 0;

    out[n++] = '*';
    n += put_uint(out + n, (size_t)argc);
    out[n++] = '\r';
    out[n++] = '\n';
    for (int i = 0; i < argc; i++) {
        out[n++] = '$';
        n += put_uint(out + n, argvlen[i]);
        out[n++] = '\r';
        out[n++] = '\n';
        memcpy(out + n, argv[i], argvlen[i]);
        n += argvlen[i];
        out[n++] = '\r';
        out[n++] = '\n';
    }
    return n;
}

/* Queues argv on ac with fn(privdata) as its callback: REDIS_OK or not.
 * argvlen NULL: the arguments are strings (their strlen). */
static int send_argv(redisAsyncContext *ac, redisCallbackFn *fn,
                     void *privdata, int argc, const char **argv,
                     const size_t *argvlen)
{
    char stack[FMT_STACK];
    size_t lens[STORE_EVAL_ARGS_MAX + 3];
    size_t need;
    char *buf;
    int rc;

    if (argc < 1 || (size_t)argc > sizeof lens / sizeof lens[0])
        return redisAsyncCommandArgv(ac, fn, privdata, argc, argv, argvlen);
    if (!argvlen) {
        for (int i = 0; i < argc; i++)
            lens[i] = strlen(argv[i]);
        argvlen = lens;
    }
    need = resp_len(argc, argvlen);
    buf = need <= sizeof stack ? stack : malloc(need);
    if (!buf)
        return REDIS_ERR;
    rc = redisAsyncFormattedCommand(ac, fn, privdata, buf,
                                    resp_put(buf, argc, argv, argvlen));
    if (buf != stack)
        free(buf);
    return rc;
}

/* hiredis's event hooks on libevent (what hiredis/adapters/libevent.h
 * does, on persistent events: hiredis adds the read event after every
 * reply, and deletes the write event when its output is written). */
struct evs {
    redisAsyncContext *ac;
    struct event *rd, *wr;
};

static void ev_on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    redisAsyncHandleRead(((struct evs *)arg)->ac);
}

static void ev_on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    redisAsyncHandleWrite(((struct evs *)arg)->ac);
}

static void ev_add_read(void *arg)
{
    event_add(((struct evs *)arg)->rd, NULL);
}

static void ev_del_read(void *arg)
{
    event_del(((struct evs *)arg)->rd);
}

static void ev_add_write(void *arg)
{
    event_add(((struct evs *)arg)->wr, NULL);
}

static void ev_del_write(void *arg)
{
    event_del(((struct evs *)arg)->wr);
}

static void ev_cleanup(void *arg)
{
    struct evs *e = arg;

    event_free(e->rd);
    event_free(e->wr);
    free(e);
}

/* Hooks ac's I/O to base, both events on (the write event tells that the
 * connection is made). 0, or -1 out of memory. */
static int ev_attach(redisAsyncContext *ac, struct event_base *base)
{
    struct evs *e = calloc(1, sizeof *e);

    if (!e)
        return -1;
    e->ac = ac;
    e->rd = event_new(base, ac->c.fd, EV_READ | EV_PERSIST, ev_on_read, e);
    e->wr = event_new(base, ac->c.fd, EV_WRITE | EV_PERSIST, ev_on_write, e);
    if (!e->rd || !e->wr) {
        if (e->rd)
            event_free(e->rd);
        if (e->wr)
            event_free(e->wr);
        free(e);
        return -1;
    }
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    ac->ev.data = e;
    event_add(e->rd, NULL);
    event_add(e->wr, NULL);
    return 0;
}

/* Writes what the commands of this loop iteration queued. */
static void on_flush(evutil_socket_t fd, short ev, void *arg)
{
    struct store *s = arg;

    (void)fd;
    (void)ev;
    s->flush_due = 0;
    if (s->ac && s->state == ST_READY)
        redisAsyncHandleWrite(s->ac);   /* may drop the connection */
}

int store_cmd(struct store *s, store_cb cb, void *arg, int argc,
              const char **argv, const size_t *argvlen)
{
    struct pending *p;
    struct timeval tv;

    if (!s || s->state != ST_READY || !s->ac)
        return -1;
    /* sizeof *p is a multiple of a pointer's alignment: the event
     * after it is aligned as malloc would align it. */
    p = calloc(1, sizeof *p + event_get_struct_event_size());
    if (!p)
        return -1;
    p->s = s;
    p->cb = cb;
    p->arg = arg;
    p->timer = (struct event *)(void *)(p + 1);
    if (evtimer_assign(p->timer, s->base, on_pending_timeout, p) != 0) {
        free(p);
        return -1;
    }
    if (send_argv(s->ac, on_reply, p, argc, argv, argvlen) != REDIS_OK) {
        free(p);
        return -1;
    }
    if (!s->flush_due) {
        s->flush_due = 1;
        event_active(s->flush, EV_TIMEOUT, 1);
    }
    tv = ms_tv(s->timeout_ms);
    evtimer_add(p->timer, &tv);
    return 0;
}

int store_eval(struct store *s, size_t script, store_cb cb, void *arg,
               int nkeys, int argc, const char **argv, const size_t *argvlen)
{
    const char *av[STORE_EVAL_ARGS_MAX + 3];
    size_t al[STORE_EVAL_ARGS_MAX + 3];
    char nk[16];

    if (!s || script >= s->nscripts || argc > STORE_EVAL_ARGS_MAX)
        return -1;
    if (nkeys < 0)
        return -1;
    av[0] = "EVALSHA";
    al[0] = 7;
    av[1] = s->shas[script];
    al[1] = strlen(s->shas[script]);
    av[2] = nk;
    al[2] = put_uint(nk, (size_t)nkeys);
    for (int i = 0; i < argc; i++) {
        av[i + 3] = argv[i];
        al[i + 3] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    return store_cmd(s, cb, arg, argc + 3, av, al);
}

static void become_ready(struct store *s)
{
    s->state = ST_READY;
    s->generation++;
    s->backoff_ms = BACKOFF_MIN_MS;
    s->timeouts_in_row = 0;
    log_info("redis %s:%d: ready", s->host, s->port);
    if (s->on_ready)
        s->on_ready(s, s->arg);
}

/* Replies to AUTH and SCRIPT LOAD while PREPARING. */
static void on_prepare_reply(redisAsyncContext *ac, void *r, void *arg)
{
    struct store *s = ac->data;
    redisReply *reply = r;
    size_t idx = (size_t)(uintptr_t)arg;

    if (!s || s->ac != ac || s->state != ST_PREPARING)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        log_error("redis %s:%d: %s failed: %s", s->host, s->port,
                  idx == SIZE_MAX ? "AUTH" : "SCRIPT LOAD",
                  reply ? reply->str : "no reply");
        s->stats.errors++;
        return;     /* the deadline drops the connection and retries */
    }
    if (idx != SIZE_MAX && idx < s->nscripts &&
        reply->type == REDIS_REPLY_STRING && reply->len == SHA_LEN) {
        memcpy(s->shas[idx], reply->str, SHA_LEN);
        s->shas[idx][SHA_LEN] = '\0';
        s->loaded++;
    }
    if (s->loaded == s->nscripts) {
        evtimer_del(s->connect_deadline);
        become_ready(s);
    }
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    struct store *s = ac->data;

    if (!s || s->ac != ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        log_warn("redis %s:%d: connect failed: %s", s->host, s->port,
                 ac->errstr);
        s->ac = NULL;
        s->stats.errors++;
        evtimer_del(s->connect_deadline);
        schedule_reconnect(s);
        return;
    }
    s->state = ST_PREPARING;
    s->loaded = 0;
    if (s->password)
        redisAsyncCommand(ac, on_prepare_reply, (void *)(uintptr_t)SIZE_MAX,
                          "AUTH %s", s->password);
    for (size_t i = 0; i < s->nscripts; i++)
        redisAsyncCommand(ac, on_prepare_reply, (void *)(uintptr_t)i,
                          "SCRIPT LOAD %s", s->scripts[i]);
    if (s->nscripts == 0) {
        if (s->password) {
            /* AUTH's reply would find loaded == nscripts: ready there. */
            return;
        }
        evtimer_del(s->connect_deadline);
        become_ready(s);
    }
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    struct store *s = cac->data;

    (void)status;
    if (!s || s->ac != cac)
        return;
    /* hiredis frees the context after this; pending callbacks got NULL. */
    log_warn("redis %s:%d: connection lost", s->host, s->port);
    s->ac = NULL;
    s->stats.errors++;
    s->stats.reconnects++;
    evtimer_del(s->connect_deadline);
    schedule_reconnect(s);
}

static void on_connect_deadline(evutil_socket_t fd, short ev, void *arg)
{
    struct store *s = arg;

    (void)fd;
    (void)ev;
    drop_connection(s, s->state == ST_CONNECTING ? "connect timed out"
                                                 : "preparation timed out");
}

static void on_retry(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    store_connect(arg);
}

static void store_connect(struct store *s)
{
    struct timeval tv = ms_tv(s->timeout_ms > 1000 ? s->timeout_ms : 1000);
    redisAsyncContext *ac = redisAsyncConnect(s->host, s->port);

    if (!ac || ac->err) {
        log_warn("redis %s:%d: %s", s->host, s->port,
                 ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        s->stats.errors++;
        schedule_reconnect(s);
        return;
    }
    if (ev_attach(ac, s->base) != 0) {
        log_warn("redis %s:%d: out of memory", s->host, s->port);
        redisAsyncFree(ac);
        s->stats.errors++;
        schedule_reconnect(s);
        return;
    }
    ac->data = s;
    s->ac = ac;
    s->state = ST_CONNECTING;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    evtimer_add(s->connect_deadline, &tv);
}

struct store *store_new(struct event_base *base, const struct store_opts *o)
{
    struct store *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->base = base;
    s->host = strdup(o->host);
    s->port = o->port;
    s->password = o->password ? strdup(o->password) : NULL;
    s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 250;
    s->on_ready = o->on_ready;
    s->arg = o->arg;
    s->backoff_ms = BACKOFF_MIN_MS;
    s->nscripts = o->nscripts;
    s->scripts = calloc(o->nscripts + 1, sizeof *s->scripts);
    s->shas = calloc(o->nscripts + 1, sizeof *s->shas);
    s->retry = evtimer_new(base, on_retry, s);
    s->connect_deadline = evtimer_new(base, on_connect_deadline, s);
    s->flush = event_new(base, -1, 0, on_flush, s);
    if (!s->host || !s->scripts || !s->shas || !s->retry ||
        !s->connect_deadline || !s->flush) {
        store_free(s);
        return NULL;
    }
    for (size_t i = 0; i < o->nscripts; i++)
        s->scripts[i] = strdup(o->scripts[i]);
    store_connect(s);
    return s;
}

void store_retarget(struct store *s, const char *host, int port)
{
    if (strcmp(s->host, host) == 0 && s->port == port)
        return;
    log_info("redis: switching to %s:%d", host, port);
    free(s->host);
    s->host = strdup(host);
    s->port = port;
    if (s->ac) {
        drop_connection(s, "retargeted");
    }
}

void store_free(struct store *s)
{
    if (!s)
        return;
    if (s->ac) {
        redisAsyncContext *ac = s->ac;

        s->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    if (s->retry)
        event_free(s->retry);
    if (s->connect_deadline)
        event_free(s->connect_deadline);
    if (s->flush)
        event_free(s->flush);
    for (size_t i = 0; s->scripts && i < s->nscripts; i++)
        free(s->scripts[i]);
    free(s->scripts);
    free(s->shas);
    free(s->host);
    free(s->password);
    free(s);
}

int store_ready(const struct store *s)
{
    return s && s->state == ST_READY && s->ac != NULL;
}

void store_stats(const struct store *s, struct store_stats *out)
{
    *out = s->stats;
}

unsigned store_generation(const struct store *s)
{
    return s->generation;
}
