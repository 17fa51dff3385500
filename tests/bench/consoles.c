/*
 * consoles.c — N staff consoles' live queues, read as cheaply as N laptops
 * elsewhere would: one process, one epoll, no parsing beyond the lines
 * `make bench`'s consoles figure needs (tests/bench/bench.py).
 *
 *   consoles HOST PORT N COOKIE
 *
 * Opens N connections to HOST:PORT, each a `GET /api/events` with the
 * signed-in staff cookie COOKIE ("name=value"), and reads them all with
 * epoll, draining every byte. Per stream it counts the case events
 * (`event: case` lines) and checks their ids (`id: MS-SEQ`, Redis stream
 * ids) only ever grow: a console that missed or repeated one would show it.
 * Prints "ready N" once every stream has its hello (the reply started),
 * then reads until its stdin ends; then reads on until no byte came for
 * 500 ms (5 s at most) and prints one line per stream and a total:
 *
 *   stream I status=200 events=E bytes=B reads=R order_errors=O closed=C
 *   total streams=N events_min=E events_max=E order_errors=O closed=C
 *
 * Exit status 0, or 1 when a stream could not be opened or did not start.
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_STREAMS 1000
#define LINE_MAX_LEN 512
#define READ_BUF (256 * 1024)

struct stream {
    int fd;
    int status;                 /* of the HTTP reply; 0 until read */
    int hello;                  /* the hello event came */
    int closed;                 /* the server closed it */
    unsigned long long last_ms, last_seq;       /* the last case's id */
    unsigned long long id_ms, id_seq;   /* the id line before the event */
    int have_id;
    unsigned long events, reads, order_errors;
    unsigned long long bytes;
    size_t len;
    char line[LINE_MAX_LEN];
};

#define STDIN_TAG 0xffffffffu   /* stdin's epoll tag: the streams are 0..N-1 */

static struct stream *streams;
static int nstreams;
static int stdin_done;          /* stdin ended: the run is over */

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One whole line of stream s, NUL-terminated (no newline; a trailing \r
 * is kept). */
static void on_line(struct stream *s, const char *l, size_t n)
{
    if (!s->status) {
        if (n > 9 && strncmp(l, "HTTP/1.", 7) == 0)
            s->status = atoi(l + 9);
        return;
    }
    if (n > 4 && strncmp(l, "id: ", 4) == 0) {
        s->have_id = sscanf(l + 4, "%llu-%llu", &s->id_ms, &s->id_seq) == 2;
    } else if (n == 11 && strncmp(l, "event: case", 11) == 0) {
        s->events++;
        if (!s->have_id || s->id_ms < s->last_ms ||
            (s->id_ms == s->last_ms && s->id_seq <= s->last_seq))
        {
            if (s->order_errors++ < 3)
                fprintf(stderr, "consoles: stream %d: case %llu-%llu after %llu-%llu%s\n",
                        (int)(s - streams), s->id_ms, s->id_seq, s->last_ms,
                        s->last_seq, s->have_id ? "" : " (no id line)");
        }
        else {
            s->last_ms = s->id_ms;
            s->last_seq = s->id_seq;
        }
        s->have_id = 0;
    } else if (n == 12 && strncmp(l, "event: hello", 12) == 0) {
        s->hello = 1;
    }
}

/* Splits the bytes just read into lines (a line longer than the buffer is
 * cut: no line the figure needs is that long). */
static void on_bytes(struct stream *s, const char *p, size_t n)
{
    s->bytes += n;
    s->reads++;
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;

        if (s->len + take < sizeof s->line) {
            memcpy(s->line + s->len, p, take);
            s->len += take;
        }
        if (!nl)
            return;
        s->line[s->len] = '\0';       /* (len < sizeof line: sscanf) */
        on_line(s, s->line, s->len);
        s->len = 0;
        p = nl + 1;
        n -= take + 1;
    }
}

static int dial(const char *host, const char *port)
{
    struct addrinfo hints = { 0 }, *ai;
    int fd;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return -1;
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
        errno != EINPROGRESS) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int stdin_ended(void)
{
    char c[64];
    ssize_t r = read(0, c, sizeof c);

    return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
}

/* Reads everything waiting on the ready streams, for at most wait_ms.
 * Returns the bytes read. */
static unsigned long long pump(int ep, int wait_ms)
{
    static char buf[READ_BUF];
    struct epoll_event evs[64];
    unsigned long long got = 0;
    int n = epoll_wait(ep, evs, 64, wait_ms);

    for (int i = 0; i < n; i++) {
        struct stream *s;
        ssize_t r;

        if (evs[i].data.u32 == STDIN_TAG) {
            if (stdin_ended()) {
                stdin_done = 1;
                epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
            }
            continue;
        }
        s = &streams[evs[i].data.u32];

        while ((r = read(s->fd, buf, sizeof buf)) > 0) {
            on_bytes(s, buf, (size_t)r);
            got += (unsigned long long)r;
        }
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            s->closed = 1;
            epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
        }
    }
    return got;
}

static int all_started(void)
{
    for (int i = 0; i < nstreams; i++)
        if (!streams[i].hello)
            return 0;
    return 1;
}

static void report(void)
{
    unsigned long lo = (unsigned long)-1, hi = 0, order = 0;
    int closed = 0;

    for (int i = 0; i < nstreams; i++) {
        struct stream *s = &streams[i];

        printf("stream %d status=%d events=%lu bytes=%llu reads=%lu "
               "order_errors=%lu closed=%d\n", i, s->status, s->events,
               s->bytes, s->reads, s->order_errors, s->closed);
        lo = s->events < lo ? s->events : lo;
        hi = s->events > hi ? s->events : hi;
        order += s->order_errors;
        closed += s->closed;
    }
    printf("total streams=%d events_min=%lu events_max=%lu order_errors=%lu "
           "closed=%d\n", nstreams, lo, hi, order, closed);
}

int main(int argc, char **argv)
{
    char req[2048];
    int ep, n;
    long long end, idle;

    if (argc != 5 || (n = atoi(argv[3])) < 1 || n > MAX_STREAMS) {
        fprintf(stderr, "usage: consoles HOST PORT N COOKIE\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    snprintf(req, sizeof req, "GET /api/events HTTP/1.1\r\nHost: %s\r\n"
             "Accept: text/event-stream\r\nCookie: %s\r\n\r\n", argv[1], argv[4]);
    streams = calloc((size_t)n, sizeof *streams);
    ep = epoll_create1(0);
    if (!streams || ep < 0)
        return 1;
    nstreams = n;
    for (int i = 0; i < n; i++) {
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        struct stream *s = &streams[i];
        size_t off = 0, len = strlen(req);

        s->fd = dial(argv[1], argv[2]);
        if (s->fd < 0) {
            fprintf(stderr, "consoles: stream %d: cannot connect\n", i);
            return 1;
        }
        end = now_ms() + 5000;
        while (off < len && now_ms() < end) {  /* connect in progress */
            ssize_t w = write(s->fd, req + off, len - off);

            if (w > 0)
                off += (size_t)w;
            else
                usleep(1000);
        }
        if (off < len || epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
            fprintf(stderr, "consoles: stream %d: cannot send\n", i);
            return 1;
        }
    }
    end = now_ms() + 10000;
    while (!all_started() && now_ms() < end)
        pump(ep, 100);
    if (!all_started()) {
        report();
        fprintf(stderr, "consoles: not every stream started\n");
        return 1;
    }
    printf("ready %d\n", n);
    fflush(stdout);
    {
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = STDIN_TAG };

        if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) != 0)
            return 1;
    }
    while (!stdin_done)
        pump(ep, 1000);
    /* what is still on its way */
    end = now_ms() + 5000;
    idle = now_ms() + 500;
    while (now_ms() < end && now_ms() < idle)
        if (pump(ep, 100))
            idle = now_ms() + 500;
    report();
    return 0;
}
