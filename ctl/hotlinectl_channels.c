/*
 * hotlinectl_channels.c — the channels of a hotlined.cfg, as the menu
 * checker needs them.
 *
 * `hotlinectl menu check -c hotlined.cfg` judges every menu on every channel
 * that serves it: a USSD page is 182 GSM-7 or 80 UCS-2 characters, an SMS
 * page sms_parts segments, and folding decides which of the two a
 * Vietnamese screen needs. This file reads just those settings with
 * libconfig, without core/cfg.c: the daemon's loader also resolves secrets
 * from the environment, which an operator checking a menu on a laptop does
 * not have (and should not need).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "hotlinectl.h"

#define CHANNELS_MAX 256

/* Copies string member `name` of g into out; "" when absent. */
static void member(const config_setting_t *g, const char *name, char *out,
                   size_t outsz)
{
    const char *v = NULL;

    out[0] = '\0';
    if (config_setting_lookup_string(g, name, &v) && v)
        snprintf(out, outsz, "%s", v);
}

/* One channel group into ch. Returns 0, or -1 with err set. */
static int channel_one(const char *path, const config_setting_t *g,
                       struct ctl_channel *ch, char *err, size_t errlen)
{
    char dialect[64];
    int fold = 0, parts = 1;

    memset(ch, 0, sizeof *ch);
    ch->line = (int)config_setting_source_line(g);
    member(g, "name", ch->name, sizeof ch->name);
    member(g, "menu", ch->menu, sizeof ch->menu);
    member(g, "dialect", dialect, sizeof dialect);
    if (!ch->name[0] || !ch->menu[0] || !dialect[0]) {
        snprintf(err, errlen, "%s:%d: a channel needs name, dialect and menu",
                 path, ch->line);
        return -1;
    }
    config_setting_lookup_bool(g, "fold", &fold);
    config_setting_lookup_int(g, "sms_parts", &parts);
    ch->render.channel = strstr(dialect, "-sms") ? MENU_CH_SMS : MENU_CH_USSD;
    ch->render.fold = fold != 0;
    ch->render.sms_parts = parts < 1 ? 1 : parts > 10 ? 10 : parts;
    return 0;
}

int ctl_channels_read(const char *path, struct ctl_channel **out, size_t *n,
                      char *menus_dir, size_t menus_dir_sz, char *err,
                      size_t errlen)
{
    config_t cf;
    const config_setting_t *list;
    const char *dir = NULL;
    int count, rc = 0;

    *out = NULL;
    *n = 0;
    config_init(&cf);
    if (config_read_file(&cf, path) != CONFIG_TRUE) {
        snprintf(err, errlen, "%s:%d: %s", path, config_error_line(&cf),
                 config_error_text(&cf) ? config_error_text(&cf)
                                        : "cannot read the file");
        config_destroy(&cf);
        return -1;
    }
    snprintf(menus_dir, menus_dir_sz, "%s",
             config_lookup_string(&cf, "menus", &dir) && dir ? dir
                                                             : "config/menus");
    list = config_lookup(&cf, "channels");
    count = list ? config_setting_length(list) : 0;
    if (count > CHANNELS_MAX)
        count = CHANNELS_MAX;
    if (count > 0)
        *out = calloc((size_t)count, sizeof **out);
    if (count > 0 && !*out) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < count; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);

        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            snprintf(err, errlen, "%s:%d: each channel must be a group", path,
                     (int)config_setting_source_line(g));
            rc = -1;
        } else {
            rc = channel_one(path, g, &(*out)[*n], err, errlen);
            if (rc == 0)
                (*n)++;
        }
    }
    config_destroy(&cf);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
