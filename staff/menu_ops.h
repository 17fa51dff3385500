/*
 * menu_ops.h — what publishing a menu means, shared by `hotlinectl menu
 * publish|rollback` (ctl/hotlinectl_publish.c, blocking hiredis) and the
 * console's operator API (staff/operator_api.c, the store on the loop), so
 * the two cannot disagree: the same checker on the same channels, the same
 * audit record (who, when, note, checksum) written by the same script.
 * Gateways read what this writes (gateway/menu_pub.h lists the keys).
 *
 * No I/O here: functions judge text and build the argv of one Redis EVAL;
 * the caller sends it on its own connection.
 */
#ifndef HOTLINE_MENU_OPS_H
#define HOTLINE_MENU_OPS_H

#include <stddef.h>

#include "menu.h"

#define MOPS_CHANNEL "menu:published"   /* pub/sub: "NAME N" per publish */
#define MOPS_KEY_MAX 256

/* Funnel events, counted per menu, version, node and language by the STEP
 * script. Drop-offs are visits that never left: dropped = visit - left
 * (sessions still on that node count until they move or expire). */
enum mops_ev { MOPS_EV_VISIT, MOPS_EV_LEFT, MOPS_EV_INVALID, MOPS_EV_BACK,
               MOPS_EV_HOME, MOPS_EV_QUIT, MOPS_EV_COUNT };
extern const char *const mops_ev_names[MOPS_EV_COUNT];

/* "NODE|LANG|EVENT" into out. Returns 0, or -1 when it does not fit. */
int mops_funnel_field(const char *node, const char *lang, int ev, char *out,
                      size_t outsz);
/* The reverse; node and lang hold MENU_NAME_MAX bytes. 0, or -1. */
int mops_funnel_field_parse(const char *f, char *node, char *lang, int *ev);
/* SHA-256 of s[0..n) in hex. */
void mops_sha256_hex(const char *s, size_t n, char out[65]);

/* 1 when name is a menu name a key may carry (letters, digits, _ and -,
 * shorter than MENU_NAME_MAX), else 0. */
int mops_name_ok(const char *name);

/* EVAL: KEYS 1 counter, 2 current, 3 the names set; ARGV 1 version key
 * base ("P menu:NAME:v:"), 2 text, 3 sum, 4 by, 5 note, 6 from, 7 name,
 * 8 the channel, 9 "1" when a text the current version already has is
 * left alone. Stores the next version (at = Redis's clock), makes it
 * current, publishes "NAME N"; returns N, or -C when version C is current
 * and has this text (ARGV 9 "1": nothing written). */
extern const char mops_script_publish[];

#define MOPS_PUB_ARGC 15
#define MOPS_NOTE_MAX 500       /* bytes of a publish note */

/* One publish or rollback as a ready EVAL command: av[0..argc) with
 * lengths al (av[0] "EVAL", av[1] the script, av[2] "3", keys, args). It
 * points into itself and into text, who, note and from, which must outlive
 * the send. */
struct mops_pub {
    int argc;
    const char *av[MOPS_PUB_ARGC];
    size_t al[MOPS_PUB_ARGC];
    char k[3][MOPS_KEY_MAX];
    char base[MOPS_KEY_MAX];
    char chan[MOPS_KEY_MAX];
    char sum[65];               /* the checksum recorded */
};

/*
 * The audit record of a new version of menu `name`: text[0..len) by `who`
 * with `note` ("" or NULL = none), `from` the version a rollback restores
 * ("" for a publish); same = 1 leaves a text the current version has alone
 * (a publish), 0 always stores (a rollback). Fills p. Returns 0, or -1
 * when a key would not fit or name is not a menu name.
 */
int mops_publish_args(struct mops_pub *p, const char *prefix,
                      const char *name, const char *text, size_t len,
                      const char *who, const char *note, const char *from,
                      int same);

/* A channel as the checker judges it: its name, the menu it serves (NULL:
 * every menu, as `menu check` without -c judges them), and how it renders
 * (USSD or SMS, fold, parts). */
struct mops_chan {
    const char *name;
    const char *menu;
    struct menu_render render;
};

/* Judges loaded menu m on every channel of chs[0..n) serving it
 * (menu_check_channel); when none does, a warning (line 0) "no channel in
 * WHERE serves menu NAME". Adds to d; returns the errors added. */
size_t mops_judge(const struct menu *m, const struct mops_chan *chs,
                  size_t n, const char *where, struct menu_diags *d);

/*
 * The checker of `hotlinectl menu check -c` and of every gateway: loads
 * text (labelled `label` in messages) with menu_check, then mops_judge
 * on chs[0..n) (`where` names them in its warning). d collects every
 * message (init'ed by the caller). Returns the menu (caller frees) when
 * there is no error, else NULL.
 */
struct menu *mops_check(const char *text, const char *label,
                        const struct mops_chan *chs, size_t n,
                        const char *where, struct menu_diags *d);

#endif
