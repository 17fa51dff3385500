/*
 * sms_reply.h — sends the reply of an SMS conversation through the channel's
 * provider API (africastalking-sms answers its webhook with an empty body
 * and sends the reply with the messaging API). Asynchronous, on the event
 * loop; the outcome is logged without the number and counted in /metrics.
 */
#ifndef HOTLINE_SMS_REPLY_H
#define HOTLINE_SMS_REPLY_H

struct gw;
struct cfg_channel;

/* Queues one reply to phone. Never blocks; failures are logged/counted. */
void sms_reply_send(struct gw *gw, const struct cfg_channel *ch,
                    const char *phone, const char *text);

#endif
