/*
 * menu_int.h — what the engine's own files share and nothing else sees:
 * the one function that lays out a node's screen (menu_render.c), used by
 * the walk (menu_step.c, menu_replay.c) and the checker's fit report
 * (menu_check.c via menu_fit_node). Not installed, not used by gateway/.
 */
#ifndef HOTLINE_MENU_INT_H
#define HOTLINE_MENU_INT_H

#include "menu.h"

/* What to lay out. */
struct menu_layout {
    const struct menu *m;
    int node;                       /* index into m->nodes */
    int lang;                       /* index into m->langs */
    const struct menu_render *r;    /* channel, fold, sms_parts */
    const struct menu_state *st;    /* variables for {name}; NULL = none */
    const char *ref;                /* {ref}; NULL = "" */
    int invalid;                    /* 1: head page 0 with strings.invalid */
    int page;                       /* page wanted (clamped to the last) */
    const char *(*ref_get)(void *arg); /* {ref} when ref is NULL (menu_ctx) */
    void *ref_arg;
};

/*
 * Lays out the screen of one node and writes page `page` into out.
 *
 * A screen is, in order: the `invalid` line (page 0 only, when asked), the
 * node's text with {name} substituted, one "KEY. LABEL" line per option
 * (menu nodes), then — on every screen but the start node's and but end /
 * forward nodes — the nav lines "BACK. strings.back" and
 * "HOME. strings.home" (each only when that nav key is configured). Lines
 * are joined with '\n', no trailing newline.
 *
 * When the whole screen does not fit one page (menu_page_limit for the
 * encoding the folded text needs) it is split: every page but the last ends
 * with "MORE. strings.more"; nav lines are repeated on every page; an option
 * line is never split; a text longer than a page is cut at spaces (or, for
 * a single word longer than a page, at a character boundary).
 * With r->fold the text is folded (menu_fold) before it is measured.
 *
 * Returns 0, MENU_EINVAL for a bad node/lang, or MENU_ENOSPC when some line
 * (an option, or nav lines plus the more line) cannot fit a page at all;
 * out->pages is then -1. out->page is the page written, out->pages the
 * page count, out->measure the measure of out->text.
 */
int menu_layout_screen(const struct menu_layout *q, struct menu_screen *out);

/* 1 when text s (NULL: 0) holds a well-formed {name} ({ref} included): a
 * screen with one depends on the session (menu_render.c). */
int menu_text_has_var(const char *s);

/* The pre-rendered page `page` (clamped to the last) of node's screen in
 * lang on render mode r, headed by the invalid line when invalid, copied
 * into out (text, page, pages, measure). -1 when not kept — no
 * menu_prerender for r, or a screen with a {name} —: render on demand
 * (menu_prerender.c). */
int menu_pre_screen(const struct menu *m, const struct menu_render *r,
                    int node, int lang, int invalid, int page,
                    struct menu_screen *out);
/* Frees what menu_prerender kept (menu_free calls it). */
void menu_pre_free(struct menu *m);

/* Lays out a plain text (strings.quit, an end text with no node) as one
 * screen, folded and paginated like a node's text, page 0. */
int menu_layout_text(const char *text, const struct menu_render *r,
                     struct menu_screen *out);

/*
 * Added for the walk (menu_step.c), shared with menu_replay.c, which
 * replays many inputs (and tries some ahead) without rendering each one.
 *
 * menu_walk_apply applies one input of `len` bytes (not NUL-terminated; any
 * length: what cannot be valid is refused) to st, in place, without
 * rendering. *invalid = 1 when the input was refused; *action = the step's
 * action. Returns 0, MENU_EENDED when st->ended (st unchanged), or
 * MENU_EINVAL when c or st does not fit the menu.
 *
 * menu_walk_show renders st's current screen into r like menu_show, headed
 * by strings.invalid when `invalid` (r->invalid is left to the caller).
 */
int menu_walk_apply(const struct menu_ctx *c, struct menu_state *st,
                    const char *input, size_t len, int *invalid,
                    enum menu_action *action);
int menu_walk_show(const struct menu_ctx *c, const struct menu_state *st,
                   int invalid, struct menu_result *r);
/* menu_walk_apply that also writes, on a LOOKUP action, what to look up
 * into *lookup (when not NULL). */
int menu_walk_apply_lk(const struct menu_ctx *c, struct menu_state *st,
                       const char *input, size_t len, int *invalid,
                       enum menu_action *action, struct menu_lookup *lookup);
/* menu_lookup_result without rendering (the replay resolves a lookup that
 * is not its last input as MENU_OUT_ERROR: it cannot ask Redis). */
int menu_lookup_apply(const struct menu_ctx *c, struct menu_state *st,
                      enum menu_outcome outcome,
                      const struct menu_lookup_field *fields, size_t nfields,
                      enum menu_action *action);

/*
 * The form an answer to input node nd is stored in: in[0..n) checked
 * against nd's accept, min and max (phone numbers normalized first, with
 * nd's or the menu's country; see menu_phone_normalize); the answer must be
 * non-empty valid UTF-8 without control characters. Writes it
 * NUL-terminated into out (outsz >= MENU_VAR_VALUE_MAX). Returns its length,
 * or MENU_EINVAL when the input refuses it. Used by the walk and by the
 * checker (a match value the input could never accept).
 */
int menu_answer_form(const struct menu *m, const struct menu_node *nd,
                     const char *in, size_t n, char *out, size_t outsz);

/*
 * The resume question (menu_resume.c), for menu_step.c: on a state with
 * offer set, menu_offer_apply takes the caller's answer (in[0..n), blanks
 * trimmed) — continue, start again, nav.quit, or *invalid = 1 — and
 * menu_offer_show lays out strings.resume (headed by strings.invalid when
 * `invalid`) into r.
 */
int menu_offer_apply(const struct menu_ctx *c, struct menu_state *st,
                     const char *in, size_t n, int *invalid,
                     enum menu_action *action);
int menu_offer_show(const struct menu_ctx *c, const struct menu_state *st,
                    int invalid, struct menu_result *r);

#endif
