/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/serve_config.h"

#include <string.h>
#include <strings.h>

/* The section of `gdn server`'s flags: go-flags names an INI section after
 * the command. */
#define SERVER_SECTION "server"

static char *trim(char *text)
{
  text += strspn(text, " \t");
  size_t len = strlen(text);
  while (len > 0 && strchr(" \t\r", text[len - 1]) != NULL) {
    text[--len] = '\0';
  }
  return text;
}

/* Removes one pair of surrounding double quotes. Escapes inside are not
 * decoded, so a value cannot contain a double quote. */
static int unquote(char **value)
{
  size_t len = strlen(*value);
  if (len == 0 || (*value)[0] != '"') {
    return 0;
  }
  if (len < 2 || (*value)[len - 1] != '"' || memchr(*value + 1, '"', len - 2) != NULL) {
    return -1;
  }
  (*value)[len - 1] = '\0';
  (*value)++;
  return 0;
}

static cf_flag *find(cf_flag *flags, int count, const char *name, int *index)
{
  for (int i = 0; i < count; i++) {
    if (strcmp(flags[i].name, name) == 0) {
      *index = i;
      return &flags[i];
    }
  }
  return NULL;
}

/* Reads "[name]" into *in_server. */
static int read_section(const char *path, int number, char *line, bool *in_server, cf_err **err)
{
  char *end = strchr(line, ']');
  if (end == NULL || *trim(end + 1) != '\0') {
    return cf_err_set(err, CF_E_INVALID,
                      "config %s, line %d: invalid section header \"%s\": use [" SERVER_SECTION "]",
                      path, number, line);
  }
  *end = '\0';
  char *name = trim(line + 1);
  if (strcasecmp(name, SERVER_SECTION) != 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "config %s, line %d: unknown section [%s]: put the server's flags under "
                      "[" SERVER_SECTION "]",
                      path, number, name);
  }
  *in_server = true;
  return 0;
}

static int read_entry(const char *path, int number, char *line, cf_flag *flags, int count,
                      const bool *from_command_line, cf_err **err)
{
  char *eq = strchr(line, '=');
  if (eq == NULL) {
    return cf_err_set(err, CF_E_INVALID, "config %s, line %d: \"%s\" is not key = value", path,
                      number, line);
  }
  *eq = '\0';
  char *key = trim(line);
  char *value = trim(eq + 1);
  if (strcmp(key, "config") == 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "config %s, line %d: key \"config\" is not allowed in a config file: "
                      "give --config on the command line",
                      path, number);
  }
  int index = -1;
  cf_flag *flag = find(flags, count, key, &index);
  if (flag == NULL) {
    return cf_err_set(err, CF_E_INVALID,
                      "config %s, line %d: unknown key \"%s\" (value \"%s\"); keys are the "
                      "server's long flag names",
                      path, number, key, value);
  }
  if (unquote(&value) < 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "config %s, line %d: key \"%s\": invalid quoted value %s: close the "
                      "double quote and use none inside",
                      path, number, key, value);
  }
  if (from_command_line != NULL && from_command_line[index]) {
    return 0;
  }
  if (cf_flags_set(flags, count, key, value, err) < 0) {
    return cf_err_wrap(err, "config %s, line %d: key \"%s\" = \"%s\"", path, number, key, value);
  }
  return 0;
}

int cf_serve_config_apply(const char *path, char *text, cf_flag *flags, int count,
                          const bool *from_command_line, cf_err **err)
{
  bool in_server = false;
  int number = 0;
  char *next = text;
  /* Skips a UTF-8 byte order mark, which Windows editors such as Notepad write. */
  if (strncmp(next, "\xef\xbb\xbf", 3) == 0) {
    next += 3;
  }
  while (next != NULL) {
    char *line = next;
    next = strchr(line, '\n');
    if (next != NULL) {
      *next++ = '\0';
    }
    number++;
    line = trim(line);
    if (*line == '\0' || *line == ';' || *line == '#') {
      continue;
    }
    if (*line == '[') {
      if (read_section(path, number, line, &in_server, err) < 0) {
        return -1;
      }
      continue;
    }
    if (!in_server) {
      return cf_err_set(err, CF_E_INVALID,
                        "config %s, line %d: \"%s\" comes before any section: put it under "
                        "[" SERVER_SECTION "]",
                        path, number, line);
    }
    if (read_entry(path, number, line, flags, count, from_command_line, err) < 0) {
      return -1;
    }
  }
  return 0;
}
