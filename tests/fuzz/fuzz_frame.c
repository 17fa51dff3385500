/*
 * fuzz_frame — the request framer on arbitrary bytes: fed whole and fed
 * one byte at a time it finds the same request ends and the same refusal,
 * never takes more than it was given, and stays refused once it refused.
 */
#include "fuzz_common.h"

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the framer over data; records up to 64 request ends (offsets) and
 * the refusal. Returns how many ends. */
static size_t run(const uint8_t *data, size_t size, size_t step,
                  size_t *ends, const char **why)
{
    struct frame f;
    size_t off = 0, nends = 0;

    frame_init(&f, NULL);
    *why = NULL;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        enum frame_ev ev;
        size_t taken = frame_feed(&f, data + off, n, &ev);

        if (taken > n)
            abort();
        off += taken;
        if (ev == FRAME_BAD) {
            *why = f.why;
            if (!f.why || frame_feed(&f, data, size, &ev) != 0 || ev != FRAME_BAD)
                abort();
            break;
        }
        if (ev == FRAME_DONE) {
            if (frame_phase(&f) != FRAME_IDLE)
                abort();
            if (nends < 64)
                ends[nends] = off;
            nends++;
        } else if (taken != n) {
            abort();
        }
    }
    return nends;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t a[64], b[64];
    const char *wa, *wb;
    size_t na = run(data, size, size ? size : 1, a, &wa);
    size_t nb = run(data, size, 1, b, &wb);
    size_t i;

    if (na != nb || wa != wb)
        abort();
    for (i = 0; i < na && i < 64; i++)
        if (a[i] != b[i])
            abort();
    return 0;
}
