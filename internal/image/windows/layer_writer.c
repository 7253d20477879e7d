/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes a Windows layer from its tar (winlayer.h drives this file's sink)
 * in the two forms hcsshim's layer writers produce:
 *
 *   base layer:   every entry is created in the layer folder itself with
 *                 CreateFileW(FILE_FLAG_BACKUP_SEMANTICS |
 *                 FILE_FLAG_OPEN_REPARSE_POINT) and restored with
 *                 BackupWrite; hard links with CreateHardLinkW.
 *   other layers: the import (transport) format in a staging folder for
 *                 ImportLayer. A Files entry is a plain file holding its
 *                 attributes (4 bytes) and then its backup stream. A
 *                 directory gets a `<dir>.$wcidirs$` file of that form. A
 *                 Hives entry is restored with BackupWrite. Whiteouts, hard
 *                 links and directory times are applied to the layer folder
 *                 after ImportLayer.
 *
 * NOTE: compiled by the mingw-w64 cross build only; this file has not run
 * on a Windows host.
 */
#include "image/windows/win.h"

#include <stdlib.h>
#include <string.h>

#include <sddl.h>

#include "base/mem.h"
#include "image/winlayer.h"

#define WCIDIRS_SUFFIX ".$wcidirs$"

typedef struct dir_time {
  char *path;
  FILE_BASIC_INFO info;
} dir_time;

typedef struct pending_link {
  char *path;
  char *target;
} pending_link;

struct cf_win_layer_writer {
  char *layer_dir;
  char *staging_dir; /* NULL for a base layer */
  char **parent_dirs;
  size_t parent_count;
  /* the entry being written */
  HANDLE file;
  HANDLE bcd_file;
  void *backup_context;
  void *bcd_context;
  bool raw_stream;   /* staging Files entry: WriteFile, not BackupWrite */
  char *reparse_dir; /* staging directory to remove and re-create before import */
  /* collected for after the import */
  cf_win_path_set added;
  dir_time *dirs;
  size_t dir_count;
  pending_link *links;
  size_t link_count;
  char **removals;
  bool *removal_opaque;
  size_t removal_count;
  char **reparse_dirs;
  size_t reparse_dir_count;
};

/* --- Privileges --- */

static int enable_privilege(HANDLE token, const wchar_t *name, cf_err **err)
{
  TOKEN_PRIVILEGES privileges = {.PrivilegeCount = 1};
  if (!LookupPrivilegeValueW(NULL, name, &privileges.Privileges[0].Luid)) {
    return cf_win_last_error(err, GetLastError(), "LookupPrivilegeValue");
  }
  privileges.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
  if (!AdjustTokenPrivileges(token, FALSE, &privileges, 0, NULL, NULL)) {
    return cf_win_last_error(err, GetLastError(), "AdjustTokenPrivileges");
  }
  /* AdjustTokenPrivileges succeeds without the privilege when the account
   * lacks it, and reports that only through the last error. */
  if (GetLastError() == ERROR_NOT_ALL_ASSIGNED) {
    return cf_err_set(err, CF_E_SYSTEM,
                      "the account lacks the privilege to import layers; run as an "
                      "administrator (SeBackupPrivilege and SeRestorePrivilege)");
  }
  return 0;
}

int cf_win_enable_backup_privileges(cf_err **err)
{
  HANDLE token = NULL;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token)) {
    return cf_win_last_error(err, GetLastError(), "OpenProcessToken");
  }
  int rc = enable_privilege(token, SE_BACKUP_NAME, err);
  if (rc == 0) {
    rc = enable_privilege(token, SE_RESTORE_NAME, err);
  }
  CloseHandle(token);
  return rc;
}

/* --- Files --- */

static wchar_t *wide_join(const char *dir, const char *path, const char *suffix, cf_err **err)
{
  cf_autofree char *full = cf_xasprintf("%s\\%s%s", dir, path, suffix);
  return cf_win_utf16(full, err);
}

static void basic_info(const cf_win_basic_info *in, bool keep_attributes, FILE_BASIC_INFO *out)
{
  memset(out, 0, sizeof(*out));
  out->CreationTime.QuadPart = in->creation_time;
  out->LastAccessTime.QuadPart = in->last_access_time;
  out->LastWriteTime.QuadPart = in->last_write_time;
  out->ChangeTime.QuadPart = in->change_time;
  out->FileAttributes = keep_attributes ? in->attributes : 0;
}

static int set_basic_info(HANDLE file, FILE_BASIC_INFO *info, const char *path, cf_err **err)
{
  if (!SetFileInformationByHandle(file, FileBasicInfo, info, sizeof(*info))) {
    cf_win_last_error(err, GetLastError(), "SetFileInformationByHandle");
    return cf_err_wrap(err, "set times and attributes of %s", path);
  }
  return 0;
}

/* Opens (directories, created first) or creates path for restoring. */
static HANDLE open_for_restore(const wchar_t *path, bool directory, DWORD access, cf_err **err)
{
  if (directory && !CreateDirectoryW(path, NULL)) {
    cf_win_last_error(err, GetLastError(), "CreateDirectory");
    return INVALID_HANDLE_VALUE;
  }
  DWORD flags = FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT;
  HANDLE file = CreateFileW(path, access, FILE_SHARE_READ, NULL,
                            directory ? OPEN_EXISTING : CREATE_NEW, flags, NULL);
  if (file == INVALID_HANDLE_VALUE) {
    cf_win_last_error(err, GetLastError(), "CreateFile");
  }
  return file;
}

#define RESTORE_ACCESS                                                                             \
  (GENERIC_READ | GENERIC_WRITE | WRITE_DAC | WRITE_OWNER | ACCESS_SYSTEM_SECURITY)

static int backup_write(HANDLE file, void **context, bool security, const void *data, size_t len,
                        cf_err **err)
{
  while (len > 0) {
    DWORD chunk = len > 0x40000000 ? 0x40000000 : (DWORD)len;
    DWORD written = 0;
    if (!BackupWrite(file, (LPBYTE)data, chunk, &written, FALSE, security, context)) {
      return cf_win_last_error(err, GetLastError(), "BackupWrite");
    }
    if (written == 0) {
      return cf_err_set(err, CF_E_SYSTEM, "BackupWrite wrote no bytes");
    }
    data = (const char *)data + written;
    len -= written;
  }
  return 0;
}

static int plain_write(HANDLE file, const void *data, size_t len, cf_err **err)
{
  while (len > 0) {
    DWORD chunk = len > 0x40000000 ? 0x40000000 : (DWORD)len;
    DWORD written = 0;
    if (!WriteFile(file, data, chunk, &written, NULL)) {
      return cf_win_last_error(err, GetLastError(), "WriteFile");
    }
    data = (const char *)data + written;
    len -= written;
  }
  return 0;
}

/* Ends a BackupWrite sequence (bAbort frees its context) and closes. */
static void close_restore(HANDLE *file, void **context)
{
  if (*context != NULL) {
    DWORD written = 0;
    BackupWrite(*file, NULL, 0, &written, TRUE, FALSE, context);
    *context = NULL;
  }
  if (*file != INVALID_HANDLE_VALUE && *file != NULL) {
    CloseHandle(*file);
  }
  *file = INVALID_HANDLE_VALUE;
}

/* --- Sink: base layer --- */

static int open_bcd_backup(cf_win_layer_writer *writer, const char *name, cf_err **err)
{
  cf_autofree char *path = cf_xasprintf("%s\\%s", writer->layer_dir, name);
  cf_autofree wchar_t *wide = cf_win_utf16(path, err);
  if (wide == NULL) {
    return -1;
  }
  writer->bcd_file = CreateFileW(wide, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, NULL,
                                 CREATE_ALWAYS, FILE_FLAG_BACKUP_SEMANTICS, NULL);
  if (writer->bcd_file == INVALID_HANDLE_VALUE) {
    cf_win_last_error(err, GetLastError(), "CreateFile");
    return cf_err_wrap(err, "create %s", path);
  }
  return 0;
}

static void remember_dir(cf_win_layer_writer *writer, const char *path, const FILE_BASIC_INFO *info)
{
  writer->dirs = cf_xrealloc(writer->dirs, (writer->dir_count + 1) * sizeof(*writer->dirs));
  writer->dirs[writer->dir_count].path = cf_xstrdup(path);
  writer->dirs[writer->dir_count].info = *info;
  writer->dir_count++;
}

static int begin_in_place(cf_win_layer_writer *writer, const cf_win_layer_entry *entry,
                          cf_err **err)
{
  bool directory = entry->kind == CF_WIN_LAYER_DIR;
  cf_autofree wchar_t *path = wide_join(writer->layer_dir, entry->path, "", err);
  if (path == NULL) {
    return -1;
  }
  writer->file = open_for_restore(path, directory, RESTORE_ACCESS, err);
  if (writer->file == INVALID_HANDLE_VALUE) {
    return cf_err_wrap(err, "create %s", entry->path);
  }
  FILE_BASIC_INFO info;
  basic_info(&entry->info, true, &info);
  if (directory) {
    remember_dir(writer, entry->path, &info);
  }
  if (set_basic_info(writer->file, &info, entry->path, err) < 0) {
    return -1;
  }
  return entry->bcd_backup == NULL ? 0 : open_bcd_backup(writer, entry->bcd_backup, err);
}

/* --- Sink: staging folder --- */

static bool under_hives(const char *path)
{
  return strncmp(path, "Hives\\", 6) == 0 || strcmp(path, "Hives") == 0;
}

static int begin_staged(cf_win_layer_writer *writer, const cf_win_layer_entry *entry, cf_err **err)
{
  bool directory = entry->kind == CF_WIN_LAYER_DIR;
  if (directory) {
    cf_autofree wchar_t *dir = wide_join(writer->staging_dir, entry->path, "", err);
    if (dir == NULL || !CreateDirectoryW(dir, NULL)) {
      if (dir != NULL) {
        cf_win_last_error(err, GetLastError(), "CreateDirectory");
      }
      return cf_err_wrap(err, "create %s in the staging folder", entry->path);
    }
    FILE_BASIC_INFO dir_info;
    basic_info(&entry->info, true, &dir_info);
    remember_dir(writer, entry->path, &dir_info);
    if (entry->reparse) {
      writer->reparse_dir = cf_xstrdup(entry->path);
    }
  }
  cf_autofree wchar_t *path =
      wide_join(writer->staging_dir, entry->path, directory ? WCIDIRS_SUFFIX : "", err);
  if (path == NULL) {
    return -1;
  }
  writer->file = open_for_restore(path, false, GENERIC_READ | GENERIC_WRITE, err);
  if (writer->file == INVALID_HANDLE_VALUE) {
    return cf_err_wrap(err, "create %s in the staging folder", entry->path);
  }
  /* The staging file carries the times; its attributes stay 0 and the
   * real ones travel in the stream. */
  FILE_BASIC_INFO info;
  basic_info(&entry->info, false, &info);
  if (set_basic_info(writer->file, &info, entry->path, err) < 0) {
    return -1;
  }
  writer->raw_stream = !under_hives(entry->path);
  if (!writer->raw_stream) {
    return 0;
  }
  uint8_t attributes[4] = {(uint8_t)entry->info.attributes, (uint8_t)(entry->info.attributes >> 8),
                           (uint8_t)(entry->info.attributes >> 16),
                           (uint8_t)(entry->info.attributes >> 24)};
  return plain_write(writer->file, attributes, sizeof(attributes), err);
}

/* --- Sink callbacks --- */

static int sink_begin(void *context, const cf_win_layer_entry *entry, cf_err **err)
{
  cf_win_layer_writer *writer = context;
  cf_win_path_set_add(&writer->added, entry->path);
  if (writer->staging_dir == NULL) {
    return begin_in_place(writer, entry, err);
  }
  return begin_staged(writer, entry, err);
}

static int sink_write(void *context, const void *data, size_t len, cf_err **err)
{
  cf_win_layer_writer *writer = context;
  if (writer->raw_stream) {
    return plain_write(writer->file, data, len, err);
  }
  /* Staged Hives files are restored without their security data, as
   * hcsshim does; base layer entries with it. */
  bool security = writer->staging_dir == NULL;
  if (backup_write(writer->file, &writer->backup_context, security, data, len, err) < 0) {
    return -1;
  }
  if (writer->bcd_file == INVALID_HANDLE_VALUE) {
    return 0;
  }
  return backup_write(writer->bcd_file, &writer->bcd_context, false, data, len, err);
}

static int sink_end(void *context, cf_err **err)
{
  cf_win_layer_writer *writer = context;
  close_restore(&writer->file, &writer->backup_context);
  close_restore(&writer->bcd_file, &writer->bcd_context);
  writer->raw_stream = false;
  if (writer->reparse_dir == NULL) {
    return 0;
  }
  /* A directory reparse point: its placeholder goes until ImportLayer has
   * run, so that no later entry is created through it. */
  char *dir = writer->reparse_dir;
  writer->reparse_dir = NULL;
  cf_autofree wchar_t *path = wide_join(writer->staging_dir, dir, "", err);
  if (path == NULL || !RemoveDirectoryW(path)) {
    if (path != NULL) {
      cf_win_last_error(err, GetLastError(), "RemoveDirectory");
    }
    free(dir);
    return -1;
  }
  writer->reparse_dirs = cf_xrealloc(writer->reparse_dirs, (writer->reparse_dir_count + 1) *
                                                               sizeof(*writer->reparse_dirs));
  writer->reparse_dirs[writer->reparse_dir_count++] = dir;
  return 0;
}

static int sink_link(void *context, const char *path, const char *target, cf_err **err)
{
  cf_win_layer_writer *writer = context;
  cf_win_path_set_add(&writer->added, path);
  if (writer->staging_dir == NULL) {
    cf_autofree wchar_t *link = wide_join(writer->layer_dir, path, "", err);
    cf_autofree wchar_t *existing =
        link == NULL ? NULL : wide_join(writer->layer_dir, target, "", err);
    if (existing == NULL) {
      return -1;
    }
    if (!CreateHardLinkW(link, existing, NULL)) {
      cf_win_last_error(err, GetLastError(), "CreateHardLink");
      return cf_err_wrap(err, "link %s to %s", path, target);
    }
    return 0;
  }
  writer->links = cf_xrealloc(writer->links, (writer->link_count + 1) * sizeof(*writer->links));
  writer->links[writer->link_count].path = cf_xstrdup(path);
  writer->links[writer->link_count].target = cf_xstrdup(target);
  writer->link_count++;
  return 0;
}

static int sink_remove(void *context, const char *path, bool opaque, cf_err **err)
{
  cf_win_layer_writer *writer = context;
  size_t n = writer->removal_count;
  writer->removals = cf_xrealloc(writer->removals, (n + 1) * sizeof(*writer->removals));
  writer->removal_opaque =
      cf_xrealloc(writer->removal_opaque, (n + 1) * sizeof(*writer->removal_opaque));
  writer->removals[n] = cf_xstrdup(path);
  writer->removal_opaque[n] = opaque;
  writer->removal_count++;
  (void)err;
  return 0;
}

static int sink_sddl(void *context, const char *sddl, uint8_t **sd, size_t *len, cf_err **err)
{
  (void)context;
  cf_autofree wchar_t *wide = cf_win_utf16(sddl, err);
  PSECURITY_DESCRIPTOR descriptor = NULL;
  ULONG size = 0;
  if (wide == NULL) {
    return -1;
  }
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(wide, SDDL_REVISION_1, &descriptor,
                                                            &size)) {
    cf_win_last_error(err, GetLastError(), "ConvertStringSecurityDescriptorToSecurityDescriptor");
    return cf_err_wrap(err, "PAX MSWINDOWS.sd \"%s\"", sddl);
  }
  *sd = cf_xmalloc(size);
  memcpy(*sd, descriptor, size);
  *len = size;
  LocalFree(descriptor);
  return 0;
}

static const cf_win_layer_sink writer_sink = {
    .begin = sink_begin,
    .write = sink_write,
    .end = sink_end,
    .link = sink_link,
    .remove = sink_remove,
    .sddl = sink_sddl,
};

/* --- Writer --- */

cf_win_layer_writer *cf_win_layer_writer_new(const char *layer_dir, const char *staging_dir,
                                             char *const *parent_dirs, size_t parent_count)
{
  cf_win_layer_writer *writer = cf_xcalloc(1, sizeof(*writer));
  writer->layer_dir = cf_xstrdup(layer_dir);
  writer->staging_dir = staging_dir == NULL ? NULL : cf_xstrdup(staging_dir);
  writer->parent_dirs = cf_xcalloc(parent_count + 1, sizeof(*writer->parent_dirs));
  for (size_t i = 0; i < parent_count; i++) {
    writer->parent_dirs[i] = cf_xstrdup(parent_dirs[i]);
  }
  writer->parent_count = parent_count;
  writer->file = INVALID_HANDLE_VALUE;
  writer->bcd_file = INVALID_HANDLE_VALUE;
  return writer;
}

int cf_win_layer_writer_write(cf_win_layer_writer *writer, cf_wintar_read_fn read, void *context,
                              uint64_t *size, cf_err **err)
{
  cf_wintar *tar = cf_wintar_new(read, context);
  int rc =
      cf_win_layer_import_tar(tar, writer->staging_dir == NULL, &writer_sink, writer, size, err);
  cf_wintar_free(tar);
  close_restore(&writer->file, &writer->backup_context);
  close_restore(&writer->bcd_file, &writer->bcd_context);
  if (rc < 0) {
    return -1;
  }
  for (size_t i = 0; i < writer->reparse_dir_count; i++) {
    cf_autofree wchar_t *path = wide_join(writer->staging_dir, writer->reparse_dirs[i], "", err);
    if (path == NULL || !CreateDirectoryW(path, NULL)) {
      if (path != NULL) {
        cf_win_last_error(err, GetLastError(), "CreateDirectory");
      }
      return cf_err_wrap(err, "re-create %s in the staging folder", writer->reparse_dirs[i]);
    }
  }
  return 0;
}

/* --- After the import --- */

/* Removes path under the layer folder; a missing path is not an error, as
 * in hcsshim's tombstone handling. */
static int remove_in_layer(cf_win_layer_writer *writer, const char *path, cf_err **err)
{
  cf_autofree wchar_t *wide = wide_join(writer->layer_dir, path, "", err);
  if (wide == NULL) {
    return -1;
  }
  DWORD attributes = GetFileAttributesW(wide);
  if (attributes == INVALID_FILE_ATTRIBUTES) {
    DWORD code = GetLastError();
    if (code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND) {
      return 0;
    }
    cf_win_last_error(err, code, "GetFileAttributes");
    return cf_err_wrap(err, "whiteout %s", path);
  }
  bool directory = (attributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
  BOOL ok = directory ? RemoveDirectoryW(wide) : DeleteFileW(wide);
  if (!ok) {
    cf_win_last_error(err, GetLastError(), directory ? "RemoveDirectory" : "DeleteFile");
    return cf_err_wrap(err, "whiteout %s", path);
  }
  return 0;
}

/* Removes, for an opaque directory, every name a parent layer has in it
 * that this layer did not add. */
static int remove_opaque(cf_win_layer_writer *writer, const char *dir, cf_err **err)
{
  for (size_t i = 0; i < writer->parent_count; i++) {
    cf_autofree wchar_t *pattern = wide_join(writer->parent_dirs[i], dir, "\\*", err);
    if (pattern == NULL) {
      return -1;
    }
    WIN32_FIND_DATAW found;
    HANDLE find = FindFirstFileW(pattern, &found);
    if (find == INVALID_HANDLE_VALUE) {
      continue; /* the parent has no such directory */
    }
    int rc = 0;
    do {
      if (wcscmp(found.cFileName, L".") == 0 || wcscmp(found.cFileName, L"..") == 0) {
        continue;
      }
      cf_autofree char *name = cf_win_utf8(found.cFileName, err);
      cf_autofree char *child = name == NULL ? NULL : cf_xasprintf("%s\\%s", dir, name);
      rc = child == NULL ? -1 : 0;
      if (rc == 0 && !cf_win_path_set_contains(&writer->added, child)) {
        rc = remove_in_layer(writer, child, err);
      }
    } while (rc == 0 && FindNextFileW(find, &found));
    FindClose(find);
    if (rc < 0) {
      return -1;
    }
  }
  return 0;
}

/* The folder that contains a hard link's target: this layer when the layer
 * added it, else the nearest parent that has it. */
static const char *link_root(cf_win_layer_writer *writer, const char *target, cf_err **err)
{
  if (cf_win_path_set_contains(&writer->added, target)) {
    return writer->layer_dir;
  }
  for (size_t i = 0; i < writer->parent_count; i++) {
    cf_autofree wchar_t *path = wide_join(writer->parent_dirs[i], target, "", err);
    if (path == NULL) {
      return NULL;
    }
    if (GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES) {
      return writer->parent_dirs[i];
    }
  }
  cf_err_set(err, CF_E_INVALID, "hard link target %s is in neither this layer nor a parent",
             target);
  return NULL;
}

static int create_pending_link(cf_win_layer_writer *writer, const pending_link *link, cf_err **err)
{
  const char *root = link_root(writer, link->target, err);
  if (root == NULL || remove_in_layer(writer, link->path, err) < 0) {
    return cf_err_wrap(err, "hard link %s", link->path);
  }
  cf_autofree wchar_t *path = wide_join(writer->layer_dir, link->path, "", err);
  cf_autofree wchar_t *target = path == NULL ? NULL : wide_join(root, link->target, "", err);
  if (target == NULL) {
    return -1;
  }
  if (!CreateHardLinkW(path, target, NULL)) {
    cf_win_last_error(err, GetLastError(), "CreateHardLink");
    return cf_err_wrap(err, "hard link %s to %s\\%s", link->path, root, link->target);
  }
  return 0;
}

/* Sets the directory times again, children first, because creating their
 * content changed them. */
static int reapply_dir_times(cf_win_layer_writer *writer, cf_err **err)
{
  for (size_t i = writer->dir_count; i-- > 0;) {
    cf_autofree wchar_t *path = wide_join(writer->layer_dir, writer->dirs[i].path, "", err);
    if (path == NULL) {
      return -1;
    }
    HANDLE dir = CreateFileW(path, FILE_WRITE_ATTRIBUTES, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                             FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (dir == INVALID_HANDLE_VALUE) {
      cf_win_last_error(err, GetLastError(), "CreateFile");
      return cf_err_wrap(err, "open directory %s", writer->dirs[i].path);
    }
    int rc = set_basic_info(dir, &writer->dirs[i].info, writer->dirs[i].path, err);
    CloseHandle(dir);
    if (rc < 0) {
      return -1;
    }
  }
  return 0;
}

int cf_win_layer_writer_finish(cf_win_layer_writer *writer, cf_err **err)
{
  /* NOTE: hcsshim removes whiteout paths from the layer folder after
   * ImportLayer and ignores missing ones. How that hides a file that only a
   * parent layer has has not been observed on a host. */
  for (size_t i = 0; i < writer->removal_count; i++) {
    int rc = writer->removal_opaque[i] ? remove_opaque(writer, writer->removals[i], err)
                                       : remove_in_layer(writer, writer->removals[i], err);
    if (rc < 0) {
      return -1;
    }
  }
  for (size_t i = 0; i < writer->link_count; i++) {
    if (create_pending_link(writer, &writer->links[i], err) < 0) {
      return -1;
    }
  }
  return reapply_dir_times(writer, err);
}

void cf_win_layer_writer_free(cf_win_layer_writer *writer)
{
  if (writer == NULL) {
    return;
  }
  close_restore(&writer->file, &writer->backup_context);
  close_restore(&writer->bcd_file, &writer->bcd_context);
  free(writer->reparse_dir);
  cf_win_path_set_clear(&writer->added);
  for (size_t i = 0; i < writer->dir_count; i++) {
    free(writer->dirs[i].path);
  }
  for (size_t i = 0; i < writer->link_count; i++) {
    free(writer->links[i].path);
    free(writer->links[i].target);
  }
  cf_strv_free(writer->removals, writer->removal_count);
  cf_strv_free(writer->reparse_dirs, writer->reparse_dir_count);
  cf_strv_free(writer->parent_dirs, writer->parent_count);
  free(writer->removal_opaque);
  free(writer->dirs);
  free(writer->links);
  free(writer->layer_dir);
  free(writer->staging_dir);
  free(writer);
}
