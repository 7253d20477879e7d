/* SPDX-License-Identifier: Apache-2.0 */
/* Streaming tar reader for Windows layers (see wintar.h). */
#include "image/wintar.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

#define BLOCK 512

/* ustar header field offsets and lengths (POSIX.1-2008 pax, "ustar
 * Interchange Format"). */
#define F_NAME 0
#define F_NAME_LEN 100
#define F_SIZE 124
#define F_SIZE_LEN 12
#define F_MTIME 136
#define F_MTIME_LEN 12
#define F_CHKSUM 148
#define F_CHKSUM_LEN 8
#define F_TYPEFLAG 156
#define F_LINKNAME 157
#define F_LINKNAME_LEN 100
#define F_MAGIC 257
#define F_PREFIX 345
#define F_PREFIX_LEN 155

typedef struct record_list {
  cf_wintar_record *items;
  size_t count;
  size_t bytes; /* sum of key and value lengths, bounded by CF_WINTAR_PAX_MAX */
} record_list;

struct cf_wintar {
  cf_wintar_read_fn read;
  void *context;
  uint64_t offset;    /* bytes consumed so far, for messages */
  uint64_t data_left; /* unread data bytes of the current entry */
  uint64_t pad_left;  /* padding after them up to the block boundary */
  bool done;
  bool failed;
  record_list global;
  record_list local;
  char *long_name;
  char *long_link;
  cf_wintar_entry entry;
};

/* --- Input --- */

/* Reads exactly len bytes. Sets *eof when the input ended before the first
 * byte (only then is a short read not an error). */
static int read_exact(cf_wintar *tar, void *buf, size_t len, bool *eof, cf_err **err)
{
  size_t done = 0;
  *eof = false;
  while (done < len) {
    size_t got = 0;
    if (tar->read(tar->context, (char *)buf + done, len - done, &got, err) < 0) {
      return cf_err_wrap(err, "read tar at byte %llu", (unsigned long long)tar->offset);
    }
    if (got == 0) {
      if (done == 0) {
        *eof = true;
        return 0;
      }
      return cf_err_set(err, CF_E_INVALID, "tar is truncated at byte %llu: %zu of %zu bytes read",
                        (unsigned long long)tar->offset, done, len);
    }
    if (got > len - done) {
      return cf_err_set(err, CF_E_INVALID, "tar read callback returned more bytes than requested");
    }
    done += got;
    tar->offset += got;
  }
  return 0;
}

static int skip(cf_wintar *tar, uint64_t count, cf_err **err)
{
  char scratch[4096];
  while (count > 0) {
    size_t chunk = count < sizeof(scratch) ? (size_t)count : sizeof(scratch);
    bool eof = false;
    if (read_exact(tar, scratch, chunk, &eof, err) < 0) {
      return -1;
    }
    if (eof) {
      return cf_err_set(err, CF_E_INVALID, "tar is truncated at byte %llu inside entry data",
                        (unsigned long long)tar->offset);
    }
    count -= chunk;
  }
  return 0;
}

/* --- Header fields --- */

static size_t field_len(const unsigned char *field, size_t max)
{
  const unsigned char *nul = memchr(field, '\0', max);
  return nul == NULL ? max : (size_t)(nul - field);
}

/* Base-256 (GNU): the top bit of the first byte is set, the rest is a
 * big-endian two's complement number. */
static int parse_base256(const unsigned char *field, size_t len, int64_t *out)
{
  unsigned char invert = (field[0] & 0x40) != 0 ? 0xff : 0x00;
  uint64_t value = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char byte = field[i] ^ invert;
    if (i == 0) {
      byte &= 0x7f;
    }
    if ((value >> 56) != 0) {
      return -1;
    }
    value = value << 8 | byte;
  }
  if ((value >> 63) != 0) {
    return -1;
  }
  *out = invert != 0 ? -(int64_t)value - 1 : (int64_t)value;
  return 0;
}

/* Octal, with leading and trailing spaces or NULs; empty is 0. */
static int parse_octal(const unsigned char *field, size_t len, int64_t *out)
{
  size_t start = 0;
  size_t end = len;
  while (start < end && (field[start] == ' ' || field[start] == '\0')) {
    start++;
  }
  while (end > start && (field[end - 1] == ' ' || field[end - 1] == '\0')) {
    end--;
  }
  uint64_t value = 0;
  for (size_t i = start; i < end; i++) {
    if (field[i] < '0' || field[i] > '7' || (value >> 60) != 0) {
      return -1;
    }
    value = value << 3 | (uint64_t)(field[i] - '0');
  }
  if (value > INT64_MAX) {
    return -1;
  }
  *out = (int64_t)value;
  return 0;
}

static int parse_number(const unsigned char *field, size_t len, int64_t *out)
{
  if ((field[0] & 0x80) != 0) {
    return parse_base256(field, len, out);
  }
  return parse_octal(field, len, out);
}

static bool is_zero_block(const unsigned char *block)
{
  for (size_t i = 0; i < BLOCK; i++) {
    if (block[i] != 0) {
      return false;
    }
  }
  return true;
}

/* The checksum is the sum of all header bytes, with the checksum field
 * read as spaces. Old tars summed signed chars, so both sums are accepted. */
static int check_checksum(cf_wintar *tar, const unsigned char *block, uint64_t at, cf_err **err)
{
  int64_t expected = 0;
  if (parse_octal(block + F_CHKSUM, F_CHKSUM_LEN, &expected) < 0) {
    return cf_err_set(err, CF_E_INVALID, "tar header at byte %llu: checksum field is not octal",
                      (unsigned long long)at);
  }
  int64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < BLOCK; i++) {
    bool in_field = i >= F_CHKSUM && i < F_CHKSUM + F_CHKSUM_LEN;
    unsigned char byte = in_field ? ' ' : block[i];
    unsigned_sum += byte;
    signed_sum += (signed char)byte;
  }
  if (expected != unsigned_sum && expected != signed_sum) {
    return cf_err_set(err, CF_E_INVALID,
                      "tar header at byte %llu: checksum %lld does not match the header (%lld); "
                      "the layer is corrupt or not a tar",
                      (unsigned long long)at, (long long)expected, (long long)unsigned_sum);
  }
  (void)tar;
  return 0;
}

/* --- PAX records --- */

static void records_clear(record_list *list)
{
  for (size_t i = 0; i < list->count; i++) {
    free(list->items[i].key);
    free(list->items[i].value);
  }
  free(list->items);
  memset(list, 0, sizeof(*list));
}

/* Copies a value by length: unlike a key it may contain NUL bytes. */
static char *copy_value(const char *value, size_t len)
{
  char *copy = cf_xmalloc(len + 1);
  memcpy(copy, value, len);
  copy[len] = '\0';
  return copy;
}

/* Stores key=value, replacing an earlier value of key. */
static int records_put(record_list *list, const char *key, size_t key_len, const char *value,
                       size_t value_len, cf_err **err)
{
  if (list->bytes + key_len + value_len > CF_WINTAR_PAX_MAX) {
    return cf_err_set(err, CF_E_LIMIT, "PAX records exceed %d bytes", CF_WINTAR_PAX_MAX);
  }
  for (size_t i = 0; i < list->count; i++) {
    cf_wintar_record *record = &list->items[i];
    if (strlen(record->key) == key_len && memcmp(record->key, key, key_len) == 0) {
      list->bytes -= record->value_len;
      free(record->value);
      record->value = copy_value(value, value_len);
      record->value_len = value_len;
      list->bytes += value_len;
      return 0;
    }
  }
  if (list->count == CF_WINTAR_RECORDS_MAX) {
    return cf_err_set(err, CF_E_LIMIT, "more than %d PAX records", CF_WINTAR_RECORDS_MAX);
  }
  list->items = cf_xrealloc(list->items, (list->count + 1) * sizeof(*list->items));
  cf_wintar_record *record = &list->items[list->count++];
  record->key = cf_xstrndup(key, key_len);
  record->value = copy_value(value, value_len);
  record->value_len = value_len;
  list->bytes += key_len + value_len;
  return 0;
}

/* Parses the decimal length that starts a record ("%d %s=%s\n"). */
static int record_length(const char *data, size_t left, size_t *length, size_t *digits)
{
  size_t value = 0;
  size_t i = 0;
  while (i < left && data[i] >= '0' && data[i] <= '9') {
    if (i == 7) {
      return -1; /* more than 9,999,999: beyond CF_WINTAR_PAX_MAX anyway */
    }
    value = value * 10 + (size_t)(data[i] - '0');
    i++;
  }
  if (i == 0 || i == left || data[i] != ' ') {
    return -1;
  }
  *length = value;
  *digits = i;
  return 0;
}

static int parse_record(const char *data, size_t left, record_list *list, size_t *used,
                        cf_err **err)
{
  size_t length = 0;
  size_t digits = 0;
  if (record_length(data, left, &length, &digits) < 0 || length > left || length < digits + 4) {
    return cf_err_set(err, CF_E_INVALID, "malformed PAX record length");
  }
  const char *key = data + digits + 1;
  const char *end = data + length - 1; /* the '\n' */
  if (*end != '\n') {
    return cf_err_set(err, CF_E_INVALID, "PAX record does not end with a newline");
  }
  const char *equals = memchr(key, '=', (size_t)(end - key));
  if (equals == NULL || equals == key) {
    return cf_err_set(err, CF_E_INVALID, "PAX record has no \"key=\"");
  }
  if (memchr(key, '\0', (size_t)(equals - key)) != NULL) {
    return cf_err_set(err, CF_E_INVALID, "PAX record key contains a NUL byte");
  }
  *used = length;
  return records_put(list, key, (size_t)(equals - key), equals + 1, (size_t)(end - equals - 1),
                     err);
}

static int parse_records(const char *data, size_t size, record_list *list, cf_err **err)
{
  size_t pos = 0;
  while (pos < size) {
    size_t used = 0;
    if (parse_record(data + pos, size - pos, list, &used, err) < 0) {
      return cf_err_wrap(err, "PAX record at offset %zu", pos);
    }
    pos += used;
  }
  return 0;
}

/* --- Meta headers ('x', 'g', 'L', 'K') --- */

/* Reads the data of a meta header (size bytes plus padding) into a new
 * NUL-terminated buffer. */
static char *read_meta_data(cf_wintar *tar, uint64_t size, uint64_t max, const char *what,
                            cf_err **err)
{
  if (size > max) {
    cf_err_set(err, CF_E_LIMIT, "%s of %llu bytes exceeds the maximum of %llu bytes", what,
               (unsigned long long)size, (unsigned long long)max);
    return NULL;
  }
  char *data = cf_xmalloc((size_t)size + 1);
  bool eof = false;
  if (read_exact(tar, data, (size_t)size, &eof, err) < 0 ||
      (eof && size > 0 && cf_err_set(err, CF_E_INVALID, "tar ends inside a %s", what) < 0) ||
      skip(tar, (BLOCK - size % BLOCK) % BLOCK, err) < 0) {
    free(data);
    return NULL;
  }
  data[size] = '\0';
  return data;
}

static int read_meta(cf_wintar *tar, char type, uint64_t size, cf_err **err)
{
  bool pax = type == 'x' || type == 'g';
  const char *what = type == 'x'   ? "PAX header"
                     : type == 'g' ? "PAX global header"
                     : type == 'L' ? "GNU long name"
                                   : "GNU long link name";
  char *data = read_meta_data(tar, size, pax ? CF_WINTAR_PAX_MAX : CF_WINTAR_NAME_MAX, what, err);
  if (data == NULL) {
    return -1;
  }
  int rc = 0;
  if (pax) {
    rc = parse_records(data, (size_t)size, type == 'x' ? &tar->local : &tar->global, err);
    free(data);
    return rc;
  }
  /* The name is NUL-terminated inside the data; strlen drops the rest. */
  if (data[0] == '\0') {
    free(data);
    return cf_err_set(err, CF_E_INVALID, "%s is empty", what);
  }
  char **slot = type == 'L' ? &tar->long_name : &tar->long_link;
  free(*slot);
  *slot = data;
  return 0;
}

/* --- Entries --- */

static void entry_clear(cf_wintar *tar)
{
  free(tar->entry.name);
  free(tar->entry.linkname);
  free(tar->entry.records);
  memset(&tar->entry, 0, sizeof(tar->entry));
  records_clear(&tar->local);
  free(tar->long_name);
  free(tar->long_link);
  tar->long_name = NULL;
  tar->long_link = NULL;
}

static const cf_wintar_record *local_record(const cf_wintar *tar, const char *key)
{
  for (size_t i = 0; i < tar->local.count; i++) {
    if (strcmp(tar->local.items[i].key, key) == 0) {
      return &tar->local.items[i];
    }
  }
  return NULL;
}

static char *ustar_name(const unsigned char *block)
{
  size_t name_len = field_len(block + F_NAME, F_NAME_LEN);
  bool posix = memcmp(block + F_MAGIC, "ustar\0", 6) == 0;
  size_t prefix_len = posix ? field_len(block + F_PREFIX, F_PREFIX_LEN) : 0;
  if (prefix_len == 0) {
    return cf_xstrndup((const char *)block + F_NAME, name_len);
  }
  return cf_xasprintf("%.*s/%.*s", (int)prefix_len, (const char *)block + F_PREFIX, (int)name_len,
                      (const char *)block + F_NAME);
}

/* PAX path and linkpath win over GNU long names, which win over ustar. */
static int pick_name(cf_wintar *tar, const char *key, char **gnu, const char *ustar, char **out,
                     cf_err **err)
{
  const cf_wintar_record *record = local_record(tar, key);
  if (record != NULL && record->value_len > 0) {
    if (strlen(record->value) != record->value_len || record->value_len > CF_WINTAR_NAME_MAX) {
      return cf_err_set(err, CF_E_INVALID, "PAX %s contains a NUL byte or is too long", key);
    }
    *out = cf_xstrdup(record->value);
    return 0;
  }
  if (*gnu != NULL) {
    *out = *gnu;
    *gnu = NULL;
    return 0;
  }
  *out = cf_xstrdup(ustar);
  return 0;
}

/* Parses a PAX "size": decimal digits only, at most INT64_MAX. */
static int pax_size(const cf_wintar_record *record, uint64_t *out)
{
  uint64_t value = 0;
  if (record->value_len == 0) {
    return -1;
  }
  for (size_t i = 0; i < record->value_len; i++) {
    char c = record->value[i];
    if (c < '0' || c > '9' || value > (INT64_MAX - (uint64_t)(c - '0')) / 10) {
      return -1;
    }
    value = value * 10 + (uint64_t)(c - '0');
  }
  *out = value;
  return 0;
}

/* Types that have no data whatever their size field contains, as Go's
 * archive/tar reads them: hard link, symlink, devices, directory, FIFO. */
static bool header_only(char type)
{
  return type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6';
}

static void entry_records(cf_wintar *tar)
{
  size_t count = tar->local.count + tar->global.count;
  tar->entry.records = cf_xcalloc(count + 1, sizeof(*tar->entry.records));
  if (tar->local.count > 0) {
    memcpy(tar->entry.records, tar->local.items, tar->local.count * sizeof(cf_wintar_record));
  }
  if (tar->global.count > 0) {
    memcpy(tar->entry.records + tar->local.count, tar->global.items,
           tar->global.count * sizeof(cf_wintar_record));
  }
  tar->entry.record_count = count;
}

static int build_entry(cf_wintar *tar, const unsigned char *block, int64_t size, cf_err **err)
{
  cf_wintar_entry *entry = &tar->entry;
  char type = (char)block[F_TYPEFLAG];
  entry->typeflag = type == '\0' || type == '7' ? '0' : type;
  cf_autofree char *name = ustar_name(block);
  cf_autofree char *link =
      cf_xstrndup((const char *)block + F_LINKNAME, field_len(block + F_LINKNAME, F_LINKNAME_LEN));
  if (pick_name(tar, "path", &tar->long_name, name, &entry->name, err) < 0 ||
      pick_name(tar, "linkpath", &tar->long_link, link, &entry->linkname, err) < 0) {
    return -1;
  }
  if (entry->name[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "tar entry has an empty name");
  }
  entry->size = (uint64_t)size;
  const cf_wintar_record *size_record = local_record(tar, "size");
  if (size_record != NULL && pax_size(size_record, &entry->size) < 0) {
    return cf_err_set(err, CF_E_INVALID, "PAX size \"%s\" is not a decimal number up to 2^63-1",
                      size_record->value);
  }
  if (header_only(entry->typeflag)) {
    entry->size = 0;
  }
  int64_t mtime = 0;
  if (parse_number(block + F_MTIME, F_MTIME_LEN, &mtime) == 0) {
    entry->mtime = mtime;
  }
  entry_records(tar);
  tar->data_left = entry->size;
  tar->pad_left = (BLOCK - entry->size % BLOCK) % BLOCK;
  return 0;
}

/* After one zero block the archive ends at end of input or at a second
 * zero block; anything else is an error. */
static int end_of_archive(cf_wintar *tar, unsigned meta, cf_err **err)
{
  unsigned char block[BLOCK];
  bool eof = false;
  if (meta > 0) {
    return cf_err_set(err, CF_E_INVALID, "tar ends after a PAX or GNU header with no entry");
  }
  if (read_exact(tar, block, BLOCK, &eof, err) < 0) {
    return -1;
  }
  if (!eof && !is_zero_block(block)) {
    return cf_err_set(err, CF_E_INVALID,
                      "tar header at byte %llu follows a single zero block (end marker)",
                      (unsigned long long)(tar->offset - BLOCK));
  }
  tar->done = true;
  return 0;
}

/* Reads headers until a real entry (1) or the end (0). */
static int read_header(cf_wintar *tar, cf_err **err)
{
  for (unsigned meta = 0;; meta++) {
    unsigned char block[BLOCK];
    uint64_t at = tar->offset;
    bool eof = false;
    if (read_exact(tar, block, BLOCK, &eof, err) < 0) {
      return -1;
    }
    if (eof || is_zero_block(block)) {
      if (eof && meta > 0) {
        return cf_err_set(err, CF_E_INVALID, "tar ends after a PAX or GNU header with no entry");
      }
      if (eof) {
        tar->done = true;
        return 0;
      }
      return end_of_archive(tar, meta, err);
    }
    if (check_checksum(tar, block, at, err) < 0) {
      return -1;
    }
    int64_t size = 0;
    if (parse_number(block + F_SIZE, F_SIZE_LEN, &size) < 0 || size < 0) {
      return cf_err_set(err, CF_E_INVALID,
                        "tar header at byte %llu: size is negative, overflows or is not a number",
                        (unsigned long long)at);
    }
    char type = (char)block[F_TYPEFLAG];
    if (type != 'x' && type != 'g' && type != 'L' && type != 'K') {
      if (build_entry(tar, block, size, err) < 0) {
        return cf_err_wrap(err, "tar header at byte %llu", (unsigned long long)at);
      }
      return 1;
    }
    if (meta + 1 >= CF_WINTAR_META_MAX) {
      return cf_err_set(err, CF_E_LIMIT,
                        "tar header at byte %llu: more than %d PAX or GNU headers before one entry",
                        (unsigned long long)at, CF_WINTAR_META_MAX);
    }
    if (read_meta(tar, type, (uint64_t)size, err) < 0) {
      return cf_err_wrap(err, "tar header at byte %llu", (unsigned long long)at);
    }
  }
}

cf_wintar *cf_wintar_new(cf_wintar_read_fn read, void *context)
{
  cf_wintar *tar = cf_xcalloc(1, sizeof(*tar));
  tar->read = read;
  tar->context = context;
  return tar;
}

void cf_wintar_free(cf_wintar *tar)
{
  if (tar == NULL) {
    return;
  }
  entry_clear(tar);
  records_clear(&tar->global);
  free(tar);
}

int cf_wintar_next(cf_wintar *tar, const cf_wintar_entry **entry, cf_err **err)
{
  if (tar->failed) {
    return cf_err_set(err, CF_E_INVALID, "tar reader already failed");
  }
  if (tar->done) {
    return 0;
  }
  int rc = skip(tar, tar->data_left + tar->pad_left, err);
  tar->data_left = 0;
  tar->pad_left = 0;
  entry_clear(tar);
  if (rc == 0) {
    rc = read_header(tar, err);
  }
  if (rc < 0) {
    tar->failed = true;
    return -1;
  }
  *entry = rc == 1 ? &tar->entry : NULL;
  return rc;
}

int cf_wintar_read(cf_wintar *tar, void *buf, size_t len, size_t *got, cf_err **err)
{
  *got = 0;
  if (tar->failed) {
    return cf_err_set(err, CF_E_INVALID, "tar reader already failed");
  }
  if (tar->data_left == 0 || len == 0) {
    return 0;
  }
  size_t want = tar->data_left < len ? (size_t)tar->data_left : len;
  if (tar->read(tar->context, buf, want, got, err) < 0) {
    tar->failed = true;
    return cf_err_wrap(err, "read tar entry %s", tar->entry.name);
  }
  if (*got == 0 || *got > want) {
    tar->failed = true;
    return cf_err_set(err, CF_E_INVALID, "tar entry %s is truncated: %llu data bytes missing",
                      tar->entry.name, (unsigned long long)tar->data_left);
  }
  tar->data_left -= *got;
  tar->offset += *got;
  return 0;
}

const char *cf_wintar_record_value(const cf_wintar_entry *entry, const char *key, size_t *len)
{
  for (size_t i = 0; i < entry->record_count; i++) {
    const cf_wintar_record *record = &entry->records[i];
    if (strcmp(record->key, key) == 0) {
      if (record->value_len == 0) {
        return NULL;
      }
      if (len != NULL) {
        *len = record->value_len;
      }
      return record->value;
    }
  }
  return NULL;
}
