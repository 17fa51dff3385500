/*
 * hotlinectl_common.c — what hotlinectl's command groups share: the one way
 * they reach Redis (a blocking hiredis connection to the config's Redis,
 * with a deadline on connect and on every command, and AUTH when the config
 * has a password), the one way they read an operator's file (bounded), and
 * make run's variables (var/hotline.env).
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "hotlinectl.h"

redisContext *ctl_redis_connect(const struct cfg *c, const char *who,
                                int timeout_s)
{
    struct timeval tv = { timeout_s, 0 };
    redisContext *rc = redisConnectWithTimeout(c->redis_host, c->redis_port,
                                               tv);
    redisReply *r;
    int refused;

    if (!rc || rc->err) {
        fprintf(stderr, "hotlinectl %s: Redis %s:%d: %s\n", who,
                c->redis_host, c->redis_port,
                rc ? rc->errstr : "out of memory");
        redisFree(rc);
        return NULL;
    }
    redisSetTimeout(rc, tv);
    if (!c->redis_password)
        return rc;
    r = redisCommand(rc, "AUTH %s", c->redis_password);
    refused = !r || r->type == REDIS_REPLY_ERROR;
    freeReplyObject(r);
    if (refused) {
        fprintf(stderr, "hotlinectl %s: Redis refused the password\n", who);
        redisFree(rc);
        return NULL;
    }
    return rc;
}

char *ctl_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f)
        return NULL;
    buf = malloc(max + 1);
    n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void ctl_local_env(const char *path)
{
    static const char *const names[] = { "HOTLINE_PEPPER",
                                          "HOTLINE_DEMO_STAFF_TOKEN",
                                          "HOTLINE_STAFF_TOKEN" };
    struct stat st;
    char *text, *save = NULL;

    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != getuid() || (st.st_mode & 077))
        return;                 /* absent, or not this user's own file */
    text = ctl_read_file(path, 4096, NULL);
    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(l, '=');

        if (!eq)
            continue;
        *eq = '\0';
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(l, names[i]) == 0 && eq[1])
                setenv(l, eq + 1, 0);
    }
    free(text);
}
