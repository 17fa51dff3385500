/*
 * spool.c — durable local queue for help requests during a Redis outage.
 * See spool.h for the contract. Records are bounded (SPOOL_REC_MAX bytes);
 * a torn last line (a crash mid-write) is skipped on read, and left behind
 * when FILE's records move to FILE.draining.
 */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_REC_MAX 16384
#define ERASE_WAIT_TRIES 100    /* x 100 ms: how long erase waits for a drain */

struct spool {
    char *path;
    char *draining;
    char *lockpath;
    int fd;
    int lockfd;                 /* held (flock) while this process drains */
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
    return open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* Cuts a torn last line (a crash mid-write) off FILE, under its flock, so
 * the next record does not glue onto it and become unreadable. */
static int drop_torn_tail(int fd)
{
    struct stat st;
    char buf[4096];
    off_t end;
    int rc = 0;

    if (flock(fd, LOCK_EX) != 0)
        return -1;
    if (fstat(fd, &st) != 0) {
        rc = -1;
        goto out;
    }
    end = st.st_size;
    while (end > 0) {
        off_t from = end > (off_t)sizeof buf ? end - (off_t)sizeof buf : 0;
        ssize_t got = pread(fd, buf, (size_t)(end - from), from);

        if (got != end - from) {
            rc = -1;
            goto out;
        }
        while (got > 0 && buf[got - 1] != '\n')
            got--;
        if (got > 0) {
            end = from + got;
            break;
        }
        end = from;
    }
    if (end != st.st_size && ftruncate(fd, end) != 0)
        rc = -1;
out:
    flock(fd, LOCK_UN);
    return rc;
}

struct spool *spool_open(const char *path, char *err, size_t errlen)
{
    struct spool *sp = calloc(1, sizeof *sp);
    size_t len = strlen(path);

    if (!sp)
        return NULL;
    sp->fd = -1;
    sp->lockfd = -1;
    sp->path = strdup(path);
    sp->draining = malloc(len + sizeof ".draining");
    sp->lockpath = malloc(len + sizeof ".lock");
    if (!sp->path || !sp->draining || !sp->lockpath) {
        spool_close(sp);
        return NULL;
    }
    memcpy(sp->draining, path, len);
    memcpy(sp->draining + len, ".draining", sizeof ".draining");
    memcpy(sp->lockpath, path, len);
    memcpy(sp->lockpath + len, ".lock", sizeof ".lock");
    sp->fd = open_append(path);
    if (sp->fd < 0 || drop_torn_tail(sp->fd) != 0) {
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
    if (sp->fd >= 0)
        close(sp->fd);
    if (sp->lockfd >= 0)
        close(sp->lockfd);
    free(sp->path);
    free(sp->draining);
    free(sp->lockpath);
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
     * interleave; fsync before anyone is told the request was sent. The
     * flock keeps a drain from moving the file's records mid-append. */
    if (flock(sp->fd, LOCK_EX) != 0) {
        free(line);
        return -1;
    }
    w = write(sp->fd, line, len + 1);
    free(line);
    if (w != (ssize_t)(len + 1) || fsync(sp->fd) != 0) {
        flock(sp->fd, LOCK_UN);
        return -1;
    }
    flock(sp->fd, LOCK_UN);
    sp->depth++;
    return 0;
}

size_t spool_depth(const struct spool *sp)
{
    return sp ? sp->depth : 0;
}

/* Reads every complete line of path into a new array. */
int spool_pending(const struct spool *sp)
{
    struct stat st;

    return sp && (sp->depth > 0 ||
                  (stat(sp->path, &st) == 0 && st.st_size > 0) ||
                  (stat(sp->draining, &st) == 0 && st.st_size > 0));
}

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

/* Appends FILE's complete lines to FILE.draining (fsync'd) and empties
 * FILE, under FILE's flock. A crash between the two leaves the records in
 * both: the drain's filing is idempotent, so that costs nothing. */
static int move_live(struct spool *sp)
{
    struct stat st;
    char *buf = NULL;
    size_t len;
    int dfd = -1;
    int rc = -1;

    if (flock(sp->fd, LOCK_EX) != 0)
        return -1;
    if (fstat(sp->fd, &st) != 0)
        goto out;
    if (st.st_size == 0) {
        rc = 0;
        goto out;
    }
    buf = malloc((size_t)st.st_size);
    if (!buf || pread(sp->fd, buf, (size_t)st.st_size, 0) != st.st_size)
        goto out;
    for (len = (size_t)st.st_size; len > 0 && buf[len - 1] != '\n'; len--)
        ;                       /* a torn last line stays behind, dropped */
    dfd = open(sp->draining, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (dfd < 0 || (len && write(dfd, buf, len) != (ssize_t)len) ||
        fsync(dfd) != 0)
        goto out;
    if (ftruncate(sp->fd, 0) != 0 || fsync(sp->fd) != 0)
        goto out;
    rc = 0;
out:
    if (dfd >= 0)
        close(dfd);
    free(buf);
    flock(sp->fd, LOCK_UN);
    return rc;
}

/* Opens FILE.lock, the drain lock, once. 0, or -1. */
static int open_lock(struct spool *sp)
{
    if (sp->lockfd < 0)
        sp->lockfd = open(sp->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    return sp->lockfd < 0 ? -1 : 0;
}

int spool_take(struct spool *sp, char ***recs, size_t *n)
{
    *recs = NULL;
    *n = 0;
    if (open_lock(sp) != 0)
        return -1;
    if (flock(sp->lockfd, LOCK_EX | LOCK_NB) != 0)
        return errno == EWOULDBLOCK ? 1 : -1;
    if (move_live(sp) != 0 || read_records(sp->draining, recs, n) != 0) {
        flock(sp->lockfd, LOCK_UN);
        return -1;
    }
    return 0;
}

void spool_free_records(char **recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(recs[i]);
    free(recs);
}

/* Counts again: other processes sharing the spool append too. */
static void recount(struct spool *sp)
{
    sp->depth = count_lines(sp->path) + count_lines(sp->draining);
}

void spool_drained(struct spool *sp)
{
    unlink(sp->draining);
    recount(sp);
    flock(sp->lockfd, LOCK_UN);
}

void spool_release(struct spool *sp)
{
    recount(sp);
    flock(sp->lockfd, LOCK_UN);
}

/* Appends the complete lines of path that drop() keeps to out; counts the
 * dropped ones. 0, or -1 on a read error (a missing file has no lines). */
static int filter_lines(const char *path, int (*drop)(const char *, void *),
                        void *arg, FILE *out, size_t *removed)
{
    char **recs;
    size_t n;

    if (read_records(path, &recs, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (drop(recs[i], arg))
            (*removed)++;
        else
            fprintf(out, "%s\n", recs[i]);
    }
    spool_free_records(recs, n);
    return 0;
}

int spool_erase(const char *path, int (*drop)(const char *rec, void *arg),
                void *arg, size_t *removed, char *err, size_t errlen)
{
    struct spool *sp;
    char *tmp = NULL;
    FILE *out = NULL;
    int rc = -1;

    *removed = 0;
    if (access(path, F_OK) != 0) {
        snprintf(err, errlen, "no spool at %s: %s", path, strerror(errno));
        return -1;
    }
    sp = spool_open(path, err, errlen);
    if (!sp)
        return -1;
    tmp = malloc(strlen(sp->draining) + sizeof ".new");
    /* A drain holds the lock for one batch: wait for it, boundedly. */
    for (int tries = 0; open_lock(sp) == 0 && tmp; tries++) {
        if (flock(sp->lockfd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK || tries == ERASE_WAIT_TRIES) {
            snprintf(err, errlen, "spool %s: a drain holds it; try again",
                     path);
            goto out;
        }
        usleep(100 * 1000);
    }
    if (sp->lockfd < 0 || !tmp || flock(sp->fd, LOCK_EX) != 0) {
        snprintf(err, errlen, "spool %s: cannot lock it: %s", path,
                 strerror(errno));
        goto out;
    }
    sprintf(tmp, "%s.new", sp->draining);
    out = fopen(tmp, "w");
    if (!out || filter_lines(sp->draining, drop, arg, out, removed) != 0 ||
        filter_lines(sp->path, drop, arg, out, removed) != 0) {
        snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
        goto out;
    }
    if (*removed == 0) {
        rc = 0;                 /* nothing of it here: leave the files be */
        goto out;
    }
    if (fflush(out) != 0 || fsync(fileno(out)) != 0 ||
        rename(tmp, sp->draining) != 0 || ftruncate(sp->fd, 0) != 0 ||
        fsync(sp->fd) != 0) {
        snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (out)
        fclose(out);
    if (tmp)
        unlink(tmp);            /* renamed in, or not wanted */
    free(tmp);
    spool_close(sp);            /* closing releases both locks */
    return rc;
}
