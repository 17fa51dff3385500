/*
 * hotlinectl_alerts.c — `hotlinectl alerts`: the dead-lettered alerts, and
 * sending them again once what failed (a receiver, an SMS provider) works.
 *
 *   hotlinectl alerts [-c CONFIG] [--redis HOST:PORT] [--json] COMMAND
 *       list-dead                 queue/id, reference, attempts, when, error
 *       retry QUEUE/ID | --all    put them back on their queue's stream
 *
 * The same Lua scripts as the console's supervisor view (staff/super.h):
 * a retried dead letter becomes a new entry of P q:QUEUE, which the alert
 * worker of any running hotlined delivers again; one whose case is
 * resolved or gone is dropped. Never prints a number or an answer. Like
 * `staff`, it needs the config and its Redis, not a staff token: whoever
 * runs it on the server can reach Redis already.
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"
#include "cfg.h"
#include "hotlinectl.h"
#include "super.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define QUEUES_MAX 64

struct aopts {
    const char *config;
    struct cfg_overrides ov;
    const char *cmd;
    const char *id;
    int all;
    int json;
};

static const char alerts_usage[] =
    "usage: hotlinectl alerts [-c CONFIG] [--redis HOST:PORT] [--json] "
    "COMMAND\n"
    "  list-dead                 the dead-lettered alerts: QUEUE/ID, case\n"
    "                            reference, attempts, when, last error\n"
    "  retry QUEUE/ID | --all    deliver them again (every alert of the\n"
    "                            queue); those of resolved cases are dropped\n";

static int bad_usage(const char *what)
{
    fprintf(stderr, "hotlinectl alerts: %s\n%s", what, alerts_usage);
    return EXIT_USAGE;
}

static int parse(int argc, char **argv, struct aopts *o)
{
    o->config = "config/hotlined.cfg";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;

        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && more)
            o->config = argv[++i];
        else if (strcmp(a, "--redis") == 0 && more)
            o->ov.redis = argv[++i];
        else if (strcmp(a, "--json") == 0)
            o->json = 1;
        else if (strcmp(a, "--all") == 0)
            o->all = 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(alerts_usage, stdout);
            return 1;
        } else if (a[0] == '-')
            return bad_usage("unknown option or missing value");
        else if (!o->cmd)
            o->cmd = a;
        else if (!o->id)
            o->id = a;
        else
            return bad_usage("too many arguments");
    }
    if (!o->cmd)
        return bad_usage("which command?");
    if (strcmp(o->cmd, "list-dead") == 0 && !o->id && !o->all)
        return 0;
    if (strcmp(o->cmd, "retry") == 0 && (!o->id) != (!o->all))
        return 0;
    return bad_usage("list-dead, or retry QUEUE/ID, or retry --all");
}

static const char *str_at(const redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING ?
               r->element[i]->str : "";
}

static int cmd_list(redisContext *rc, const struct cfg *c, int json)
{
    const char *av[5 + QUEUES_MAX];
    char max[16];
    int ac = 5;
    redisReply *r;
    json_t *arr = json_array();

    snprintf(max, sizeof max, "%d", SUPER_DEAD_MAX);
    av[0] = "EVAL";
    av[1] = super_script_dead;
    av[2] = "0";
    av[3] = c->prefix;
    av[4] = max;
    for (size_t i = 0; i < c->nqueues && i < QUEUES_MAX; i++)
        av[ac++] = c->queues[i].name;
    r = redisCommandArgv(rc, ac, av, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
        fprintf(stderr, "hotlinectl alerts: list-dead failed: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
        freeReplyObject(r);
        json_decref(arr);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i + 1 < r->elements; i++) {
        const redisReply *e = r->element[i];
        char id[CASES_QUEUE_MAX + 48], when[32];
        time_t t;
        struct tm tm;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 5)
            continue;
        snprintf(id, sizeof id, "%s/%s", str_at(e, 0), str_at(e, 1));
        t = (time_t)(strtoll(str_at(e, 1), NULL, 10) / 1000);
        if (!gmtime_r(&t, &tm) ||
            !strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm))
            snprintf(when, sizeof when, "?");
        if (json)
            json_array_append_new(arr, json_pack(
                "{s:s,s:s,s:s,s:s,s:I}", "id", id, "queue", str_at(e, 0),
                "ref", str_at(e, 2), "error", str_at(e, 3), "attempts",
                (json_int_t)strtoll(str_at(e, 4), NULL, 10)));
        else
            printf("%-32s %-8s %2s attempts  %s  %s\n", id, str_at(e, 2),
                   str_at(e, 4), when, str_at(e, 3));
    }
    if (json) {
        char *s = json_dumps(arr, JSON_COMPACT);

        printf("%s\n", s ? s : "[]");
        free(s);
    } else if (r->elements == 1) {
        printf("no dead-lettered alerts\n");
    }
    if (r->element[r->elements - 1]->type == REDIS_REPLY_INTEGER &&
        r->element[r->elements - 1]->integer)
        fprintf(stderr, "hotlinectl alerts: only the first %d shown\n",
                SUPER_DEAD_MAX);
    json_decref(arr);
    freeReplyObject(r);
    return 0;
}

static int cmd_retry(redisContext *rc, const struct cfg *c,
                     const struct aopts *o)
{
    const char *av[5 + 2 * QUEUES_MAX];
    char max[16], buf[CASES_QUEUE_MAX + 48];
    int ac = 5, code;
    redisReply *r;

    snprintf(max, sizeof max, "%d", SUPER_RETRY_MAX);
    av[0] = "EVAL";
    av[1] = super_script_retry;
    av[2] = "0";
    av[3] = c->prefix;
    av[4] = max;
    if (o->all) {
        for (size_t i = 0; i < c->nqueues && i < QUEUES_MAX; i++) {
            av[ac++] = c->queues[i].name;
            av[ac++] = "*";
        }
    } else {
        char *slash;

        snprintf(buf, sizeof buf, "%s", o->id);
        slash = strchr(buf, '/');
        if (!slash || strlen(o->id) >= sizeof buf)
            return bad_usage("retry QUEUE/ID (as list-dead prints it)");
        *slash = '\0';
        if (!cases_queue_ok(buf) || !slash[1] ||
            strspn(slash + 1, "0123456789-") != strlen(slash + 1))
            return bad_usage("retry QUEUE/ID (as list-dead prints it)");
        av[ac++] = buf;
        av[ac++] = slash + 1;
    }
    r = redisCommandArgv(rc, ac, av, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        fprintf(stderr, "hotlinectl alerts: retry failed: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
        freeReplyObject(r);
        return EXIT_USAGE;
    }
    code = !o->all && r->element[2]->integer > 0 ? EXIT_REFUSED : 0;
    if (code)
        fprintf(stderr, "hotlinectl alerts: no dead letter %s\n", o->id);
    else
        printf("retried %lld, dropped %lld (case resolved or gone)\n",
               r->element[0]->integer, r->element[1]->integer);
    freeReplyObject(r);
    return code;
}

int hotlinectl_alerts(int argc, char **argv)
{
    struct aopts o = { 0 };
    struct cfg *c = NULL;
    redisContext *rc;
    char err[4096];
    int status = parse(argc, argv, &o);

    if (status)
        return status == 1 ? 0 : status;
    if (cfg_load(o.config, &o.ov, &c, err, sizeof err) != 0) {
        fprintf(stderr, "hotlinectl alerts: %s\n", err);
        return EXIT_USAGE;
    }
    rc = ctl_redis_connect(c, "alerts", 2);
    if (!rc) {
        cfg_release(c);
        return EXIT_USAGE;
    }
    status = strcmp(o.cmd, "retry") == 0 ? cmd_retry(rc, c, &o)
                                         : cmd_list(rc, c, o.json);
    redisFree(rc);
    cfg_release(c);
    return status;
}
