/* SPDX-License-Identifier: Apache-2.0 */
/* winc's rules for container paths, process.json checks and the Windows
 * command line. Platform-neutral: see winhcs.h. */
#include "runtime/winhcs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "runtime/winjson.h"

/* CreateProcess takes at most 32767 UTF-16 characters, the NUL included. */
#define COMMAND_LINE_MAX 32766u

/* --- Paths --- */

static bool is_separator(char c)
{
  return c == '\\' || c == '/';
}

static bool has_drive(const char *path)
{
  return isalpha((unsigned char)path[0]) && path[1] == ':';
}

bool cf_winrt_path_is_absolute(const char *path)
{
  return path != NULL && has_drive(path) && is_separator(path[2]);
}

/* Appends the cleaned form of rest (the path after its drive) as Go's
 * filepath.Clean does on Windows: separators become one `\`, `.` goes,
 * `..` removes the component before it, or is dropped at the root, or is
 * kept at the start of a relative path; an empty relative result is ".". */
static void append_clean_rest(cf_buf *out, const char *rest)
{
  bool rooted = is_separator(rest[0]);
  size_t cap = strlen(rest) / 2 + 1;
  const char **starts = cf_xcalloc(cap, sizeof(*starts));
  size_t *lens = cf_xcalloc(cap, sizeof(*lens));
  size_t count = 0;
  for (const char *p = rest; *p != '\0';) {
    size_t len = 0;
    while (p[len] != '\0' && !is_separator(p[len])) {
      len++;
    }
    bool dotdot = len == 2 && p[0] == '.' && p[1] == '.';
    bool top_dotdot = count > 0 && lens[count - 1] == 2 && strncmp(starts[count - 1], "..", 2) == 0;
    if (len == 0 || (len == 1 && p[0] == '.')) {
      /* skip */
    } else if (dotdot && count > 0 && !top_dotdot) {
      count--;
    } else if (!(dotdot && rooted && count == 0)) {
      starts[count] = p;
      lens[count++] = len;
    }
    p += len;
    while (is_separator(*p)) {
      p++;
    }
  }
  if (rooted) {
    cf_buf_append_str(out, "\\", NULL);
  } else if (count == 0) {
    cf_buf_append_str(out, ".", NULL);
  }
  for (size_t i = 0; i < count; i++) {
    if (i > 0) {
      cf_buf_append_str(out, "\\", NULL);
    }
    cf_buf_append(out, starts[i], lens[i], NULL);
  }
  free(starts);
  free(lens);
}

/* Cleans path, keeping its drive when it has one, or prefixing drive. */
static char *clean_path(const char *path, const char *drive)
{
  cf_buf out;
  cf_winjson_doc_init(&out);
  const char *rest = path;
  if (has_drive(path)) {
    cf_buf_append(&out, path, 2, NULL);
    rest = path + 2;
  } else if (drive != NULL) {
    cf_buf_append_str(&out, drive, NULL);
  }
  append_clean_rest(&out, rest);
  return cf_buf_take(&out);
}

char *cf_winrt_container_path(const char *path)
{
  return clean_path(path != NULL ? path : "", "C:");
}

/* --- Process checks --- */

int cf_winrt_process_validate(const cf_winrt_process *process, cf_err **err)
{
  cf_buf problems;
  cf_winjson_doc_init(&problems);
  cf_autofree char *cwd = cf_winrt_container_path(process->cwd);
  if (!cf_winrt_path_is_absolute(cwd)) {
    cf_buf_printf(&problems, NULL, "\n\tcwd \"%s\" is not an absolute path", cwd);
  }
  if (process->arg_count == 0) {
    cf_buf_append_str(&problems, "\n\targs must not be empty", NULL);
  }
  for (size_t i = 0; i < process->env_count; i++) {
    if (strchr(process->env[i], '=') == NULL) {
      cf_buf_printf(&problems, NULL, "\n\tenv \"%s\" should be in the form of 'key=value'.",
                    process->env[i]);
    }
  }
  if (problems.len > 0) {
    cf_err_set(err, CF_E_INVALID, "process config is invalid:%s", problems.data);
    cf_buf_free(&problems);
    return -1;
  }
  cf_buf_free(&problems);
  return 0;
}

/* --- Command line --- */

/* True when the base name of path ends in `.` and three ASCII letters. */
static bool has_extension(const char *path)
{
  const char *base = path;
  for (const char *p = path; *p != '\0'; p++) {
    if (*p == '\\' || *p == ':') {
      base = p + 1;
    }
  }
  size_t len = strlen(base);
  if (len < 4 || base[len - 4] != '.') {
    return false;
  }
  for (size_t i = len - 3; i < len; i++) {
    if (!isalpha((unsigned char)base[i])) {
      return false;
    }
  }
  return true;
}

char *cf_winrt_argv0(const char *arg0)
{
  char *cleaned = clean_path(arg0, NULL);
  if (has_extension(cleaned)) {
    return cleaned;
  }
  char *with_exe = cf_xasprintf("%s.exe", cleaned);
  free(cleaned);
  return with_exe;
}

/* Appends arg quoted as Go's syscall.EscapeArg quotes it. */
static void append_escaped(cf_buf *buf, const char *arg)
{
  if (arg[0] == '\0') {
    cf_buf_append_str(buf, "\"\"", NULL);
    return;
  }
  bool quote = strpbrk(arg, " \t") != NULL;
  if (!quote && strpbrk(arg, "\"\\") == NULL) {
    cf_buf_append_str(buf, arg, NULL);
    return;
  }
  if (quote) {
    cf_buf_append_str(buf, "\"", NULL);
  }
  size_t slashes = 0;
  for (const char *p = arg; *p != '\0'; p++) {
    if (*p == '\\') {
      slashes++;
    } else if (*p == '"') {
      /* Each backslash before a quote is doubled, then the quote escaped. */
      for (; slashes > 0; slashes--) {
        cf_buf_append_str(buf, "\\", NULL);
      }
      cf_buf_append_str(buf, "\\", NULL);
    } else {
      slashes = 0;
    }
    cf_buf_append(buf, p, 1, NULL);
  }
  if (quote) {
    /* Backslashes before the closing quote are doubled too. */
    for (; slashes > 0; slashes--) {
      cf_buf_append_str(buf, "\\", NULL);
    }
    cf_buf_append_str(buf, "\"", NULL);
  }
}

/* Number of UTF-16 code units of UTF-8 text (4-byte sequences take two). */
static size_t utf16_length(const char *text)
{
  size_t units = 0;
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    if ((*p & 0xc0) != 0x80) {
      units += (*p & 0xf8) == 0xf0 ? 2 : 1;
    }
  }
  return units;
}

int cf_winrt_command_line(const char *const *args, size_t arg_count, char **out, cf_err **err)
{
  if (arg_count == 0) {
    return cf_err_set(err, CF_E_INVALID, "args must not be empty");
  }
  cf_autofree char *argv0 = cf_winrt_argv0(args[0]);
  cf_buf buf;
  cf_winjson_doc_init(&buf);
  append_escaped(&buf, argv0);
  for (size_t i = 1; i < arg_count; i++) {
    cf_buf_append_str(&buf, " ", NULL);
    append_escaped(&buf, args[i]);
  }
  size_t units = utf16_length(buf.data);
  if (units > COMMAND_LINE_MAX) {
    cf_buf_free(&buf);
    return cf_err_set(err, CF_E_LIMIT,
                      "command line of '%s' is %zu characters, more than the %u CreateProcess "
                      "accepts",
                      argv0, units, COMMAND_LINE_MAX);
  }
  *out = cf_buf_take(&buf);
  return 0;
}
