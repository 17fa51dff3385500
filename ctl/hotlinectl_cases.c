/*
 * hotlinectl_cases.c — `hotlinectl cases`: hotline staff work help requests
 * from a terminal on the server.
 *
 *   hotlinectl cases [-c CONFIG] [--redis HOST:PORT] [--token TOKEN] [--json]
 *       list [--status S] [--queue Q] [--limit N] [--cursor C] | show REF |
 *       claim REF | release REF | note REF TEXT | resolve REF |
 *       erase --phone NUMBER [--spool FILE] | reindex |
 *       tag REF ID... | reassign REF NAME
 *
 * A thin shell: the config says where Redis is, the key prefix, the pepper
 * and who the staff are; the case rules are the Lua scripts of
 * staff/cases.c, the same the staff API runs. The token (--token or
 * HOTLINE_STAFF_TOKEN, or var/hotline.env after `make run`: hotlinectl.c)
 * names the staff member written into the case history;
 * show and list write an audit entry there too (read / list), as the API.
 * erase takes the number in any form a person types it (spaces, dashes,
 * 00 or "+", or none) and removes it in every form it may be stored in.
 * Talks to Redis synchronously (hiredis), with a connect and command
 * timeout.
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "accounts.h"
#include "cases.h"
#include "cfg.h"
#include "dialect.h"
#include "hotlinectl.h"
#include "menu.h"
#include "session.h"
#include "spool.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define REINDEX_BATCH 4096      /* keys one SCAN ... COUNT 500 may return */
#define TAGS_MAX 8

struct copts {
    const char *config;
    const char *token;
    struct cfg_overrides ov;
    const char *status;
    const char *queue;
    const char *cursor;
    int limit;
    int json;
    int argc;                   /* the subcommand and its arguments */
    char **argv;
};

static const char cases_usage[] =
    "usage: hotlinectl cases [-c CONFIG] [--redis HOST:PORT] [--token TOKEN]"
    " [--json] COMMAND\n"
    "  list [--status new|claimed|resolved] [--queue QUEUE] [--limit N]\n"
    "       [--cursor C]                      one page of cases, oldest first\n"
    "                                         (the next page's cursor on stderr)\n"
    "  show REF                               one case, safe-to-call first\n"
    "  claim REF | resolve REF                move a case on\n"
    "  release REF                            give a case you claimed back\n"
    "  note REF TEXT                          add a note\n"
    "  reassign REF NAME                      give a claimed case to another\n"
    "                                         staff member (as a supervisor)\n"
    "  tag REF ID [ID ...]                    recruiter identifiers seen in\n"
    "                                         the case (+phone, web address,\n"
    "                                         @handle, company): callers who\n"
    "                                         check them hear \"reported\"\n"
    "  erase --phone NUMBER [--spool FILE]    remove everything about a number\n"
    "                                         (and from a gateway's spool)\n"
    "  reindex                                put every case in the case index\n"
    "                                         (once, after an upgrade)\n"
    "The token is --token or $HOTLINE_STAFF_TOKEN (a staff token of the\n"
    "config); the config needs HOTLINE_PEPPER like hotlined. After make run,\n"
    "both come from var/hotline.env when the environment lacks them.\n";

static long long now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int bad_usage(const char *what)
{
    fprintf(stderr, "hotlinectl cases: %s\n%s", what, cases_usage);
    return EXIT_USAGE;
}

/* Options before the command; the rest is the command. */
static int parse(int argc, char **argv, struct copts *o)
{
    int i = 1;

    o->config = "config/hotlined.cfg";
    o->token = getenv("HOTLINE_STAFF_TOKEN");
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;

        if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) &&
                   more) {
            o->config = argv[++i];
        } else if (strcmp(a, "--redis") == 0 && more) {
            o->ov.redis = argv[++i];
        } else if (strcmp(a, "--token") == 0 && more) {
            o->token = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(cases_usage, stdout);
            return 1;
        } else {
            return bad_usage("unknown option or missing value");
        }
    }
    o->argc = argc - i;
    o->argv = argv + i;
    if (o->argc < 1)
        return bad_usage("which command?");
    return 0;
}

/* A flat HGETALL-form array as the (kv, kvlen, n) cases.c takes. */
struct flat {
    const char *kv[512];
    size_t len[512];
    size_t n;
};

static void flatten(const redisReply *r, struct flat *f)
{
    f->n = 0;
    for (size_t i = 0; i < r->elements && f->n < 512; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        f->kv[f->n] = r->element[i]->str;
        f->len[f->n++] = r->element[i]->len;
    }
}

static int audit_list(redisContext *rc, const struct cfg *c, const char *who,
                      const redisReply *r);

static void print_case(const struct copts *o, const redisReply *c,
                       int first)
{
    struct flat f;

    flatten(c, &f);
    if (o->json) {
        char *js = cases_json(f.kv, f.len, f.n);

        printf("%s%s", first ? "" : ",", js ? js : "null");
        free(js);
    } else {
        char line[256];

        cases_line(f.kv, f.len, f.n, now_ms(), line, sizeof line);
        puts(line);
    }
}

/* One page of the case index (cases.h): the same script as the API. */
static int cmd_list(redisContext *rc, const struct cfg *c,
                    const struct copts *o, const char *who)
{
    char keys[3][128], max[16], nkeys[16];
    char score[24] = "", after[CASES_REF_MAX] = "";
    const char *av[9];
    size_t al[9];
    int nk = cases_list_keys(c->prefix, o->status, o->queue, keys,
                             sizeof keys[0]);
    redisReply *r;
    int ac = 0;

    if (nk < 0)
        return bad_usage("queue name too long");
    if (o->cursor && cases_cursor_parse(o->cursor, score, sizeof score, after,
                                        sizeof after) != 0)
        return bad_usage("not a cursor of this listing");
    snprintf(max, sizeof max, "%d", o->limit ? o->limit : CASES_LIST_DEFAULT);
    av[ac++] = "EVAL";
    av[ac++] = cases_script_list;
    snprintf(nkeys, sizeof nkeys, "%d", nk);
    av[ac++] = nkeys;
    for (int i = 0; i < nk; i++)
        av[ac++] = keys[i];
    av[ac++] = max;
    av[ac++] = score;
    av[ac++] = after;
    for (int i = 0; i < ac; i++)
        al[i] = strlen(av[i]);
    r = redisCommandArgv(rc, ac, av, al);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "hotlinectl cases: list failed: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
        freeReplyObject(r);
        return EXIT_USAGE;
    }
    if (audit_list(rc, c, who, r) != 0) {
        fprintf(stderr, "hotlinectl cases: list failed: the audit entry "
                        "could not be written\n");
        freeReplyObject(r);
        return EXIT_USAGE;
    }
    if (o->json)
        fputs("{\"cases\":[", stdout);
    else
        printf("%-8s %-9s %-8s %-4s %-5s %-13s %-10s %s\n", "REF", "STATUS",
               "QUEUE", "LANG", "AGE", "SAFE TO CALL", "RISK", "LOCATION");
    for (size_t i = 1; i < r->elements; i++)
        print_case(o, r->element[i], i == 1);
    if (o->json) {
        json_t *next = r->element[0]->len ? json_string(r->element[0]->str) :
                                            json_null();
        char *js = json_dumps(next, JSON_ENCODE_ANY);

        printf("],\"next\":%s}\n", js ? js : "null");
        free(js);
        json_decref(next);
    }
    if (r->element[0]->len)
        fprintf(stderr, "next: %s\n", r->element[0]->str);
    freeReplyObject(r);
    return 0;
}

/* reindex: SCANs the case hashes from here (each SCAN a short command,
 * never one long script) and indexes each batch with one script. */
static int cmd_reindex(redisContext *rc, const struct cfg *c)
{
    char cursor[32] = "0";
    char pattern[128];
    long long n = 0;

    snprintf(pattern, sizeof pattern, "%scase:*", c->prefix);
    do {
        redisReply *r = redisCommand(rc, "SCAN %s MATCH %s COUNT 500 TYPE hash",
                                     cursor, pattern);
        redisReply *x;
        const char *av[3 + REINDEX_BATCH];
        size_t al[3 + REINDEX_BATCH];
        char nkeys[16];
        size_t nk;

        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[1]->type != REDIS_REPLY_ARRAY ||
            r->element[1]->elements > REINDEX_BATCH) {
            fprintf(stderr, "hotlinectl cases: reindex failed: %s\n",
                    r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
            freeReplyObject(r);
            return EXIT_USAGE;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        nk = r->element[1]->elements;
        snprintf(nkeys, sizeof nkeys, "%zu", nk);
        av[0] = "EVAL";
        av[1] = cases_script_reindex;
        av[2] = nkeys;
        for (size_t i = 0; i < nk; i++)
            av[3 + i] = r->element[1]->element[i]->str;
        for (size_t i = 0; i < 3 + nk; i++)
            al[i] = strlen(av[i]);
        x = nk ? redisCommandArgv(rc, (int)(3 + nk), av, al) : NULL;
        if (nk && (!x || x->type != REDIS_REPLY_INTEGER)) {
            fprintf(stderr, "hotlinectl cases: reindex failed: %s\n",
                    x && x->type == REDIS_REPLY_ERROR ? x->str : "no answer");
            freeReplyObject(x);
            freeReplyObject(r);
            return EXIT_USAGE;
        }
        if (x)
            n += x->integer;
        freeReplyObject(x);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    printf("indexed %lld cases\n", n);
    return 0;
}

/* Writes the list's audit entry into each listed case (cases.h). */
static int audit_list(redisContext *rc, const struct cfg *c, const char *who,
                      const redisReply *r)
{
    char *refs = malloc(r->elements * CASES_REF_MAX + 1);
    size_t len = 0;
    char now[24];
    redisReply *a;
    struct flat f;
    int ok;

    if (!refs)
        return -1;
    refs[0] = '\0';
    for (size_t i = 1; i < r->elements; i++) {     /* 0: the cursor */
        const char *ref;

        flatten(r->element[i], &f);
        ref = NULL;
        for (size_t k = 0; k + 1 < f.n; k += 2) {
            if (strcmp(f.kv[k], "ref") == 0)
                ref = f.kv[k + 1];
        }
        if (ref && strlen(ref) < CASES_REF_MAX && cases_ref_ok(ref))
            len += (size_t)sprintf(refs + len, "%s%s", len ? " " : "", ref);
    }
    snprintf(now, sizeof now, "%lld", now_ms());
    a = redisCommand(rc, "EVAL %s 0 %s %s list %s %s", cases_script_audit,
                     who, now, c->prefix, refs);
    ok = a && a->type == REDIS_REPLY_INTEGER;
    freeReplyObject(a);
    free(refs);
    return ok ? 0 : -1;
}

static int cmd_show(redisContext *rc, const struct cfg *c,
                    const struct copts *o, const char *who, const char *ref)
{
    char key[128];
    char now[24];
    redisReply *r;
    struct flat f;
    char *out;
    int rc_exit = 0;

    /* The read is written into the case's history before it is shown. */
    snprintf(key, sizeof key, "%scase:%s", c->prefix, ref);
    snprintf(now, sizeof now, "%lld", now_ms());
    r = redisCommand(rc, "EVAL %s 1 %s %s %s", cases_script_read, key, who,
                     now);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        fprintf(stderr, "hotlinectl cases: no case %s\n", ref);
        freeReplyObject(r);
        return EXIT_REFUSED;
    }
    flatten(r, &f);
    out = o->json ? cases_json(f.kv, f.len, f.n) : cases_text(f.kv, f.len,
                                                              f.n);
    if (out) {
        fputs(out, stdout);
        if (o->json)
            putchar('\n');
    } else {
        rc_exit = EXIT_USAGE;
    }
    free(out);
    freeReplyObject(r);
    return rc_exit;
}

/* claim / note / resolve: one script, {code, message, time}. */
static int cmd_move(redisContext *rc, const struct cfg *c, const char *who,
                    const char *what, const char *ref, const char *text)
{
    char key[128];
    char now[24];
    char retention[16];
    const char *script = strcmp(what, "claim") == 0 ? cases_script_claim :
                         strcmp(what, "release") == 0 ? cases_script_release :
                         strcmp(what, "note") == 0 ? cases_script_note :
                                                     cases_script_resolve;
    const char *arg3 = strcmp(what, "note") == 0 ? text : retention;
    redisReply *r;
    int exit_code;

    snprintf(key, sizeof key, "%scase:%s", c->prefix, ref);
    snprintf(now, sizeof now, "%lld", now_ms());
    snprintf(retention, sizeof retention, "%d", c->case_retention_s);
    if (strcmp(what, "claim") == 0 || strcmp(what, "release") == 0)
        r = redisCommand(rc, "EVAL %s 1 %s %s %s", script, key, who, now);
    else
        r = redisCommand(rc, "EVAL %s 1 %s %s %s %s", script, key, who, now,
                         arg3);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "hotlinectl cases: %s failed: %s\n", what,
                r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
        freeReplyObject(r);
        return EXIT_USAGE;
    }
    exit_code = r->element[0]->integer == 1 ? 0 : EXIT_REFUSED;
    if (exit_code == 0)
        printf("%s %s\n", r->element[1]->str, ref);
    else
        fprintf(stderr, "hotlinectl cases: %s %s: %s\n", what, ref,
                r->element[1]->str);
    freeReplyObject(r);
    return exit_code;
}

/* The forms a number may be stored in: E.164 first, then its digits
 * without "+" (what Hubtel and Nalo sent before numbers were normalised).
 * Returns how many (1-2), or 0 when typed is not a number with its
 * country code. */
static int phone_forms(const char *typed, char forms[2][IN_PHONE_MAX])
{
    if (dialect_phone_e164(typed, forms[0], IN_PHONE_MAX) != 0)
        return 0;
    snprintf(forms[1], IN_PHONE_MAX, "%s", forms[0] + 1);
    return 2;
}

static int cmd_erase(redisContext *rc, const struct cfg *c, const char *who,
                     const char *typed)
{
    static const char *const what[] = { "cases", "queue entries",
                                        "dead letters", "sessions",
                                        "counters", "opt-outs",
                                        "saved places" };
    char forms[2][IN_PHONE_MAX];
    long long sum[7] = { 0 };
    int nf = phone_forms(typed, forms);
    char pk[33];
    redisReply *r;

    if (nf == 0) {
        fprintf(stderr, "hotlinectl cases: erase: %s is not a phone number "
                        "with its country code (e.g. +233 20 000 0088)\n",
                typed);
        return EXIT_USAGE;
    }
    for (int f = 0; f < nf; f++) {
        session_phone_key(c->pepper, forms[f], pk);
        r = redisCommand(rc, "EVAL %s 0 %s %s %s", cases_script_erase,
                         c->prefix, forms[f], pk);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 7) {
            fprintf(stderr, "hotlinectl cases: erase failed: %s\n",
                    r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
            freeReplyObject(r);
            return EXIT_USAGE;
        }
        for (size_t i = 0; i < 7; i++)
            sum[i] += r->element[i]->integer;
        freeReplyObject(r);
    }
    printf("removed:");
    for (size_t i = 0; i < 7; i++)
        printf("%s %lld %s", i ? "," : "", sum[i], what[i]);
    printf(" (by %s)\n", who);
    return 0;
}

/* A spool record is the filing script's argv as a JSON array; the number
 * sits in its "phone", NUMBER field pair. */
static int record_of_phone(const char *rec, void *arg)
{
    json_t *a = json_loads(rec, 0, NULL);
    char e164[IN_PHONE_MAX];
    int hit = 0;

    for (size_t i = 0; a && json_is_array(a) && i + 1 < json_array_size(a);
         i++) {
        const char *k = json_string_value(json_array_get(a, i));
        const char *v = json_string_value(json_array_get(a, i + 1));

        /* Any form of the same number (E.164 is in arg). */
        if (k && v && strcmp(k, "phone") == 0 &&
            dialect_phone_e164(v, e164, sizeof e164) == 0 &&
            strcmp(e164, arg) == 0) {
            hit = 1;
            break;
        }
    }
    json_decref(a);
    return hit;
}

/* erase --phone N --spool FILE: the spool part, done before Redis is
 * reached (it may be down: that is when a spool holds anything). */
static int erase_spool(const char *path, const char *typed)
{
    char phone[IN_PHONE_MAX];
    char err[512];
    size_t n = 0;

    if (dialect_phone_e164(typed, phone, sizeof phone) != 0) {
        fprintf(stderr, "hotlinectl cases: erase: %s is not a phone number "
                        "with its country code (e.g. +233 20 000 0088)\n",
                typed);
        return -1;
    }
    if (spool_erase(path, record_of_phone, phone, &n, err,
                    sizeof err) != 0) {
        fprintf(stderr, "hotlinectl cases: %s\n", err);
        return -1;
    }
    printf("spool %s: removed %zu help requests\n", path, n);
    return 0;
}

/* list's options into o; 0, or -1 when one is wrong. */
static int list_options(struct copts *o)
{
    for (int i = 1; i < o->argc; i += 2) {
        const char *k = o->argv[i];
        const char *v = i + 1 < o->argc ? o->argv[i + 1] : NULL;
        char *end;

        if (!v)
            return -1;
        if (strcmp(k, "--status") == 0 && *v && cases_status_ok(v)) {
            o->status = v;
        } else if (strcmp(k, "--queue") == 0 && cases_queue_ok(v)) {
            o->queue = v;
        } else if (strcmp(k, "--cursor") == 0) {
            o->cursor = v;
        } else if (strcmp(k, "--limit") == 0) {
            long n = strtol(v, &end, 10);

            if (!*v || *end || n < 1 || n > CASES_LIST_MAX)
                return -1;
            o->limit = (int)n;
        } else {
            return -1;
        }
    }
    return 0;
}

/* tag REF ID...: recruiter identifiers seen in this case count towards a
 * lookup's "reported" (cases_script_tag); typed as a caller would type
 * them (phone numbers with their country code). */
static int cmd_tag(redisContext *rc, const struct cfg *c, const char *who,
                   const char *ref, int n, char **ids)
{
    struct menu_lookup lk[TAGS_MAX];
    const char *av[4 + TAGS_MAX];
    char key[256], now[24];
    redisReply *r;
    int argc = 0;

    if (n < 1 || n > TAGS_MAX)
        return bad_usage("tag REF ID [ID ...] (1 to 8 identifiers)");
    for (int i = 0; i < n; i++)
        if (menu_lookup_keys(ids[i], strlen(ids[i]), NULL, &lk[i]) < 0 ||
            (lk[i].kind == MENU_LK_NAME &&
             strspn(ids[i], "0123456789 +-.()") == strlen(ids[i]))) {
            fprintf(stderr, "hotlinectl cases: tag: \"%s\" is no phone "
                            "number (with its country code), web address, "
                            "@handle or company name\n", ids[i]);
            return EXIT_USAGE;
        }
    snprintf(key, sizeof key, "%scase:%s", c->prefix, ref);
    snprintf(now, sizeof now, "%lld", now_ms());
    av[argc++] = who;
    av[argc++] = now;
    av[argc++] = c->prefix;
    av[argc++] = ref;
    for (int i = 0; i < n; i++)
        av[argc++] = lk[i].key;
    {
        const char *cmd[8 + TAGS_MAX];
        size_t len[8 + TAGS_MAX];

        cmd[0] = "EVAL";
        cmd[1] = cases_script_tag;
        cmd[2] = "1";
        cmd[3] = key;
        for (int i = 0; i < argc; i++)
            cmd[4 + i] = av[i];
        for (int i = 0; i < 4 + argc; i++)
            len[i] = strlen(cmd[i]);
        r = redisCommandArgv(rc, 4 + argc, cmd, len);
    }
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        fprintf(stderr, "hotlinectl cases: tag failed: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
        freeReplyObject(r);
        return EXIT_USAGE;
    }
    if (r->element[0]->integer != 1) {
        fprintf(stderr, "hotlinectl cases: %s: %s\n", ref,
                r->element[1]->str);
        freeReplyObject(r);
        return EXIT_REFUSED;
    }
    printf("%s: %s", ref, r->element[1]->str);
    for (int i = 0; i < n; i++)
        printf(" %s", lk[i].key);
    printf("\n");
    freeReplyObject(r);
    return 0;
}

/* reassign: the supervisor script of the console, as a supervisor (the
 * operator at the server's shell); the new owner is an enabled account
 * or a staff member of the config. */
static int cmd_reassign(redisContext *rc, const struct cfg *c,
                        const char *who, const char *ref, const char *to)
{
    char key[128], now[24];
    int in_cfg = 0, code;
    redisReply *r;

    for (size_t i = 0; i < c->nstaff; i++)
        if (strcmp(c->staff[i].name, to) == 0)
            in_cfg = 1;
    snprintf(key, sizeof key, "%scase:%s", c->prefix, ref);
    snprintf(now, sizeof now, "%lld", now_ms());
    r = redisCommand(rc, "EVAL %s 1 %s %s %s %s supervisor %s",
                     cases_script_reassign, key, who, now, to,
                     in_cfg ? "1" : "0");
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "hotlinectl cases: reassign failed: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
        freeReplyObject(r);
        return EXIT_USAGE;
    }
    code = r->element[0]->integer == 1 ? 0 : EXIT_REFUSED;
    if (code == 0)
        printf("%s %s\n", ref, r->element[1]->str);
    else
        fprintf(stderr, "hotlinectl cases: reassign %s: %s\n", ref,
                r->element[1]->str);
    freeReplyObject(r);
    return code;
}

/* Runs the command o names, as staff member who. */
static int run(redisContext *rc, const struct cfg *c, struct copts *o,
               const char *who)
{
    const char *cmd = o->argv[0];

    if (strcmp(cmd, "list") == 0) {
        if (list_options(o) != 0)
            return bad_usage("list [--status new|claimed|resolved] "
                             "[--queue QUEUE] [--limit 1..200] [--cursor C]");
        return cmd_list(rc, c, o, who);
    }
    if (strcmp(cmd, "reindex") == 0 && o->argc == 1)
        return cmd_reindex(rc, c);
    if (strcmp(cmd, "erase") == 0)
        return cmd_erase(rc, c, who, o->argv[2]);   /* checked before */
    if (o->argc < 2 || !cases_ref_ok(o->argv[1]))
        return bad_usage("a case reference (e.g. K7M3QX) is needed");
    if (strcmp(cmd, "show") == 0 && o->argc == 2)
        return cmd_show(rc, c, o, who, o->argv[1]);
    if (strcmp(cmd, "reassign") == 0) {
        if (o->argc != 3 || !acct_name_ok(o->argv[2]))
            return bad_usage("reassign REF NAME (a staff member's name)");
        return cmd_reassign(rc, c, who, o->argv[1], o->argv[2]);
    }
    if (strcmp(cmd, "tag") == 0)
        return cmd_tag(rc, c, who, o->argv[1], o->argc - 2, o->argv + 2);
    if ((strcmp(cmd, "claim") == 0 || strcmp(cmd, "resolve") == 0 ||
         strcmp(cmd, "release") == 0) && o->argc == 2)
        return cmd_move(rc, c, who, cmd, o->argv[1], NULL);
    if (strcmp(cmd, "note") == 0 && o->argc == 3) {
        if (!cases_note_ok(o->argv[2], strlen(o->argv[2])))
            return bad_usage("a note is 1 to 2000 bytes of UTF-8 text "
                             "without control characters");
        return cmd_move(rc, c, who, cmd, o->argv[1], o->argv[2]);
    }
    return bad_usage("unknown command or wrong arguments");
}

int hotlinectl_cases(int argc, char **argv)
{
    struct copts o = { 0 };
    const struct cfg_staff *who;
    struct cfg *c = NULL;
    redisContext *rc;
    char err[4096];
    int status;

    status = parse(argc, argv, &o);
    if (status)
        return status == 1 ? 0 : status;
    if (cfg_load(o.config, &o.ov, &c, err, sizeof err) != 0) {
        fprintf(stderr, "hotlinectl cases: %s\n", err);
        return EXIT_USAGE;
    }
    who = o.token ? cfg_staff_by_token(c, o.token) : NULL;
    if (!who) {
        fprintf(stderr, "hotlinectl cases: unknown staff token (give --token "
                        "or set HOTLINE_STAFF_TOKEN)\n");
        cfg_release(c);
        return EXIT_USAGE;
    }
    if (strcmp(o.argv[0], "erase") == 0) {
        if ((o.argc != 3 && o.argc != 5) || strcmp(o.argv[1], "--phone") != 0 ||
            (o.argc == 5 && strcmp(o.argv[3], "--spool") != 0)) {
            cfg_release(c);
            return bad_usage("erase --phone NUMBER [--spool FILE]");
        }
        if (o.argc == 5 && erase_spool(o.argv[4], o.argv[2]) != 0) {
            cfg_release(c);
            return EXIT_USAGE;
        }
    }
    rc = ctl_redis_connect(c, "cases", 2);
    if (!rc && strcmp(o.argv[0], "erase") == 0)
        fprintf(stderr, "hotlinectl cases: nothing erased in Redis; run "
                        "erase again once Redis is back\n");
    status = rc ? run(rc, c, &o, who->name) : EXIT_USAGE;
    redisFree(rc);
    cfg_release(c);
    return status;
}
