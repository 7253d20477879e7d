/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Windows image storage (storage.h) over the vmcompute.dll layer calls, in
 * the order hcsshim uses them for process-isolated containers and with
 * groot-windows' driver store layout:
 *
 *   import (with parents):   ImportLayer(layer, staging dir, parents)
 *   import (base layer):     move the staging dir into place, ProcessBaseImage,
 *                            ProcessUtilityImage when UtilityVM\ exists
 *   import from a tar:       the same, with the entries written by
 *                            layer_writer.c (base layers in place), then `size`
 *   create volume:           CreateSandboxLayer, [ExpandSandboxSize], ActivateLayer,
 *                            PrepareLayer, GetLayerMountPath, FSRM quota
 *   unmount:                 UnprepareLayer, DeactivateLayer
 *   destroy:                 UnprepareLayer, DeactivateLayer, DestroyLayer (3 attempts)
 *
 * Every id passed to vmcompute is a full path with an empty DriverInfo home
 * directory, as hcsshim does. NOTE: compiled by the mingw-w64 cross build
 * only; no line of this file has run on a Windows host yet.
 */
#include "image/storage.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "image/windows/win.h"
#include "image/winimage.h"
#include "image/winlayer.h"

/* CreateSandboxLayer makes a Sandbox.vhdx of this size; larger limits need
 * ExpandSandboxSize (groot never calls it, so it is capped at 20 GB). */
#define SANDBOX_DEFAULT_BYTES (20ull * 1024 * 1024 * 1024)
/* groot adds this to every FSRM quota, for the volume's own metadata. */
#define QUOTA_OVERHEAD_BYTES (10ull * 1024)
/* hcsshim retries PrepareLayer this often on ERROR_NOT_READY and
 * ERROR_DEVICE_NOT_CONNECTED. */
#define PREPARE_ATTEMPTS 5
#define DESTROY_ATTEMPTS 3

struct cf_storage {
  cf_vmcompute vm;
  cf_driver_info info;
  char *root;
  char *volumes_dir;
  wchar_t *lock_path; /* <root>\create.lock: serialises volume creation across processes */
};

/* Layer descriptors of a chain, top layer first, owning their paths. */
typedef struct layer_chain {
  cf_layer_descriptor *layers;
  wchar_t **paths;
  size_t count;
} layer_chain;

static void chain_free(layer_chain *chain)
{
  for (size_t i = 0; i < chain->count; i++) {
    free(chain->paths[i]);
  }
  free(chain->paths);
  free(chain->layers);
  memset(chain, 0, sizeof(*chain));
}

static int chain_add(cf_storage *storage, layer_chain *chain, const char *folder, cf_err **err)
{
  size_t i = chain->count;
  chain->paths[i] = cf_win_utf16(folder, err);
  if (chain->paths[i] == NULL) {
    return -1;
  }
  chain->count++;
  const wchar_t *base = wcsrchr(chain->paths[i], L'\\') + 1;
  HRESULT hr = storage->vm.NameToGuid(base, &chain->layers[i].layer_id);
  if (FAILED(hr)) {
    return cf_win_hr_error(err, hr, "NameToGuid");
  }
  chain->layers[i].flags = 0;
  chain->layers[i].path = chain->paths[i];
  return 0;
}

/* Builds the descriptors of ids (bottom first) in the order vmcompute
 * wants them: nearest parent first, base layer last. */
static int chain_build(cf_storage *storage, char *const *ids, size_t count, layer_chain *chain,
                       cf_err **err)
{
  memset(chain, 0, sizeof(*chain));
  char **folders = NULL;
  if (cf_win_layer_folders(storage->root, ids, count, &folders, err) < 0) {
    return -1;
  }
  chain->layers = cf_xcalloc(count, sizeof(*chain->layers));
  chain->paths = cf_xcalloc(count, sizeof(*chain->paths));
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < count; i++) {
    rc = chain_add(storage, chain, folders[i], err);
    if (rc < 0) {
      cf_err_wrap(err, "layer %s", folders[i]);
    }
  }
  cf_strv_free(folders, count);
  if (rc < 0) {
    chain_free(chain);
  }
  return rc;
}

static int make_dir(const char *path, cf_err **err)
{
  wchar_t *wide = cf_win_utf16(path, err);
  if (wide == NULL) {
    return -1;
  }
  BOOL ok = CreateDirectoryW(wide, NULL);
  DWORD code = GetLastError();
  free(wide);
  if (!ok && code != ERROR_ALREADY_EXISTS) {
    cf_win_last_error(err, code, "CreateDirectory");
    return cf_err_wrap(err, "create %s", path);
  }
  return 0;
}

static int make_store_dirs(cf_storage *storage, cf_err **err)
{
  cf_autofree char *layers = cf_win_layers_dir(storage->root);
  if (make_dir(storage->root, err) < 0 || make_dir(layers, err) < 0 ||
      make_dir(storage->volumes_dir, err) < 0) {
    return -1;
  }
  cf_autofree char *lock = cf_xasprintf("%s\\create.lock", storage->root);
  storage->lock_path = cf_win_utf16(lock, err);
  return storage->lock_path == NULL ? -1 : 0;
}

int cf_storage_open(const char *root, cf_storage **out, cf_err **err)
{
  cf_storage *storage = cf_xcalloc(1, sizeof(*storage));
  storage->info.flavour = CF_DRIVER_FILTER;
  storage->info.home_dir = L"";
  int rc = cf_win_store_root(root, &storage->root, err);
  if (rc == 0) {
    storage->volumes_dir = cf_win_volumes_dir(storage->root);
    rc = cf_vmcompute_load(&storage->vm, err);
  }
  if (rc == 0) {
    rc = make_store_dirs(storage, err);
  }
  if (rc < 0) {
    cf_storage_close(storage);
    return cf_err_wrap(err, "open image storage %s", root);
  }
  *out = storage;
  return 0;
}

void cf_storage_close(cf_storage *storage)
{
  if (storage == NULL) {
    return;
  }
  cf_vmcompute_unload(&storage->vm);
  free(storage->root);
  free(storage->volumes_dir);
  free(storage->lock_path);
  free(storage);
}

const char *cf_storage_root(const cf_storage *storage)
{
  return storage->root;
}

/* --- Layers --- */

/* Sets *exists for the layer or volume at the full path id. */
static int id_exists(cf_storage *storage, const wchar_t *id, const char *path, bool *exists,
                     cf_err **err)
{
  ULONG value = 0;
  HRESULT hr = storage->vm.LayerExists(&storage->info, id, &value);
  if (FAILED(hr)) {
    cf_win_hr_error(err, hr, "LayerExists");
    return cf_err_wrap(err, "check %s", path);
  }
  *exists = value != 0;
  return 0;
}

/* Converts the path of chain_id (or of handle's volume) to UTF-16. */
static wchar_t *layer_id(cf_storage *storage, const char *chain_id, char **path, cf_err **err)
{
  if (cf_win_layer_path(storage->root, chain_id, path, err) < 0) {
    return NULL;
  }
  return cf_win_utf16(*path, err);
}

static wchar_t *volume_id(cf_storage *storage, const char *handle, char **path, cf_err **err)
{
  if (cf_win_volume_path(storage->root, handle, path, err) < 0) {
    return NULL;
  }
  return cf_win_utf16(*path, err);
}

int cf_storage_layer_exists(cf_storage *storage, const char *chain_id, bool *exists, cf_err **err)
{
  cf_autofree char *path = NULL;
  cf_autofree wchar_t *id = layer_id(storage, chain_id, &path, err);
  if (id == NULL) {
    return -1;
  }
  return id_exists(storage, id, path, exists, err);
}

static int import_over_parents(cf_storage *storage, const wchar_t *id, const char *source_dir,
                               char *const *parent_ids, size_t parent_count, cf_err **err)
{
  layer_chain parents;
  if (chain_build(storage, parent_ids, parent_count, &parents, err) < 0) {
    return -1;
  }
  cf_autofree wchar_t *source = cf_win_utf16(source_dir, err);
  int rc = source == NULL ? -1 : 0;
  if (rc == 0) {
    HRESULT hr =
        storage->vm.ImportLayer(&storage->info, id, source, parents.layers, (ULONG)parents.count);
    rc = FAILED(hr) ? cf_win_hr_error(err, hr, "ImportLayer") : 0;
  }
  chain_free(&parents);
  return rc;
}

/* A base layer is written in place and then processed, as hcsshim's base
 * layer writer does; the staging directory is moved, so it must be on the
 * driver store's volume. */
static int import_base(cf_storage *storage, const wchar_t *id, const char *path,
                       const char *source_dir, cf_err **err)
{
  cf_autofree wchar_t *source = cf_win_utf16(source_dir, err);
  if (source == NULL) {
    return -1;
  }
  if (!MoveFileExW(source, id, 0)) {
    cf_win_last_error(err, GetLastError(), "MoveFileEx");
    return cf_err_wrap(err, "move %s to %s (stage base layers on the driver store's volume)",
                       source_dir, path);
  }
  HRESULT hr = storage->vm.ProcessBaseImage(id);
  if (FAILED(hr)) {
    return cf_win_hr_error(err, hr, "ProcessBaseImage");
  }
  cf_autofree char *uvm = cf_xasprintf("%s\\UtilityVM", path);
  cf_autofree wchar_t *uvm_w = cf_win_utf16(uvm, err);
  if (uvm_w == NULL) {
    return -1;
  }
  if (GetFileAttributesW(uvm_w) == INVALID_FILE_ATTRIBUTES) {
    return 0;
  }
  hr = storage->vm.ProcessUtilityImage(uvm_w);
  return FAILED(hr) ? cf_win_hr_error(err, hr, "ProcessUtilityImage") : 0;
}

int cf_storage_layer_import(cf_storage *storage, const char *chain_id, const char *source_dir,
                            char *const *parent_ids, size_t parent_count, cf_err **err)
{
  cf_autofree char *path = NULL;
  cf_autofree wchar_t *id = layer_id(storage, chain_id, &path, err);
  bool exists = false;
  if (id == NULL || id_exists(storage, id, path, &exists, err) < 0) {
    return cf_err_wrap(err, "import layer %s", chain_id);
  }
  if (exists) {
    return cf_err_set(err, CF_E_EXISTS, "import layer %s: %s already exists", chain_id, path);
  }
  int rc = 0;
  if (parent_count == 0) {
    rc = import_base(storage, id, path, source_dir, err);
  } else if ((rc = make_dir(path, err)) == 0) {
    rc = import_over_parents(storage, id, source_dir, parent_ids, parent_count, err);
  }
  if (rc < 0) {
    storage->vm.DestroyLayer(&storage->info, id);
    return cf_err_wrap(err, "import layer %s from %s", chain_id, source_dir);
  }
  return 0;
}

/* --- Import from a tar --- */

/* Reads <layer>\size, groot's completion marker. */
static int read_size_file(const char *layer_path, bool *found, uint64_t *size, cf_err **err)
{
  cf_autofree char *path = cf_xasprintf("%s\\size", layer_path);
  cf_autofree wchar_t *wide = cf_win_utf16(path, err);
  if (wide == NULL) {
    return -1;
  }
  HANDLE file = CreateFileW(wide, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
  if (file == INVALID_HANDLE_VALUE) {
    DWORD code = GetLastError();
    *found = false;
    if (code == ERROR_FILE_NOT_FOUND) {
      return 0;
    }
    cf_win_last_error(err, code, "CreateFile");
    return cf_err_wrap(err, "open %s", path);
  }
  char text[32];
  DWORD got = 0;
  BOOL ok = ReadFile(file, text, sizeof(text), &got, NULL);
  DWORD code = GetLastError();
  CloseHandle(file);
  if (!ok) {
    cf_win_last_error(err, code, "ReadFile");
    return cf_err_wrap(err, "read %s", path);
  }
  *found = true;
  return cf_win_size_parse(text, got, size, err);
}

static int write_size_file(const char *layer_path, uint64_t size, cf_err **err)
{
  cf_autofree char *path = cf_xasprintf("%s\\size", layer_path);
  cf_autofree wchar_t *wide = cf_win_utf16(path, err);
  cf_autofree char *text = cf_win_size_format(size);
  if (wide == NULL) {
    return -1;
  }
  HANDLE file = CreateFileW(wide, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
  if (file == INVALID_HANDLE_VALUE) {
    cf_win_last_error(err, GetLastError(), "CreateFile");
    return cf_err_wrap(err, "create %s", path);
  }
  DWORD written = 0;
  BOOL ok = WriteFile(file, text, (DWORD)strlen(text), &written, NULL);
  DWORD code = GetLastError();
  CloseHandle(file);
  if (!ok || written != strlen(text)) {
    cf_win_last_error(err, ok ? ERROR_WRITE_FAULT : code, "WriteFile");
    return cf_err_wrap(err, "write %s", path);
  }
  return 0;
}

/* Deletes a staging folder and everything in it, without following
 * reparse points. Best effort: what cannot be deleted stays. */
static void remove_tree(const wchar_t *dir)
{
  size_t len = wcslen(dir);
  wchar_t *pattern = cf_xcalloc(len + 3, sizeof(wchar_t));
  memcpy(pattern, dir, len * sizeof(wchar_t));
  wcscpy(pattern + len, L"\\*");
  WIN32_FIND_DATAW found;
  HANDLE find = FindFirstFileW(pattern, &found);
  free(pattern);
  if (find != INVALID_HANDLE_VALUE) {
    do {
      if (wcscmp(found.cFileName, L".") == 0 || wcscmp(found.cFileName, L"..") == 0) {
        continue;
      }
      size_t child_len = len + 1 + wcslen(found.cFileName);
      wchar_t *child = cf_xcalloc(child_len + 1, sizeof(wchar_t));
      memcpy(child, dir, len * sizeof(wchar_t));
      child[len] = L'\\';
      wcscpy(child + len + 1, found.cFileName);
      DWORD attributes = found.dwFileAttributes;
      if ((attributes & FILE_ATTRIBUTE_DIRECTORY) != 0 &&
          (attributes & FILE_ATTRIBUTE_REPARSE_POINT) == 0) {
        remove_tree(child);
      } else if ((attributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
        RemoveDirectoryW(child);
      } else {
        SetFileAttributesW(child, FILE_ATTRIBUTE_NORMAL);
        DeleteFileW(child);
      }
      free(child);
    } while (FindNextFileW(find, &found));
    FindClose(find);
  }
  RemoveDirectoryW(dir);
}

/* %TEMP%\cfwin-import-<hex>, as hcsshim stages under %TEMP%\hcs*. */
static int make_staging_dir(const char *layer_path, char **out, cf_err **err)
{
  wchar_t temp[MAX_PATH + 1];
  DWORD len = GetTempPathW(MAX_PATH + 1, temp);
  if (len == 0 || len > MAX_PATH) {
    return cf_win_last_error(err, GetLastError(), "GetTempPath");
  }
  cf_autofree char *temp_dir = cf_win_utf8(temp, err);
  if (temp_dir == NULL) {
    return -1;
  }
  const char *hex = strrchr(layer_path, '\\') + 1;
  *out = cf_xasprintf("%scfwin-import-%s", temp_dir, hex);
  cf_autofree wchar_t *wide = cf_win_utf16(*out, err);
  if (wide != NULL) {
    remove_tree(wide); /* left over from an import that crashed */
  }
  if (wide == NULL || make_dir(*out, err) < 0) {
    free(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

static int process_base(cf_storage *storage, const wchar_t *id, const char *path, cf_err **err)
{
  HRESULT hr = storage->vm.ProcessBaseImage(id);
  if (FAILED(hr)) {
    return cf_win_hr_error(err, hr, "ProcessBaseImage");
  }
  cf_autofree char *uvm_files = cf_xasprintf("%s\\UtilityVM\\Files", path);
  cf_autofree wchar_t *uvm_files_w = cf_win_utf16(uvm_files, err);
  cf_autofree char *uvm = cf_xasprintf("%s\\UtilityVM", path);
  cf_autofree wchar_t *uvm_w = cf_win_utf16(uvm, err);
  if (uvm_files_w == NULL || uvm_w == NULL) {
    return -1;
  }
  if (GetFileAttributesW(uvm_files_w) == INVALID_FILE_ATTRIBUTES) {
    return 0;
  }
  hr = storage->vm.ProcessUtilityImage(uvm_w);
  return FAILED(hr) ? cf_win_hr_error(err, hr, "ProcessUtilityImage") : 0;
}

static int import_tar_base(cf_storage *storage, const wchar_t *id, const char *path,
                           cf_wintar_read_fn read, void *context, uint64_t *size, cf_err **err)
{
  cf_win_layer_writer *writer = cf_win_layer_writer_new(path, NULL, NULL, 0);
  int rc = cf_win_layer_writer_write(writer, read, context, size, err);
  if (rc == 0) {
    rc = cf_win_layer_writer_finish(writer, err);
  }
  cf_win_layer_writer_free(writer);
  return rc < 0 ? -1 : process_base(storage, id, path, err);
}

static int import_tar_staged(cf_storage *storage, const wchar_t *id, const char *path,
                             cf_wintar_read_fn read, void *context, char *const *parent_ids,
                             size_t parent_count, uint64_t *size, cf_err **err)
{
  char **folders = NULL;
  cf_autofree char *staging = NULL;
  if (cf_win_layer_folders(storage->root, parent_ids, parent_count, &folders, err) < 0) {
    return -1;
  }
  if (make_staging_dir(path, &staging, err) < 0) {
    cf_strv_free(folders, parent_count);
    return -1;
  }
  cf_win_layer_writer *writer = cf_win_layer_writer_new(path, staging, folders, parent_count);
  int rc = cf_win_layer_writer_write(writer, read, context, size, err);
  if (rc == 0) {
    rc = import_over_parents(storage, id, staging, parent_ids, parent_count, err);
  }
  if (rc == 0) {
    rc = cf_win_layer_writer_finish(writer, err);
  }
  cf_win_layer_writer_free(writer);
  cf_autofree wchar_t *staging_w = cf_win_utf16(staging, NULL);
  if (staging_w != NULL) {
    remove_tree(staging_w);
  }
  cf_strv_free(folders, parent_count);
  return rc;
}

/* Returns 1 when the layer is complete (it has a size file, stored in
 * *size), 0 when it is absent or was incomplete and has been destroyed. */
static int existing_layer(cf_storage *storage, const wchar_t *id, const char *path, uint64_t *size,
                          cf_err **err)
{
  bool exists = false;
  bool complete = false;
  if (id_exists(storage, id, path, &exists, err) < 0) {
    return -1;
  }
  if (!exists) {
    return 0;
  }
  if (read_size_file(path, &complete, size, err) < 0) {
    return -1;
  }
  if (complete) {
    return 1;
  }
  HRESULT hr = storage->vm.DestroyLayer(&storage->info, id);
  if (FAILED(hr)) {
    cf_win_hr_error(err, hr, "DestroyLayer");
    return cf_err_wrap(err, "remove the incomplete layer %s", path);
  }
  return 0;
}

/* Reads the input to its end. The tar reader stops at the end-of-archive
 * blocks, and a stream that checks digests (layer_stream.h) reports a
 * mismatch only when its last bytes are read, so the layer must not be
 * marked complete before that. The stream's own size limits bound the
 * loop. */
static int drain_input(cf_wintar_read_fn read, void *context, cf_err **err)
{
  char chunk[16384];
  for (;;) {
    size_t got = 0;
    if (read(context, chunk, sizeof(chunk), &got, err) < 0) {
      return -1;
    }
    if (got == 0) {
      return 0;
    }
  }
}

int cf_storage_layer_import_tar(cf_storage *storage, const char *chain_id, cf_wintar_read_fn read,
                                void *context, char *const *parent_ids, size_t parent_count,
                                uint64_t *size, cf_err **err)
{
  cf_autofree char *path = NULL;
  cf_autofree wchar_t *id = layer_id(storage, chain_id, &path, err);
  int state = id == NULL ? -1 : existing_layer(storage, id, path, size, err);
  if (state != 0) {
    return state < 0 ? cf_err_wrap(err, "import layer %s", chain_id) : 0;
  }
  int rc = cf_win_enable_backup_privileges(err);
  if (rc == 0) {
    rc = make_dir(path, err);
  }
  if (rc == 0 && parent_count == 0) {
    rc = import_tar_base(storage, id, path, read, context, size, err);
  } else if (rc == 0) {
    rc = import_tar_staged(storage, id, path, read, context, parent_ids, parent_count, size, err);
  }
  if (rc == 0) {
    rc = drain_input(read, context, err);
  }
  if (rc == 0) {
    rc = write_size_file(path, *size, err);
  }
  if (rc < 0) {
    storage->vm.DestroyLayer(&storage->info, id);
    return cf_err_wrap(err, "import layer %s", chain_id);
  }
  return 0;
}

int cf_storage_layer_destroy(cf_storage *storage, const char *chain_id, cf_err **err)
{
  cf_autofree char *path = NULL;
  cf_autofree wchar_t *id = layer_id(storage, chain_id, &path, err);
  bool exists = false;
  if (id == NULL || id_exists(storage, id, path, &exists, err) < 0) {
    return cf_err_wrap(err, "destroy layer %s", chain_id);
  }
  if (!exists) {
    return 0;
  }
  HRESULT hr = storage->vm.DestroyLayer(&storage->info, id);
  if (FAILED(hr)) {
    cf_win_hr_error(err, hr, "DestroyLayer");
    return cf_err_wrap(err, "destroy layer %s", path);
  }
  return 0;
}

/* --- Volumes --- */

/* Holds the cross-process creation lock; groot serialises CreateSandboxLayer,
 * ActivateLayer and PrepareLayer the same way. */
static HANDLE lock_create(cf_storage *storage, cf_err **err)
{
  HANDLE file = CreateFileW(storage->lock_path, GENERIC_READ | GENERIC_WRITE,
                            FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_ALWAYS, 0, NULL);
  if (file == INVALID_HANDLE_VALUE) {
    cf_win_last_error(err, GetLastError(), "open the creation lock file");
    return NULL;
  }
  OVERLAPPED at = {0};
  if (!LockFileEx(file, LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &at)) {
    cf_win_last_error(err, GetLastError(), "LockFileEx on the creation lock file");
    CloseHandle(file);
    return NULL;
  }
  return file;
}

static void unlock_create(HANDLE file)
{
  OVERLAPPED at = {0};
  UnlockFileEx(file, 0, 1, 0, &at);
  CloseHandle(file);
}

static int prepare(cf_storage *storage, const wchar_t *id, layer_chain *chain, cf_err **err)
{
  HRESULT hr = S_OK;
  for (int attempt = 1; attempt <= PREPARE_ATTEMPTS; attempt++) {
    hr = storage->vm.PrepareLayer(&storage->info, id, chain->layers, (ULONG)chain->count);
    bool transient = hr == HRESULT_FROM_WIN32(ERROR_NOT_READY) ||
                     hr == HRESULT_FROM_WIN32(ERROR_DEVICE_NOT_CONNECTED);
    if (!transient) {
      break;
    }
    Sleep(100u * (DWORD)attempt);
  }
  return FAILED(hr) ? cf_win_hr_error(err, hr, "PrepareLayer") : 0;
}

static int activate_and_prepare(cf_storage *storage, const wchar_t *id, layer_chain *chain,
                                cf_err **err)
{
  HRESULT hr = storage->vm.ActivateLayer(&storage->info, id);
  if (FAILED(hr)) {
    return cf_win_hr_error(err, hr, "ActivateLayer");
  }
  return prepare(storage, id, chain, err);
}

static int create_sandbox(cf_storage *storage, const wchar_t *id, layer_chain *chain,
                          uint64_t size_limit, cf_err **err)
{
  HRESULT hr =
      storage->vm.CreateSandboxLayer(&storage->info, id, 0, chain->layers, (ULONG)chain->count);
  if (FAILED(hr)) {
    return cf_win_hr_error(err, hr, "CreateSandboxLayer");
  }
  /* NOTE: hcsshim also extends the partition inside the VHDX on some
   * Windows builds after ExpandSandboxSize; this backend does not. */
  if (size_limit > SANDBOX_DEFAULT_BYTES) {
    hr = storage->vm.ExpandSandboxSize(&storage->info, id, size_limit);
    if (FAILED(hr)) {
      return cf_win_hr_error(err, hr, "ExpandSandboxSize");
    }
  }
  return activate_and_prepare(storage, id, chain, err);
}

static int mount_path_of(cf_storage *storage, const wchar_t *id, char **out, cf_err **err)
{
  UINT_PTR length = 0;
  HRESULT hr = storage->vm.GetLayerMountPath(&storage->info, id, &length, NULL);
  if (FAILED(hr)) {
    return cf_win_hr_error(err, hr, "GetLayerMountPath");
  }
  if (length == 0) {
    return cf_err_set(err, CF_E_NOT_FOUND, "GetLayerMountPath returned no path: not mounted");
  }
  cf_autofree wchar_t *buffer = cf_xcalloc((size_t)length + 1, sizeof(wchar_t));
  hr = storage->vm.GetLayerMountPath(&storage->info, id, &length, buffer);
  if (FAILED(hr)) {
    return cf_win_hr_error(err, hr, "GetLayerMountPath");
  }
  *out = cf_win_utf8(buffer, err);
  if (*out == NULL) {
    return -1;
  }
  if (cf_win_volume_guid_path_check(*out, err) < 0) {
    free(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

/* Undoes what create or mount did, ignoring the errors of steps that were
 * not reached. Returns the HRESULT of DestroyLayer when destroy is set. */
static HRESULT teardown(cf_storage *storage, const wchar_t *id, bool destroy)
{
  storage->vm.UnprepareLayer(&storage->info, id);
  storage->vm.DeactivateLayer(&storage->info, id);
  return destroy ? storage->vm.DestroyLayer(&storage->info, id) : S_OK;
}

static int set_quota(const char *mount_path, uint64_t size_limit, cf_err **err)
{
  if (size_limit == 0) {
    return 0;
  }
  cf_autofree wchar_t *volume = cf_win_utf16(mount_path, err);
  if (volume == NULL) {
    return -1;
  }
  return cf_fsrm_set_quota(volume, size_limit + QUOTA_OVERHEAD_BYTES, err);
}

static int create_locked(cf_storage *storage, const char *handle, const wchar_t *id,
                         const char *path, layer_chain *chain, uint64_t size_limit, cf_err **err)
{
  bool exists = false;
  if (id_exists(storage, id, path, &exists, err) < 0) {
    return -1;
  }
  if (exists) {
    return cf_err_set(err, CF_E_EXISTS, "volume %s already exists; delete it first", handle);
  }
  if (create_sandbox(storage, id, chain, size_limit, err) < 0) {
    teardown(storage, id, true);
    return -1;
  }
  return 0;
}

int cf_storage_volume_create(cf_storage *storage, const char *handle, char *const *layer_ids,
                             size_t layer_count, uint64_t size_limit, char **mount_path,
                             cf_err **err)
{
  cf_autofree char *path = NULL;
  cf_autofree wchar_t *id = volume_id(storage, handle, &path, err);
  layer_chain chain;
  if (id == NULL || chain_build(storage, layer_ids, layer_count, &chain, err) < 0) {
    return cf_err_wrap(err, "create volume %s", handle);
  }
  HANDLE lock = lock_create(storage, err);
  int rc = lock == NULL ? -1 : create_locked(storage, handle, id, path, &chain, size_limit, err);
  if (lock != NULL) {
    unlock_create(lock);
  }
  chain_free(&chain);
  if (rc == 0 && mount_path_of(storage, id, mount_path, err) == 0) {
    rc = set_quota(*mount_path, size_limit, err);
    if (rc < 0) {
      free(*mount_path);
      *mount_path = NULL;
    }
  } else if (rc == 0) {
    rc = -1;
  }
  if (rc < 0 && (err == NULL || *err == NULL || (*err)->code != CF_E_EXISTS)) {
    teardown(storage, id, true);
  }
  return rc < 0 ? cf_err_wrap(err, "create volume %s", handle) : 0;
}

int cf_storage_volume_mount_path(cf_storage *storage, const char *handle, char **mount_path,
                                 cf_err **err)
{
  cf_autofree char *path = NULL;
  cf_autofree wchar_t *id = volume_id(storage, handle, &path, err);
  bool exists = false;
  if (id == NULL || id_exists(storage, id, path, &exists, err) < 0) {
    return cf_err_wrap(err, "volume %s", handle);
  }
  if (!exists) {
    return cf_err_set(err, CF_E_NOT_FOUND, "could not get volume path for bundle ID: %s", handle);
  }
  if (mount_path_of(storage, id, mount_path, err) < 0) {
    return cf_err_wrap(err, "volume %s", handle);
  }
  return 0;
}

int cf_storage_volume_mount(cf_storage *storage, const char *handle, char *const *layer_ids,
                            size_t layer_count, char **mount_path, cf_err **err)
{
  cf_autofree char *path = NULL;
  cf_autofree wchar_t *id = volume_id(storage, handle, &path, err);
  layer_chain chain;
  if (id == NULL || chain_build(storage, layer_ids, layer_count, &chain, err) < 0) {
    return cf_err_wrap(err, "mount volume %s", handle);
  }
  HANDLE lock = lock_create(storage, err);
  int rc = lock == NULL ? -1 : activate_and_prepare(storage, id, &chain, err);
  if (lock != NULL) {
    unlock_create(lock);
  }
  chain_free(&chain);
  if (rc == 0) {
    rc = mount_path_of(storage, id, mount_path, err);
  }
  return rc < 0 ? cf_err_wrap(err, "mount volume %s", handle) : 0;
}

int cf_storage_volume_unmount(cf_storage *storage, const char *handle, cf_err **err)
{
  cf_autofree char *path = NULL;
  cf_autofree wchar_t *id = volume_id(storage, handle, &path, err);
  if (id == NULL) {
    return cf_err_wrap(err, "unmount volume %s", handle);
  }
  /* NOTE: which HRESULTs Unprepare and Deactivate return for a volume that
   * is not mounted has not been observed on a host; any failure is
   * reported. */
  HRESULT hr = storage->vm.UnprepareLayer(&storage->info, id);
  if (FAILED(hr)) {
    cf_win_hr_error(err, hr, "UnprepareLayer");
    return cf_err_wrap(err, "unmount volume %s", handle);
  }
  hr = storage->vm.DeactivateLayer(&storage->info, id);
  if (FAILED(hr)) {
    cf_win_hr_error(err, hr, "DeactivateLayer");
    return cf_err_wrap(err, "unmount volume %s", handle);
  }
  return 0;
}

int cf_storage_volume_destroy(cf_storage *storage, const char *handle, cf_err **err)
{
  cf_autofree char *path = NULL;
  cf_autofree wchar_t *id = volume_id(storage, handle, &path, err);
  bool exists = false;
  if (id == NULL || id_exists(storage, id, path, &exists, err) < 0) {
    return cf_err_wrap(err, "destroy volume %s", handle);
  }
  if (!exists) {
    return 0;
  }
  HRESULT hr = S_OK;
  for (int attempt = 0; attempt < DESTROY_ATTEMPTS; attempt++) {
    hr = teardown(storage, id, true);
    if (SUCCEEDED(hr)) {
      return 0;
    }
  }
  cf_win_hr_error(err, hr, "DestroyLayer");
  return cf_err_wrap(err, "destroy volume %s after %d attempts", handle, DESTROY_ATTEMPTS);
}

/* Bytes in use on the volume when it has no quota. NOTE: this counts the
 * NTFS metadata of the fresh volume too, so it is never 0. */
static int volume_used_bytes(const char *mount_path, uint64_t *used, cf_err **err)
{
  cf_autofree wchar_t *volume = cf_win_utf16(mount_path, err);
  ULARGE_INTEGER available;
  ULARGE_INTEGER total;
  ULARGE_INTEGER free_bytes;
  if (volume == NULL) {
    return -1;
  }
  if (!GetDiskFreeSpaceExW(volume, &available, &total, &free_bytes)) {
    return cf_win_last_error(err, GetLastError(), "GetDiskFreeSpaceEx");
  }
  *used = total.QuadPart - free_bytes.QuadPart;
  return 0;
}

int cf_storage_volume_usage(cf_storage *storage, const char *handle, cf_storage_usage *out,
                            cf_err **err)
{
  cf_autofree char *mount_path = NULL;
  if (cf_storage_volume_mount_path(storage, handle, &mount_path, err) < 0) {
    return -1;
  }
  cf_autofree wchar_t *volume = cf_win_utf16(mount_path, err);
  bool found = false;
  uint64_t limit = 0;
  if (volume == NULL || cf_fsrm_quota_used(volume, &out->used_bytes, &limit, &found, err) < 0) {
    return cf_err_wrap(err, "usage of volume %s", handle);
  }
  out->limit_bytes = found && limit > QUOTA_OVERHEAD_BYTES ? limit - QUOTA_OVERHEAD_BYTES : limit;
  if (!found && volume_used_bytes(mount_path, &out->used_bytes, err) < 0) {
    return cf_err_wrap(err, "usage of volume %s", handle);
  }
  return 0;
}
