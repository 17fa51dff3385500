/*
 * hotlinectl_staff.c — `hotlinectl staff`: the operator manages the staff
 * accounts people sign in to the console with.
 *
 *   hotlinectl staff [-c CONFIG] [--redis HOST:PORT] COMMAND
 *       add NAME [--role staff|supervisor|operator] [--password-stdin]
 *                [--scrypt-ln LN]
 *       passwd NAME [--password-stdin] [--scrypt-ln LN]
 *       disable NAME | enable NAME
 *       list [--json]
 *
 * Accounts live in Redis (keys in staff/accounts.h) so every gateway sees
 * the same ones. A password is read from the terminal without echo (asked
 * twice) or, with --password-stdin, as one line of standard input; never
 * from the command line, where `ps` and shell history would show it. Only
 * its scrypt hash is stored. A new password or `disable` ends every session
 * of the account at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <termios.h>
#include <unistd.h>

#include "accounts.h"
#include "cfg.h"
#include "hotlinectl.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2

struct sopts {
    const char *config;
    struct cfg_overrides ov;
    const char *cmd;
    const char *name;
    const char *role;
    int pw_stdin;
    int json;
    int ln;
};

static const char staff_usage[] =
    "usage: hotlinectl staff [-c CONFIG] [--redis HOST:PORT] COMMAND\n"
    "  add NAME [--role staff|supervisor|operator] [--password-stdin]\n"
    "                           a new account (role staff by default)\n"
    "  passwd NAME [--password-stdin]   a new password; ends its sessions\n"
    "  disable NAME | enable NAME       refuse / allow sign-in; disable ends\n"
    "                                   every session of NAME at once\n"
    "  list [--json]                    every account, its role and state\n"
    "The password is asked on the terminal (without echo), or read as one\n"
    "line from standard input with --password-stdin; never from arguments.\n"
    "Names: 1-32 of a-z 0-9 . _ - ; passwords: 10-256 bytes, no control\n"
    "characters. --scrypt-ln LN sets the hash cost N = 2^LN (default 15).\n";

static int bad_usage(const char *what)
{
    fprintf(stderr, "hotlinectl staff: %s\n%s", what, staff_usage);
    return EXIT_USAGE;
}

/* Options may come before or after the command and its NAME. */
static int parse(int argc, char **argv, struct sopts *o)
{
    o->config = "config/hotlined.cfg";
    o->role = "staff";
    o->ln = ACCT_SCRYPT_LN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;

        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && more)
            o->config = argv[++i];
        else if (strcmp(a, "--redis") == 0 && more)
            o->ov.redis = argv[++i];
        else if (strcmp(a, "--role") == 0 && more)
            o->role = argv[++i];
        else if (strcmp(a, "--scrypt-ln") == 0 && more)
            o->ln = atoi(argv[++i]);
        else if (strcmp(a, "--password-stdin") == 0)
            o->pw_stdin = 1;
        else if (strcmp(a, "--json") == 0)
            o->json = 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(staff_usage, stdout);
            return 1;
        } else if (a[0] == '-')
            return bad_usage("unknown option or missing value");
        else if (!o->cmd)
            o->cmd = a;
        else if (!o->name)
            o->name = a;
        else
            return bad_usage("too many arguments");
    }
    if (!o->cmd)
        return bad_usage("which command?");
    if (strcmp(o->cmd, "list") != 0 && !o->name)
        return bad_usage("which NAME?");
    if (o->name && !acct_name_ok(o->name))
        return bad_usage("a NAME is 1-32 of a-z 0-9 . _ - (starting with a "
                         "letter or digit)");
    if (!acct_role_ok(o->role))
        return bad_usage("--role is staff, supervisor or operator");
    if (o->ln < 10 || o->ln > 20)
        return bad_usage("--scrypt-ln is 10 to 20");
    return 0;
}

/* One line of f into buf without its newline. Returns its length or -1. */
static int read_line(FILE *f, char *buf, size_t cap)
{
    size_t n;

    if (!fgets(buf, (int)cap, f))
        return -1;
    n = strlen(buf);
    if (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (n == cap - 1)
        return -1;                      /* longer than the buffer */
    if (n && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return (int)n;
}

/* Asks prompt on the terminal with echo off. Returns the length or -1. */
static int ask(FILE *tty, const char *prompt, char *buf, size_t cap)
{
    struct termios old, quiet;
    int n, fd = fileno(tty);

    /* Echo goes off before the prompt shows: what is typed (or pasted)
     * at once after it is never echoed. */
    if (tcgetattr(fd, &old) != 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    if (tcsetattr(fd, TCSANOW, &quiet) != 0)
        return -1;
    fputs(prompt, tty);
    fflush(tty);
    n = read_line(tty, buf, cap);
    tcsetattr(fd, TCSAFLUSH, &old);
    fputs("\n", tty);
    return n;
}

/* The new password into buf (cap > ACCT_PW_MAX + 1). Returns its length,
 * or -1 after saying why. */
static int get_password(const struct sopts *o, char *buf, size_t cap)
{
    char again[ACCT_PW_MAX + 2];
    const char *why;
    FILE *tty;
    int n, m;

    if (o->pw_stdin) {
        n = read_line(stdin, buf, cap);
    } else {
        tty = fopen("/dev/tty", "r+");
        if (!tty) {
            fprintf(stderr, "hotlinectl staff: no terminal to ask the "
                            "password on: use --password-stdin\n");
            return -1;
        }
        n = ask(tty, "New password: ", buf, cap);
        m = n < 0 ? -1 : ask(tty, "Again: ", again, sizeof again);
        fclose(tty);
        if (n >= 0 && (m != n || memcmp(buf, again, (size_t)n) != 0)) {
            fprintf(stderr, "hotlinectl staff: the two passwords differ\n");
            n = -2;
        }
        OPENSSL_cleanse(again, sizeof again);
        if (n == -2)
            return -1;
    }
    if (n < 0) {
        fprintf(stderr, "hotlinectl staff: no password read (or longer than "
                        "%d bytes)\n", ACCT_PW_MAX);
        return -1;
    }
    if (acct_password_ok(buf, (size_t)n, o->name, &why) != 0) {
        fprintf(stderr, "hotlinectl staff: %s\n", why);
        return -1;
    }
    return n;
}

/* add / passwd / disable / enable through acct_script_change. */
static int cmd_change(redisContext *rc, const struct cfg *c,
                      const struct sopts *o)
{
    char pw[ACCT_PW_MAX + 2], hash[ACCT_HASH_MAX] = "";
    char k1[128], k2[128], k3[160], now[24];
    int needs_pw = strcmp(o->cmd, "add") == 0 ||
                   strcmp(o->cmd, "passwd") == 0;
    struct timeval tv;
    redisReply *r;
    int n, status = 0;

    if (needs_pw) {
        n = get_password(o, pw, sizeof pw);
        if (n < 0)
            return EXIT_USAGE;
        if (acct_hash(pw, (size_t)n, o->ln, ACCT_SCRYPT_R, ACCT_SCRYPT_P,
                      hash, sizeof hash) != 0) {
            OPENSSL_cleanse(pw, sizeof pw);
            fprintf(stderr, "hotlinectl staff: hashing failed\n");
            return EXIT_USAGE;
        }
        OPENSSL_cleanse(pw, sizeof pw);
    }
    snprintf(k1, sizeof k1, "%sstaff:%s", c->prefix, o->name);
    snprintf(k2, sizeof k2, "%sstaff-names", c->prefix);
    snprintf(k3, sizeof k3, "%sstaff:%s:ssn", c->prefix, o->name);
    gettimeofday(&tv, NULL);
    snprintf(now, sizeof now, "%lld",
             (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000);
    r = redisCommand(rc, "EVAL %s 3 %s %s %s %s %s %s %s %s",
                     acct_script_change, k1, k2, k3, o->cmd, o->name,
                     o->role, hash, now);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        fprintf(stderr, "hotlinectl staff: %s failed: %s\n", o->cmd,
                r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
        status = EXIT_USAGE;
    } else if (r->integer == -1) {
        fprintf(stderr, "hotlinectl staff: %s exists already (use passwd)\n",
                o->name);
        status = EXIT_REFUSED;
    } else if (r->integer == 0) {
        fprintf(stderr, "hotlinectl staff: no account %s\n", o->name);
        status = EXIT_REFUSED;
    } else {
        printf("%s: %s done\n", o->name, o->cmd);
    }
    freeReplyObject(r);
    return status;
}

static void list_one(redisContext *rc, const struct cfg *c, const char *name,
                     const struct sopts *o, json_t *arr)
{
    redisReply *r = redisCommand(rc, "HMGET %sstaff:%s role disabled changed",
                                 c->prefix, name);
    const char *role = "?", *dis = "0";

    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
        if (r->element[0]->type == REDIS_REPLY_STRING)
            role = r->element[0]->str;
        if (r->element[1]->type == REDIS_REPLY_STRING)
            dis = r->element[1]->str;
    }
    if (o->json)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:b}", "name", name,
                                             "role", role, "disabled",
                                             strcmp(dis, "1") == 0));
    else
        printf("%-32s %-10s %s\n", name, role,
               strcmp(dis, "1") == 0 ? "disabled" : "active");
    freeReplyObject(r);
}

static int cmd_list(redisContext *rc, const struct cfg *c,
                    const struct sopts *o)
{
    redisReply *r = redisCommand(rc, "SORT %sstaff-names ALPHA", c->prefix);
    json_t *arr = json_array();
    char *s;

    if (!r || r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "hotlinectl staff: list failed\n");
        freeReplyObject(r);
        json_decref(arr);
        return EXIT_USAGE;
    }
    if (!o->json)
        printf("%-32s %-10s %s\n", "NAME", "ROLE", "STATE");
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            list_one(rc, c, r->element[i]->str, o, arr);
    if (o->json) {
        s = json_dumps(arr, JSON_COMPACT);
        printf("%s\n", s ? s : "[]");
        free(s);
    }
    json_decref(arr);
    freeReplyObject(r);
    return 0;
}

int hotlinectl_staff(int argc, char **argv)
{
    struct sopts o = { 0 };
    struct cfg *c = NULL;
    redisContext *rc;
    char err[4096];
    int status;

    status = parse(argc, argv, &o);
    if (status)
        return status == 1 ? 0 : status;
    if (strcmp(o.cmd, "add") != 0 && strcmp(o.cmd, "passwd") != 0 &&
        strcmp(o.cmd, "disable") != 0 && strcmp(o.cmd, "enable") != 0 &&
        strcmp(o.cmd, "list") != 0)
        return bad_usage("the commands are add, passwd, disable, enable, "
                         "list");
    if (cfg_load(o.config, &o.ov, &c, err, sizeof err) != 0) {
        fprintf(stderr, "hotlinectl staff: %s\n", err);
        return EXIT_USAGE;
    }
    rc = ctl_redis_connect(c, "staff", 2);
    if (!rc) {
        cfg_release(c);
        return EXIT_USAGE;
    }
    status = strcmp(o.cmd, "list") == 0 ? cmd_list(rc, c, &o)
                                        : cmd_change(rc, c, &o);
    redisFree(rc);
    cfg_release(c);
    return status;
}
