/*
 * hotlinectl_publish.c — `hotlinectl menu publish|versions|show|diff|
 * rollback|funnel`: menus published to Redis, which every gateway follows
 * within a second (gateway/menu_pub.c), with their history.
 *
 *   hotlinectl menu publish [OPTIONS] FILE... [--note TEXT]
 *   hotlinectl menu versions [OPTIONS] NAME
 *   hotlinectl menu show [OPTIONS] NAME[@V]
 *   hotlinectl menu diff [OPTIONS] NAME A B
 *   hotlinectl menu rollback [OPTIONS] NAME [V] [--note TEXT]
 *   hotlinectl menu funnel [OPTIONS] NAME[@V]
 *   OPTIONS: -c CONFIG (default config/hotlined.cfg), --redis HOST:PORT,
 *            --token TOKEN ($HOTLINE_STAFF_TOKEN), --as NAME
 *            [--password-stdin]
 *
 * A version is immutable: publishing a file, or rolling back, adds one
 * (menu_pub.h lists the keys). Publishing runs the checker first, on every
 * channel of the config that serves the menu, and refuses on any error
 * without touching Redis; warnings are shown. Who publishes is decided in
 * one place, ctl_operator().
 */
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>

#include "accounts.h"
#include "cfg.h"
#include "hotlinectl.h"
#include "menu.h"
#include "menu_ops.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define VERSIONS_LISTED 100
#define DIFF_OUT_MAX (256 * 1024)
#define POS_MAX 16              /* files one publish takes */

struct popts {
    const char *config;
    const char *token;
    const char *as;
    const char *note;
    int pw_stdin;               /* --password-stdin */
    struct cfg_overrides ov;
    int npos;
    char *pos[POS_MAX];         /* positional arguments */
};

/* The account's password: one line of stdin (--password-stdin) or asked
 * on the terminal without echo. Returns its length, or -1. */
static int read_password(int from_stdin, char *buf, size_t cap)
{
    FILE *f = from_stdin ? stdin : fopen("/dev/tty", "r+");
    struct termios old, quiet;
    int fd, echo_off = 0;
    size_t n;

    if (!f)
        return -1;
    fd = fileno(f);
    if (!from_stdin && tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        echo_off = tcsetattr(fd, TCSANOW, &quiet) == 0;
        fputs("Password: ", f);
        fflush(f);
    }
    buf[0] = '\0';
    if (!fgets(buf, (int)cap, f))
        buf[0] = '\0';
    if (echo_off) {
        tcsetattr(fd, TCSAFLUSH, &old);
        fputs("\n", f);
    }
    if (!from_stdin)
        fclose(f);
    n = strcspn(buf, "\r\n");
    buf[n] = '\0';
    return n ? (int)n : -1;
}

/*
 * One place that says who may publish (and roll back).
 * --as NAME of a staff account (staff/accounts.h: P staff:NAME): the
 * account must be enabled, its role operator or supervisor, and the
 * password (pw_stdin: from standard input, else asked on the terminal) its
 * own. Without --as, or for a NAME with no account: a staff token of the
 * config (--token or $HOTLINE_STAFF_TOKEN), whose name must be NAME if
 * given. Writes who publishes into who. Returns 0, or -1 after saying why
 * on stderr.
 */
int ctl_operator(struct redisContext *rc, const struct cfg *c, const char *as,
                 const char *token, int pw_stdin, char *who, size_t whosz)
{
    const struct cfg_staff *st;

    if (as && acct_name_ok(as)) {
        redisReply *r = redisCommand(rc, "HMGET %sstaff:%s role pw disabled",
                                     c->prefix, as);
        int rcode = 1;          /* 1: no account, 0 ok, -1 refused */

        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[0]->type == REDIS_REPLY_STRING) {
            const char *role = r->element[0]->str;
            const char *pw = r->element[1]->type == REDIS_REPLY_STRING
                                 ? r->element[1]->str : "";
            int off = r->element[2]->type == REDIS_REPLY_STRING &&
                      strcmp(r->element[2]->str, "1") == 0;
            char typed[ACCT_PW_MAX + 2];
            int n;

            rcode = -1;
            if (off) {
                fprintf(stderr, "hotlinectl menu: account %s is disabled\n",
                        as);
            } else if (strcmp(role, "operator") != 0 &&
                       strcmp(role, "supervisor") != 0) {
                fprintf(stderr, "hotlinectl menu: %s is %s; publishing needs "
                                "the operator role\n", as, role);
            } else if ((n = read_password(pw_stdin, typed, sizeof typed)) < 0 ||
                       acct_verify(typed, (size_t)n, pw) != 1) {
                fprintf(stderr, "hotlinectl menu: wrong password for %s\n",
                        as);
            } else {
                snprintf(who, whosz, "%s", as);
                rcode = 0;
            }
            OPENSSL_cleanse(typed, sizeof typed);
        }
        freeReplyObject(r);
        if (rcode <= 0)
            return rcode;
    }
    st = token ? cfg_staff_by_token(c, token) : NULL;
    if (!st || (as && strcmp(as, st->name) != 0)) {
        fprintf(stderr, "hotlinectl menu: publishing needs an operator: "
                        "--as NAME of an operator account (its password on "
                        "the terminal or --password-stdin), or a staff token "
                        "(--token or HOTLINE_STAFF_TOKEN)\n");
        return -1;
    }
    snprintf(who, whosz, "%s", st->name);
    return 0;
}

static int bad_usage(const char *what)
{
    fprintf(stderr, "hotlinectl menu: %s (hotlinectl --help)\n", what);
    return EXIT_USAGE;
}

static int parse(int argc, char **argv, struct popts *o)
{
    o->config = "config/hotlined.cfg";
    o->token = getenv("HOTLINE_STAFF_TOKEN");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;

        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && more)
            o->config = argv[++i];
        else if (strcmp(a, "--redis") == 0 && more)
            o->ov.redis = argv[++i];
        else if (strcmp(a, "--token") == 0 && more)
            o->token = argv[++i];
        else if (strcmp(a, "--as") == 0 && more)
            o->as = argv[++i];
        else if (strcmp(a, "--password-stdin") == 0)
            o->pw_stdin = 1;
        else if (strcmp(a, "--note") == 0 && more)
            o->note = argv[++i];
        else if (a[0] == '-' && a[1])
            return bad_usage("unknown option or missing value");
        else if (o->npos < POS_MAX)
            o->pos[o->npos++] = argv[i];
        else
            return bad_usage("too many arguments");
    }
    return 0;
}

/* ---- reading and storing versions ------------------------------------ */

/* The current version of name (0 = none published), or -1 on error. */
static long long current_of(redisContext *rc, const struct cfg *c,
                            const char *name)
{
    redisReply *r = redisCommand(rc, "GET %smenu:%s:current", c->prefix,
                                 name);
    long long v = -1;

    if (r && r->type == REDIS_REPLY_NIL)
        v = 0;
    else if (r && r->type == REDIS_REPLY_STRING)
        v = atoll(r->str);
    freeReplyObject(r);
    return v;
}

/* The text of version v of name (malloc'd), or NULL after saying why. */
static char *version_text(redisContext *rc, const struct cfg *c,
                          const char *name, long long v)
{
    redisReply *r = redisCommand(rc, "HGET %smenu:%s:v:%lld text", c->prefix,
                                 name, v);
    char *t = NULL;

    if (r && r->type == REDIS_REPLY_STRING)
        t = strdup(r->str);
    else
        fprintf(stderr, "hotlinectl menu: %s has no version %lld\n", name, v);
    freeReplyObject(r);
    return t;
}

/* Stores text as the next version of name (mops_publish_args: the record
 * the console writes too) and tells the gateways. from: the version a
 * rollback restores, or "" (a publish: a text the current version has is
 * left alone). Returns the new version, -C when version C is current and
 * has this text, or 0 after saying why. */
static long long store_version(redisContext *rc, const struct cfg *c,
                               const char *name, const char *text,
                               const char *who, const char *note,
                               const char *from)
{
    struct mops_pub p;
    redisReply *r;
    long long v = 0;

    if (mops_publish_args(&p, c->prefix, name, text, strlen(text), who, note,
                          from, from[0] == '\0') != 0) {
        fprintf(stderr, "hotlinectl menu: not stored: name too long\n");
        return 0;
    }
    r = redisCommandArgv(rc, p.argc, p.av, p.al);
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else
        fprintf(stderr, "hotlinectl menu: not stored: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
    freeReplyObject(r);
    return v;
}

/* ---- the checker, as on the gateways ------------------------------ */

static void print_diags(const char *file, const struct menu_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char line[512];

        menu_diag_format(file, &d->v[i], line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
}

/* Reads path and judges it on every channel of the config serving it
 * (mops_check, as the console does). Returns the menu (caller frees) with
 * the file's text in *text (caller frees), or NULL when it has any error. */
static struct menu *check_file(const char *path, const char *config,
                               char **text)
{
    struct ctl_channel *chs = NULL;
    struct mops_chan *mc = NULL;
    struct menu_diags d;
    struct menu *m = NULL;
    char dir[1024], err[1024];
    size_t n = 0;

    menu_diags_init(&d);
    *text = ctl_read_file(path, MENU_FILE_MAX, NULL);
    if (!*text) {
        fprintf(stderr, "%s: cannot read it (or larger than %d bytes)\n",
                path, MENU_FILE_MAX);
    } else if (ctl_channels_read(config, &chs, &n, dir, sizeof dir, err,
                                 sizeof err) != 0) {
        fprintf(stderr, "hotlinectl menu: %s\n", err);
        d.errors++;
    } else if (n && !(mc = calloc(n, sizeof *mc))) {
        d.errors++;
    } else {
        for (size_t i = 0; i < n; i++) {
            mc[i].name = chs[i].name;
            mc[i].menu = chs[i].menu;
            mc[i].render = chs[i].render;
        }
        m = mops_check(*text, path, mc, n, config, &d);
    }
    print_diags(path, &d);
    free(chs);
    free(mc);
    if (!m && *text)
        fprintf(stderr, "%s: %zu errors: not published\n", path, d.errors);
    if (!m) {
        free(*text);
        *text = NULL;
    }
    menu_diags_free(&d);
    return m;
}

/* ---- commands -------------------------------------------------------- */

/* Stores text (menu m, checked) unless it is the current version
 * already (the script decides, as for the console). Returns 0 or EXIT_FAILED. */
static int publish_one(redisContext *rc, const struct cfg *c,
                       const char *text, const struct menu *m,
                       const char *note, const char *who)
{
    long long v;

    v = store_version(rc, c, m->name, text, who, note, "");
    if (v < 0) {
        printf("%s: unchanged: version %lld is this file\n", m->name, -v);
        return 0;
    }
    if (v == 0)
        return EXIT_FAILED;
    printf("published %s version %lld by %s\n", m->name, v, who);
    return 0;
}

/* Every file is checked first; one with an error publishes none. */
static int cmd_publish(redisContext *rc, const struct cfg *c,
                       const struct popts *o, const char *who)
{
    struct menu *ms[POS_MAX] = { 0 };
    char *texts[POS_MAX] = { 0 };
    int bad = 0, status = 0;

    for (int i = 0; i < o->npos; i++) {
        ms[i] = check_file(o->pos[i], o->config, &texts[i]);
        if (!ms[i])
            bad = 1;
    }
    if (bad && o->npos > 1)
        fprintf(stderr, "hotlinectl menu: nothing published\n");
    for (int i = 0; i < o->npos && !bad; i++)
        if (publish_one(rc, c, texts[i], ms[i], o->note, who) != 0)
            status = EXIT_FAILED;
    for (int i = 0; i < o->npos; i++) {
        menu_free(ms[i]);
        free(texts[i]);
    }
    return bad ? EXIT_FAILED : status;
}

/* NAME[@V] into name and v (0 = the current). */
static int name_at(const char *arg, char *name, size_t sz, long long *v)
{
    const char *at = strchr(arg, '@');
    size_t n = at ? (size_t)(at - arg) : strlen(arg);

    if (n == 0 || n >= sz || n >= MENU_NAME_MAX)
        return -1;
    memcpy(name, arg, n);
    name[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_-", name[i]))
            return -1;
    *v = at ? atoll(at + 1) : 0;
    return at && *v <= 0 ? -1 : 0;
}

static int cmd_versions(redisContext *rc, const struct cfg *c,
                        const char *name)
{
    long long cur = current_of(rc, c, name);
    redisReply *n = redisCommand(rc, "GET %smenu:%s:n", c->prefix, name);
    long long last = n && n->type == REDIS_REPLY_STRING ? atoll(n->str) : 0;

    freeReplyObject(n);
    if (last <= 0) {
        printf("%s: no published version: gateways serve the menus "
               "directory's file\n", name);
        return 0;
    }
    printf("  %-4s %-20s %-12s %-12s %s\n", "V", "PUBLISHED (UTC)", "BY",
           "SHA256", "NOTE");
    for (long long v = last; v > 0 && v > last - VERSIONS_LISTED; v--) {
        redisReply *r = redisCommand(rc, "HMGET %smenu:%s:v:%lld at by sum "
                                     "note from", c->prefix, name, v);
        char when[32] = "?";
        const char *f[5] = { "", "", "", "", "" };

        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 5) {
            freeReplyObject(r);
            continue;
        }
        for (int i = 0; i < 5; i++)
            if (r->element[i]->type == REDIS_REPLY_STRING)
                f[i] = r->element[i]->str;
        if (f[0][0]) {
            time_t t = (time_t)atoll(f[0]);
            struct tm tm;

            gmtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        }
        printf("%s %-4lld %-20s %-12s %-12.12s %s%s%s%s\n",
               v == cur ? "*" : " ", v, when, f[1], f[2], f[3],
               f[4][0] ? (f[3][0] ? " (rollback to v" : "(rollback to v")
                       : "",
               f[4], f[4][0] ? ")" : "");
        freeReplyObject(r);
    }
    printf("* = served to new sessions\n");
    return 0;
}

static int cmd_show(redisContext *rc, const struct cfg *c, const char *arg)
{
    char name[MENU_NAME_MAX];
    long long v;
    char *t;

    if (name_at(arg, name, sizeof name, &v) != 0)
        return bad_usage("show NAME[@VERSION]");
    if (!v)
        v = current_of(rc, c, name);
    if (v <= 0) {
        fprintf(stderr, "hotlinectl menu: %s: no published version\n", name);
        return EXIT_FAILED;
    }
    t = version_text(rc, c, name, v);
    if (!t)
        return EXIT_FAILED;
    fputs(t, stdout);
    free(t);
    return 0;
}

static struct menu *load_version(redisContext *rc, const struct cfg *c,
                                 const char *name, long long v)
{
    char *t = version_text(rc, c, name, v);
    char label[MENU_NAME_MAX + 32];
    struct menu_diags d;
    struct menu *m = NULL;

    if (!t)
        return NULL;
    snprintf(label, sizeof label, "%s@%lld", name, v);
    menu_diags_init(&d);
    if (menu_load_string(t, label, &m, &d) != 0)
        print_diags(label, &d);
    menu_diags_free(&d);
    free(t);
    return m;
}

static int cmd_diff(redisContext *rc, const struct cfg *c,
                    const struct popts *o)
{
    long long va = atoll(o->pos[1]), vb = atoll(o->pos[2]);
    struct menu *a, *b;
    char *out;
    int n;

    if (va <= 0 || vb <= 0)
        return bad_usage("diff NAME A B (version numbers)");
    a = load_version(rc, c, o->pos[0], va);
    b = a ? load_version(rc, c, o->pos[0], vb) : NULL;
    out = malloc(DIFF_OUT_MAX);
    if (!a || !b || !out) {
        menu_free(a);
        menu_free(b);
        free(out);
        return EXIT_FAILED;
    }
    n = menu_diff(a, b, out, DIFF_OUT_MAX);
    printf("%s v%lld -> v%lld: ", o->pos[0], va, vb);
    if (n == 0)
        printf("the same screens\n");
    else
        printf("%d difference%s\n%s%s", n < 0 ? 0 : n, n == 1 ? "" : "s",
               out, n < 0 ? "(more differences not shown)\n" : "");
    menu_free(a);
    menu_free(b);
    free(out);
    return 0;
}

static int cmd_rollback(redisContext *rc, const struct cfg *c,
                        const struct popts *o, const char *who)
{
    const char *name = o->pos[0];
    long long cur = current_of(rc, c, name);
    long long to = o->npos > 1 ? atoll(o->pos[1]) : cur - 1;
    char from[32], note[600];
    struct menu *m;
    char *t;
    long long v;

    if (cur <= 0 || to <= 0 || to == cur) {
        fprintf(stderr, "hotlinectl menu: %s: nothing to roll back to "
                        "(current version %lld)\n", name, cur);
        return EXIT_FAILED;
    }
    m = load_version(rc, c, name, to);   /* it must still load */
    t = m ? version_text(rc, c, name, to) : NULL;
    menu_free(m);
    if (!t)
        return EXIT_FAILED;
    snprintf(from, sizeof from, "%lld", to);
    snprintf(note, sizeof note, "%s", o->note ? o->note : "");
    v = store_version(rc, c, name, t, who, note, from);
    free(t);
    if (v <= 0)
        return EXIT_FAILED;
    printf("rolled %s back to version %lld: now version %lld by %s\n", name,
           to, v, who);
    return 0;
}

/* ---- the funnel -------------------------------------------------------- */

struct frow {
    char node[MENU_NAME_MAX];
    char lang[MENU_NAME_MAX];
    long long n[MOPS_EV_COUNT];
};

static struct frow *frow_get(struct frow *rows, size_t *n, size_t cap,
                             const char *node, const char *lang)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(rows[i].node, node) == 0 && strcmp(rows[i].lang, lang) == 0)
            return &rows[i];
    if (*n >= cap)
        return NULL;
    memset(&rows[*n], 0, sizeof rows[*n]);
    snprintf(rows[*n].node, sizeof rows[*n].node, "%s", node);
    snprintf(rows[*n].lang, sizeof rows[*n].lang, "%s", lang);
    return &rows[(*n)++];
}

static int cmd_funnel(redisContext *rc, const struct cfg *c, const char *arg)
{
    enum { ROWS = 2048 };
    char name[MENU_NAME_MAX];
    struct frow *rows;
    size_t n = 0;
    long long v;
    redisReply *r;

    if (name_at(arg, name, sizeof name, &v) != 0)
        return bad_usage("funnel NAME[@VERSION]");
    if (!v && strchr(arg, '@') == NULL)
        v = current_of(rc, c, name);
    if (v < 0)
        v = 0;
    r = redisCommand(rc, "HGETALL %smenu:%s:f:%lld", c->prefix, name, v);
    rows = calloc(ROWS, sizeof *rows);
    if (!r || r->type != REDIS_REPLY_ARRAY || !rows) {
        freeReplyObject(r);
        free(rows);
        return EXIT_FAILED;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        char node[MENU_NAME_MAX], lang[MENU_NAME_MAX];
        int ev;
        struct frow *fr;

        if (mops_funnel_field_parse(r->element[i]->str, node, lang, &ev) != 0)
            continue;
        fr = frow_get(rows, &n, ROWS, node, lang);
        if (fr)
            fr->n[ev] += atoll(r->element[i + 1]->str);
    }
    freeReplyObject(r);
    printf("%s version %lld%s: where callers go and where they give up\n",
           name, v, v ? "" : " (the menus directory's file)");
    printf("%-16s %-4s %7s %7s %7s %7s %7s %7s\n", "NODE", "LANG", "VISITS",
           "INVALID", "BACK", "HOME", "DURESS", "DROPPED");
    for (size_t i = 0; i < n; i++) {
        const long long *k = rows[i].n;
        long long drop = k[MOPS_EV_VISIT] - k[MOPS_EV_LEFT];

        printf("%-16s %-4s %7lld %7lld %7lld %7lld %7lld %7lld\n",
               rows[i].node, rows[i].lang, k[MOPS_EV_VISIT],
               k[MOPS_EV_INVALID], k[MOPS_EV_BACK], k[MOPS_EV_HOME],
               k[MOPS_EV_QUIT], drop < 0 ? 0 : drop);
    }
    if (!n)
        printf("(no caller yet)\n");
    free(rows);
    return 0;
}

/* ---- entry ------------------------------------------------------------ */

static int run(redisContext *rc, const struct cfg *c, const char *cmd,
               const struct popts *o)
{
    char who[MENU_NAME_MAX + 64];
    int writes = strcmp(cmd, "publish") == 0 || strcmp(cmd, "rollback") == 0;

    if (writes && ctl_operator(rc, c, o->as, o->token, o->pw_stdin, who,
                               sizeof who) != 0)
        return EXIT_FAILED;
    if (strcmp(cmd, "publish") == 0 && o->npos >= 1)
        return cmd_publish(rc, c, o, who);
    if (strcmp(cmd, "rollback") == 0 && (o->npos == 1 || o->npos == 2))
        return cmd_rollback(rc, c, o, who);
    if (strcmp(cmd, "versions") == 0 && o->npos == 1)
        return cmd_versions(rc, c, o->pos[0]);
    if (strcmp(cmd, "show") == 0 && o->npos == 1)
        return cmd_show(rc, c, o->pos[0]);
    if (strcmp(cmd, "diff") == 0 && o->npos == 3)
        return cmd_diff(rc, c, o);
    if (strcmp(cmd, "funnel") == 0 && o->npos == 1)
        return cmd_funnel(rc, c, o->pos[0]);
    return bad_usage("wrong arguments");
}

int hotlinectl_menu_pub(int argc, char **argv)
{
    struct popts o = { 0 };
    struct cfg *c = NULL;
    redisContext *rc;
    char err[4096];
    int status;

    status = parse(argc, argv, &o);
    if (status)
        return status;
    if (cfg_load(o.config, &o.ov, &c, err, sizeof err) != 0) {
        fprintf(stderr, "hotlinectl menu: %s\n", err);
        return EXIT_USAGE;
    }
    rc = ctl_redis_connect(c, "menu", 2);
    status = rc ? run(rc, c, argv[0], &o) : EXIT_USAGE;
    redisFree(rc);
    cfg_release(c);
    return status;
}
