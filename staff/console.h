/*
 * console.h — the staff console's static files (HTML, CSS, JS, images)
 * served by hotlined at /console/ from console.dir.
 */
#ifndef HOTLINE_CONSOLE_H
#define HOTLINE_CONSOLE_H

#include <stddef.h>

struct gw;
struct evhttp_request;

#define CONSOLE_FILES_MAX 64
#define CONSOLE_FILE_MAX (256 * 1024)
#define CONSOLE_TOTAL_MAX (1024 * 1024)

/* Answers req when path is /console or under /console/ and returns 1;
 * returns 0 otherwise. The files are read into memory on the first request
 * after start or after each reload (a new config), never per request:
 * only regular files directly in the directory, named [a-z0-9._-] with a
 * known extension, each at most CONSOLE_FILE_MAX bytes. A request names
 * one of them exactly, so no path can leave the directory. */
int console_handle(struct gw *gw, struct evhttp_request *req,
                   const char *path);

/* The content type served for file name, or NULL when its extension is
 * not one the console serves. */
const char *console_type(const char *name);

/* Frees the files held (at exit). */
void console_free(void);

#endif
