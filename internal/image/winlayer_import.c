/* SPDX-License-Identifier: Apache-2.0 */
/* Tar entries to Windows layer entries and the import loop (see
 * winlayer.h). */
#include "image/winlayer.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "image/winimage.h"

#define PAX_FILEATTR "MSWINDOWS.fileattr"
#define PAX_RAWSD "MSWINDOWS.rawsd"
#define PAX_SDDL "MSWINDOWS.sd"
#define PAX_MOUNTPOINT "MSWINDOWS.mountpoint"
#define PAX_XATTR_PREFIX "MSWINDOWS.xattr."
#define PAX_CREATIONTIME "LIBARCHIVE.creationtime"

/* The import format marks directories with `<dir>.$wcidirs$` files. */
#define WCIDIRS_SUFFIX ".$wcidirs$"

/* Backup stream bytes are handed to the sink in chunks of this size. */
#define COPY_CHUNK (64 * 1024)

void cf_win_layer_entry_clear(cf_win_layer_entry *entry)
{
  free(entry->path);
  free(entry->link_target);
  memset(entry, 0, sizeof(*entry));
}

static int reject(cf_err **err, const char *name, const char *rule)
{
  return cf_err_set(err, CF_E_INVALID, "tar entry \"%s\": %s", name, rule);
}

static bool ends_with_nocase(const char *text, const char *suffix)
{
  size_t len = strlen(text);
  size_t suffix_len = strlen(suffix);
  if (len < suffix_len) {
    return false;
  }
  for (size_t i = 0; i < suffix_len; i++) {
    char a = text[len - suffix_len + i];
    char b = suffix[i];
    if ((a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) != b) {
      return false;
    }
  }
  return true;
}

/* The PAX time key, else fallback. */
static int entry_time(const cf_wintar_entry *tar_entry, const char *key, int64_t fallback,
                      int64_t *out, cf_err **err)
{
  const char *value = cf_wintar_record_value(tar_entry, key, NULL);
  if (value == NULL) {
    *out = fallback;
    return 0;
  }
  if (cf_win_pax_time(value, out, err) < 0) {
    return cf_err_wrap(err, "PAX %s", key);
  }
  return 0;
}

/* Times as go-winio's FileInfoFromHeader sets them; atime and ctime, which
 * it leaves unset when absent, fall back to the modification time here. */
static int entry_info(const cf_wintar_entry *tar_entry, cf_win_basic_info *info, cf_err **err)
{
  int64_t ustar_mtime = 0;
  if (cf_win_unix_filetime(tar_entry->mtime, &ustar_mtime) < 0) {
    return cf_err_set(err, CF_E_INVALID, "mtime %lld is outside the FILETIME range",
                      (long long)tar_entry->mtime);
  }
  if (entry_time(tar_entry, "mtime", ustar_mtime, &info->last_write_time, err) < 0 ||
      entry_time(tar_entry, "atime", info->last_write_time, &info->last_access_time, err) < 0 ||
      entry_time(tar_entry, "ctime", info->last_write_time, &info->change_time, err) < 0 ||
      entry_time(tar_entry, PAX_CREATIONTIME, info->last_write_time, &info->creation_time, err) <
          0) {
    return -1;
  }
  const char *attributes = cf_wintar_record_value(tar_entry, PAX_FILEATTR, NULL);
  if (attributes != NULL) {
    return cf_win_parse_attributes(attributes, &info->attributes, err);
  }
  info->attributes = tar_entry->typeflag == '5' ? CF_WIN_FILE_ATTRIBUTE_DIRECTORY : 0;
  return 0;
}

static int classify_type(const cf_wintar_entry *tar_entry, cf_win_layer_entry *out, cf_err **err)
{
  bool dir_attribute = (out->info.attributes & CF_WIN_FILE_ATTRIBUTE_DIRECTORY) != 0;
  switch (tar_entry->typeflag) {
  case '0':
    if (dir_attribute) {
      return reject(err, tar_entry->name,
                    "a regular file entry has FILE_ATTRIBUTE_DIRECTORY in MSWINDOWS.fileattr");
    }
    out->kind = CF_WIN_LAYER_FILE;
    out->size = tar_entry->size;
    out->bcd_backup = cf_win_bcd_backup_name(tar_entry->name);
    return 0;
  case '5':
    if (!dir_attribute) {
      return reject(err, tar_entry->name,
                    "a directory entry lacks FILE_ATTRIBUTE_DIRECTORY in MSWINDOWS.fileattr");
    }
    out->kind = CF_WIN_LAYER_DIR;
    return 0;
  case '2':
    if (tar_entry->linkname[0] == '\0') {
      return reject(err, tar_entry->name, "symlink without a target");
    }
    out->kind = dir_attribute ? CF_WIN_LAYER_DIR : CF_WIN_LAYER_SYMLINK;
    out->reparse = true;
    out->link_target = cf_xstrdup(tar_entry->linkname);
    for (char *p = out->link_target; *p != '\0'; p++) {
      *p = *p == '/' ? '\\' : *p;
    }
    return 0;
  default:
    return cf_err_set(err, CF_E_INVALID,
                      "tar entry \"%s\": type '%c' is not supported in a Windows layer (only "
                      "regular files, directories, symlinks and hard links are)",
                      tar_entry->name, tar_entry->typeflag);
  }
}

static int hard_link_target(const cf_wintar_entry *tar_entry, cf_win_layer_entry *out, cf_err **err)
{
  enum cf_win_entry_kind kind;
  if (cf_win_layer_entry_path(tar_entry->linkname, &out->link_target, &kind, err) < 0) {
    return cf_err_wrap(err, "hard link \"%s\"", tar_entry->name);
  }
  if (kind != CF_WIN_ENTRY_PATH) {
    return reject(err, tar_entry->name, "hard link target is a whiteout name");
  }
  out->kind = CF_WIN_LAYER_HARDLINK;
  return 0;
}

int cf_win_layer_entry_from_tar(const cf_wintar_entry *tar_entry, cf_win_layer_entry *out,
                                cf_err **err)
{
  memset(out, 0, sizeof(*out));
  if (ends_with_nocase(tar_entry->name, WCIDIRS_SUFFIX) ||
      ends_with_nocase(tar_entry->name, WCIDIRS_SUFFIX "/")) {
    return reject(err, tar_entry->name, "names ending in .$wcidirs$ are reserved by the import");
  }
  enum cf_win_entry_kind kind;
  if (cf_win_layer_entry_path(tar_entry->name, &out->path, &kind, err) < 0) {
    return -1;
  }
  int rc = 0;
  if (kind == CF_WIN_ENTRY_WHITEOUT || kind == CF_WIN_ENTRY_OPAQUE) {
    out->kind = kind == CF_WIN_ENTRY_WHITEOUT ? CF_WIN_LAYER_WHITEOUT : CF_WIN_LAYER_OPAQUE;
  } else if (tar_entry->typeflag == '1') {
    rc = hard_link_target(tar_entry, out, err);
  } else if (entry_info(tar_entry, &out->info, err) < 0) {
    rc = cf_err_wrap(err, "tar entry \"%s\"", tar_entry->name);
  } else {
    rc = classify_type(tar_entry, out, err);
  }
  if (rc < 0) {
    cf_win_layer_entry_clear(out);
  }
  return rc;
}

/* --- Backup streams --- */

/* True when records[index] is overridden by an earlier record (an entry's
 * own record before a global one) or deleted (empty value). */
static bool record_hidden(const cf_wintar_entry *tar_entry, size_t index)
{
  if (tar_entry->records[index].value_len == 0) {
    return true;
  }
  for (size_t i = 0; i < index; i++) {
    if (strcmp(tar_entry->records[i].key, tar_entry->records[index].key) == 0) {
      return true;
    }
  }
  return false;
}

/* Builds the EA buffer from the MSWINDOWS.xattr.* records. */
static int ea_data(const cf_wintar_entry *tar_entry, cf_buf *out, cf_err **err)
{
  size_t prefix = strlen(PAX_XATTR_PREFIX);
  cf_win_ea *eas = cf_xcalloc(tar_entry->record_count + 1, sizeof(*eas));
  size_t count = 0;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < tar_entry->record_count; i++) {
    const cf_wintar_record *record = &tar_entry->records[i];
    if (strncmp(record->key, PAX_XATTR_PREFIX, prefix) != 0 || record_hidden(tar_entry, i)) {
      continue;
    }
    uint8_t *value = NULL;
    size_t value_len = 0;
    rc = cf_win_base64_decode(record->value, record->value_len, 65535, &value, &value_len, err);
    if (rc < 0) {
      cf_err_wrap(err, "PAX %s", record->key);
      break;
    }
    eas[count++] = (cf_win_ea){record->key + prefix, value, value_len};
  }
  if (rc == 0) {
    rc = cf_win_ea_buffer(eas, count, out, err);
  }
  for (size_t i = 0; i < count; i++) {
    free((void *)eas[i].value);
  }
  free(eas);
  return rc;
}

static int append_stream(cf_buf *out, uint32_t id, const cf_buf *data, cf_err **err)
{
  if (data->len == 0) {
    return 0;
  }
  if (cf_win_backup_header(out, id, data->len, NULL, err) < 0) {
    return -1;
  }
  return cf_buf_append(out, data->data, data->len, err);
}

int cf_win_backup_prefix(const cf_wintar_entry *tar_entry, const cf_win_layer_entry *entry,
                         const uint8_t *security, size_t security_len, cf_buf *out, cf_err **err)
{
  if (security_len > 0) {
    cf_win_backup_header(out, CF_WIN_BACKUP_SECURITY_DATA, security_len, NULL, NULL);
    cf_buf_append(out, security, security_len, NULL);
  }
  cf_buf eas;
  cf_buf reparse;
  cf_buf_init(&eas, SIZE_MAX);
  cf_buf_init(&reparse, CF_WIN_REPARSE_MAX);
  int rc = ea_data(tar_entry, &eas, err);
  if (rc == 0 && entry->reparse) {
    bool mount_point = cf_wintar_record_value(tar_entry, PAX_MOUNTPOINT, NULL) != NULL;
    rc = cf_win_reparse_buffer(entry->link_target, mount_point, &reparse, err);
  }
  if (rc == 0) {
    rc = append_stream(out, CF_WIN_BACKUP_EA_DATA, &eas, err);
  }
  if (rc == 0) {
    rc = append_stream(out, CF_WIN_BACKUP_REPARSE_DATA, &reparse, err);
  }
  if (rc == 0 && entry->kind == CF_WIN_LAYER_FILE) {
    rc = cf_win_backup_header(out, CF_WIN_BACKUP_DATA, entry->size, NULL, err);
  }
  cf_buf_free(&eas);
  cf_buf_free(&reparse);
  return rc;
}

int cf_win_stream_name(const char *tar_name, const char *file_tar_name, char **stream, cf_err **err)
{
  size_t len = strlen(file_tar_name);
  *stream = NULL;
  if (strncmp(tar_name, file_tar_name, len) != 0 || tar_name[len] != ':') {
    return 0;
  }
  const char *name = tar_name + len + 1;
  if (name[0] == '\0' || strpbrk(name, ":/\\") != NULL) {
    return reject(err, tar_name,
                  "an alternate data stream name must be non-empty and have no ':', '/' or '\\'");
  }
  *stream = cf_xstrdup(name);
  return 0;
}

/* --- The import loop --- */

typedef struct import_state {
  cf_wintar *tar;
  bool base;
  const cf_win_layer_sink *sink;
  void *context;
  uint64_t size;
  uint8_t *chunk;
} import_state;

/* The security descriptor of an entry: MSWINDOWS.rawsd, else MSWINDOWS.sd
 * converted by the sink, else none. */
static int entry_security(import_state *state, const cf_wintar_entry *tar_entry, uint8_t **sd,
                          size_t *len, cf_err **err)
{
  size_t raw_len = 0;
  const char *raw = cf_wintar_record_value(tar_entry, PAX_RAWSD, &raw_len);
  *sd = NULL;
  *len = 0;
  if (raw != NULL) {
    if (cf_win_base64_decode(raw, raw_len, CF_WIN_SECURITY_MAX, sd, len, err) < 0) {
      return cf_err_wrap(err, "PAX " PAX_RAWSD);
    }
    return 0;
  }
  const char *sddl = cf_wintar_record_value(tar_entry, PAX_SDDL, NULL);
  if (sddl == NULL) {
    return 0;
  }
  if (state->sink->sddl == NULL) {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "PAX " PAX_SDDL " (SDDL) can only be converted on Windows");
  }
  return state->sink->sddl(state->context, sddl, sd, len, err);
}

static int write_prefix(import_state *state, const cf_wintar_entry *tar_entry,
                        const cf_win_layer_entry *entry, cf_err **err)
{
  uint8_t *sd = NULL;
  size_t sd_len = 0;
  if (entry_security(state, tar_entry, &sd, &sd_len, err) < 0) {
    return -1;
  }
  cf_buf prefix;
  cf_buf_init(&prefix, SIZE_MAX);
  int rc = cf_win_backup_prefix(tar_entry, entry, sd, sd_len, &prefix, err);
  if (rc == 0) {
    rc = state->sink->write(state->context, prefix.data, prefix.len, err);
  }
  free(sd);
  cf_buf_free(&prefix);
  return rc;
}

/* Copies the data of the current tar entry into the sink. */
static int copy_data(import_state *state, cf_err **err)
{
  for (;;) {
    size_t got = 0;
    if (cf_wintar_read(state->tar, state->chunk, COPY_CHUNK, &got, err) < 0) {
      return -1;
    }
    if (got == 0) {
      return 0;
    }
    if (state->sink->write(state->context, state->chunk, got, err) < 0) {
      return -1;
    }
  }
}

/* Writes the alternate data streams that follow the file file_name and
 * moves to the first entry that is not one. Returns as cf_wintar_next. */
static int copy_streams(import_state *state, const char *file_name, const cf_wintar_entry **next,
                        cf_err **err)
{
  for (;;) {
    int rc = cf_wintar_next(state->tar, next, err);
    if (rc <= 0 || (*next)->typeflag != '0') {
      return rc;
    }
    cf_autofree char *stream = NULL;
    if (cf_win_stream_name((*next)->name, file_name, &stream, err) < 0) {
      return -1;
    }
    if (stream == NULL) {
      return 1;
    }
    cf_autofree char *name = cf_xasprintf(":%s:$DATA", stream);
    cf_buf header;
    cf_buf_init(&header, SIZE_MAX);
    rc = cf_win_backup_header(&header, CF_WIN_BACKUP_ALTERNATE_DATA, (*next)->size, name, err);
    if (rc == 0) {
      rc = state->sink->write(state->context, header.data, header.len, err);
    }
    cf_buf_free(&header);
    if (rc < 0 || copy_data(state, err) < 0) {
      return cf_err_wrap(err, "stream \"%s\"", (*next)->name);
    }
  }
}

static int check_layer_path(import_state *state, const char *name, const char *path, cf_err **err)
{
  if (!state->base && strncmp(path, "UtilityVM", 9) == 0) {
    /* NOTE: hcsshim clones the parent's UtilityVM into such layers (Windows
     * Server 2016 update layers); this import does not. */
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "tar entry \"%s\": UtilityVM content in a layer above the base layer is "
                      "not supported",
                      name);
  }
  return 0;
}

/* Writes one file, directory or symlink with its streams; returns as
 * cf_wintar_next for the entry after it. */
static int import_file(import_state *state, const cf_wintar_entry *tar_entry,
                       const cf_win_layer_entry *entry, const cf_wintar_entry **next, cf_err **err)
{
  cf_autofree char *name = cf_xstrdup(tar_entry->name);
  if (state->sink->begin(state->context, entry, err) < 0 ||
      write_prefix(state, tar_entry, entry, err) < 0 ||
      (entry->kind == CF_WIN_LAYER_FILE && copy_data(state, err) < 0)) {
    return cf_err_wrap(err, "tar entry \"%s\"", name);
  }
  state->size += entry->size;
  int rc = copy_streams(state, name, next, err);
  if (rc >= 0 && state->sink->end(state->context, err) < 0) {
    rc = -1;
  }
  return rc < 0 ? cf_err_wrap(err, "tar entry \"%s\"", name) : rc;
}

static bool under_files(const char *path)
{
  return strncmp(path, "Files\\", 6) == 0;
}

static int import_link(import_state *state, const cf_wintar_entry *tar_entry,
                       const cf_win_layer_entry *entry, cf_err **err)
{
  if (!state->base && (!under_files(entry->path) || !under_files(entry->link_target))) {
    return reject(err, tar_entry->name,
                  "a hard link above the base layer must link a Files path to a Files path");
  }
  return state->sink->link(state->context, entry->path, entry->link_target, err);
}

static int import_whiteout(import_state *state, const cf_wintar_entry *tar_entry,
                           const cf_win_layer_entry *entry, cf_err **err)
{
  bool opaque = entry->kind == CF_WIN_LAYER_OPAQUE;
  if (state->base && opaque) {
    return 0; /* nothing below a base layer to hide */
  }
  if (state->base) {
    return reject(err, tar_entry->name, "a base layer cannot have whiteouts");
  }
  if (!under_files(entry->path) && !(opaque && strcmp(entry->path, "Files") == 0)) {
    return reject(err, tar_entry->name, "whiteouts are only allowed under Files");
  }
  return state->sink->remove(state->context, entry->path, opaque, err);
}

/* Handles one entry; returns as cf_wintar_next for the entry after it. */
static int import_entry(import_state *state, const cf_wintar_entry *tar_entry,
                        const cf_wintar_entry **next, cf_err **err)
{
  cf_win_layer_entry entry;
  if (cf_win_layer_entry_from_tar(tar_entry, &entry, err) < 0) {
    return -1;
  }
  int rc = check_layer_path(state, tar_entry->name, entry.path, err);
  if (rc == 0 && (entry.kind == CF_WIN_LAYER_WHITEOUT || entry.kind == CF_WIN_LAYER_OPAQUE)) {
    rc = import_whiteout(state, tar_entry, &entry, err);
  } else if (rc == 0 && entry.kind == CF_WIN_LAYER_HARDLINK) {
    rc = import_link(state, tar_entry, &entry, err);
  } else if (rc == 0) {
    rc = import_file(state, tar_entry, &entry, next, err);
    cf_win_layer_entry_clear(&entry);
    return rc;
  }
  cf_win_layer_entry_clear(&entry);
  return rc < 0 ? -1 : cf_wintar_next(state->tar, next, err);
}

int cf_win_layer_import_tar(cf_wintar *tar, bool base, const cf_win_layer_sink *sink, void *context,
                            uint64_t *size, cf_err **err)
{
  import_state state = {tar, base, sink, context, 0, cf_xmalloc(COPY_CHUNK)};
  const cf_wintar_entry *entry = NULL;
  int rc = cf_wintar_next(tar, &entry, err);
  while (rc == 1) {
    rc = import_entry(&state, entry, &entry, err);
  }
  free(state.chunk);
  if (rc < 0) {
    return -1;
  }
  *size = state.size;
  return 0;
}
