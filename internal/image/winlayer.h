/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Platform-neutral half of the Windows layer import: turns the entries of
 * a Windows layer tar (wintar.h) into Win32 backup streams, the format
 * BackupWrite restores and vmcompute's ImportLayer reads, and drives a sink
 * that the Windows code (windows/layer_writer.c) implements with files.
 *
 * Tar conventions (go-winio backuptar, as hcsshim and groot-windows read
 * them): PAX records MSWINDOWS.fileattr (decimal attributes),
 * MSWINDOWS.rawsd (base64 self-relative security descriptor),
 * MSWINDOWS.sd (SDDL, older writers), MSWINDOWS.mountpoint (a symlink entry
 * is a junction), MSWINDOWS.xattr.NAME (base64 extended attribute value),
 * LIBARCHIVE.creationtime ("secs.frac"); alternate data streams as regular
 * entries `FILE:STREAM` right after FILE; whiteouts `.wh.NAME` and opaque
 * markers `.wh..wh..opq`.
 *
 * Multi-byte values are little-endian, as on every Windows target.
 */
#ifndef CFWIN_IMAGE_WINLAYER_H
#define CFWIN_IMAGE_WINLAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "image/wintar.h"

/* WIN32_STREAM_ID.dwStreamId values (winbase.h). */
#define CF_WIN_BACKUP_DATA 1
#define CF_WIN_BACKUP_EA_DATA 2
#define CF_WIN_BACKUP_SECURITY_DATA 3
#define CF_WIN_BACKUP_ALTERNATE_DATA 4
#define CF_WIN_BACKUP_REPARSE_DATA 8

/* WIN32_STREAM_ID up to cStreamName: dwStreamId, dwStreamAttributes,
 * Size (LARGE_INTEGER), dwStreamNameSize. */
#define CF_WIN_STREAM_HEADER_SIZE 20

#define CF_WIN_FILE_ATTRIBUTE_DIRECTORY 0x10u
#define CF_WIN_FILE_ATTRIBUTE_REPARSE_POINT 0x400u

#define CF_WIN_IO_REPARSE_TAG_MOUNT_POINT 0xA0000003u
#define CF_WIN_IO_REPARSE_TAG_SYMLINK 0xA000000Cu
#define CF_WIN_SYMLINK_FLAG_RELATIVE 1u
/* MAXIMUM_REPARSE_DATA_BUFFER_SIZE (winnt.h). */
#define CF_WIN_REPARSE_MAX 16384

/* Security descriptors larger than this are rejected; the largest real
 * ones (long DACLs) are a few KiB. */
#define CF_WIN_SECURITY_MAX 65536

/* 100 ns intervals between 1601-01-01 and 1970-01-01 (UTC). */
#define CF_WIN_FILETIME_UNIX_EPOCH 116444736000000000ll

/* Parses MSWINDOWS.fileattr: decimal digits, at most UINT32_MAX. */
int cf_win_parse_attributes(const char *value, uint32_t *out, cf_err **err);

/* Decodes standard base64 (RFC 4648 section 4, with '=' padding). Strict:
 * the length is a multiple of 4, '=' only at the end, no whitespace, and
 * the unused bits of the last group are zero. Fails with CF_E_LIMIT when
 * the result would exceed max bytes. *out is freed by the caller. */
int cf_win_base64_decode(const char *text, size_t len, size_t max, uint8_t **out, size_t *out_len,
                         cf_err **err);

/* Converts a PAX time "SECS[.FRACTION]" (SECS may be negative; digits
 * after the ninth are dropped) to a FILETIME count. Times before 1601 and
 * beyond the int64 range fail. */
int cf_win_pax_time(const char *value, int64_t *filetime, cf_err **err);

/* The FILETIME count of a Unix time in seconds, or -1 when it is out of
 * range. */
int cf_win_unix_filetime(int64_t seconds, int64_t *filetime);

/* Appends UTF-8 text as UTF-16LE without a terminator. Rejects malformed
 * UTF-8, overlong forms, surrogates and NUL bytes. */
int cf_win_utf16le(const char *text, size_t len, cf_buf *out, cf_err **err);

/* Appends a WIN32_STREAM_ID with attributes 0: id, size and the UTF-16LE
 * stream name (NULL for none), without a terminator, as BackupRead writes
 * it. */
int cf_win_backup_header(cf_buf *out, uint32_t id, uint64_t size, const char *name, cf_err **err);

/* One extended attribute: a name of 1-255 bytes and a value of at most
 * 65535 bytes. */
typedef struct cf_win_ea {
  const char *name;
  const uint8_t *value;
  size_t value_len;
} cf_win_ea;

/* Appends FILE_FULL_EA_INFORMATION entries (NextEntryOffset, Flags 0,
 * EaNameLength, EaValueLength, name, NUL, value), each padded to 4 bytes,
 * the last with NextEntryOffset 0. */
int cf_win_ea_buffer(const cf_win_ea *eas, size_t count, cf_buf *out, cf_err **err);

/* Appends a REPARSE_DATA_BUFFER for a symlink (IO_REPARSE_TAG_SYMLINK, with
 * Flags) or a junction (IO_REPARSE_TAG_MOUNT_POINT). target uses `\`. The
 * substitute name is the NT form (`\??\C:\x` for `C:\x`, `\??\UNC\h\s` for
 * `\\h\s`, `\??\` + rest for `\\?\`, else the target as a relative link),
 * followed by the print name (the target); both are stored with a NUL. */
int cf_win_reparse_buffer(const char *target, bool mount_point, cf_buf *out, cf_err **err);

/* The copy groot keeps of a UtilityVM boot file that ProcessUtilityImage
 * changes: "bcd.bak", "bcd.log.bak", "bcd.log1.bak" or "bcd.log2.bak" for
 * the tar names UtilityVM/Files/EFI/Microsoft/Boot/BCD, BCD.LOG, BCD.LOG1,
 * BCD.LOG2 (exact match); NULL for any other name. */
const char *cf_win_bcd_backup_name(const char *tar_name);

/* The `size` file groot writes last into a layer folder: the decimal
 * number of regular-file data bytes, no newline. cf_win_size_parse reads it
 * back and rejects anything else. */
char *cf_win_size_format(uint64_t size);
int cf_win_size_parse(const char *text, size_t len, uint64_t *size, cf_err **err);

/* The host os.version as image indexes state it: "MAJOR.MINOR.BUILD.UBR",
 * such as "10.0.17763.5458". */
char *cf_win_os_version_format(uint32_t major, uint32_t minor, uint32_t build, uint32_t ubr);

/* --- One entry --- */

enum cf_win_layer_kind {
  CF_WIN_LAYER_FILE,     /* regular file, data follows */
  CF_WIN_LAYER_DIR,      /* directory (also a directory symlink or junction) */
  CF_WIN_LAYER_SYMLINK,  /* file symlink */
  CF_WIN_LAYER_HARDLINK, /* hard link to link_target */
  CF_WIN_LAYER_WHITEOUT, /* remove path, which a parent layer has */
  CF_WIN_LAYER_OPAQUE,   /* hide what the parent layers have under directory path */
};

/* FILE_BASIC_INFO: FILETIME counts and attributes. */
typedef struct cf_win_basic_info {
  int64_t creation_time;
  int64_t last_access_time;
  int64_t last_write_time;
  int64_t change_time;
  uint32_t attributes;
} cf_win_basic_info;

/* A tar entry as the layer writer needs it. */
typedef struct cf_win_layer_entry {
  enum cf_win_layer_kind kind;
  char *path;        /* inside the layer, `Files\a\b` */
  char *link_target; /* HARDLINK: layer path; symlinks: target with `\`; else NULL */
  bool reparse;      /* a symlink or junction: the stream carries reparse data */
  uint64_t size;     /* data bytes of a FILE */
  cf_win_basic_info info;
  const char *bcd_backup; /* cf_win_bcd_backup_name of the entry, or NULL */
} cf_win_layer_entry;

/* Classifies a tar entry and reads its times and attributes. Rejects
 * types other than regular file, hard link, symlink and directory, a
 * directory type whose attributes lack FILE_ATTRIBUTE_DIRECTORY (or a file
 * whose attributes have it), `:` in names (streams are handled by
 * cf_win_layer_import_tar) and names ending in `.$wcidirs$` (reserved by the
 * import format). */
int cf_win_layer_entry_from_tar(const cf_wintar_entry *tar_entry, cf_win_layer_entry *out,
                                cf_err **err);
void cf_win_layer_entry_clear(cf_win_layer_entry *entry);

/* Appends the backup streams that precede an entry's data: security
 * descriptor (security, if security_len > 0), extended attributes (from
 * MSWINDOWS.xattr.*, in record order), reparse data (symlinks and
 * junctions) and, for files, the BACKUP_DATA header with entry->size. */
int cf_win_backup_prefix(const cf_wintar_entry *tar_entry, const cf_win_layer_entry *entry,
                         const uint8_t *security, size_t security_len, cf_buf *out, cf_err **err);

/* Sets *stream to the stream name when tar_name is `file_tar_name:STREAM`,
 * else to NULL. Fails when the stream name is empty or has `:`, `/` or
 * `\`. */
int cf_win_stream_name(const char *tar_name, const char *file_tar_name, char **stream,
                       cf_err **err);

/* --- The import loop --- */

/* What the Windows layer writer does with each entry. Every callback
 * returns 0 or -1 with *err set. */
typedef struct cf_win_layer_sink {
  /* Creates entry->path (FILE, DIR, SYMLINK) with entry->info, ready for
   * its backup stream. */
  int (*begin)(void *context, const cf_win_layer_entry *entry, cf_err **err);
  /* Writes backup stream bytes of the current entry. */
  int (*write)(void *context, const void *data, size_t len, cf_err **err);
  /* Finishes the current entry. */
  int (*end)(void *context, cf_err **err);
  /* Records a hard link from path to the layer path target. */
  int (*link)(void *context, const char *path, const char *target, cf_err **err);
  /* Records a whiteout of path or, with opaque, of everything the parent
   * layers have under the directory path. */
  int (*remove)(void *context, const char *path, bool opaque, cf_err **err);
  /* Converts an SDDL string (MSWINDOWS.sd) to a self-relative security
   * descriptor, freed by the caller; NULL where that is not available. */
  int (*sddl)(void *context, const char *sddl, uint8_t **sd, size_t *len, cf_err **err);
} cf_win_layer_sink;

/* Reads every entry of tar and drives sink, as groot-windows' unpack does.
 * Whiteouts and opaque markers go to remove, hard links to link, and
 * everything else to begin/write/end with its full backup stream, including
 * the alternate data streams that follow it. A base layer (base set) must
 * have no whiteouts, and its opaque markers hide nothing. *size gets the
 * regular-file data bytes (streams not counted): the value of the `size`
 * file. Errors name the tar entry. */
int cf_win_layer_import_tar(cf_wintar *tar, bool base, const cf_win_layer_sink *sink, void *context,
                            uint64_t *size, cf_err **err);

/* --- Case-insensitive path set --- */

/* A set of layer paths compared ignoring ASCII case, for the paths a layer
 * adds. NOTE: NTFS compares names with its upcase table, which also folds
 * non-ASCII letters; names differing only in non-ASCII case are treated as
 * different here. */
typedef struct cf_win_path_set {
  char **slots;
  size_t capacity;
  size_t count;
} cf_win_path_set;

void cf_win_path_set_add(cf_win_path_set *set, const char *path);
bool cf_win_path_set_contains(const cf_win_path_set *set, const char *path);
void cf_win_path_set_clear(cf_win_path_set *set);

#endif
