/*
 * lookup.h — the Redis side of a `lookup` node (docs/menus.md "Lookups"):
 * one EVALSHA that reads the operators' lists and the reports staff tagged
 * on cases, and hands the outcome back to the walk.
 */
#ifndef HOTLINE_LOOKUP_H
#define HOTLINE_LOOKUP_H

#include "menu.h"

struct gw;

/* The LOOKUP script's text (loaded with the others: gw_scripts). */
extern const char lookup_script[];

/* What a lookup found. fields point into storage that lives until the
 * callback returns. */
typedef void (*lookup_cb)(enum menu_outcome outcome,
                          const struct menu_lookup_field *fields,
                          size_t nfields, void *arg);

/*
 * Looks lk up (lists in lk's order, then the near keys, and the reports
 * on lk->key) in one round trip and calls cb once, with MENU_OUT_ERROR
 * when Redis is not there or answers wrong (at once, before returning, if
 * it could not be asked). Counts hotline_lookups_total{outcome} and, on a
 * match, hotline_lookup_matches_total{list}.
 */
void lookup_run(struct gw *gw, const char *prefix, const struct menu_lookup *lk,
                lookup_cb cb, void *arg);

#endif
