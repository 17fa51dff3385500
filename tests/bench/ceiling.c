/*
 * ceiling.c — the fastest answer any evhttp server can give on this machine:
 * every request gets the same constant USSD screen, with no parsing, no
 * Redis, no menu. `make bench` drives it and hotlined with the same load, in
 * the same run, so "hotline / ceiling" says how much of the machine's HTTP
 * capacity hotline's own work costs.
 *
 *   ceiling HOST PORT
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char screen[] =
    "CON Chon ngon ngu / Choose language / Pilih bahasa\n"
    "1. Tieng Viet\n2. English\n3. Bahasa Indonesia";

static void on_request(struct evhttp_request *req, void *arg)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);

    (void)arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    evbuffer_add(out, screen, sizeof screen - 1);
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void on_term(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    struct event_base *base;
    struct evhttp *http;
    struct event *term;

    if (argc != 3) {
        fprintf(stderr, "usage: ceiling HOST PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    http = base ? evhttp_new(base) : NULL;
    if (!http || evhttp_bind_socket(http, argv[1],
                                    (ev_uint16_t)atoi(argv[2])) != 0) {
        fprintf(stderr, "ceiling: cannot listen on %s:%s\n", argv[1], argv[2]);
        return 1;
    }
    evhttp_set_gencb(http, on_request, NULL);
    term = evsignal_new(base, SIGTERM, on_term, base);
    event_add(term, NULL);
    event_base_dispatch(base);
    event_free(term);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
