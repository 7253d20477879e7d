/* SPDX-License-Identifier: Apache-2.0 */
/* Value parsers and Win32 byte layouts of the Windows layer import (see
 * winlayer.h); the import loop is in winlayer_import.c. */
#include "image/winlayer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "image/winimage.h"

static void put_u16(cf_buf *out, uint16_t value)
{
  unsigned char bytes[2] = {(unsigned char)value, (unsigned char)(value >> 8)};
  cf_buf_append(out, bytes, sizeof(bytes), NULL);
}

static void put_u32(cf_buf *out, uint32_t value)
{
  put_u16(out, (uint16_t)value);
  put_u16(out, (uint16_t)(value >> 16));
}

static void put_u64(cf_buf *out, uint64_t value)
{
  put_u32(out, (uint32_t)value);
  put_u32(out, (uint32_t)(value >> 32));
}

/* --- PAX values --- */

int cf_win_parse_attributes(const char *value, uint32_t *out, cf_err **err)
{
  uint64_t result = 0;
  if (value[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "MSWINDOWS.fileattr is empty");
  }
  for (const char *p = value; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') {
      return cf_err_set(err, CF_E_INVALID, "MSWINDOWS.fileattr \"%s\" is not a decimal number",
                        value);
    }
    result = result * 10 + (uint64_t)(*p - '0');
    if (result > UINT32_MAX) {
      return cf_err_set(err, CF_E_INVALID, "MSWINDOWS.fileattr \"%s\" exceeds 32 bits", value);
    }
  }
  *out = (uint32_t)result;
  return 0;
}

static int base64_value(char c)
{
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

/* Decodes one group of four characters into up to three bytes. */
static int base64_group(const char *group, bool last, uint8_t *bytes, size_t *count)
{
  size_t pad = 0;
  if (last && group[3] == '=') {
    pad = group[2] == '=' ? 2 : 1;
  }
  uint32_t bits = 0;
  for (size_t i = 0; i < 4; i++) {
    int value = i >= 4 - pad ? 0 : base64_value(group[i]);
    if (value < 0) {
      return -1;
    }
    bits = bits << 6 | (uint32_t)value;
  }
  if ((pad == 1 && (bits & 0xff) != 0) || (pad == 2 && (bits & 0xffff) != 0)) {
    return -1; /* non-zero unused bits: not the canonical encoding */
  }
  bytes[0] = (uint8_t)(bits >> 16);
  bytes[1] = (uint8_t)(bits >> 8);
  bytes[2] = (uint8_t)bits;
  *count = 3 - pad;
  return 0;
}

int cf_win_base64_decode(const char *text, size_t len, size_t max, uint8_t **out, size_t *out_len,
                         cf_err **err)
{
  if (len % 4 != 0) {
    return cf_err_set(err, CF_E_INVALID, "invalid base64: length %zu is not a multiple of 4", len);
  }
  if (len / 4 * 3 > max + 2) {
    return cf_err_set(err, CF_E_LIMIT, "base64 value decodes to more than %zu bytes", max);
  }
  uint8_t *data = cf_xmalloc(len / 4 * 3 + 1);
  size_t used = 0;
  for (size_t i = 0; i < len; i += 4) {
    size_t count = 0;
    if (base64_group(text + i, i + 4 == len, data + used, &count) < 0) {
      free(data);
      return cf_err_set(err, CF_E_INVALID,
                        "invalid base64 at offset %zu: expected A-Z a-z 0-9 + / and '=' "
                        "padding only at the end",
                        i);
    }
    used += count;
  }
  if (used > max) {
    free(data);
    return cf_err_set(err, CF_E_LIMIT, "base64 value decodes to more than %zu bytes", max);
  }
  *out = data;
  *out_len = used;
  return 0;
}

int cf_win_unix_filetime(int64_t seconds, int64_t *filetime)
{
  const int64_t ticks_per_second = 10000000;
  int64_t min = -CF_WIN_FILETIME_UNIX_EPOCH / ticks_per_second;
  int64_t max = (INT64_MAX - CF_WIN_FILETIME_UNIX_EPOCH) / ticks_per_second - 1;
  if (seconds < min || seconds > max) {
    return -1;
  }
  *filetime = seconds * ticks_per_second + CF_WIN_FILETIME_UNIX_EPOCH;
  return 0;
}

/* Parses the digits of "SECS" with an optional '-'. */
static int parse_seconds(const char *text, size_t len, int64_t *out)
{
  bool negative = len > 0 && text[0] == '-';
  size_t start = negative ? 1 : 0;
  if (start == len || len - start > 18) {
    return -1;
  }
  int64_t value = 0;
  for (size_t i = start; i < len; i++) {
    if (text[i] < '0' || text[i] > '9') {
      return -1;
    }
    value = value * 10 + (text[i] - '0');
  }
  *out = negative ? -value : value;
  return 0;
}

/* Parses up to nine fraction digits into 100 ns ticks (truncating). */
static int parse_fraction(const char *text, int64_t *ticks)
{
  int64_t nanos = 0;
  size_t count = 0;
  for (const char *p = text; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') {
      return -1;
    }
    if (count < 9) {
      nanos = nanos * 10 + (*p - '0');
      count++;
    }
  }
  for (; count < 9; count++) {
    nanos *= 10;
  }
  *ticks = nanos / 100;
  return 0;
}

int cf_win_pax_time(const char *value, int64_t *filetime, cf_err **err)
{
  const char *dot = strchr(value, '.');
  size_t seconds_len = dot == NULL ? strlen(value) : (size_t)(dot - value);
  int64_t seconds = 0;
  int64_t fraction = 0;
  int64_t base = 0;
  if (parse_seconds(value, seconds_len, &seconds) < 0 ||
      (dot != NULL && (dot[1] == '\0' || parse_fraction(dot + 1, &fraction) < 0))) {
    return cf_err_set(err, CF_E_INVALID, "time \"%s\" is not SECONDS[.FRACTION]", value);
  }
  if (cf_win_unix_filetime(seconds, &base) < 0) {
    return cf_err_set(err, CF_E_INVALID, "time \"%s\" is outside the FILETIME range", value);
  }
  /* "-1.5" is 1.5 seconds before the epoch: the fraction has the sign too. */
  int64_t result = value[0] == '-' ? base - fraction : base + fraction;
  if (result < 0) {
    return cf_err_set(err, CF_E_INVALID, "time \"%s\" is before 1601", value);
  }
  *filetime = result;
  return 0;
}

/* --- UTF-16 --- */

/* Decodes one UTF-8 sequence at text[*pos], or returns -1. */
static int32_t utf8_next(const unsigned char *text, size_t len, size_t *pos)
{
  unsigned char lead = text[*pos];
  size_t extra = lead < 0x80             ? 0
                 : (lead & 0xe0) == 0xc0 ? 1
                 : (lead & 0xf0) == 0xe0 ? 2
                 : (lead & 0xf8) == 0xf0 ? 3
                                         : 4;
  static const int32_t min[] = {0, 0x80, 0x800, 0x10000};
  if (extra == 4 || len - *pos <= extra) {
    return -1;
  }
  int32_t code = extra == 0 ? lead : lead & (0x3f >> extra);
  for (size_t i = 1; i <= extra; i++) {
    unsigned char next = text[*pos + i];
    if ((next & 0xc0) != 0x80) {
      return -1;
    }
    code = code << 6 | (next & 0x3f);
  }
  if (code < min[extra] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
    return -1;
  }
  *pos += extra + 1;
  return code;
}

int cf_win_utf16le(const char *text, size_t len, cf_buf *out, cf_err **err)
{
  const unsigned char *bytes = (const unsigned char *)text;
  size_t pos = 0;
  while (pos < len) {
    size_t at = pos;
    int32_t code = utf8_next(bytes, len, &pos);
    if (code <= 0) {
      return cf_err_set(err, CF_E_INVALID, "\"%.*s\" is not valid UTF-8 (byte %zu)", (int)len, text,
                        at);
    }
    if (out->len + 4 > out->max) {
      return cf_err_set(err, CF_E_LIMIT, "UTF-16 form of \"%.*s\" exceeds %zu bytes",
                        (int)(len > 64 ? 64 : len), text, out->max);
    }
    if (code < 0x10000) {
      put_u16(out, (uint16_t)code);
    } else {
      code -= 0x10000;
      put_u16(out, (uint16_t)(0xd800 | (code >> 10)));
      put_u16(out, (uint16_t)(0xdc00 | (code & 0x3ff)));
    }
  }
  return 0;
}

/* --- Win32 layouts --- */

int cf_win_backup_header(cf_buf *out, uint32_t id, uint64_t size, const char *name, cf_err **err)
{
  cf_buf wide;
  cf_buf_init(&wide, 65534);
  if (name != NULL && cf_win_utf16le(name, strlen(name), &wide, err) < 0) {
    cf_buf_free(&wide);
    return cf_err_wrap(err, "backup stream name");
  }
  put_u32(out, id);
  put_u32(out, 0); /* dwStreamAttributes: STREAM_NORMAL_ATTRIBUTE */
  put_u64(out, size);
  put_u32(out, (uint32_t)wide.len);
  cf_buf_append(out, wide.data, wide.len, NULL);
  cf_buf_free(&wide);
  return 0;
}

int cf_win_ea_buffer(const cf_win_ea *eas, size_t count, cf_buf *out, cf_err **err)
{
  for (size_t i = 0; i < count; i++) {
    size_t name_len = strlen(eas[i].name);
    if (name_len == 0 || name_len > 255) {
      return cf_err_set(err, CF_E_INVALID,
                        "extended attribute name \"%s\" must be 1 to 255 bytes long", eas[i].name);
    }
    if (eas[i].value_len > 65535) {
      return cf_err_set(err, CF_E_INVALID,
                        "extended attribute %s: value of %zu bytes exceeds 65535 bytes",
                        eas[i].name, eas[i].value_len);
    }
    /* NextEntryOffset(4) Flags(1) EaNameLength(1) EaValueLength(2). */
    size_t entry = 8 + name_len + 1 + eas[i].value_len;
    size_t padded = (entry + 3) & ~(size_t)3;
    put_u32(out, i + 1 == count ? 0 : (uint32_t)padded);
    cf_buf_append(out, "\0", 1, NULL);
    unsigned char name_length = (unsigned char)name_len;
    cf_buf_append(out, &name_length, 1, NULL);
    put_u16(out, (uint16_t)eas[i].value_len);
    cf_buf_append(out, eas[i].name, name_len + 1, NULL);
    cf_buf_append(out, eas[i].value, eas[i].value_len, NULL);
    cf_buf_append(out, "\0\0\0", padded - entry, NULL);
  }
  return 0;
}

static bool is_letter(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The NT path of a link target, and whether it is relative. */
static char *nt_target(const char *target, bool *relative)
{
  *relative = false;
  if (strncmp(target, "\\\\?\\", 4) == 0) {
    return cf_xasprintf("\\??\\%s", target + 4);
  }
  if (strncmp(target, "\\\\", 2) == 0) {
    return cf_xasprintf("\\??\\UNC\\%s", target + 2);
  }
  if (is_letter(target[0]) && target[1] == ':') {
    return cf_xasprintf("\\??\\%s", target);
  }
  *relative = true;
  return cf_xstrdup(target);
}

int cf_win_reparse_buffer(const char *target, bool mount_point, cf_buf *out, cf_err **err)
{
  bool relative = false;
  if (target[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "link target is empty");
  }
  cf_autofree char *nt = nt_target(target, &relative);
  if (mount_point && relative) {
    return cf_err_set(err, CF_E_INVALID,
                      "junction target \"%s\" is relative; a junction needs a drive or UNC path",
                      target);
  }
  cf_buf substitute;
  cf_buf print;
  /* Twice the limit, so that a target just over it fails on the exact
   * size check below. */
  cf_buf_init(&substitute, 2 * CF_WIN_REPARSE_MAX);
  cf_buf_init(&print, 2 * CF_WIN_REPARSE_MAX);
  int rc = cf_win_utf16le(nt, strlen(nt), &substitute, err);
  if (rc == 0) {
    rc = cf_win_utf16le(target, strlen(target), &print, err);
  }
  if (rc < 0) {
    cf_err_wrap(err, "link target");
  }
  /* Header (8), name offsets and lengths (8), Flags (4, symlinks only),
   * both names with a UTF-16 NUL each. */
  size_t data_len = 8 + (mount_point ? 0 : 4) + substitute.len + 2 + print.len + 2;
  if (rc == 0 && 8 + data_len > CF_WIN_REPARSE_MAX) {
    rc = cf_err_set(err, CF_E_LIMIT, "link target \"%s\" exceeds the %d-byte reparse buffer",
                    target, CF_WIN_REPARSE_MAX);
  }
  if (rc == 0) {
    put_u32(out, mount_point ? CF_WIN_IO_REPARSE_TAG_MOUNT_POINT : CF_WIN_IO_REPARSE_TAG_SYMLINK);
    put_u16(out, (uint16_t)data_len);
    put_u16(out, 0);                              /* Reserved */
    put_u16(out, 0);                              /* SubstituteNameOffset */
    put_u16(out, (uint16_t)substitute.len);       /* SubstituteNameLength */
    put_u16(out, (uint16_t)(substitute.len + 2)); /* PrintNameOffset */
    put_u16(out, (uint16_t)print.len);            /* PrintNameLength */
    if (!mount_point) {
      put_u32(out, relative ? CF_WIN_SYMLINK_FLAG_RELATIVE : 0);
    }
    cf_buf_append(out, substitute.data, substitute.len, NULL);
    put_u16(out, 0);
    cf_buf_append(out, print.data, print.len, NULL);
    put_u16(out, 0);
  }
  cf_buf_free(&substitute);
  cf_buf_free(&print);
  return rc;
}

/* --- Small values --- */

const char *cf_win_bcd_backup_name(const char *tar_name)
{
  static const struct {
    const char *name;
    const char *backup;
  } files[] = {
      {"UtilityVM/Files/EFI/Microsoft/Boot/BCD", "bcd.bak"},
      {"UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG", "bcd.log.bak"},
      {"UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG1", "bcd.log1.bak"},
      {"UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG2", "bcd.log2.bak"},
  };
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    if (strcmp(tar_name, files[i].name) == 0) {
      return files[i].backup;
    }
  }
  return NULL;
}

char *cf_win_size_format(uint64_t size)
{
  return cf_xasprintf("%llu", (unsigned long long)size);
}

int cf_win_size_parse(const char *text, size_t len, uint64_t *size, cf_err **err)
{
  uint64_t value = 0;
  bool valid = len > 0 && len <= 19 && (text[0] != '0' || len == 1);
  for (size_t i = 0; valid && i < len; i++) {
    valid = text[i] >= '0' && text[i] <= '9';
    value = value * 10 + (uint64_t)(text[i] - '0');
  }
  if (!valid || value > INT64_MAX) {
    return cf_err_set(err, CF_E_INVALID,
                      "layer size file \"%.*s\" is not a decimal byte count; delete the layer "
                      "so that it is imported again",
                      (int)(len > 40 ? 40 : len), text);
  }
  *size = value;
  return 0;
}

char *cf_win_os_version_format(uint32_t major, uint32_t minor, uint32_t build, uint32_t ubr)
{
  return cf_xasprintf("%u.%u.%u.%u", major, minor, build, ubr);
}

/* --- Path set --- */

static char lower(char c)
{
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* FNV-1a over the ASCII-lowercased bytes. */
static uint64_t path_hash(const char *path)
{
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const char *p = path; *p != '\0'; p++) {
    hash = (hash ^ (unsigned char)lower(*p)) * 0x100000001b3ull;
  }
  return hash;
}

static bool path_equal(const char *a, const char *b)
{
  while (*a != '\0' && lower(*a) == lower(*b)) {
    a++;
    b++;
  }
  return *a == '\0' && *b == '\0';
}

static size_t path_slot(char *const *slots, size_t capacity, const char *path)
{
  size_t i = (size_t)(path_hash(path) & (capacity - 1));
  while (slots[i] != NULL && !path_equal(slots[i], path)) {
    i = (i + 1) & (capacity - 1);
  }
  return i;
}

static void path_set_grow(cf_win_path_set *set)
{
  size_t capacity = set->capacity == 0 ? 64 : set->capacity * 2;
  char **slots = cf_xcalloc(capacity, sizeof(*slots));
  for (size_t i = 0; i < set->capacity; i++) {
    if (set->slots[i] != NULL) {
      slots[path_slot(slots, capacity, set->slots[i])] = set->slots[i];
    }
  }
  free(set->slots);
  set->slots = slots;
  set->capacity = capacity;
}

void cf_win_path_set_add(cf_win_path_set *set, const char *path)
{
  if ((set->count + 1) * 10 > set->capacity * 7) {
    path_set_grow(set);
  }
  size_t i = path_slot(set->slots, set->capacity, path);
  if (set->slots[i] == NULL) {
    set->slots[i] = cf_xstrdup(path);
    set->count++;
  }
}

bool cf_win_path_set_contains(const cf_win_path_set *set, const char *path)
{
  if (set->capacity == 0) {
    return false;
  }
  return set->slots[path_slot(set->slots, set->capacity, path)] != NULL;
}

void cf_win_path_set_clear(cf_win_path_set *set)
{
  for (size_t i = 0; i < set->capacity; i++) {
    free(set->slots[i]);
  }
  free(set->slots);
  memset(set, 0, sizeof(*set));
}
