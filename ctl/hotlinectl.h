/*
 * hotlinectl.h — command groups of hotlinectl that live in their own file.
 */
#ifndef HOTLINE_HOTLINECTL_H
#define HOTLINE_HOTLINECTL_H

#include <stddef.h>

#include "menu.h"

/* `hotlinectl cases ...` (hotlinectl_cases.c); argv[0] is "cases".
 * Returns the exit status: 0 done, 1 refused or unknown, 2 usage, config or
 * connection error. */
int hotlinectl_cases(int argc, char **argv);
/* `hotlinectl staff ...` (hotlinectl_staff.c): staff accounts; argv[0] is
 * "staff". Same exit statuses. */
int hotlinectl_staff(int argc, char **argv);

/* `hotlinectl menu publish|versions|show|diff|rollback|funnel ...`
 * (hotlinectl_publish.c); argv[0] is the subcommand. Exit status as above. */
int hotlinectl_menu_pub(int argc, char **argv);

struct redisContext;
struct cfg;
/* Reads the whole file at path, at most max bytes (hotlinectl_common.c).
 * Returns it NUL-terminated (the caller frees it) with its length in *len
 * when len is not NULL, or NULL when it cannot be read or is larger. */
char *ctl_read_file(const char *path, size_t max, size_t *len);

/* make run's variables (deploy/local-env.sh): from the file at path, which
 * must be the user's own and not readable by others, HOTLINE_PEPPER,
 * HOTLINE_DEMO_STAFF_TOKEN and HOTLINE_STAFF_TOKEN are set when the
 * environment does not have them already (hotlinectl_common.c). Nothing
 * when the file is absent. */
void ctl_local_env(const char *path);

/* Connects to the Redis of config c (hotlinectl_common.c) with a deadline of
 * timeout_s seconds on connect and on each command, and AUTH when c has a
 * password. Returns the context (the caller redisFree()s it), or NULL after
 * saying why on stderr as "hotlinectl WHO: ...". */
struct redisContext *ctl_redis_connect(const struct cfg *c, const char *who,
                                       int timeout_s);

/* Who may publish (hotlinectl_publish.c, the one place that decides):
 * `as` naming an enabled staff account (staff/accounts.h) with role
 * operator or supervisor and its password (pw_stdin: read from stdin, else
 * asked on the terminal), else a staff token of the config. Writes the
 * name into who; returns 0, or -1 after saying why on stderr. */
int ctl_operator(struct redisContext *rc, const struct cfg *c,
                 const char *as, const char *token, int pw_stdin, char *who,
                 size_t whosz);

/* `hotlinectl alerts list-dead|retry` (hotlinectl_alerts.c): the
 * dead-lettered alerts. Same exit statuses. */
int hotlinectl_alerts(int argc, char **argv);

/* `hotlinectl lists ...` (hotlinectl_lists.c): the lists lookup nodes
 * search. Same exit statuses. */
int hotlinectl_lists(int argc, char **argv);

/* One channel of hotlined.cfg as `menu check -c` judges it. */
struct ctl_channel {
    char name[64];
    char menu[64];                  /* the `name` of the menu it serves */
    struct menu_render render;      /* USSD or SMS, fold, sms_parts */
    int line;                       /* its line in the config file */
};

/* Reads the channels of a hotlined.cfg (hotlinectl_channels.c): only what
 * decides how screens are shown (name, dialect, menu, fold, sms_parts), so
 * no secret or environment variable is needed. Also returns the config's
 * `menus` directory (default "config/menus") in menus_dir. Returns 0 with
 * *out (caller frees) and *n set, or -1 with a FILE:LINE message in err. */
int ctl_channels_read(const char *path, struct ctl_channel **out, size_t *n,
                      char *menus_dir, size_t menus_dir_sz, char *err,
                      size_t errlen);

#endif
