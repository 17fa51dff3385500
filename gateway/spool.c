/*
 * spool.c — durable local queue for help requests during a Redis outage.
 * See spool.h for the contract. Records are bounded (SPOOL_REC_MAX bytes);
 * a torn last line (a crash mid-write) is skipped on read.
 */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_REC_MAX 16384

struct spool {
    char *path;
    char *draining;
    int fd;
    size_t depth;
};

/* Counts complete lines of a file (0 when absent). */
static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int c;

    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n')
            n++;
    }
    fclose(f);
    return n;
}

static int open_append(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

struct spool *spool_open(const char *path, char *err, size_t errlen)
{
    struct spool *sp = calloc(1, sizeof *sp);
    size_t len = strlen(path);

    if (!sp)
        return NULL;
    sp->path = strdup(path);
    sp->draining = malloc(len + sizeof ".draining");
    if (!sp->path || !sp->draining) {
        spool_close(sp);
        return NULL;
    }
    memcpy(sp->draining, path, len);
    memcpy(sp->draining + len, ".draining", sizeof ".draining");
    sp->fd = open_append(path);
    if (sp->fd < 0) {
        snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
        spool_close(sp);
        return NULL;
    }
    sp->depth = count_lines(path) + count_lines(sp->draining);
    return sp;
}

void spool_close(struct spool *sp)
{
    if (!sp)
        return;
    if (sp->fd > 0)
        close(sp->fd);
    free(sp->path);
    free(sp->draining);
    free(sp);
}

int spool_append(struct spool *sp, const char *rec, size_t len)
{
    char *line;
    ssize_t w;

    if (len == 0 || len > SPOOL_REC_MAX || memchr(rec, '\n', len))
        return -1;
    line = malloc(len + 1);
    if (!line)
        return -1;
    memcpy(line, rec, len);
    line[len] = '\n';
    /* One write() on an O_APPEND file: records of several processes never
     * interleave; fsync before anyone is told the request was sent. */
    w = write(sp->fd, line, len + 1);
    free(line);
    if (w != (ssize_t)(len + 1) || fsync(sp->fd) != 0)
        return -1;
    sp->depth++;
    return 0;
}

size_t spool_depth(const struct spool *sp)
{
    return sp ? sp->depth : 0;
}

/* Reads every complete line of path into a new array. */
static int read_records(const char *path, char ***recs, size_t *n)
{
    FILE *f = fopen(path, "r");
    char *buf = malloc(SPOOL_REC_MAX + 2);
    char **v = NULL;
    size_t cnt = 0;

    *recs = NULL;
    *n = 0;
    if (!buf) {
        if (f)
            fclose(f);
        return -1;
    }
    if (!f) {
        free(buf);
        return errno == ENOENT ? 0 : -1;
    }
    while (fgets(buf, SPOOL_REC_MAX + 2, f)) {
        size_t l = strlen(buf);
        char **nv;

        if (l == 0 || buf[l - 1] != '\n')
            continue;           /* torn or oversized line: skip */
        buf[l - 1] = '\0';
        nv = realloc(v, (cnt + 1) * sizeof *v);
        if (!nv)
            break;
        v = nv;
        v[cnt] = strdup(buf);
        if (v[cnt])
            cnt++;
    }
    fclose(f);
    free(buf);
    *recs = v;
    *n = cnt;
    return 0;
}

int spool_take(struct spool *sp, char ***recs, size_t *n)
{
    struct stat stt;

    *recs = NULL;
    *n = 0;
    if (stat(sp->draining, &stt) != 0) {
        /* No drain pending: move the live file aside if it has records. */
        if (stat(sp->path, &stt) != 0 || stt.st_size == 0)
            return 0;
        if (rename(sp->path, sp->draining) != 0)
            return -1;
        close(sp->fd);
        sp->fd = open_append(sp->path);
        if (sp->fd < 0)
            return -1;
    }
    return read_records(sp->draining, recs, n);
}

void spool_free_records(char **recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(recs[i]);
    free(recs);
}

void spool_drained(struct spool *sp, size_t n)
{
    unlink(sp->draining);
    sp->depth = sp->depth > n ? sp->depth - n : 0;
}
