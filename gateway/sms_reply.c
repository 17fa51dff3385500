/*
 * sms_reply.c — the reply of an SMS conversation through the channel's
 * provider API (see sms_reply.h). Fire and forget: the aggregator's webhook
 * has already been answered, so the outcome is only logged (number masked)
 * and counted in hotline_sms_replies_total{status="ok"|"failed"}. No retry:
 * a conversation reply that arrives minutes late is worse than none.
 */
#include "sms_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "mask.h"
#include "metrics.h"
#include "sms_out.h"

/* Whole HTTP exchange with the provider. */
#define SMS_REPLY_TIMEOUT_MS 10000
#define SMS_REPLY_CHANNEL_MAX 64

/* One reply in flight. It keeps what the log line needs, copied: the
 * channel's config may be replaced by a SIGHUP before the answer. */
struct sms_reply {
    struct gw *gw;
    char channel[SMS_REPLY_CHANNEL_MAX];
    char masked[16];
};

static void count(struct gw *gw, int ok)
{
    metrics_add(gw->metrics, "hotline_sms_replies_total", "status",
                ok ? "ok" : "failed", 1);
}

static void on_sent(enum sms_out_result r, const char *reason, void *arg)
{
    struct sms_reply *sr = arg;

    if (r == SMS_OUT_OK) {
        log_info("channel %s: SMS reply to %s sent (%s)", sr->channel,
                 sr->masked, reason);
    } else {
        log_warn("channel %s: SMS reply to %s not sent, %s failure: %s",
                 sr->channel, sr->masked, sms_out_result_str(r), reason);
    }
    count(sr->gw, r == SMS_OUT_OK);
    free(sr);
}

void sms_reply_send(struct gw *gw, const struct cfg_channel *ch,
                    const char *phone, const char *text)
{
    struct sms_reply *sr;
    char masked[16];

    if (!text || !text[0])
        return;
    mask_phone(phone ? phone : "", masked, sizeof masked);
    sr = calloc(1, sizeof *sr);
    if (!sr) {
        log_error("channel %s: SMS reply to %s: out of memory", ch->name,
                  masked);
        count(gw, 0);
        return;
    }
    sr->gw = gw;
    snprintf(sr->channel, sizeof sr->channel, "%s", ch->name);
    memcpy(sr->masked, masked, sizeof masked);
    if (!phone ||
        sms_out_send(gw->hc, &ch->reply, phone, text, SMS_REPLY_TIMEOUT_MS,
                     on_sent, sr) != 0) {
        log_error("channel %s: SMS reply to %s not sent: provider \"%s\" "
                  "not usable (base_url and credentials set?)", ch->name,
                  masked, ch->reply.provider ? ch->reply.provider : "");
        count(gw, 0);
        free(sr);
    }
}
