/* SPDX-License-Identifier: Apache-2.0 */
/* Driver store paths, layer-folder lists and tar entry names of the Windows
 * image backend. Platform-neutral: see winimage.h. */
#include "image/winimage.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

#define CHAIN_HEX_LEN 64
#define HANDLE_MAX 128

static bool is_alpha(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static char to_upper(char c)
{
  return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Compares the len bytes at a with the string b, ignoring ASCII case. */
static bool equal_nocase(const char *a, size_t len, const char *b)
{
  if (strlen(b) != len) {
    return false;
  }
  for (size_t i = 0; i < len; i++) {
    if (to_upper(a[i]) != to_upper(b[i])) {
      return false;
    }
  }
  return true;
}

/* Device names Win32 maps to devices in every directory, compared without
 * the extension and trailing spaces. COM and LPT also take the superscript
 * digits 1, 2 and 3 (UTF-8 C2 B9, C2 B2, C2 B3). */
static bool is_reserved_device(const char *name, size_t len)
{
  static const char *const fixed[] = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"};
  const char *dot = memchr(name, '.', len);
  size_t base = dot != NULL ? (size_t)(dot - name) : len;
  while (base > 0 && name[base - 1] == ' ') {
    base--;
  }
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
    if (equal_nocase(name, base, fixed[i])) {
      return true;
    }
  }
  bool com_or_lpt = base >= 4 && (equal_nocase(name, 3, "COM") || equal_nocase(name, 3, "LPT"));
  if (!com_or_lpt) {
    return false;
  }
  if (base == 4) {
    return name[3] >= '1' && name[3] <= '9';
  }
  if (base == 5 && (unsigned char)name[3] == 0xC2) {
    unsigned char digit = (unsigned char)name[4];
    return digit == 0xB9 || digit == 0xB2 || digit == 0xB3;
  }
  return false;
}

int cf_win_name_check(const char *what, const char *name, size_t len, cf_err **err)
{
  if (len == 0) {
    return cf_err_set(err, CF_E_INVALID, "%s \"%s\": empty name", what, name);
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x20 || c == 0x7f || strchr("<>:\"/\\|?*", c) != NULL) {
      return cf_err_set(err, CF_E_INVALID,
                        "%s \"%.*s\": character 0x%02x is not allowed in Windows file names", what,
                        (int)len, name, c);
    }
  }
  if (name[len - 1] == '.' || name[len - 1] == ' ') {
    return cf_err_set(err, CF_E_INVALID,
                      "%s \"%.*s\": Windows removes trailing dots and spaces from file names, so "
                      "the name would refer to a different file",
                      what, (int)len, name);
  }
  if (is_reserved_device(name, len)) {
    return cf_err_set(err, CF_E_INVALID,
                      "%s \"%.*s\": reserved device name in Windows; rename the file", what,
                      (int)len, name);
  }
  return 0;
}

static int check_length(const char *what, cf_buf *path, cf_err **err)
{
  if (path->len > CF_WIN_PATH_MAX) {
    return cf_err_set(err, CF_E_LIMIT, "%s \"%s\" is %zu bytes long, more than the maximum of %d",
                      what, path->data, path->len, CF_WIN_PATH_MAX);
  }
  return 0;
}

/* Appends the components of rest (separated by `\`) to out, each after a
 * `\`, skipping empty and `.` components. */
static int append_components(const char *value_name, const char *input, const char *rest,
                             cf_buf *out, cf_err **err)
{
  const char *p = rest;
  while (*p != '\0') {
    size_t len = strcspn(p, "\\");
    bool skip = len == 0 || (len == 1 && p[0] == '.');
    if (len == 2 && p[0] == '.' && p[1] == '.') {
      return cf_err_set(err, CF_E_INVALID,
                        "%s \"%s\": \"..\" components are not allowed; give the path without them",
                        value_name, input);
    }
    if (!skip) {
      cf_autofree char *component = cf_xasprintf("%s component", value_name);
      if (cf_win_name_check(component, p, len, err) < 0) {
        return cf_err_wrap(err, "%s \"%s\"", value_name, input);
      }
      if (out->len > 3 && cf_buf_append_str(out, "\\", err) < 0) {
        return -1;
      }
      if (cf_buf_append(out, p, len, err) < 0) {
        return -1;
      }
    }
    p += len;
    if (*p == '\\') {
      p++;
    }
  }
  return 0;
}

/* Makes path absolute as cf_win_store_root describes. value_name names the
 * value in errors ("driver store"). */
static int normalize_path(const char *value_name, const char *path, char **out, cf_err **err)
{
  cf_autofree char *slashed = cf_xstrdup(path);
  for (char *p = slashed; *p != '\0'; p++) {
    if (*p == '/') {
      *p = '\\';
    }
  }
  if (slashed[0] == '\\' && slashed[1] == '\\') {
    return cf_err_set(err, CF_E_INVALID,
                      "%s \"%s\": UNC and device paths are not supported; use a path on a local "
                      "drive such as C:\\var\\vcap\\data\\groot",
                      value_name, path);
  }
  char drive = 'C';
  const char *rest = slashed;
  if (is_alpha(slashed[0]) && slashed[1] == ':') {
    drive = slashed[0];
    rest = slashed + 2;
    if (rest[0] != '\0' && rest[0] != '\\') {
      return cf_err_set(err, CF_E_INVALID,
                        "%s \"%s\": a path relative to the current directory of drive %c: is "
                        "ambiguous; write %c:\\%s",
                        value_name, path, drive, drive, rest);
    }
  }
  cf_buf buf;
  cf_buf_init(&buf, CF_WIN_PATH_MAX);
  int rc = cf_buf_printf(&buf, err, "%c:\\", drive);
  if (rc == 0) {
    rc = append_components(value_name, path, rest, &buf, err);
  }
  if (rc < 0) {
    cf_buf_free(&buf);
    if (err != NULL && *err != NULL && (*err)->code == CF_E_LIMIT) {
      return cf_err_set(err, CF_E_LIMIT, "%s \"%s\" is longer than %d bytes", value_name, path,
                        CF_WIN_PATH_MAX);
    }
    return -1;
  }
  *out = cf_buf_take(&buf);
  return 0;
}

int cf_win_store_root(const char *path, char **out, cf_err **err)
{
  if (path == NULL || path[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "driver store must be set");
  }
  return normalize_path("driver store", path, out, err);
}

char *cf_win_oci_uri_normalize(const char *uri)
{
  static const char scheme[] = "oci://";
  size_t scheme_len = strlen(scheme);
  if (strncmp(uri, scheme, scheme_len) != 0) {
    return cf_xstrdup(uri);
  }
  const char *rest = uri + scheme_len;
  bool drive_as_host = is_alpha(rest[0]) && rest[1] == ':' && (rest[2] == '/' || rest[2] == '\0');
  return drive_as_host ? cf_xasprintf("%s/%s", scheme, rest) : cf_xstrdup(uri);
}

int cf_win_oci_layout_path(const char *uri_path, char **out, cf_err **err)
{
  const char *path = uri_path;
  // "/C:/layout" names drive C:. Anything else without a drive is on C:.
  if (path[0] == '/' && is_alpha(path[1]) && path[2] == ':') {
    path++;
  }
  return normalize_path("OCI layout path", path, out, err);
}

char *cf_win_layers_dir(const char *root)
{
  return cf_xasprintf("%s%slayers", root, root[strlen(root) - 1] == '\\' ? "" : "\\");
}

char *cf_win_volumes_dir(const char *root)
{
  return cf_xasprintf("%s%svolumes", root, root[strlen(root) - 1] == '\\' ? "" : "\\");
}

/* Returns the 64 hex digits of chain_id, which may carry "sha256:". */
static const char *chain_hex(const char *chain_id, cf_err **err)
{
  const char *hex = chain_id;
  if (strncmp(hex, "sha256:", 7) == 0) {
    hex += 7;
  }
  size_t len = strlen(hex);
  bool valid = len == CHAIN_HEX_LEN;
  for (size_t i = 0; valid && i < len; i++) {
    valid = is_digit(hex[i]) || (hex[i] >= 'a' && hex[i] <= 'f');
  }
  if (!valid) {
    cf_err_set(err, CF_E_INVALID,
               "layer chain id \"%s\": expected sha256: and 64 lowercase hex digits", chain_id);
    return NULL;
  }
  return hex;
}

static int join_checked(const char *what, const char *dir, const char *name, char **out,
                        cf_err **err)
{
  cf_buf buf;
  cf_buf_init(&buf, SIZE_MAX);
  cf_buf_printf(&buf, NULL, "%s\\%s", dir, name);
  if (check_length(what, &buf, err) < 0) {
    cf_buf_free(&buf);
    return -1;
  }
  *out = cf_buf_take(&buf);
  return 0;
}

int cf_win_layer_path(const char *root, const char *chain_id, char **out, cf_err **err)
{
  const char *hex = chain_hex(chain_id, err);
  if (hex == NULL) {
    return -1;
  }
  cf_autofree char *layers = cf_win_layers_dir(root);
  return join_checked("layer path", layers, hex, out, err);
}

static int handle_check(const char *handle, cf_err **err)
{
  size_t len = strlen(handle);
  bool valid = len > 0 && len <= HANDLE_MAX && (is_alpha(handle[0]) || is_digit(handle[0]));
  for (size_t i = 1; valid && i < len; i++) {
    char c = handle[i];
    valid = is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-';
  }
  if (!valid) {
    return cf_err_set(err, CF_E_INVALID,
                      "handle \"%s\": expected a letter or digit followed by up to 127 letters, "
                      "digits, '_', '.' or '-'",
                      handle);
  }
  return cf_win_name_check("handle", handle, len, err);
}

int cf_win_volume_path(const char *root, const char *handle, char **out, cf_err **err)
{
  if (handle_check(handle, err) < 0) {
    return -1;
  }
  cf_autofree char *volumes = cf_win_volumes_dir(root);
  return join_checked("volume path", volumes, handle, out, err);
}

int cf_win_layer_folders(const char *root, char *const *chain_ids, size_t count, char ***out,
                         cf_err **err)
{
  char **folders = cf_xcalloc(count + 1, sizeof(*folders));
  for (size_t i = 0; i < count; i++) {
    /* chain_ids[count - 1] is the top layer and becomes folders[0]. */
    if (cf_win_layer_path(root, chain_ids[count - 1 - i], &folders[i], err) < 0) {
      cf_strv_free(folders, i);
      return cf_err_wrap(err, "layer %zu of %zu", count - i, count);
    }
  }
  *out = folders;
  return 0;
}

/* --- Tar entry names --- */

static const char *const top_dirs[] = {"Files", "Hives", "UtilityVM"};

#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_NAME ".wh..wh..opq"

typedef struct entry_parts {
  const char *start[512];
  size_t len[512];
  size_t count;
} entry_parts;

static int reject_entry(cf_err **err, const char *name, const char *reason)
{
  return cf_err_set(err, CF_E_INVALID, "tar entry \"%s\": %s", name, reason);
}

/* Splits name at `/`, dropping empty and `.` components. */
static int split_entry(const char *name, entry_parts *parts, cf_err **err)
{
  parts->count = 0;
  const char *p = name;
  while (*p != '\0') {
    size_t len = strcspn(p, "/");
    if (len == 2 && p[0] == '.' && p[1] == '.') {
      return reject_entry(err, name, "\"..\" components would escape the layer");
    }
    if (len > 0 && !(len == 1 && p[0] == '.')) {
      if (parts->count == sizeof(parts->len) / sizeof(parts->len[0])) {
        return reject_entry(err, name, "more than 512 path components");
      }
      parts->start[parts->count] = p;
      parts->len[parts->count] = len;
      parts->count++;
    }
    p += len;
    if (*p == '/') {
      p++;
    }
  }
  return 0;
}

static int check_entry_syntax(const char *name, cf_err **err)
{
  if (name[0] == '/') {
    return reject_entry(err, name, "absolute names are not allowed in a layer");
  }
  if (is_alpha(name[0]) && name[1] == ':') {
    return reject_entry(err, name, "drive letters are not allowed in a layer");
  }
  if (strchr(name, '\\') != NULL) {
    return reject_entry(err, name,
                        "'\\' is a path separator on Windows and not allowed inside a name");
  }
  if (strchr(name, ':') != NULL) {
    return reject_entry(err, name,
                        "':' would name an alternate data stream; such entries are not supported");
  }
  return 0;
}

/* Resolves a whiteout in the last component: drops the `.wh.` prefix, or
 * the whole opaque marker, and sets *kind. */
static int resolve_whiteout(const char *name, entry_parts *parts, enum cf_win_entry_kind *kind,
                            cf_err **err)
{
  *kind = CF_WIN_ENTRY_PATH;
  size_t last = parts->count - 1;
  const char *base = parts->start[last];
  size_t len = parts->len[last];
  size_t prefix = strlen(WHITEOUT_PREFIX);
  if (len < prefix || strncmp(base, WHITEOUT_PREFIX, prefix) != 0) {
    return 0;
  }
  if (parts->count < 2) {
    return reject_entry(err, name, "a whiteout must be inside Files, Hives or UtilityVM");
  }
  if (len == strlen(OPAQUE_NAME) && strncmp(base, OPAQUE_NAME, len) == 0) {
    *kind = CF_WIN_ENTRY_OPAQUE;
    parts->count--;
    return 0;
  }
  if (len == prefix) {
    return reject_entry(err, name, "whiteout without a file name");
  }
  *kind = CF_WIN_ENTRY_WHITEOUT;
  parts->start[last] += prefix;
  parts->len[last] -= prefix;
  return 0;
}

static const char *top_dir_of(const entry_parts *parts)
{
  for (size_t i = 0; i < sizeof(top_dirs) / sizeof(top_dirs[0]); i++) {
    if (equal_nocase(parts->start[0], parts->len[0], top_dirs[i])) {
      return top_dirs[i];
    }
  }
  return NULL;
}

static int join_entry(const char *name, const entry_parts *parts, const char *top, char **out,
                      cf_err **err)
{
  cf_buf buf;
  cf_buf_init(&buf, SIZE_MAX);
  cf_buf_append_str(&buf, top, NULL);
  for (size_t i = 1; i < parts->count; i++) {
    if (cf_win_name_check("tar entry component", parts->start[i], parts->len[i], err) < 0) {
      cf_buf_free(&buf);
      return cf_err_wrap(err, "tar entry \"%s\"", name);
    }
    cf_buf_append_str(&buf, "\\", NULL);
    cf_buf_append(&buf, parts->start[i], parts->len[i], NULL);
  }
  *out = cf_buf_take(&buf);
  return 0;
}

int cf_win_layer_entry_path(const char *tar_name, char **out, enum cf_win_entry_kind *kind,
                            cf_err **err)
{
  if (check_entry_syntax(tar_name, err) < 0) {
    return -1;
  }
  entry_parts *parts = cf_xmalloc(sizeof(*parts));
  int rc = split_entry(tar_name, parts, err);
  if (rc == 0 && parts->count == 0) {
    rc = reject_entry(err, tar_name, "empty name");
  }
  if (rc == 0) {
    rc = resolve_whiteout(tar_name, parts, kind, err);
  }
  const char *top = rc == 0 ? top_dir_of(parts) : NULL;
  if (rc == 0 && top == NULL) {
    rc = reject_entry(err, tar_name,
                      "not inside Files, Hives or UtilityVM, so the layer is not a Windows layer");
  }
  if (rc == 0) {
    rc = join_entry(tar_name, parts, top, out, err);
  }
  free(parts);
  return rc;
}
