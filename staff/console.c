/*
 * console.c — serves the staff console's files (see console.h).
 *
 * The console is plain HTML, CSS and JavaScript with no build step. Its
 * files are loaded from console.dir into a fixed table when a config is
 * first used, so a request only ever looks a name up in that table: "..",
 * "%2e", symlinks out of the directory and the like cannot reach anything.
 * The security headers (CSP etc.) are added for every response by
 * server.c; here only the type and caching.
 */
#include "console.h"

#include <dirent.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"

struct cfile {
    char name[64];
    const char *type;
    char *data;
    size_t len;
};

/* The files of the config they were loaded for (one per process). */
static struct {
    struct cfg *cfg;            /* retained: no other config reuses it */
    struct cfile files[CONSOLE_FILES_MAX];
    size_t n;
} con;

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".txt", "text/plain; charset=utf-8" },
};

const char *console_type(const char *name)
{
    size_t nl = strlen(name);

    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t el = strlen(types[i].ext);

        if (nl > el && strcmp(name + nl - el, types[i].ext) == 0)
            return types[i].type;
    }
    return NULL;
}

static int name_ok(const char *n)
{
    size_t len = strlen(n);

    if (len == 0 || len >= sizeof con.files[0].name || n[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return console_type(n) != NULL;
}

void console_free(void)
{
    for (size_t i = 0; i < con.n; i++) {
        free(con.files[i].data);
        con.files[i].data = NULL;
    }
    con.n = 0;
    cfg_release(con.cfg);
    con.cfg = NULL;
}

/* Reads dir/name (a regular file, not a symlink, at most the size cap)
 * into f. Returns 0 or -1. */
static int read_one(int dfd, const char *name, struct cfile *f)
{
    struct stat st;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t got = 0;

    f->data = NULL;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > CONSOLE_FILE_MAX) {
        close(fd);
        return -1;
    }
    f->data = malloc((size_t)st.st_size + 1);
    while (f->data && (size_t)got < (size_t)st.st_size) {
        ssize_t r = read(fd, f->data + got, (size_t)st.st_size - (size_t)got);

        if (r <= 0)
            break;
        got += r;
    }
    close(fd);
    if (!f->data || got != st.st_size) {
        free(f->data);
        f->data = NULL;
        return -1;
    }
    f->len = (size_t)got;
    snprintf(f->name, sizeof f->name, "%s", name);
    f->type = console_type(name);
    return 0;
}

/* Loads every servable file of dir; logs what was skipped. */
static void load(struct cfg *c)
{
    DIR *d;
    struct dirent *de;
    size_t total = 0;

    console_free();
    con.cfg = cfg_retain(c);
    d = opendir(c->console.dir);
    if (!d) {
        log_warn("console: cannot open %s: the console is not served",
                 c->console.dir);
        return;
    }
    while ((de = readdir(d)) != NULL && con.n < CONSOLE_FILES_MAX) {
        struct cfile *f = &con.files[con.n];

        if (!name_ok(de->d_name))
            continue;
        if (read_one(dirfd(d), de->d_name, f) != 0 ||
            total + f->len > CONSOLE_TOTAL_MAX) {
            log_warn("console: %s/%s skipped (unreadable, not a file, or "
                     "over the size limit)", c->console.dir, de->d_name);
            free(f->data);
            f->data = NULL;
            continue;
        }
        total += f->len;
        con.n++;
    }
    closedir(d);
    log_info("console: %zu files (%zu bytes) from %s", con.n, total,
             c->console.dir);
}

static void reply_file(struct gw *gw, struct evhttp_request *req, int status,
                 const char *type, const char *body, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
        evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Error", NULL);
    metrics_add(gw->metrics, "hotline_console_requests_total", "status",
                status == 200 ? "200" : status == 404 ? "404" : "other", 1);
}

int console_handle(struct gw *gw, struct evhttp_request *req,
                   const char *path)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const char *name;

    if (strcmp(path, "/console") == 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
                          "/console/");
        reply_file(gw, req, 301, "text/plain; charset=utf-8", "/console/\n", 10);
        return 1;
    }
    if (strncmp(path, "/console/", 9) != 0)
        return 0;
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        reply_file(gw, req, 405, "text/plain; charset=utf-8", "405 use GET\n", 12);
        return 1;
    }
    if (con.cfg != gw->cfg)
        load(gw->cfg);
    name = path[9] ? path + 9 : "index.html";
    for (size_t i = 0; i < con.n; i++) {
        if (strcmp(con.files[i].name, name) == 0) {
            reply_file(gw, req, 200, con.files[i].type, con.files[i].data,
                 con.files[i].len);
            return 1;
        }
    }
    reply_file(gw, req, 404, "text/plain; charset=utf-8", "404 no such file\n", 17);
    return 1;
}
