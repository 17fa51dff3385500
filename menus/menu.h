/*
 * menu.h — the menu engine: the pure core of hotline.
 *
 * A menu is a tree of screens an operator wrote in a libconfig file (see
 * docs/menus.md and ../shared/MENU-FORMAT.md). This library loads and checks
 * such a file, walks one step of a caller's session, renders and paginates
 * the screen for a channel (USSD or SMS, GSM-7 or UCS-2, diacritics folded or
 * not), replays an Africa's Talking '*'-joined history, and encodes the walk
 * state into a small string the gateway keeps in Redis.
 *
 * Everything here is pure: bytes and structs in, structs out. No sockets,
 * clocks, environment, logging or exit(). Only menu_load.c includes
 * libconfig. Functions return 0 (or a length) on success and a negative
 * MENU_E* code on failure; detail goes into a buffer the caller passed.
 */
#ifndef HOTLINE_MENU_H
#define HOTLINE_MENU_H

#include <stddef.h>

/* ---- limits (every input is bounded) ---------------------------------- */
#define MENU_MAX_LANGS 8          /* languages a menu may list */
#define MENU_NAME_MAX 48          /* node, variable, language, key bytes + NUL */
#define MENU_SCREEN_MAX 2048      /* one rendered page, bytes + NUL */
#define MENU_INPUT_MAX 512        /* bytes of one caller input */
#define MENU_HISTORY_MAX 4096     /* bytes of an AT '*'-joined history */
#define MENU_STACK_MAX 24         /* depth of the back stack */
#define MENU_VARS_MAX 12          /* session variables */
#define MENU_VAR_VALUE_MAX 241    /* bytes of one variable value + NUL */
#define MENU_STATE_ENC_MAX 2048   /* bytes of an encoded state + NUL */
#ifndef MENU_FILE_MAX             /* (lifted only by the bench's timing tool) */
#define MENU_FILE_MAX (1 << 20)   /* bytes of one menu file */
#endif

/* ---- error codes ------------------------------------------------------ */
#define MENU_OK 0
#define MENU_EINVAL (-1)   /* malformed argument or input */
#define MENU_ENOSPC (-2)   /* output buffer or a fixed limit too small */
#define MENU_ENOENT (-3)   /* a named node, language or variable is unknown */
#define MENU_EENDED (-4)   /* the session already ended */
#define MENU_ENOMEM (-5)   /* allocation failed */

/* ---- text: measure, fold, UTF-8 (menu_text.c) ------------------------- */
enum menu_enc { MENU_GSM7 = 0, MENU_UCS2 = 1 };

struct menu_measure {
    enum menu_enc enc;  /* GSM7 when every character is in GSM 03.38 */
    size_t units;       /* GSM7: septets (extension chars count 2);
                           UCS2: UTF-16 code units */
    size_t chars;       /* Unicode code points */
};

/* Measures UTF-8 text s (NUL-terminated). Invalid UTF-8 measures as UCS2. */
void menu_measure(const char *s, struct menu_measure *out);

/* Returns 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int menu_utf8_valid(const char *s, size_t len);

/* Code points in NUL-terminated valid UTF-8 s. */
size_t menu_utf8_chars(const char *s);

/* Folds diacritics: every Vietnamese accented vowel and đ/Đ, and the common
 * Latin-1/Latin Extended-A letters, to their base ASCII letter; other text is
 * copied. Writes a NUL-terminated result into out. Returns its length, or
 * MENU_ENOSPC if out is too small (out then holds a truncated, valid string). */
int menu_fold(const char *in, char *out, size_t outsz);

/* SMS segments needed for a text of this measure (1 for empty text):
 * GSM7 160 single / 153 per part, UCS2 70 / 67. */
size_t menu_sms_segments(const struct menu_measure *m);

/* ---- the menu tree (built by menu_load.c, read-only afterwards) --------- */
enum menu_node_type { MENU_NODE_MENU, MENU_NODE_INPUT, MENU_NODE_END,
                      MENU_NODE_FORWARD, MENU_NODE_LOOKUP };

/* Outcomes of a `lookup` node (menu_lookup.c), in the order its settings
 * are named: found, reported, unknown, near, error. */
enum menu_outcome { MENU_OUT_FOUND = 0, MENU_OUT_REPORTED, MENU_OUT_UNKNOWN,
                    MENU_OUT_NEAR, MENU_OUT_ERROR, MENU_OUT_COUNT };
#define MENU_LOOKUP_LISTS_MAX 4   /* lists one lookup node may name */
enum menu_accept { MENU_ACCEPT_TEXT, MENU_ACCEPT_DIGITS, MENU_ACCEPT_PHONE };

/* A text: one string for all languages, or one per language. */
struct menu_text {
    char *all;                      /* NULL unless given as one string */
    char *lang[MENU_MAX_LANGS];     /* index = menu->langs index; NULL = missing */
    int line;                       /* libconfig line, 0 = absent */
};

struct menu_set {                   /* one `set = { name = "value"; }` entry */
    char *name;
    char *value;
};

struct menu_option {
    char *key;
    struct menu_text label;
    int language;                   /* index into menu->langs, -1 = none */
    struct menu_set *set;
    size_t nset;
    char *next;                     /* node name as written */
    int next_idx;                   /* resolved by the checker, -1 = none */
    int hidden;                     /* 1: accepted but never listed */
    int line;
};

/* One `match = ( { value = "4321"; next = "help"; } )` entry of an input
 * node: an answer equal to value (after the accept check) goes to next. */
struct menu_match {
    char *value;
    char *next;
    int next_idx;                   /* resolved by the checker, -1 = none */
    int save;                       /* save_match = true: save it anyway */
    int line;
};

struct menu_node {
    char *name;
    enum menu_node_type type;
    struct menu_text text;
    /* menu */
    struct menu_option *opts;
    size_t nopts;
    /* input */
    char *save;
    enum menu_accept accept;
    int min, max;                   /* characters; max 0 = MENU_VAR_VALUE_MAX-1 */
    struct menu_match *match;       /* answers that branch elsewhere */
    size_t nmatch;
    char *country;                  /* phone: calling code for a national
                                       0, NULL = the menu's */
    /* input (and forward: unused) */
    char *next;
    int next_idx;
    /* forward */
    char *queue;
    char **fields;
    size_t nfields;
    /* lookup: lists searched in order; the node each outcome leads to
     * (NULL = near and error lead where unknown does) */
    char *lists[MENU_LOOKUP_LISTS_MAX];
    size_t nlists;
    char *on[MENU_OUT_COUNT];
    int on_idx[MENU_OUT_COUNT];     /* resolved by the checker (fallbacks
                                       applied), -1 = none */
    int line;
};

struct menu_nav {
    char *back, *home, *more, *quit; /* NULL = not configured */
};

struct menu_strings {
    struct menu_text back, home, more, invalid, quit;
    struct menu_text resume;        /* the resume question ("1. Continue
                                       where you were\n2. Start again") */
};

struct menu {
    char *file;                     /* path as given to the loader */
    char *name;
    char *title;
    char *langs[MENU_MAX_LANGS];
    size_t nlangs;                  /* langs[0] is the default */
    char *start;
    int start_idx;
    char *home;                     /* node nav.home returns to, NULL = start */
    int home_idx;                   /* resolved by the checker */
    char *country;                  /* phone inputs: calling code ("84"),
                                       NULL = none */
    char **keywords;
    size_t nkeywords;
    struct menu_nav nav;
    struct menu_strings strings;
    int sms_resume_s;               /* SMS: idle seconds a walk resumes after */
    int resume_s;                   /* USSD: seconds a dropped walk may be
                                       resumed (MENU_RESUME_S; 0 = off) */
    struct menu_node *nodes;
    size_t nnodes;
    void *priv;                     /* engine-private data (render cache) */
};

/* ---- diagnostics (menu_diag.c) ----------------------------------------- */
enum menu_severity { MENU_SEV_ERROR, MENU_SEV_WARNING };

struct menu_diag {
    enum menu_severity sev;
    int line;                       /* 0 = no line */
    char node[MENU_NAME_MAX];       /* "" = not about one node */
    char msg[256];
};

struct menu_diags {
    struct menu_diag *v;
    size_t n, cap;
    size_t errors, warnings;
};

void menu_diags_init(struct menu_diags *d);
void menu_diags_free(struct menu_diags *d);  /* accepts NULL */
/* Appends one diagnostic (printf-style message). Never fails visibly: on
 * allocation failure the diagnostic is counted but not stored. */
void menu_diag_add(struct menu_diags *d, enum menu_severity sev, int line,
                   const char *node, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Formats one diagnostic as the checker prints it:
 *   FILE:LINE: node NAME: message            (errors)
 *   FILE:LINE: node NAME: warning: message   (warnings)
 * "node NAME: " is left out when the diagnostic is not about one node.
 * Returns the length written (truncated to outsz-1). */
int menu_diag_format(const char *file, const struct menu_diag *dg, char *out,
                     size_t outsz);

/* ---- load and check (menu_load.c, menu_check.c) ------------------------ */
/* Parses a menu file, then runs menu_check(). On success (*out set, return 0)
 * d may still hold warnings. On any error returns MENU_EINVAL, *out is NULL,
 * and d holds every error found (syntax errors carry libconfig's line).
 * The caller owns *out (menu_free) and d (menu_diags_free). */
int menu_load_file(const char *path, struct menu **out, struct menu_diags *d);
/* The same from memory; `file` names the text in diagnostics. */
int menu_load_string(const char *text, const char *file, struct menu **out,
                     struct menu_diags *d);
void menu_free(struct menu *m);  /* accepts NULL */

/* Every semantic check of MENU-FORMAT.md (dangling next, duplicate keys,
 * nav collisions, forward fields never saved, screen fit, reachability ...).
 * Resolves next_idx/start_idx. Returns the number of errors added. */
int menu_check(struct menu *m, struct menu_diags *d);

/* Index of language code in m->langs, or -1. */
int menu_lang_index(const struct menu *m, const char *code);

/* `sms_resume_s` (default MENU_SMS_RESUME_S; 0 = no limit): whether an SMS
 * walk left idle for idle_s seconds (measured by the caller, -1 = unknown)
 * still takes digits and navigation keys. 1 = resumes, 0 = only a keyword
 * starts again. Pure: the time comes from the gateway. */
#define MENU_SMS_RESUME_S 300
int menu_sms_resumes(const struct menu *m, long long idle_s);
/* Index of node name, or -1. */
int menu_node_index(const struct menu *m, const char *name);
/* The text for a language, with fallback to the default language; "" if none. */
const char *menu_text_get(const struct menu *m, const struct menu_text *t,
                          int lang);

/* ---- rendering (menu_render.c) ----------------------------------------- */
enum menu_channel { MENU_CH_USSD = 0, MENU_CH_SMS = 1 };

struct menu_render {
    enum menu_channel channel;
    int fold;          /* 1: fold diacritics before measuring and sending */
    int sms_parts;     /* SMS: segments one page may use (0 or 1 = single) */
};

/* Units one page may hold on this channel in this encoding:
 * USSD 182 GSM7 / 80 UCS2; SMS 160/70 single, 153*n/67*n for n parts. */
size_t menu_page_limit(const struct menu_render *r, enum menu_enc enc);

struct menu_screen {
    char text[MENU_SCREEN_MAX];     /* the page as sent (folded if asked) */
    int page;                       /* 0-based page shown */
    int pages;                      /* pages this screen needs */
    struct menu_measure measure;    /* of text */
};

/*
 * Renders every screen of m that does not depend on the session (no
 * {name}, no {ref}) once for render mode r: each node × language × with
 * and without the invalid line × page, folded, measured and paginated as
 * on demand. menu_show, menu_step and the replay then copy those bytes;
 * screens with a {name} are still rendered per request. Call it once per
 * mode a channel serves m with, when m is loaded (again for the same mode
 * does nothing; beyond 8 modes screens are rendered on demand). Not
 * thread-safe against a walk on m in progress. Returns 0, MENU_EINVAL or
 * MENU_ENOMEM (m still works: on demand). (menu_prerender.c)
 */
int menu_prerender(struct menu *m, const struct menu_render *r);
/* Pages kept by menu_prerender, every mode (0 = none). */
size_t menu_prerendered(const struct menu *m);

/* Summary of one node's screen in one language on one channel, for the
 * checker's fit report and `hotlinectl menu check --screens`. */
struct menu_fit {
    int pages;                      /* -1 = cannot be paginated to fit */
    enum menu_enc enc;              /* encoding of the widest page */
    size_t units;                   /* units of the widest page */
    size_t limit;                   /* page limit for that encoding */
};
int menu_fit_node(const struct menu *m, int node, int lang,
                  const struct menu_render *r, struct menu_fit *out);

/*
 * Judges every screen of m on one channel (named `channel` in messages):
 * an error for a screen that cannot be paginated there; with nav.more
 * missing, an error for any screen that needs a second page (callers could
 * never reach it); a warning for each final screen (end, forward) and
 * language that needs more than one page there (the caller must press
 * nav.more before the session ends). Returns the number of errors added.
 * menu_check already judges a folding USSD channel; the checker CLI calls
 * this for every channel a menu is served on.
 */
/* (menu_check.c) */
int menu_check_channel(const struct menu *m, const char *channel,
                       const struct menu_render *r, struct menu_diags *d);

/* ---- the walk (menu_step.c) -------------------------------------------- */
struct menu_var {
    char name[MENU_NAME_MAX];
    char value[MENU_VAR_VALUE_MAX];
};

struct menu_frame { short node; short page; };

/* One caller's place in a menu. Plain data: copy it freely. */
struct menu_state {
    int node;                       /* index into menu->nodes */
    int page;                       /* page of that node's screen */
    int lang;                       /* index into menu->langs */
    int ended;                      /* 1 after an end/forward/quit screen */
    int offer;                      /* 1 while strings.resume is shown over
                                       this (dropped) walk: "1" continues
                                       it, "2" starts again */
    int depth;
    struct menu_frame stack[MENU_STACK_MAX]; /* screens `back` returns to */
    int nvars;
    struct menu_var vars[MENU_VARS_MAX];
};

enum menu_action { MENU_ACT_NONE = 0, MENU_ACT_FORWARD, MENU_ACT_QUIT,
                   MENU_ACT_LOOKUP };

/* ---- lookups (menu_lookup.c) -------------------------------------------- */
#define MENU_LOOKUP_KEY_MAX 96    /* bytes of one normalised key + NUL */
#define MENU_LOOKUP_NEAR_MAX 48   /* near keys of one key */
#define MENU_LOOKUP_NEAR_LEN 40   /* keys longer than this get no near keys */

enum menu_lookup_kind { MENU_LK_NAME = 0, MENU_LK_PHONE, MENU_LK_WEB,
                        MENU_LK_HANDLE };

/* What a lookup asks for: the exact key and the near keys ("did you mean"
 * candidates), every one looked up directly (no scan, no pattern). */
struct menu_lookup {
    enum menu_lookup_kind kind;
    char key[MENU_LOOKUP_KEY_MAX];                 /* "id:abc", "tel:+84..." */
    size_t nnear;
    char near[MENU_LOOKUP_NEAR_MAX][MENU_LOOKUP_KEY_MAX]; /* "~..." */
    size_t nlists;
    const char *lists[MENU_LOOKUP_LISTS_MAX];      /* the node's lists */
};

/*
 * Normalises what a caller typed (in[0..n), UTF-8) into a lookup key, by
 * the rules of docs/menus.md "Lookups":
 *   "@name"                      -> "at:name" (a chat handle, lower case)
 *   a web address (scheme, www., or a dotted host without spaces)
 *                                -> "web:HOST" (lower case, no www., port,
 *                                   user or path; for chat and social hosts
 *                                   such as t.me or facebook.com,
 *                                   "web:HOST/FIRST-PATH-PART")
 *   only digits, + ( ) - . and spaces, 7 digits or more
 *                                -> "tel:+E164" (country for a national 0)
 *   anything else (a company name or a licence number)
 *                                -> "id:" + its words: accents folded,
 *                                   lower case, every character that is not
 *                                   a letter or digit a word break, legal-form
 *                                   words (cong ty, tnhh, jsc, pt, ltd ...)
 *                                   dropped, the rest joined without spaces.
 * Writes out->kind and out->key, and out->near (menu_lookup_near). Returns
 * the key's length, MENU_EINVAL when nothing is left to look up (empty,
 * only legal-form words, invalid UTF-8, control characters).
 */
int menu_lookup_keys(const char *in, size_t n, const char *country,
                     struct menu_lookup *out);

/*
 * The near keys of a name key ("id:..."; other kinds have none): "~" + the
 * key itself, "~" + each form with one character deleted (when the key has
 * 6 to MENU_LOOKUP_NEAR_LEN characters after "id:"), and "~#" + its digits
 * (when it has 3 or more). An entry and a typed key one edit apart (one
 * character added, dropped or changed) share a near key, and so do two
 * licences with the same number written differently. A near key never
 * answers "found": it is a "did you mean" for the caller to confirm.
 * Returns how many were written into out->near.
 */
size_t menu_lookup_near(struct menu_lookup *out);

/* "found", "reported", ... (metrics, logs); "?" for anything else. */
const char *menu_outcome_name(enum menu_outcome o);

struct menu_result {
    struct menu_screen screen;
    int end;                        /* 1: the session ends with this screen */
    int invalid;                    /* 1: the input was refused */
    enum menu_action action;        /* at most one per step */
    const struct menu_node *node;   /* node shown (the forward node on FORWARD) */
    struct menu_lookup lookup;      /* on LOOKUP: what to look up */
};

struct menu_ctx {
    const struct menu *menu;
    struct menu_render render;
    const char *ref;                /* replaces {ref}; NULL: ref_get's */
    /* When ref is NULL: asked for {ref} only when a screen shows it (so a
     * caller may derive it lazily); NULL, or a NULL answer, shows "". */
    const char *(*ref_get)(void *arg);
    void *ref_arg;
};

/* Starts a session: state at `start` in the default language, result = its
 * first screen. */
int menu_begin(const struct menu_ctx *c, struct menu_state *st,
               struct menu_result *r);
/* One step: input (NUL-terminated UTF-8, <= MENU_INPUT_MAX) applied to st,
 * which is updated in place; r is the next screen and at most one action.
 * Returns MENU_EENDED if st->ended, MENU_EINVAL on a state that does not fit
 * the menu. A refused input is not an error: r->invalid = 1. */
int menu_step(const struct menu_ctx *c, struct menu_state *st,
              const char *input, struct menu_result *r);
/* Renders the current screen of st again (no change). */
int menu_show(const struct menu_ctx *c, const struct menu_state *st,
              struct menu_result *r);

/* What the gateway found for a lookup (menu_lookup_result). */
struct menu_lookup_field {
    const char *name;               /* a variable name: company, licence... */
    const char *value;
};

/*
 * Finishes a lookup step: st is at the lookup node menu_step left it on
 * (r->action was MENU_ACT_LOOKUP). Clears the variables company, licence,
 * reports, since and list (what an earlier lookup set), sets every field
 * given as a variable (the gateway passes the matched row's columns and
 * list, reports, since; a field named `query`, or whose name or value
 * cannot be stored, or that finds no free variable, is skipped), then
 * moves to the node of `outcome` (near and error fall back to unknown's
 * node) and renders it into r (r->action is FORWARD when that node is a
 * forward node). Returns 0, or MENU_EINVAL when st is not waiting at a
 * lookup node (or has ended).
 */
int menu_lookup_result(const struct menu_ctx *c, struct menu_state *st,
                       enum menu_outcome outcome,
                       const struct menu_lookup_field *fields, size_t nfields,
                       struct menu_result *r);


/*
 * A phone number as people type it (in[0..n)), in E.164 when it can be:
 * spaces, dashes, dots, parentheses and a "(0)" after the country code are
 * dropped; a leading 00 becomes +; a national number starting with 0
 * becomes +COUNTRY without the 0 when country ("84") is given, else it is
 * kept as its digits. Anything else (letters, a + not first, no digits, an
 * E.164 number of more than 15 digits or with a country code starting with
 * 0) is refused. Writes the NUL-terminated result into out; returns its
 * length, MENU_EINVAL when refused, MENU_ENOSPC when out is too small.
 */
int menu_phone_normalize(const char *in, size_t n, const char *country,
                         char *out, size_t outsz);

/* ---- resuming a dropped walk (menu_resume.c) -------------------------- */
/* `resume_s` (top level; default MENU_RESUME_S, 0 = off, at most 86400):
 * how long after its last step a USSD walk cut before an end may be
 * resumed. The gateway keeps the place and measures the time. */
#define MENU_RESUME_S 300
/* The keys of the resume question: continue, start again. */
#define MENU_RESUME_KEY_CONTINUE "1"
#define MENU_RESUME_KEY_RESTART "2"

/* 1 when a walk in state st is worth offering back after a drop: live (not
 * ended, not at the question), and past its start (another node, or
 * answers given). 0 otherwise. */
int menu_resume_worth(const struct menu *m, const struct menu_state *st);
/* The first screen of a new session whose number dropped the walk `saved`:
 * st = saved with offer set, r = strings.resume in saved's language. On
 * that state, MENU_RESUME_KEY_CONTINUE gives saved back (its screen),
 * MENU_RESUME_KEY_RESTART starts at `start` as menu_begin does, nav.quit
 * is the duress exit, anything else the question again headed by
 * strings.invalid. Returns MENU_ENOENT when the menu has no
 * strings.resume, MENU_EINVAL when saved is not worth resuming or does not
 * fit the menu (st and r are then those of menu_begin). */
int menu_resume_offer(const struct menu_ctx *c,
                      const struct menu_state *saved, struct menu_state *st,
                      struct menu_result *r);

/* Value of a session variable, or NULL. */
const char *menu_state_get(const struct menu_state *st, const char *name);

/* ---- history replay (menu_replay.c) ------------------------------------ */
/* Rebuilds a session from an Africa's Talking history ("" on the first
 * request, then "1", "1*2", "1*2*Hanoi"; a pre-dialled "*384*123*1#" arrives
 * as "1"). Starts at `start` and applies each input; r is the screen for the
 * last one, and r->action is the action of the last step only (so the same
 * history gives the same screen and reports an earlier action never again).
 * Inputs are split on '*'; an `input` node that is not the last step takes a
 * single field. */
int menu_replay(const struct menu_ctx *c, const char *history,
                struct menu_state *st, struct menu_result *r);

/* The same from `base` instead of `start`: the history of a session whose
 * first screen was not start's (a resumed walk's, which begins on the
 * resume question). base must be a live state of the menu. */
int menu_replay_from(const struct menu_ctx *c, const struct menu_state *base,
                     const char *history, struct menu_state *st,
                     struct menu_result *r);

/* With the history of the previous request known, the new input is what
 * follows "prev*" in history (so free text containing '*' stays whole).
 * Returns a pointer into history, or NULL when history does not extend prev
 * (a retry: history == prev, or a different session). */
const char *menu_history_next(const char *history, const char *prev);

/* ---- state encoding (menu_state.c) ------------------------------------- */
/* Encodes st as a short versioned string (names, not indices, so it survives
 * a menu reload). Returns the length (without NUL) or MENU_ENOSPC. */
int menu_state_encode(const struct menu *m, const struct menu_state *st,
                      char *out, size_t outsz);
/* Decodes what menu_state_encode wrote. Rejects anything malformed,
 * oversized, of another version, or naming a node/language the menu lacks:
 * returns MENU_EINVAL / MENU_ENOENT and leaves st zeroed. */
int menu_state_decode(const struct menu *m, const char *in, size_t len,
                      struct menu_state *st);

/* ---- diff of two versions (menu_diff.c) --------------------------------- */
/*
 * What an operator needs to know before publishing b over a (or rolling
 * back): one line per difference, in node order of a then of b:
 *   languages: en vi -> en vi th        (and start, home, nav, strings.*)
 *   + node NAME (TYPE)                  a node only b has
 *   - node NAME (TYPE)                  a node only a has
 *   ~ node NAME: type menu -> input
 *   ~ node NAME: text [LANG]: "old" -> "new"   (newlines shown as \n)
 *   ~ node NAME: option KEY: label [LANG]: "old" -> "new"
 *   ~ node NAME: option KEY: next a -> b
 *   ~ node NAME: + option KEY "LABEL" -> NEXT  /  - option KEY
 *   ~ node NAME: next a -> b  (and save, accept, queue, fields)
 * Texts compare as each language's caller sees them (menu_text_get, with
 * the default language's fallback), in every language both menus offer (a
 * language added or dropped is the `languages:` line).
 * Writes NUL-terminated lines into out. Returns the number of differences
 * (0 = the same screens and walks), or MENU_ENOSPC when out is too small
 * (out then holds the lines that fit).
 */
int menu_diff(const struct menu *a, const struct menu *b, char *out,
              size_t outsz);

#endif
