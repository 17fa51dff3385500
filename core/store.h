/*
 * store.h — the one Redis connection of a hotlined process: hiredis's async
 * API on the libevent loop, plus what hiredis 0.14 lacks — a deadline on
 * every command, a connect timeout, and reconnection with backoff.
 *
 * Every command's callback runs exactly once: with the reply, or with NULL
 * when the deadline passed, the connection dropped, or the store was freed.
 * A reply that arrives after its deadline is discarded.
 */
#ifndef HOTLINE_STORE_H
#define HOTLINE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redisReply;
struct store;

typedef void (*store_cb)(struct redisReply *reply, void *arg);
typedef void (*store_event_cb)(struct store *s, void *arg);

struct store_opts {
    const char *host;
    int port;
    const char *password;        /* NULL = no AUTH */
    int timeout_ms;              /* deadline of one command, and of connect */
    const char *const *scripts;  /* Lua scripts to SCRIPT LOAD on connect */
    size_t nscripts;
    store_event_cb on_ready;     /* connected, authenticated, scripts loaded */
    void *arg;
};

struct store_stats {
    uint64_t errors;             /* error replies, timeouts, disconnects */
    uint64_t timeouts;
    uint64_t reconnects;
};

/* Starts connecting at once (asynchronously). Copies opts' strings. */
struct store *store_new(struct event_base *base, const struct store_opts *o);
/* Frees the store: pending callbacks run with NULL. Accepts NULL. */
void store_free(struct store *s);
/* 1 when connected and ready for commands. */
int store_ready(const struct store *s);
/* Sends one command (binary-safe argv). Returns 0 when sent, -1 when the
 * store is not ready (cb is then NOT called). */
int store_cmd(struct store *s, store_cb cb, void *arg, int argc,
              const char **argv, const size_t *argvlen);
/* EVALSHA of script number i (as given in opts, loaded on every connect):
 * argv holds the nkeys keys then the arguments, argc counting both (at
 * most STORE_EVAL_ARGS_MAX; more is -1). */
#define STORE_EVAL_ARGS_MAX 125
int store_eval(struct store *s, size_t script, store_cb cb, void *arg,
               int nkeys, int argc, const char **argv, const size_t *argvlen);
/* Points the store at another server (Sentinel failover) and reconnects. */
void store_retarget(struct store *s, const char *host, int port);
void store_stats(const struct store *s, struct store_stats *out);
/* Counts connections: it changes whenever a new one becomes ready, so two
 * commands sent under the same number went down the same connection. */
unsigned store_generation(const struct store *s);

#endif
