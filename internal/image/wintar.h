/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small streaming tar reader for Windows layers. libarchive (3.6.2) drops
 * PAX keywords it does not know, such as MSWINDOWS.rawsd and
 * MSWINDOWS.fileattr, and the mingw-w64 build has no libarchive, so the
 * Windows import reads tar itself.
 *
 * It reads ustar, GNU and v7 headers (checksum checked, octal or base-256
 * numbers), PAX extended ('x') and global ('g') headers, and GNU long names
 * ('L', 'K'). Input comes from a read callback, so a decompressed layer is
 * read as it streams, without a temporary file. Every length is bounded:
 * see the CF_WINTAR_*_MAX limits. Platform-neutral: base and the C library
 * only.
 */
#ifndef CFWIN_IMAGE_WINTAR_H
#define CFWIN_IMAGE_WINTAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Maximum size of one PAX header ('x' or 'g') and of all global records. */
#define CF_WINTAR_PAX_MAX (1024 * 1024)
/* Maximum number of records in one PAX header. */
#define CF_WINTAR_RECORDS_MAX 4096
/* Maximum length of a name or link name (GNU 'L'/'K' data or PAX path). */
#define CF_WINTAR_NAME_MAX 65536
/* Maximum number of 'x', 'g', 'L' and 'K' headers in front of one entry. */
#define CF_WINTAR_META_MAX 16

/* Reads up to len bytes into buf and sets *got; *got == 0 means end of
 * input. Returns 0, or -1 with *err set. */
typedef int (*cf_wintar_read_fn)(void *context, void *buf, size_t len, size_t *got, cf_err **err);

/* One PAX record. value is NUL-terminated after value_len bytes. */
typedef struct cf_wintar_record {
  char *key;
  char *value;
  size_t value_len;
} cf_wintar_record;

typedef struct cf_wintar_entry {
  char *name;                /* PAX path, else GNU 'L', else ustar prefix/name */
  char *linkname;            /* PAX linkpath, else GNU 'K', else ustar linkname */
  char typeflag;             /* '0' for regular files (also '\0' and '7'), '1', '2', '5', ... */
  uint64_t size;             /* data bytes that follow the header (0 for '1', '2', '5') */
  int64_t mtime;             /* ustar mtime in seconds; PAX "mtime" is in the records */
  cf_wintar_record *records; /* this entry's PAX records, then the global ones */
  size_t record_count;
} cf_wintar_entry;

typedef struct cf_wintar cf_wintar;

cf_wintar *cf_wintar_new(cf_wintar_read_fn read, void *context);
void cf_wintar_free(cf_wintar *tar);

/* Moves to the next entry, skipping the unread data of the current one.
 * Returns 1 and sets *entry (owned by tar, valid until the next call), 0 at
 * the end of the archive, or -1 with *err naming the entry and the rule. */
int cf_wintar_next(cf_wintar *tar, const cf_wintar_entry **entry, cf_err **err);

/* Reads data of the current entry; *got == 0 at its end. */
int cf_wintar_read(cf_wintar *tar, void *buf, size_t len, size_t *got, cf_err **err);

/* The value of the PAX record key of entry (its own records before global
 * ones), or NULL when it is absent or empty; *len gets its length. */
const char *cf_wintar_record_value(const cf_wintar_entry *entry, const char *key, size_t *len);

#endif
