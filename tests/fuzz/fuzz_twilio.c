/*
 * fuzz_twilio — the Twilio signature check on arbitrary signatures, URLs
 * and bodies: never a crash, and nothing but a correct signature passes
 * (a random one is refused with 403).
 */
#include "fuzz_common.h"
#include "dialect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct dialect *d = dialect_find("twilio-sms");
    struct dialect_request rq = { 0 };
    struct inbound *in;
    char *buf = fuzz_str(data, size);
    char *sig = buf;
    char *nl = strchr(buf, '\n');
    char err[160];
    int st;

    if (!d)
        abort();
    if (!nl) {
        free(buf);
        return 0;
    }
    *nl = '\0';
    rq.method = "POST";
    rq.content_type = "application/x-www-form-urlencoded";
    rq.body = nl + 1;
    rq.body_len = size - (size_t)(nl + 1 - buf);
    rq.public_url = "https://hotline.example.org/sms/twilio";
    rq.signature = sig;
    rq.secret = "fuzz-token-0123456789";
    in = calloc(1, sizeof *in);
    if (!in)
        abort();
    st = d->parse(&rq, in, err, sizeof err);
    /* A 28-character guess at HMAC-SHA1 succeeding means the check is
     * broken. */
    if (st == 0)
        abort();
    free(in);
    free(buf);
    return 0;
}
