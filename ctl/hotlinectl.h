/*
 * hotlinectl.h — command groups of hotlinectl that live in their own file.
 */
#ifndef HOTLINE_HOTLINECTL_H
#define HOTLINE_HOTLINECTL_H

/* `hotlinectl cases ...` (hotlinectl_cases.c); argv[0] is "cases".
 * Returns the exit status: 0 done, 1 refused or unknown, 2 usage, config or
 * connection error. */
int hotlinectl_cases(int argc, char **argv);

#endif
