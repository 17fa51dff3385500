/*
 * test_scache.c — the session cache (gateway/scache.c): what a step reads
 * back, which entry a full set gives up, and what the sweep forgets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "scache.h"

/* A value whose fields are "KEY-f0" .. "KEY-f6", version "v-KEY". */
static void val(struct scache_val *v, char buf[SCACHE_NFIELDS][32],
                char *ver, const char *key, long long exp)
{
    memset(v, 0, sizeof *v);
    snprintf(ver, 32, "v-%s", key);
    v->ver = ver;
    v->mv = 7;
    v->exp = exp;
    for (int i = 0; i < SCACHE_NFIELDS; i++) {
        snprintf(buf[i], 32, "%s-f%d", key, i);
        v->f[i] = buf[i];
        v->flen[i] = strlen(buf[i]);
    }
}

static void put(struct scache *c, const char *key, long long exp)
{
    char buf[SCACHE_NFIELDS][32], ver[32];
    struct scache_val v;

    val(&v, buf, ver, key, exp);
    assert_int_equal(scache_put(c, key, &v), 0);
}

static int has(struct scache *c, const char *key)
{
    struct scache_val v;

    return scache_get(c, key, &v) == 0;
}

static void test_put_get_del(void **state)
{
    struct scache *c = scache_new(64);
    struct scache_val v;
    struct scache_stats st;
    char f6[32];

    (void)state;
    put(c, "s:{at:1}", 100);
    put(c, "s:{at:2}", 200);
    assert_int_equal(scache_get(c, "s:{at:1}", &v), 0);
    assert_string_equal(v.ver, "v-s:{at:1}");
    assert_int_equal(v.mv, 7);
    assert_int_equal(v.exp, 100);
    assert_int_equal(v.flen[0], strlen("s:{at:1}-f0"));
    assert_memory_equal(v.f[0], "s:{at:1}-f0", v.flen[0]);
    snprintf(f6, sizeof f6, "%.*s", (int)v.flen[SC_B], v.f[SC_B]);
    assert_string_equal(f6, "s:{at:1}-f6");
    assert_int_equal(scache_get(c, "s:{at:3}", &v), -1);
    scache_del(c, "s:{at:1}");
    assert_false(has(c, "s:{at:1}"));
    assert_true(has(c, "s:{at:2}"));
    scache_stats(c, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.cap, 64);
    scache_free(c);
}

/* cap 4: one set of four ways; the fifth key evicts the least recently
 * used (the first, unless it was read since). */
static void test_full_set_evicts_least_recently_used(void **state)
{
    struct scache *c = scache_new(4);
    struct scache_stats st;

    (void)state;
    put(c, "a", 100);
    put(c, "b", 100);
    put(c, "c", 100);
    put(c, "d", 100);
    assert_true(has(c, "a"));           /* a used: b is now the oldest */
    put(c, "e", 100);
    assert_true(has(c, "a"));
    assert_false(has(c, "b"));
    assert_true(has(c, "c"));
    assert_true(has(c, "d"));
    assert_true(has(c, "e"));
    scache_stats(c, &st);
    assert_int_equal(st.entries, 4);
    assert_int_equal(st.evictions, 1);
    scache_free(c);
}

/* The sweep forgets expired entries only, and reaches every slot as it
 * goes round. */
static void test_sweep_forgets_expired_only(void **state)
{
    struct scache *c = scache_new(256);
    struct scache_stats st;
    char key[32];

    (void)state;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "s:{at:%d}", i);
        put(c, key, i % 2 ? 1000 : 10);  /* odd ones live longer */
    }
    scache_sweep(c, 500, 100);           /* not round yet */
    scache_sweep(c, 500, 256);           /* a whole round */
    scache_stats(c, &st);
    assert_int_equal(st.entries, 50);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "s:{at:%d}", i);
        assert_int_equal(has(c, key), i % 2);
    }
    scache_sweep(c, 2000, 256);
    scache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    scache_free(c);
}

/* A value that does not fit a slot is not kept, and removes an older
 * entry of its key. */
static void test_too_big_removes_older(void **state)
{
    struct scache *c = scache_new(16);
    static char big[SCACHE_DATA_MAX + 1];
    char buf[SCACHE_NFIELDS][32], ver[32];
    struct scache_val v;

    (void)state;
    put(c, "k", 100);
    val(&v, buf, ver, "k", 100);
    memset(big, 'x', sizeof big - 1);
    v.f[SC_ST] = big;
    v.flen[SC_ST] = sizeof big - 1;
    assert_int_equal(scache_put(c, "k", &v), -1);
    assert_false(has(c, "k"));
    scache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_del),
        cmocka_unit_test(test_full_set_evicts_least_recently_used),
        cmocka_unit_test(test_sweep_forgets_expired_only),
        cmocka_unit_test(test_too_big_removes_older),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
