/*
 * spool.h — the local append-only file that holds help requests while Redis
 * is unreachable, so that "nothing lost" holds across an outage.
 *
 * Each record is one line (the filing script's keys and arguments as JSON,
 * see session.c), appended with a single write() and fsync()ed before the
 * caller is told the request was sent. When Redis returns, the records are
 * replayed through the same idempotent filing script, so a record filed twice
 * (a retry, a crash mid-drain) still makes one case.
 *
 * A drain renames FILE to FILE.draining (kept until every record in it is
 * filed and, with redis.wait_replicas, confirmed), so new records go to a
 * fresh FILE while the old ones are replayed; a rename writes no data, so a
 * drain works on a full disk. A drain that fails keeps FILE.draining, and
 * the next one replays it again; FILE's newer records wait for the drain
 * after that. Several processes may share a spool: appends and the rename
 * hold an flock on FILE (an appender whose FILE was renamed opens it
 * again), and one drain at a time holds FILE.lock. Every process on one
 * spool must run this code or later: a build from before the rename
 * would keep appending to a FILE that a drain moved away. (Upgrades give
 * the bridge process a spool of its own: deploy/README.md.)
 *
 * An append is all or nothing: when the record cannot be written whole and
 * fsync'd (ENOSPC, a size limit, an I/O error), FILE is cut back to its
 * length before and -1 is returned, so the caller gets the fallback screen
 * and the next record is not glued onto a fragment.
 */
#ifndef HOTLINE_SPOOL_H
#define HOTLINE_SPOOL_H

#include <stddef.h>

struct spool;

/* Opens (creating) the spool at path; its directory must exist. Counts the
 * records already there (from FILE and FILE.draining). NULL + err on error. */
struct spool *spool_open(const char *path, char *err, size_t errlen);
void spool_close(struct spool *sp);  /* accepts NULL */

/* Appends one record (no newline inside) durably, or not at all: 0, or -1
 * (errno set) with FILE as it was before. */
int spool_append(struct spool *sp, const char *rec, size_t len);

/* Records waiting (appended and not yet confirmed drained), as this
 * process last counted them. */
size_t spool_depth(const struct spool *sp);
/* Counts the records in FILE and FILE.draining again, whoever wrote them
 * (reads them only when either holds anything), and returns that depth. */
size_t spool_count(struct spool *sp);
/* 1 when FILE or FILE.draining holds anything, whoever wrote it (another
 * process sharing the spool, one that exited before draining). */
int spool_pending(const struct spool *sp);

/* Starts a drain: renames FILE to FILE.draining unless a failed drain left
 * one, and returns all of FILE.draining's records, malloc'd, in *recs
 * (each string and the array: free with spool_free_records). 0 records = nothing to do. Returns 0, 1 when another
 * process is draining (nothing taken), or -1 on I/O error. After 0, end the
 * drain with spool_drained or spool_release. */
int spool_take(struct spool *sp, char ***recs, size_t *n);
void spool_free_records(char **recs, size_t n);
/* The records of the last spool_take are all filed: delete FILE.draining.
 * spool_pending then says whether FILE holds more for another drain. */
void spool_drained(struct spool *sp);
/* The last drain failed: FILE.draining stays for the next one. */
void spool_release(struct spool *sp);

/* For `hotlinectl cases erase`, beside a running hotlined: removes from
 * FILE and FILE.draining every record drop(rec, arg) says to, holding the
 * drain lock and FILE's flock, so no drain or append interleaves. The kept
 * records end up in FILE.draining (written aside, fsync'd, renamed in).
 * *removed counts the records dropped. 0, or -1 with err (no spool at
 * path, I/O). */
int spool_erase(const char *path, int (*drop)(const char *rec, void *arg),
                void *arg, size_t *removed, char *err, size_t errlen);

#endif
