/*
 * fuzz_dialect — every aggregator dialect's parser (form and JSON decoding
 * included) on arbitrary bodies and query strings, then its renderer on what
 * it parsed. The first byte picks the dialect and the content type; the
 * rest is split at the first NUL-free '\n' into query and body.
 * Invariant: parse answers 0 or a 4xx, and a parsed message renders.
 */
#include "fuzz_common.h"
#include "dialect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct dialect *const *all = dialect_all();
    static const char *const ctypes[] = {
        "application/x-www-form-urlencoded", "application/json",
        "application/x-www-form-urlencoded; charset=utf-8", NULL };
    struct dialect_request rq = { 0 };
    struct inbound *in;
    struct outbound out = { "Hello <&> screen", 0 };
    const struct dialect *d;
    size_t nd = 0;
    char *buf;
    char *nl;
    char reply[8192];
    char err[160];
    const char *ctype;
    int st;

    if (size < 1)
        return 0;
    while (all[nd])
        nd++;
    d = all[data[0] % nd];
    buf = fuzz_str(data + 1, size - 1);
    nl = memchr(buf, '\n', size - 1);
    rq.method = (data[0] & 0x40) ? "GET" : "POST";
    rq.content_type = ctypes[(data[0] >> 4) & 3];
    if (nl) {
        *nl = '\0';
        rq.query = buf;
        rq.body = nl + 1;
        rq.body_len = size - 1 - (size_t)(nl + 1 - buf);
    } else {
        rq.body = buf;
        rq.body_len = size - 1;
    }
    in = calloc(1, sizeof *in);
    if (!in)
        abort();
    st = d->parse(&rq, in, err, sizeof err);
    if (st != 0 && (st < 400 || st > 499))
        abort();
    if (st == 0) {
        out.end = data[0] & 1;
        if (d->render(in, &out, reply, sizeof reply, &ctype) < 0)
            abort();
    }
    free(in);
    free(buf);
    return 0;
}
