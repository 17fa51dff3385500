/*
 * confirm.c — one WAIT in flight on the filing connection, the writes of
 * everyone who asked meanwhile covered by the next (confirm.h).
 *
 * `cur` are the callers the WAIT in flight covers; `next` asked after it was
 * sent, so their writes sit behind it in the connection and need another.
 * A WAIT's reply is only trusted for callers whose writes went down the
 * connection it was sent on (the generation check): after a reconnect, a
 * WAIT on the new connection says nothing about the old one's writes.
 */
#include "confirm.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>

#include "store.h"

struct waiter {
    confirm_cb cb;
    void *arg;
    unsigned gen;
    struct waiter *next;
};

struct confirm {
    struct store *store;
    struct waiter *cur, *next, **next_tail;
    int inflight;
    unsigned sent_gen;          /* connection the WAIT in flight went on */
    int replicas, wait_ms;      /* of the latest caller (reloads) */
};

static void send_wait(struct confirm *c);

struct confirm *confirm_new(struct store *s)
{
    struct confirm *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->store = s;
    c->next_tail = &c->next;
    return c;
}

/* Calls back and frees a list of waiters; ok only for gen's own. */
static void settle(struct waiter *w, int ok, unsigned gen)
{
    while (w) {
        struct waiter *n = w->next;

        w->cb(ok && w->gen == gen, w->arg);
        free(w);
        w = n;
    }
}

static void on_wait(struct redisReply *reply, void *arg)
{
    struct confirm *c = arg;
    struct waiter *done = c->cur;
    int ok = reply && reply->type == REDIS_REPLY_INTEGER &&
             reply->integer >= c->replicas;

    c->cur = NULL;
    c->inflight = 0;
    settle(done, ok, c->sent_gen);
    if (c->next && !c->inflight)
        send_wait(c);
}

static void send_wait(struct confirm *c)
{
    char n[16], ms[16];
    const char *av[3] = { "WAIT", n, ms };

    c->cur = c->next;
    c->next = NULL;
    c->next_tail = &c->next;
    snprintf(n, sizeof n, "%d", c->replicas);
    snprintf(ms, sizeof ms, "%d", c->wait_ms);
    c->sent_gen = store_generation(c->store);
    if (store_cmd(c->store, on_wait, c, 3, av, NULL) == 0) {
        c->inflight = 1;
        return;
    }
    {
        struct waiter *w = c->cur;

        c->cur = NULL;
        settle(w, 0, c->sent_gen);
    }
}

void confirm_after(struct confirm *c, unsigned gen, int replicas,
                   int wait_ms, confirm_cb cb, void *arg)
{
    struct waiter *w;

    if (gen != store_generation(c->store) || !store_ready(c->store) ||
        !(w = calloc(1, sizeof *w))) {
        cb(0, arg);
        return;
    }
    w->cb = cb;
    w->arg = arg;
    w->gen = gen;
    *c->next_tail = w;
    c->next_tail = &w->next;
    c->replicas = replicas;
    c->wait_ms = wait_ms;
    if (!c->inflight)
        send_wait(c);
}

void confirm_free(struct confirm *c)
{
    if (!c)
        return;
    settle(c->cur, 0, 0);
    settle(c->next, 0, 0);
    free(c);
}
