/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static cf_flag *find_flag(cf_flag *flags, int count, const char *name, size_t len)
{
  for (int i = 0; i < count; i++) {
    if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0) {
      return &flags[i];
    }
  }
  return NULL;
}

static int parse_int(const char *name, const char *text, long long *out, cf_err **err)
{
  char *end = NULL;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') {
    return cf_err_set(err, CF_E_INVALID, "invalid value \"%s\" for --%s: expected an integer", text,
                      name);
  }
  *out = value;
  return 0;
}

static int parse_bool(const char *name, const char *text, bool *out, cf_err **err)
{
  if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
    *out = true;
    return 0;
  }
  if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) {
    *out = false;
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID, "invalid value \"%s\" for --%s: expected true or false",
                    text, name);
}

static int assign(cf_flag *flag, const char *value, cf_err **err)
{
  flag->seen = true;
  switch (flag->type) {
  case CF_FLAG_STRING:
    *(const char **)flag->target = value;
    return 0;
  case CF_FLAG_INT:
    return parse_int(flag->name, value, flag->target, err);
  case CF_FLAG_BOOL:
    return parse_bool(flag->name, value, flag->target, err);
  case CF_FLAG_DURATION:
    if (cf_parse_duration(value, flag->target, err) < 0) {
      return cf_err_wrap(err, "--%s", flag->name);
    }
    return 0;
  case CF_FLAG_IGNORED:
    return 0;
  case CF_FLAG_STRINGS: {
    cf_flag_strings *strings = flag->target;
    strings->values = cf_xrealloc(strings->values, (strings->count + 1) * sizeof(char *));
    strings->values[strings->count++] = value;
    return 0;
  }
  }
  return 0;
}

void cf_flag_strings_clear(cf_flag_strings *strings)
{
  free(strings->values);
  strings->values = NULL;
  strings->count = 0;
}

int cf_flags_set(cf_flag *flags, int count, const char *name, const char *value, cf_err **err)
{
  cf_flag *flag = find_flag(flags, count, name, strlen(name));
  if (flag == NULL) {
    return cf_err_set(err, CF_E_INVALID, "unknown option --%s", name);
  }
  return assign(flag, value, err);
}

int cf_flags_parse(cf_flag *flags, int count, int argc, char **argv, int start, int *next,
                   cf_err **err)
{
  int i = start;
  while (i < argc) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      i++;
      break;
    }
    if (arg[0] != '-' || arg[1] == '\0') {
      break;
    }
    const char *name = arg + (arg[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    cf_flag *flag = find_flag(flags, count, name, name_len);
    if (flag == NULL) {
      return cf_err_set(err, CF_E_INVALID, "unknown option %.*s; see `cfwin help`",
                        (int)(name - arg + name_len), arg);
    }
    const char *value = eq != NULL ? eq + 1 : NULL;
    if (value == NULL && flag->type == CF_FLAG_BOOL) {
      value = "true";
    }
    if (value == NULL) {
      if (i + 1 >= argc) {
        return cf_err_set(err, CF_E_INVALID, "option --%s needs a value", flag->name);
      }
      value = argv[++i];
    }
    if (assign(flag, value, err) < 0) {
      return -1;
    }
    i++;
  }
  *next = i;
  return 0;
}

static int unit_ns(const char *unit, size_t len, double *ns)
{
  static const struct {
    const char *name;
    double ns;
  } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
               {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    if (strlen(units[i].name) == len && strncmp(units[i].name, unit, len) == 0) {
      *ns = units[i].ns;
      return 0;
    }
  }
  return -1;
}

int cf_parse_duration(const char *text, int64_t *ns, cf_err **err)
{
  const char *p = text;
  int sign = 1;
  if (*p == '-' || *p == '+') {
    sign = *p == '-' ? -1 : 1;
    p++;
  }
  if (strcmp(p, "0") == 0) {
    *ns = 0;
    return 0;
  }
  double total = 0;
  if (*p == '\0') {
    goto invalid;
  }
  while (*p != '\0') {
    char *end = NULL;
    double number = strtod(p, &end);
    if (end == p || *p == '-' || *p == '+') {
      goto invalid;
    }
    p = end;
    size_t unit_len = strcspn(p, "0123456789.");
    double factor = 0;
    if (unit_len == 0 || unit_ns(p, unit_len, &factor) < 0) {
      goto invalid;
    }
    total += number * factor;
    p += unit_len;
  }
  if (total > 9.2e18) {
    goto invalid;
  }
  *ns = sign * (int64_t)total;
  return 0;
invalid:
  return cf_err_set(err, CF_E_INVALID,
                    "invalid duration \"%s\": use a number with a unit, such as 30s, 5m or 1h",
                    text);
}
