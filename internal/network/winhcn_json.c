/* SPDX-License-Identifier: Apache-2.0 */
/* JSON escaper and tree reader of the HCN builders; see winhcn_json.h. */
#include "network/winhcn_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"

/* --- Writing --- */

void cf_hcnj_string(cf_buf *buf, const char *text)
{
  const char *p = text != NULL ? text : "";
  cf_buf_append_str(buf, "\"", NULL);
  for (; *p != '\0'; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') {
      char escaped[2] = {'\\', (char)c};
      cf_buf_append(buf, escaped, 2, NULL);
    } else if (c == '\n') {
      cf_buf_append_str(buf, "\\n", NULL);
    } else if (c == '\r') {
      cf_buf_append_str(buf, "\\r", NULL);
    } else if (c == '\t') {
      cf_buf_append_str(buf, "\\t", NULL);
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      cf_buf_printf(buf, NULL, "\\u%04x", (unsigned)c);
    } else {
      cf_buf_append(buf, p, 1, NULL);
    }
  }
  cf_buf_append_str(buf, "\"", NULL);
}

void cf_hcnj_doc_init(cf_buf *buf)
{
  cf_buf_init(buf, SIZE_MAX);
}

int cf_hcnj_doc_take(const char *what, cf_buf *buf, char **out, cf_err **err)
{
  if (buf->len > CF_HCNJ_DOC_MAX) {
    size_t len = buf->len;
    cf_buf_free(buf);
    return cf_err_set(err, CF_E_LIMIT, "%s is %zu bytes, more than the maximum of %u", what, len,
                      CF_HCNJ_DOC_MAX);
  }
  *out = cf_buf_take(buf);
  return 0;
}

/* --- Reading --- */

typedef struct parser {
  const char *doc;
  const char *p;
  const char *what;
  const char *problem; /* set by the first failure */
} parser;

static bool fail(parser *ps, const char *problem)
{
  if (ps->problem == NULL) {
    ps->problem = problem;
  }
  return false;
}

static void skip_ws(parser *ps)
{
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r') {
    ps->p++;
  }
}

static int hex_digit(char c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
    return (c | 0x20) - 'a' + 10;
  }
  return -1;
}

static bool read_hex4(const char *s, uint32_t *value)
{
  *value = 0;
  for (int i = 0; i < 4; i++) {
    int digit = hex_digit(s[i]);
    if (digit < 0) {
      return false;
    }
    *value = *value * 16 + (uint32_t)digit;
  }
  return true;
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

/* Decodes the \u escape after the backslash at ps->p ('u'), joining a
 * surrogate pair; an unpaired surrogate becomes U+FFFD, as in Go. */
static bool read_unicode(parser *ps, cf_buf *buf)
{
  uint32_t rune = 0;
  if (!read_hex4(ps->p + 1, &rune)) {
    return fail(ps, "a \\u escape without four hex digits");
  }
  ps->p += 5;
  if (rune >= 0xd800 && rune <= 0xdbff) {
    uint32_t low = 0;
    if (ps->p[0] == '\\' && ps->p[1] == 'u' && read_hex4(ps->p + 2, &low) && low >= 0xdc00 &&
        low <= 0xdfff) {
      rune = 0x10000 + ((rune - 0xd800) << 10) + (low - 0xdc00);
      ps->p += 6;
    } else {
      rune = 0xfffd;
    }
  } else if (rune >= 0xdc00 && rune <= 0xdfff) {
    rune = 0xfffd;
  }
  if (rune == 0) {
    return fail(ps, "a string containing \\u0000");
  }
  append_utf8(buf, rune);
  return true;
}

static bool read_escape(parser *ps, cf_buf *buf)
{
  static const char from[] = "\"\\/bfnrt";
  static const char to[] = "\"\\/\b\f\n\r\t";
  if (*ps->p == 'u') {
    return read_unicode(ps, buf);
  }
  const char *found = *ps->p != '\0' ? strchr(from, *ps->p) : NULL;
  if (found == NULL) {
    return fail(ps, "an invalid escape");
  }
  cf_buf_append(buf, &to[found - from], 1, NULL);
  ps->p++;
  return true;
}

/* Reads the string at ps->p ('"') into *out. */
static bool read_string(parser *ps, char **out)
{
  cf_buf buf;
  cf_hcnj_doc_init(&buf);
  ps->p++;
  while (*ps->p != '"') {
    unsigned char c = (unsigned char)*ps->p;
    bool ok = true;
    if (c < 0x20) {
      ok = fail(ps, c == '\0' ? "an unterminated string" : "a control character in a string");
    } else if (c == '\\') {
      ps->p++;
      ok = read_escape(ps, &buf);
    } else {
      cf_buf_append(&buf, ps->p++, 1, NULL);
    }
    if (!ok) {
      cf_buf_free(&buf);
      return false;
    }
  }
  ps->p++;
  *out = cf_buf_take(&buf);
  return true;
}

static bool skip_digits(parser *ps)
{
  const char *start = ps->p;
  while (*ps->p >= '0' && *ps->p <= '9') {
    ps->p++;
  }
  return ps->p > start;
}

static bool read_number(parser *ps, cf_hcnj *value)
{
  const char *start = ps->p;
  if (*ps->p == '-') {
    ps->p++;
  }
  if (*ps->p == '0') {
    ps->p++;
  } else if (!skip_digits(ps)) {
    return fail(ps, "an unexpected character");
  }
  if (*ps->p == '.') {
    ps->p++;
    if (!skip_digits(ps)) {
      return fail(ps, "a number without digits after the point");
    }
  }
  if (*ps->p == 'e' || *ps->p == 'E') {
    ps->p++;
    if (*ps->p == '+' || *ps->p == '-') {
      ps->p++;
    }
    if (!skip_digits(ps)) {
      return fail(ps, "a number without exponent digits");
    }
  }
  value->type = CF_HCNJ_NUMBER;
  value->text = cf_xstrndup(start, (size_t)(ps->p - start));
  return true;
}

static bool read_literal(parser *ps, const char *word, cf_hcnj_type type, bool boolean,
                         cf_hcnj *value)
{
  size_t len = strlen(word);
  if (strncmp(ps->p, word, len) != 0) {
    return fail(ps, "an unexpected character");
  }
  ps->p += len;
  value->type = type;
  value->boolean = boolean;
  return true;
}

static bool read_value(parser *ps, cf_hcnj *value, int depth);

static cf_hcnj *add_item(cf_hcnj *container)
{
  container->items = cf_xrealloc(container->items, (container->count + 1) * sizeof(cf_hcnj));
  cf_hcnj *item = &container->items[container->count++];
  memset(item, 0, sizeof(*item));
  return item;
}

/* Reads one member "name": value of an object into a new item. */
static bool read_member(parser *ps, cf_hcnj *object, int depth)
{
  if (*ps->p != '"') {
    return fail(ps, "a member name that is not a string");
  }
  cf_hcnj *member = add_item(object);
  if (!read_string(ps, &member->key)) {
    return false;
  }
  skip_ws(ps);
  if (*ps->p != ':') {
    return fail(ps, "a member name without a colon");
  }
  ps->p++;
  skip_ws(ps);
  return read_value(ps, member, depth + 1);
}

/* Reads the object or array at ps->p ('{' or '['). */
static bool read_container(parser *ps, cf_hcnj *value, int depth)
{
  bool object = *ps->p == '{';
  char close = object ? '}' : ']';
  value->type = object ? CF_HCNJ_OBJECT : CF_HCNJ_ARRAY;
  ps->p++;
  skip_ws(ps);
  if (*ps->p == close) {
    ps->p++;
    return true;
  }
  for (;;) {
    bool ok = object ? read_member(ps, value, depth) : read_value(ps, add_item(value), depth + 1);
    if (!ok) {
      return false;
    }
    skip_ws(ps);
    if (*ps->p == close) {
      ps->p++;
      return true;
    }
    if (*ps->p != ',') {
      return fail(ps, object ? "a missing comma or '}'" : "a missing comma or ']'");
    }
    ps->p++;
    skip_ws(ps);
  }
}

static bool read_value(parser *ps, cf_hcnj *value, int depth)
{
  if (depth > CF_HCNJ_DEPTH_MAX) {
    return fail(ps, "nesting deeper than the maximum");
  }
  switch (*ps->p) {
  case '{':
  case '[':
    return read_container(ps, value, depth);
  case '"':
    value->type = CF_HCNJ_STRING;
    return read_string(ps, &value->text);
  case 't':
    return read_literal(ps, "true", CF_HCNJ_BOOL, true, value);
  case 'f':
    return read_literal(ps, "false", CF_HCNJ_BOOL, false, value);
  case 'n':
    return read_literal(ps, "null", CF_HCNJ_NULL, false, value);
  default:
    return read_number(ps, value);
  }
}

static void free_contents(cf_hcnj *value)
{
  for (size_t i = 0; i < value->count; i++) {
    free_contents(&value->items[i]);
  }
  free(value->items);
  free(value->key);
  free(value->text);
}

void cf_hcnj_free(cf_hcnj *value)
{
  if (value != NULL) {
    free_contents(value);
    free(value);
  }
}

int cf_hcnj_parse(const char *what, const char *doc, cf_hcnj **out, cf_err **err)
{
  *out = NULL;
  size_t len = strlen(doc);
  if (len > CF_HCNJ_DOC_MAX) {
    return cf_err_set(err, CF_E_INVALID, "%s is %zu bytes, more than the maximum of %u", what, len,
                      CF_HCNJ_DOC_MAX);
  }
  parser ps = {.doc = doc, .p = doc, .what = what};
  cf_hcnj *root = cf_xcalloc(1, sizeof(*root));
  skip_ws(&ps);
  bool ok = read_value(&ps, root, 1);
  if (ok) {
    skip_ws(&ps);
    ok = *ps.p == '\0' || fail(&ps, "text after the value");
  }
  if (!ok) {
    cf_hcnj_free(root);
    return cf_err_set(err, CF_E_INVALID, "%s is not valid JSON: %s at byte %zu", what, ps.problem,
                      (size_t)(ps.p - doc));
  }
  *out = root;
  return 0;
}

const cf_hcnj *cf_hcnj_member(const cf_hcnj *object, const char *name)
{
  if (object == NULL || object->type != CF_HCNJ_OBJECT) {
    return NULL;
  }
  const cf_hcnj *found = NULL;
  for (size_t i = 0; i < object->count; i++) {
    if (strcasecmp(object->items[i].key, name) == 0) {
      found = &object->items[i];
    }
  }
  return found;
}

const char *cf_hcnj_text(const cf_hcnj *value)
{
  return value != NULL && value->type == CF_HCNJ_STRING ? value->text : NULL;
}
