/*
 * hotlinectl_lists.c — `hotlinectl lists`: the lists a `lookup` node
 * searches (the licensed labour-export companies, ...), kept in Redis so
 * every gateway answers from the same list at once.
 *
 *   hotlinectl lists [-c CONFIG] [--redis HOST:PORT]
 *       import NAME FILE.csv [--key COL[,COL]] [--country CC] |
 *       show NAME | rollback NAME | export NAME
 *
 * import reads a CSV file whose header row names the columns (letters,
 * digits and _; they become {company}, {licence} ... in menu texts), keys
 * every row by the key columns (default: the first) normalised as a
 * caller's input is (menu_lookup_keys), writes the whole list as a new
 * version and then switches the list's pointer to it with one HSET (in a
 * script that also drops the version before the previous one): a lookup
 * sees the old list or the new one, never half of one. The previous
 * version stays for `rollback`. It prints the rows added and removed
 * against the version it replaced and every rejected row with its line.
 * Keys: gateway/lookup.c.
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cfg.h"
#include "hotlinectl.h"
#include "menu.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define CSV_MAX (32 << 20)      /* bytes of one list file */
#define COLS_MAX 32
#define VALUE_MAX 200           /* bytes of one cell */
#define ROWS_MAX 200000
#define KEYCOLS_MAX 4
#define KEYBUF 512
#define BATCH 500               /* pipelined commands between replies */

static const char lists_usage[] =
    "usage: hotlinectl lists [-c CONFIG] [--redis HOST:PORT] COMMAND\n"
    "  import NAME FILE.csv [--key COL[,COL]] [--country CC]\n"
    "                         replace list NAME with the rows of FILE\n"
    "                         (header row = column names; --key: the columns\n"
    "                         callers type, default the first; --country: the\n"
    "                         calling code for numbers written with a 0)\n"
    "  show NAME              the version callers see, the previous one\n"
    "  rollback NAME          go back to the previous version\n"
    "  export NAME            the version callers see, as CSV\n";

/* Switch: KEYS 1 the list hash. ARGV 1 new version, 2 key columns,
 * 3 columns, 4 rows, 5 import time, 6 prefix of version hashes.
 * Returns the version replaced ('' for none). */
static const char script_switch[] =
    "local old = redis.call('HGET', KEYS[1], 'cur') or ''\n"
    "local gone = redis.call('HGET', KEYS[1], 'prev')\n"
    "redis.call('HSET', KEYS[1], 'cur', ARGV[1], 'prev', old, 'key', ARGV[2],"
    " 'cols', ARGV[3], 'rows', ARGV[4], 'at', ARGV[5])\n"
    "if gone and gone ~= '' and gone ~= old and gone ~= ARGV[1] then\n"
    "  redis.call('UNLINK', ARGV[6] .. gone, ARGV[6] .. gone .. ':near')\n"
    "end\n"
    "return old\n";

/* Rollback: KEYS 1 the list hash; swaps cur and prev. Returns {cur, prev}
 * after, or an error when there is no previous version. */
static const char script_rollback[] =
    "local cur = redis.call('HGET', KEYS[1], 'cur')\n"
    "local prev = redis.call('HGET', KEYS[1], 'prev')\n"
    "if not cur or not prev or prev == '' then\n"
    "  return redis.error_reply('no previous version')\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'cur', prev, 'prev', cur)\n"
    "return {prev, cur}\n";

struct lopts {
    const char *config;
    struct cfg_overrides ov;
    int argc;
    char **argv;
};

struct csv {
    char *buf;                  /* the file, cells split in place */
    size_t len, pos;
    int line;                   /* line of the next record */
};

struct row {
    int line;
    size_t ncell;
    char *cell[COLS_MAX + 1];
};

static int bad_usage(const char *what)
{
    fprintf(stderr, "hotlinectl lists: %s\n%s", what, lists_usage);
    return EXIT_USAGE;
}

/* ---- CSV ------------------------------------------------------------------ */

/*
 * Reads the next record into rw (cells point into c->buf, unquoted in
 * place). RFC 4180: commas, double quotes around a cell ("" inside one),
 * CRLF or LF line ends, quoted cells may hold line ends. Returns 1 for a
 * record, 0 at the end, -1 for a record with more than COLS_MAX cells or an
 * unclosed quote (rw->line says where).
 */
static int csv_next(struct csv *c, struct row *rw)
{
    char *b = c->buf;

    rw->line = c->line;
    rw->ncell = 0;
    if (c->pos >= c->len)
        return 0;
    for (;;) {
        size_t w = c->pos, start = c->pos;
        int quoted = b[c->pos] == '"', end = 0;

        if (quoted)
            c->pos++;
        while (c->pos < c->len) {
            char ch = b[c->pos];

            if (quoted) {
                if (ch == '"' && c->pos + 1 < c->len && b[c->pos + 1] == '"') {
                    b[w++] = '"';
                    c->pos += 2;
                    continue;
                }
                if (ch == '"') {
                    quoted = 0;
                    c->pos++;
                    continue;
                }
                if (ch == '\n')
                    c->line++;
                b[w++] = ch;
                c->pos++;
                continue;
            }
            if (ch == ',' || ch == '\n')
                break;
            b[w++] = ch;
            c->pos++;
        }
        if (quoted)
            return -1;
        if (w > start && b[w - 1] == '\r')
            w--;
        if (c->pos >= c->len || b[c->pos] == '\n') {
            end = 1;
            c->line++;
        }
        b[w] = '\0';
        if (rw->ncell == COLS_MAX)
            return -1;
        rw->cell[rw->ncell++] = b + start;
        c->pos++;
        if (end)
            return 1;
    }
}

/* ---- import ---------------------------------------------------------------- */

struct entry {
    char key[MENU_LOOKUP_KEY_MAX];
    char *json;
    int line;
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->key,
                  ((const struct entry *)b)->key);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int col_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= MENU_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* Why a cell cannot be stored, or NULL. */
static const char *cell_problem(const char *v)
{
    size_t n = strlen(v);

    if (n > VALUE_MAX)
        return "a cell is longer than 200 bytes";
    if (!menu_utf8_valid(v, n))
        return "a cell is not UTF-8";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7F)
            return "a cell holds a control character or line break";
    return NULL;
}

/* The CSV file, at most CSV_MAX bytes, without a leading UTF-8 BOM. */
static char *read_all(const char *path, size_t *len)
{
    char *buf = ctl_read_file(path, CSV_MAX, len);

    if (buf && *len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        memmove(buf, buf + 3, *len - 2);
        *len -= 3;
    }
    return buf;
}

/* The import in memory: header, key columns, entries. */
struct import {
    struct row head;
    size_t keycol[KEYCOLS_MAX];
    size_t nkey;
    char keynames[256];
    char cols[1024];
    struct entry *e;
    size_t n;
    size_t rejected;
};

/* Finds the key columns (comma-separated names, NULL = the first). */
static int key_columns(struct import *im, const char *spec)
{
    char buf[256];
    char *save = NULL;

    snprintf(buf, sizeof buf, "%s", spec ? spec : im->head.cell[0]);
    snprintf(im->keynames, sizeof im->keynames, "%s", buf);
    for (char *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        size_t j = 0;

        while (j < im->head.ncell && strcmp(im->head.cell[j], t) != 0)
            j++;
        if (j == im->head.ncell || im->nkey == KEYCOLS_MAX) {
            fprintf(stderr, "hotlinectl lists: key column %s is not in the "
                            "header\n", t);
            return -1;
        }
        im->keycol[im->nkey++] = j;
    }
    return im->nkey ? 0 : -1;
}

/* Adds one entry per key column of row rw; reports what it rejects. */
static void take_row(struct import *im, const struct row *rw,
                     const char *country)
{
    const char *why = NULL;
    json_t *o;
    char *js;

    if (rw->ncell != im->head.ncell) {
        printf("rejected line %d: %zu cells, the header has %zu\n", rw->line,
               rw->ncell, im->head.ncell);
        im->rejected++;
        return;
    }
    for (size_t i = 0; i < rw->ncell && !why; i++)
        why = cell_problem(rw->cell[i]);
    if (why) {
        printf("rejected line %d: %s\n", rw->line, why);
        im->rejected++;
        return;
    }
    o = json_object();
    for (size_t i = 0; i < rw->ncell; i++)
        json_object_set_new(o, im->head.cell[i], json_string(rw->cell[i]));
    js = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    for (size_t k = 0; k < im->nkey && js; k++) {
        const char *v = rw->cell[im->keycol[k]];
        struct menu_lookup lk;

        if (v[0] == '\0' && k > 0)
            continue;               /* an optional second key */
        if (menu_lookup_keys(v, strlen(v), country, &lk) < 0) {
            printf("rejected line %d: %s \"%s\" gives no key (empty, only a "
                   "legal form, or a national number without --country)\n",
                   rw->line, im->head.cell[im->keycol[k]], v);
            im->rejected++;
            break;
        }
        snprintf(im->e[im->n].key, sizeof im->e[im->n].key, "%s", lk.key);
        im->e[im->n].json = strdup(js);
        im->e[im->n].line = rw->line;
        im->n++;
    }
    free(js);
}

/* Reads the file into im. Returns 0, or -1 after printing why. */
static int import_read(struct import *im, char *buf, size_t len,
                       const char *keyspec, const char *country)
{
    struct csv c = { buf, len, 0, 1 };
    struct row rw;
    int rc;

    if (csv_next(&c, &im->head) != 1 || im->head.ncell == 0) {
        fprintf(stderr, "hotlinectl lists: no header row\n");
        return -1;
    }
    im->cols[0] = '\0';
    for (size_t i = 0; i < im->head.ncell; i++) {
        if (!col_name_ok(im->head.cell[i])) {
            fprintf(stderr, "hotlinectl lists: line 1: column \"%s\" must be "
                            "letters, digits and _ (it names {%s} in menu "
                            "texts)\n", im->head.cell[i], im->head.cell[i]);
            return -1;
        }
        if (strlen(im->cols) + strlen(im->head.cell[i]) + 2 <
            sizeof im->cols) {
            strcat(im->cols, i ? "," : "");
            strcat(im->cols, im->head.cell[i]);
        }
    }
    if (key_columns(im, keyspec) != 0)
        return -1;
    im->e = calloc((size_t)ROWS_MAX * KEYCOLS_MAX, sizeof *im->e);
    if (!im->e)
        return -1;
    while ((rc = csv_next(&c, &rw)) != 0) {
        if (rc < 0) {
            fprintf(stderr, "hotlinectl lists: line %d: unclosed quote or "
                            "more than %d columns\n", rw.line, COLS_MAX);
            return -1;
        }
        if (rw.ncell == 1 && rw.cell[0][0] == '\0')
            continue;               /* a blank line */
        if (im->n + KEYCOLS_MAX > (size_t)ROWS_MAX * KEYCOLS_MAX) {
            fprintf(stderr, "hotlinectl lists: more than %d rows\n",
                    ROWS_MAX);
            return -1;
        }
        take_row(im, &rw, country);
    }
    return 0;
}

/* Drops entries whose key an earlier row already has (reported). */
static void dedup(struct import *im)
{
    size_t w = 0;

    qsort(im->e, im->n, sizeof *im->e, cmp_entry);
    for (size_t i = 0; i < im->n; i++) {
        if (w > 0 && strcmp(im->e[w - 1].key, im->e[i].key) == 0) {
            struct entry *keep = &im->e[w - 1], *drop = &im->e[i];

            if (drop->line < keep->line) {
                struct entry t = *keep;
                *keep = *drop;
                *drop = t;
            }
            if (drop->line != keep->line) {
                printf("rejected line %d: the same key (%s) as line %d\n",
                       drop->line, drop->key, keep->line);
                im->rejected++;
            }
            free(drop->json);
            continue;
        }
        im->e[w++] = im->e[i];
    }
    im->n = w;
}

/* Reads every reply of `pending` pipelined commands; -1 on an error. */
static int drain(redisContext *rc, size_t pending)
{
    int bad = 0;

    for (size_t i = 0; i < pending; i++) {
        redisReply *r = NULL;

        if (redisGetReply(rc, (void **)&r) != REDIS_OK)
            return -1;
        if (r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "hotlinectl lists: Redis: %s\n", r->str);
            bad = 1;
        }
        freeReplyObject(r);
    }
    return bad ? -1 : 0;
}

/* Writes version hash h (and h:near) from im. */
static int write_version(redisContext *rc, const struct import *im,
                         const char *h)
{
    char near[KEYBUF + 64];
    size_t pending = 0;

    snprintf(near, sizeof near, "%s:near", h);
    for (size_t i = 0; i < im->n; i++) {
        struct menu_lookup lk;

        memset(&lk, 0, sizeof lk);
        lk.kind = strncmp(im->e[i].key, "id:", 3) == 0 ? MENU_LK_NAME
                                                       : MENU_LK_PHONE;
        snprintf(lk.key, sizeof lk.key, "%s", im->e[i].key);
        redisAppendCommand(rc, "HSET %s %s %s", h, im->e[i].key,
                           im->e[i].json);
        pending++;
        menu_lookup_near(&lk);
        for (size_t k = 0; k < lk.nnear; k++) {
            redisAppendCommand(rc, "HSETNX %s %s %s", near, lk.near[k],
                               im->e[i].key);
            pending++;
        }
        if (pending >= BATCH) {
            if (drain(rc, pending) != 0)
                return -1;
            pending = 0;
        }
    }
    return drain(rc, pending);
}

/* Keys of version hash h, sorted (malloc'd; *n set). */
static char **version_keys(redisContext *rc, const char *h, size_t *n)
{
    char cursor[32] = "0";
    char **v = NULL;
    size_t cap = 0;

    *n = 0;
    do {
        redisReply *r = redisCommand(rc, "HSCAN %s %s COUNT 1000", h, cursor);

        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i + 1 < r->element[1]->elements; i += 2) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 1024;
                v = realloc(v, cap * sizeof *v);
            }
            v[(*n)++] = strdup(r->element[1]->element[i]->str);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

/* Added / removed between the sorted old keys and im's sorted entries. */
static void diff(char **old, size_t nold, const struct import *im,
                 size_t *added, size_t *removed)
{
    size_t i = 0, j = 0;

    *added = *removed = 0;
    while (i < nold || j < im->n) {
        int c = i == nold ? 1 : j == im->n ? -1
                                           : strcmp(old[i], im->e[j].key);

        if (c < 0) {
            (*removed)++;
            i++;
        } else if (c > 0) {
            (*added)++;
            j++;
        } else {
            i++;
            j++;
        }
    }
}

static void free_keys(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void import_free(struct import *im)
{
    for (size_t i = 0; i < im->n; i++)
        free(im->e[i].json);
    free(im->e);
}

/* The list's hash key and its versions' prefix. */
static void list_keys(const struct cfg *c, const char *name, char *lkey,
                      char *vprefix)
{
    snprintf(lkey, KEYBUF, "%slist:%s", c->prefix, name);
    snprintf(vprefix, KEYBUF, "%slist:%s:", c->prefix, name);
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= MENU_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

/* Writes the new version, then switches to it and reports. */
static int import_store(redisContext *rc, const struct cfg *c,
                        const char *name, struct import *im)
{
    char lkey[KEYBUF], vp[KEYBUF], h[KEYBUF + 32], rows[24], at[24];
    size_t nold = 0, added, removed;
    char **old = NULL;
    redisReply *r;
    long long ver;

    list_keys(c, name, lkey, vp);
    r = redisCommand(rc, "HINCRBY %s seq 1", lkey);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        fprintf(stderr, "hotlinectl lists: Redis: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
        freeReplyObject(r);
        return EXIT_USAGE;
    }
    ver = r->integer;
    freeReplyObject(r);
    snprintf(h, sizeof h, "%s%lld", vp, ver);
    r = redisCommand(rc, "HGET %s cur", lkey);
    if (r && r->type == REDIS_REPLY_STRING) {
        char oh[KEYBUF + 32];

        snprintf(oh, sizeof oh, "%s%s", vp, r->str);
        old = version_keys(rc, oh, &nold);
    }
    freeReplyObject(r);
    if (write_version(rc, im, h) != 0) {
        redisCommand(rc, "UNLINK %s %s:near", h, h);
        fprintf(stderr, "hotlinectl lists: import of %s failed; callers "
                        "still see the previous version\n", name);
        free_keys(old, nold);
        return EXIT_USAGE;
    }
    snprintf(rows, sizeof rows, "%zu", im->n);
    snprintf(at, sizeof at, "%lld", (long long)time(NULL));
    r = redisCommand(rc, "EVAL %s 1 %s %lld %s %s %s %s %s", script_switch,
                     lkey, ver, im->keynames, im->cols, rows, at, vp);
    if (!r || r->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "hotlinectl lists: switch failed: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
        freeReplyObject(r);
        free_keys(old, nold);
        return EXIT_USAGE;
    }
    freeReplyObject(r);
    diff(old, nold, im, &added, &removed);
    free_keys(old, nold);
    printf("list %s: version %lld: %zu keys, %zu added, %zu removed, "
           "%zu rejected\n", name, ver, im->n, added, removed, im->rejected);
    return 0;
}

static int cmd_import(redisContext *rc, const struct cfg *c, int argc,
                      char **argv)
{
    const char *keyspec = NULL, *country = NULL;
    struct import im;
    size_t len = 0;
    char *buf;
    int st;

    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
            keyspec = argv[++i];
        else if (strcmp(argv[i], "--country") == 0 && i + 1 < argc)
            country = argv[++i];
        else
            return bad_usage("import NAME FILE.csv [--key COL[,COL]] "
                             "[--country CC]");
    }
    if (country && country[0] == '+')
        country++;
    buf = read_all(argv[2], &len);
    if (!buf) {
        fprintf(stderr, "hotlinectl lists: cannot read %s (or it is larger "
                        "than %d bytes)\n", argv[2], CSV_MAX);
        return EXIT_USAGE;
    }
    memset(&im, 0, sizeof im);
    if (import_read(&im, buf, len, keyspec, country) != 0) {
        import_free(&im);
        free(buf);
        return EXIT_USAGE;
    }
    dedup(&im);
    if (im.n == 0) {
        fprintf(stderr, "hotlinectl lists: no row of %s can be imported; "
                        "list %s is unchanged\n", argv[2], argv[1]);
        st = EXIT_REFUSED;
    } else {
        st = import_store(rc, c, argv[1], &im);
    }
    import_free(&im);
    free(buf);
    return st;
}

static int cmd_show(redisContext *rc, const struct cfg *c, const char *name)
{
    char lkey[KEYBUF], vp[KEYBUF];
    redisReply *r;

    list_keys(c, name, lkey, vp);
    r = redisCommand(rc, "HMGET %s cur prev rows key cols at", lkey);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 6 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "hotlinectl lists: no list %s\n", name);
        freeReplyObject(r);
        return EXIT_REFUSED;
    }
    printf("list %s\n", name);
    for (size_t i = 0; i < 6; i++) {
        const redisReply *e = r->element[i];
        const char *v = e->type == REDIS_REPLY_STRING ? e->str : "";

        if (i == 5 && v[0]) {
            time_t t = (time_t)atoll(v);
            char when[32];
            struct tm tm;

            gmtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            printf("  imported: %s\n", when);
            continue;
        }
        printf("  %s: %s\n", i == 0 ? "version" : i == 1 ? "previous"
                               : i == 2 ? "keys" : i == 3 ? "key columns"
                                                          : "columns",
               v[0] ? v : "(none)");
    }
    freeReplyObject(r);
    return 0;
}

static int cmd_rollback(redisContext *rc, const struct cfg *c,
                        const char *name)
{
    char lkey[KEYBUF], vp[KEYBUF];
    redisReply *r;

    list_keys(c, name, lkey, vp);
    r = redisCommand(rc, "EVAL %s 1 %s", script_rollback, lkey);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        fprintf(stderr, "hotlinectl lists: rollback of %s refused: %s\n",
                name, r && r->type == REDIS_REPLY_ERROR ? r->str
                                                        : "no answer");
        freeReplyObject(r);
        return EXIT_REFUSED;
    }
    printf("list %s: version %s again (version %s kept: rollback again to "
           "return to it)\n", name, r->element[0]->str, r->element[1]->str);
    freeReplyObject(r);
    return 0;
}

/* One CSV cell, quoted when it needs to be. */
static void csv_cell(const char *v, int last)
{
    if (strpbrk(v, ",\"\n")) {
        putchar('"');
        for (; *v; v++) {
            if (*v == '"')
                putchar('"');
            putchar(*v);
        }
        putchar('"');
    } else {
        fputs(v, stdout);
    }
    putchar(last ? '\n' : ',');
}

static int cmd_export(redisContext *rc, const struct cfg *c, const char *name)
{
    char lkey[KEYBUF], vp[KEYBUF], h[KEYBUF + 32], cols[1024];
    char *names[COLS_MAX];
    char *save = NULL;
    size_t ncol = 0, nkeys;
    char **keys;
    redisReply *r;

    list_keys(c, name, lkey, vp);
    r = redisCommand(rc, "HMGET %s cur cols", lkey);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "hotlinectl lists: no list %s\n", name);
        freeReplyObject(r);
        return EXIT_REFUSED;
    }
    snprintf(h, sizeof h, "%s%s", vp, r->element[0]->str);
    snprintf(cols, sizeof cols, "%s", r->element[1]->str);
    freeReplyObject(r);
    for (char *t = strtok_r(cols, ",", &save); t && ncol < COLS_MAX;
         t = strtok_r(NULL, ",", &save))
        names[ncol++] = t;
    for (size_t i = 0; i < ncol; i++)
        csv_cell(names[i], i + 1 == ncol);
    keys = version_keys(rc, h, &nkeys);
    for (size_t k = 0; k < nkeys; k++) {
        json_t *o;

        r = redisCommand(rc, "HGET %s %s", h, keys[k]);
        o = r && r->type == REDIS_REPLY_STRING ? json_loads(r->str, 0, NULL)
                                               : NULL;
        for (size_t i = 0; o && i < ncol; i++) {
            const char *v = json_string_value(json_object_get(o, names[i]));

            csv_cell(v ? v : "", i + 1 == ncol);
        }
        json_decref(o);
        freeReplyObject(r);
    }
    free_keys(keys, nkeys);
    return 0;
}

static int run(redisContext *rc, const struct cfg *c, int argc, char **argv)
{
    const char *cmd = argv[0];

    if (argc < 2 || !name_ok(argv[1]))
        return bad_usage("a list name (letters, digits, _ and -) is needed");
    if (strcmp(cmd, "import") == 0 && argc >= 3)
        return cmd_import(rc, c, argc, argv);
    if (strcmp(cmd, "show") == 0 && argc == 2)
        return cmd_show(rc, c, argv[1]);
    if (strcmp(cmd, "rollback") == 0 && argc == 2)
        return cmd_rollback(rc, c, argv[1]);
    if (strcmp(cmd, "export") == 0 && argc == 2)
        return cmd_export(rc, c, argv[1]);
    return bad_usage("unknown command or wrong arguments");
}

int hotlinectl_lists(int argc, char **argv)
{
    struct lopts o;
    struct cfg *c = NULL;
    redisContext *rc;
    char err[4096];
    int i = 1, st;

    memset(&o, 0, sizeof o);
    o.config = "config/hotlined.cfg";
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            && i + 1 < argc)
            o.config = argv[++i];
        else if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc)
            o.ov.redis = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return fputs(lists_usage, stdout), 0;
        else
            return bad_usage("unknown option or missing value");
    }
    if (i >= argc)
        return bad_usage("which command?");
    if (cfg_load(o.config, &o.ov, &c, err, sizeof err) != 0) {
        fprintf(stderr, "hotlinectl lists: %s\n", err);
        return EXIT_USAGE;
    }
    rc = ctl_redis_connect(c, "lists", 5);
    st = rc ? run(rc, c, argc - i, argv + i) : EXIT_USAGE;
    redisFree(rc);
    cfg_release(c);
    return st;
}
