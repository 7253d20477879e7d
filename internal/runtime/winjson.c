/* SPDX-License-Identifier: Apache-2.0 */
/* JSON escaping and scanning for the Windows runtime builders; see
 * winjson.h. Free of jansson, because the mingw-w64 build has none. */
#include "runtime/winjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* --- Escaping --- */

/* Decodes the UTF-8 sequence at s into *rune and returns its length, or 0
 * when it is invalid: a bad lead or continuation byte, an overlong form, a
 * surrogate or a value past U+10FFFF, the sequences Go's decoder rejects. */
static size_t utf8_decode(const unsigned char *s, uint32_t *rune)
{
  static const uint32_t min_rune[5] = {0, 0, 0x80, 0x800, 0x10000};
  size_t len = s[0] < 0x80             ? 1
               : (s[0] & 0xe0) == 0xc0 ? 2
               : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
  if (len == 0) {
    return 0;
  }
  uint32_t value = len == 1 ? s[0] : s[0] & (0x7f >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) {
      return 0;
    }
    value = (value << 6) | (s[i] & 0x3f);
  }
  if (value < min_rune[len] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
    return 0;
  }
  *rune = value;
  return len;
}

static void append_escape(cf_buf *buf, const unsigned char *p, size_t len, uint32_t rune)
{
  if (rune == '"' || rune == '\\') {
    char escaped[2] = {'\\', (char)rune};
    cf_buf_append(buf, escaped, 2, NULL);
  } else if (rune == '\n') {
    cf_buf_append_str(buf, "\\n", NULL);
  } else if (rune == '\r') {
    cf_buf_append_str(buf, "\\r", NULL);
  } else if (rune == '\t') {
    cf_buf_append_str(buf, "\\t", NULL);
  } else if (rune < 0x20 || rune == '<' || rune == '>' || rune == '&' || rune == 0x2028 ||
             rune == 0x2029) {
    cf_buf_printf(buf, NULL, "\\u%04x", (unsigned)rune);
  } else {
    cf_buf_append(buf, p, len, NULL);
  }
}

void cf_winjson_string(cf_buf *buf, const char *text)
{
  const unsigned char *p = (const unsigned char *)(text != NULL ? text : "");
  cf_buf_append_str(buf, "\"", NULL);
  while (*p != '\0') {
    uint32_t rune = 0;
    size_t len = utf8_decode(p, &rune);
    if (len == 0) {
      cf_buf_append_str(buf, "\\ufffd", NULL);
      p++;
      continue;
    }
    append_escape(buf, p, len, rune);
    p += len;
  }
  cf_buf_append_str(buf, "\"", NULL);
}

void cf_winjson_doc_init(cf_buf *buf)
{
  cf_buf_init(buf, SIZE_MAX);
}

int cf_winjson_doc_take(const char *what, cf_buf *buf, char **out, cf_err **err)
{
  if (buf->len > CF_WINJSON_DOC_MAX) {
    size_t len = buf->len;
    cf_buf_free(buf);
    return cf_err_set(err, CF_E_LIMIT, "%s is %zu bytes, more than the maximum of %u", what, len,
                      CF_WINJSON_DOC_MAX);
  }
  *out = cf_buf_take(buf);
  return 0;
}

/* --- Validation --- */

static const char *skip_ws(const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
    p++;
  }
  return p;
}

static bool is_hex(char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Moves *p past a string that starts at *p; false when it is malformed. */
static bool check_string(const char **p)
{
  const char *s = *p + 1;
  while (*s != '"') {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20) {
      return false; /* the end of the document or a raw control character */
    }
    if (c == '\\') {
      s++;
      if (*s == 'u') {
        if (!is_hex(s[1]) || !is_hex(s[2]) || !is_hex(s[3]) || !is_hex(s[4])) {
          return false;
        }
        s += 4;
      } else if (*s == '\0' || strchr("\"\\/bfnrt", *s) == NULL) {
        return false;
      }
    }
    s++;
  }
  *p = s + 1;
  return true;
}

static bool check_digits(const char **p)
{
  const char *s = *p;
  while (*s >= '0' && *s <= '9') {
    s++;
  }
  bool any = s > *p;
  *p = s;
  return any;
}

static bool check_number(const char **p)
{
  const char *s = *p;
  if (*s == '-') {
    s++;
  }
  if (*s == '0') {
    s++;
  } else if (!check_digits(&s)) {
    return false;
  }
  if (*s == '.') {
    s++;
    if (!check_digits(&s)) {
      return false;
    }
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-') {
      s++;
    }
    if (!check_digits(&s)) {
      return false;
    }
  }
  *p = s;
  return true;
}

static bool check_value(const char **p, int depth);

/* Checks the members or elements of an object or array at *p ('{' or '['). */
static bool check_container(const char **p, int depth)
{
  char close = **p == '{' ? '}' : ']';
  bool object = close == '}';
  const char *s = skip_ws(*p + 1);
  if (*s == close) {
    *p = s + 1;
    return true;
  }
  for (;;) {
    if (object) {
      if (*s != '"' || !check_string(&s)) {
        return false;
      }
      s = skip_ws(s);
      if (*s != ':') {
        return false;
      }
      s = skip_ws(s + 1);
    }
    if (!check_value(&s, depth + 1)) {
      return false;
    }
    s = skip_ws(s);
    if (*s == close) {
      *p = s + 1;
      return true;
    }
    if (*s != ',') {
      return false;
    }
    s = skip_ws(s + 1);
  }
}

static bool check_literal(const char **p, const char *word)
{
  size_t len = strlen(word);
  if (strncmp(*p, word, len) != 0) {
    return false;
  }
  *p += len;
  return true;
}

static bool check_value(const char **p, int depth)
{
  if (depth > CF_WINJSON_DEPTH_MAX) {
    return false;
  }
  switch (**p) {
  case '{':
  case '[':
    return check_container(p, depth);
  case '"':
    return check_string(p);
  case 't':
    return check_literal(p, "true");
  case 'f':
    return check_literal(p, "false");
  case 'n':
    return check_literal(p, "null");
  default:
    return check_number(p);
  }
}

int cf_winjson_validate(const char *what, const char *doc, cf_err **err)
{
  size_t len = strlen(doc);
  if (len > CF_WINJSON_DOC_MAX) {
    return cf_err_set(err, CF_E_INVALID, "%s is %zu bytes, more than the maximum of %u", what, len,
                      CF_WINJSON_DOC_MAX);
  }
  const char *p = skip_ws(doc);
  if (!check_value(&p, 1) || *skip_ws(p) != '\0') {
    return cf_err_set(err, CF_E_INVALID,
                      "%s is not valid JSON (or nested deeper than %d) near byte %zu", what,
                      CF_WINJSON_DEPTH_MAX, (size_t)(p - doc));
  }
  return 0;
}

/* --- Lookup in a validated document --- */

/* Returns the end of the value at p; p points into a validated document. */
static const char *skip_value(const char *p)
{
  const char *s = p;
  check_value(&s, 1);
  return s;
}

/* True when the string at p ('"') contains exactly name, unescaped. */
static bool key_equals(const char *p, const char *name)
{
  size_t len = strlen(name);
  return strncmp(p + 1, name, len) == 0 && p[1 + len] == '"';
}

/* Returns the value of the last member called name of the object at p. */
static const char *object_member(const char *p, const char *name)
{
  const char *found = NULL;
  const char *s = skip_ws(p + 1);
  while (*s == '"') {
    bool match = key_equals(s, name);
    check_string(&s);
    s = skip_ws(skip_ws(s) + 1); /* past the colon */
    if (match) {
      found = s;
    }
    s = skip_ws(skip_value(s));
    if (*s == ',') {
      s = skip_ws(s + 1);
    }
  }
  return found;
}

const char *cf_winjson_find(const char *doc, const char *const *path, size_t depth)
{
  const char *value = skip_ws(doc);
  for (size_t i = 0; i < depth; i++) {
    if (*value != '{') {
      return NULL;
    }
    value = object_member(value, path[i]);
    if (value == NULL) {
      return NULL;
    }
  }
  return value;
}

int cf_winjson_u64(const char *what, const char *value, uint64_t *out, cf_err **err)
{
  const char *p = value;
  uint64_t number = 0;
  if (*p < '0' || *p > '9') {
    return cf_err_set(err, CF_E_INVALID, "%s: expected a non-negative integer, got \"%.20s\"", what,
                      value);
  }
  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned digit = (unsigned)(*p - '0');
    if (number > (UINT64_MAX - digit) / 10) {
      return cf_err_set(err, CF_E_INVALID, "%s: %.30s is larger than 2^64-1", what, value);
    }
    number = number * 10 + digit;
  }
  if (*p == '.' || *p == 'e' || *p == 'E') {
    return cf_err_set(err, CF_E_INVALID, "%s: expected an integer, got \"%.30s\"", what, value);
  }
  *out = number;
  return 0;
}

int cf_winjson_bool(const char *what, const char *value, bool *out, cf_err **err)
{
  if (strncmp(value, "true", 4) == 0) {
    *out = true;
  } else if (strncmp(value, "false", 5) == 0) {
    *out = false;
  } else {
    return cf_err_set(err, CF_E_INVALID, "%s: expected true or false, got \"%.20s\"", what, value);
  }
  return 0;
}

int cf_winjson_array_length(const char *what, const char *value, size_t *out, cf_err **err)
{
  if (*value != '[') {
    return cf_err_set(err, CF_E_INVALID, "%s: expected an array, got \"%.20s\"", what, value);
  }
  size_t count = 0;
  const char *s = skip_ws(value + 1);
  while (*s != ']') {
    count++;
    s = skip_ws(skip_value(s));
    if (*s == ',') {
      s = skip_ws(s + 1);
    }
  }
  *out = count;
  return 0;
}

static unsigned hex_value(const char *s)
{
  unsigned value = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    unsigned digit = c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
    value = value * 16 + digit;
  }
  return value;
}

static void append_utf8(cf_buf *buf, uint32_t rune)
{
  char bytes[4];
  size_t len = 0;
  if (rune < 0x80) {
    bytes[len++] = (char)rune;
  } else if (rune < 0x800) {
    bytes[len++] = (char)(0xc0 | (rune >> 6));
    bytes[len++] = (char)(0x80 | (rune & 0x3f));
  } else if (rune < 0x10000) {
    bytes[len++] = (char)(0xe0 | (rune >> 12));
    bytes[len++] = (char)(0x80 | ((rune >> 6) & 0x3f));
    bytes[len++] = (char)(0x80 | (rune & 0x3f));
  } else {
    bytes[len++] = (char)(0xf0 | (rune >> 18));
    bytes[len++] = (char)(0x80 | ((rune >> 12) & 0x3f));
    bytes[len++] = (char)(0x80 | ((rune >> 6) & 0x3f));
    bytes[len++] = (char)(0x80 | (rune & 0x3f));
  }
  cf_buf_append(buf, bytes, len, NULL);
}

/* Decodes the \u escape at s ('u'), joining a surrogate pair; unpaired
 * surrogates become U+FFFD, as in Go. Returns the characters consumed. */
static size_t decode_unicode(const char *s, uint32_t *rune)
{
  uint32_t first = hex_value(s + 1);
  *rune = first;
  if (first >= 0xdc00 && first <= 0xdfff) {
    *rune = 0xfffd;
  } else if (first >= 0xd800 && first <= 0xdbff) {
    *rune = 0xfffd;
    if (s[5] == '\\' && s[6] == 'u') {
      uint32_t second = hex_value(s + 7);
      if (second >= 0xdc00 && second <= 0xdfff) {
        *rune = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
        return 11;
      }
    }
  }
  return 5;
}

static char simple_escape(char c)
{
  switch (c) {
  case 'b':
    return '\b';
  case 'f':
    return '\f';
  case 'n':
    return '\n';
  case 'r':
    return '\r';
  case 't':
    return '\t';
  default:
    return c; /* `"`, `\` and `/` stand for themselves */
  }
}

int cf_winjson_text(const char *what, const char *value, char **out, cf_err **err)
{
  if (*value != '"') {
    return cf_err_set(err, CF_E_INVALID, "%s: expected a string, got \"%.20s\"", what, value);
  }
  cf_buf buf;
  cf_winjson_doc_init(&buf);
  const char *s = value + 1;
  while (*s != '"') {
    if (*s != '\\') {
      cf_buf_append(&buf, s++, 1, NULL);
      continue;
    }
    s++;
    if (*s != 'u') {
      char c = simple_escape(*s++);
      cf_buf_append(&buf, &c, 1, NULL);
      continue;
    }
    uint32_t rune = 0;
    s += decode_unicode(s, &rune);
    if (rune == 0) {
      cf_buf_free(&buf);
      return cf_err_set(err, CF_E_INVALID, "%s: the string contains \\u0000", what);
    }
    append_utf8(&buf, rune);
  }
  *out = cf_buf_take(&buf);
  return 0;
}
