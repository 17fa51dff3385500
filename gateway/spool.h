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
 * Draining renames the file to FILE.draining first, so new records keep
 * going to a fresh FILE while the old ones are replayed.
 */
#ifndef HOTLINE_SPOOL_H
#define HOTLINE_SPOOL_H

#include <stddef.h>

struct spool;

/* Opens (creating) the spool at path; its directory must exist. Counts the
 * records already there (from FILE and FILE.draining). NULL + err on error. */
struct spool *spool_open(const char *path, char *err, size_t errlen);
void spool_close(struct spool *sp);  /* accepts NULL */

/* Appends one record (no newline inside) durably. 0, or -1 on I/O error. */
int spool_append(struct spool *sp, const char *rec, size_t len);

/* Records waiting (appended and not yet confirmed drained). */
size_t spool_depth(const struct spool *sp);

/* Starts a drain: moves FILE to FILE.draining (unless a drain is already
 * pending there) and returns its records, malloc'd, in *recs (each string
 * and the array: free with spool_free_records). 0 records = nothing to do.
 * Returns -1 on I/O error. */
int spool_take(struct spool *sp, char ***recs, size_t *n);
void spool_free_records(char **recs, size_t n);
/* The records of the last spool_take are all filed: delete FILE.draining. */
void spool_drained(struct spool *sp, size_t n);

#endif
