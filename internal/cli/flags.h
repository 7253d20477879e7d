/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Long-option parsing in the style of Go's flag packages, which the
 * upstream programs use: `--name value`, `--name=value`, `-name value`,
 * booleans without a value, and `--` to end the options.
 */
#ifndef CFWIN_CLI_FLAGS_H
#define CFWIN_CLI_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum cf_flag_type {
  CF_FLAG_STRING,   /* const char **: points into argv or a config file's text */
  CF_FLAG_INT,      /* long long * */
  CF_FLAG_BOOL,     /* bool * */
  CF_FLAG_DURATION, /* int64_t * nanoseconds, Go syntax: "1m30s", "500ms", "0" */
  CF_FLAG_IGNORED,  /* an upstream flag that cfwin accepts and does not use */
  CF_FLAG_STRINGS,  /* cf_flag_strings *: a repeatable flag; values point into argv */
};

/* The values of a repeatable string flag, in order. */
typedef struct cf_flag_strings {
  const char **values;
  size_t count;
} cf_flag_strings;

void cf_flag_strings_clear(cf_flag_strings *strings);

typedef struct cf_flag {
  const char *name; /* without dashes */
  enum cf_flag_type type;
  void *target;
  bool seen;
} cf_flag;

/* Parses options from argv[start..] into flags; stops at the first argument
 * that is not an option (or after "--"). *next is the index of that
 * argument. Unknown options are errors naming the option. */
int cf_flags_parse(cf_flag *flags, int count, int argc, char **argv, int start, int *next,
                   cf_err **err);

/* Sets one flag from its name and text value, as a config file gives it. */
int cf_flags_set(cf_flag *flags, int count, const char *name, const char *value, cf_err **err);

/* Parses a Go duration ("1h2m3.5s", "250ms", "-1s", "0"). */
int cf_parse_duration(const char *text, int64_t *ns, cf_err **err);

#endif
