/*
 * spool.c — durable local queue for help requests during a Redis outage.
 * See spool.h for the contract. Records are bounded (SPOOL_REC_MAX bytes).
 * An append is all or nothing: a short write, ENOSPC/EFBIG or a failed
 * fsync cuts FILE back to its length before, so no fragment is left for
 * the next record to glue onto. A torn last line (a crash mid-write) is cut
 * off at open and before the next append, and skipped on read. A drain
 * renames FILE to FILE.draining — it needs no free space — and every
 * appender checks, under FILE's flock, that its descriptor still is FILE,
 * reopening it when a drain (in any process) moved it.
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

/* Locks FILE (flock) for an append or a move, and makes sure sp->fd is
 * FILE itself: a drain, in this process or another, may have renamed the
 * file this descriptor was opened on to FILE.draining; then FILE is opened
 * (created) again. 0 with the lock held, or -1. */
static int lock_live(struct spool *sp)
{
    for (int tries = 0; tries < 8; tries++) {
        struct stat here, there;
        int fd;

        if (flock(sp->fd, LOCK_EX) != 0)
            return -1;
        if (fstat(sp->fd, &here) != 0) {
            flock(sp->fd, LOCK_UN);
            return -1;
        }
        if (stat(sp->path, &there) == 0 && here.st_ino == there.st_ino &&
            here.st_dev == there.st_dev)
            return 0;
        flock(sp->fd, LOCK_UN);
        fd = open_append(sp->path);
        if (fd < 0)
            return -1;
        close(sp->fd);
        sp->fd = fd;
    }
    errno = EAGAIN;             /* renamed under us again and again */
    return -1;
}

/* Cuts a torn last line (a crash mid-write) off the locked FILE of `size`
 * bytes, so the next record does not glue onto it and become unreadable.
 * *end gets the length kept. 0, or -1. */
static int cut_torn_tail(int fd, off_t size, off_t *end)
{
    char buf[4096];

    *end = size;
    if (size == 0)
        return 0;
    if (pread(fd, buf, 1, size - 1) != 1)
        return -1;
    if (buf[0] == '\n')
        return 0;               /* the usual case: whole lines only */
    while (*end > 0) {
        off_t from = *end > (off_t)sizeof buf ? *end - (off_t)sizeof buf : 0;
        ssize_t got = pread(fd, buf, (size_t)(*end - from), from);

        if (got != *end - from)
            return -1;
        while (got > 0 && buf[got - 1] != '\n')
            got--;
        if (got > 0) {
            *end = from + got;
            break;
        }
        *end = from;
    }
    return ftruncate(fd, *end);
}

/* Cuts FILE's torn tail, under its flock (at open). */
static int drop_torn_tail(struct spool *sp)
{
    struct stat st;
    off_t end;
    int rc;

    if (lock_live(sp) != 0)
        return -1;
    rc = fstat(sp->fd, &st) == 0 ? cut_torn_tail(sp->fd, st.st_size, &end)
                                 : -1;
    flock(sp->fd, LOCK_UN);
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
    if (sp->fd < 0 || drop_torn_tail(sp) != 0) {
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

/* Writes line (len bytes, newline included) at the end of the locked FILE
 * and fsyncs it; on any failure cuts FILE back to its length before, so a
 * refused record leaves nothing behind. 0, or -1 with errno. */
static int append_locked(struct spool *sp, const char *line, size_t len)
{
    struct stat st;
    off_t end;
    ssize_t w;
    int e;

    if (fstat(sp->fd, &st) != 0 || cut_torn_tail(sp->fd, st.st_size, &end))
        return -1;
    w = write(sp->fd, line, len);
    if (w == (ssize_t)len && fsync(sp->fd) == 0)
        return 0;
    e = w < 0 ? errno : (w == (ssize_t)len ? errno : ENOSPC);
    if (ftruncate(sp->fd, end) == 0)
        (void)fsync(sp->fd);
    errno = e;
    return -1;
}

int spool_append(struct spool *sp, const char *rec, size_t len)
{
    char *line;
    int rc;

    if (len == 0 || len > SPOOL_REC_MAX || memchr(rec, '\n', len))
        return -1;
    line = malloc(len + 1);
    if (!line)
        return -1;
    memcpy(line, rec, len);
    line[len] = '\n';
    /* One write() on an O_APPEND file, under FILE's flock: records of
     * several processes never interleave, and a drain never moves the file
     * mid-append; fsync before anyone is told the request was sent. */
    if (lock_live(sp) != 0) {
        free(line);
        return -1;
    }
    rc = append_locked(sp, line, len + 1);
    flock(sp->fd, LOCK_UN);
    free(line);
    if (rc == 0)
        sp->depth++;
    return rc;
}

size_t spool_depth(const struct spool *sp)
{
    return sp ? sp->depth : 0;
}

int spool_pending(const struct spool *sp)
{
    struct stat st;

    return sp && (sp->depth > 0 ||
                  (stat(sp->path, &st) == 0 && st.st_size > 0) ||
                  (stat(sp->draining, &st) == 0 && st.st_size > 0));
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

/* Starts a drain of FILE: renames it to FILE.draining, under FILE's flock
 * (appenders then reopen FILE). A rename writes no data, so it works on a
 * full disk. While FILE.draining is there (a drain that failed), FILE
 * waits: its records are taken by the drain after. 0, or -1. */
static int move_live(struct spool *sp)
{
    struct stat st;
    int rc = -1;

    if (access(sp->draining, F_OK) == 0)
        return 0;
    if (errno != ENOENT || lock_live(sp) != 0)
        return -1;
    if (fstat(sp->fd, &st) == 0 &&
        (st.st_size == 0 || rename(sp->path, sp->draining) == 0))
        rc = 0;
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

size_t spool_count(struct spool *sp)
{
    if (spool_pending(sp))
        recount(sp);
    else
        sp->depth = 0;
    return sp->depth;
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
    if (sp->lockfd < 0 || !tmp || lock_live(sp) != 0) {
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
