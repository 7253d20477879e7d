/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the Windows image backend: the vmcompute.dll layer
 * calls resolved at run time, UTF-8/UTF-16 conversion, HRESULT errors and
 * FSRM quotas. Compiled only by the mingw-w64 build (cmake/windows).
 */
#ifndef CFWIN_IMAGE_WINDOWS_WIN_H
#define CFWIN_IMAGE_WINDOWS_WIN_H

#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "image/wintar.h"

/* vmcompute.dll has no public header. The two structs and the function
 * types below are the argument lists hcsshim's wclayer package passes
 * (Go slices become a pointer and a count). */
typedef struct cf_driver_info {
  int flavour;      /* 1: the filter driver (wcifs) */
  LPCWSTR home_dir; /* "" when the id argument is a full path, as here */
} cf_driver_info;

typedef struct cf_layer_descriptor {
  GUID layer_id; /* NameToGuid of the layer folder's base name */
  ULONG flags;   /* 0; bit 31 marks a layer made from a sandbox snapshot */
  PCWSTR path;   /* the layer folder */
} cf_layer_descriptor;

#define CF_DRIVER_FILTER 1

typedef HRESULT(WINAPI *cf_layer_id_fn)(cf_driver_info *info, PCWSTR id);
typedef HRESULT(WINAPI *cf_layer_chain_fn)(cf_driver_info *info, PCWSTR id,
                                           cf_layer_descriptor *layers, ULONG count);

typedef struct cf_vmcompute {
  HMODULE dll;
  HRESULT(WINAPI *NameToGuid)(PCWSTR name, GUID *guid);
  HRESULT(WINAPI *LayerExists)(cf_driver_info *info, PCWSTR id, ULONG *exists);
  HRESULT(WINAPI *ImportLayer)
  (cf_driver_info *info, PCWSTR id, PCWSTR import_folder, cf_layer_descriptor *parents,
   ULONG count);
  HRESULT(WINAPI *CreateSandboxLayer)
  (cf_driver_info *info, PCWSTR id, UINT_PTR parent, cf_layer_descriptor *parents, ULONG count);
  HRESULT(WINAPI *ExpandSandboxSize)(cf_driver_info *info, PCWSTR id, UINT64 size);
  cf_layer_id_fn ActivateLayer;
  cf_layer_chain_fn PrepareLayer;
  HRESULT(WINAPI *GetLayerMountPath)
  (cf_driver_info *info, PCWSTR id, UINT_PTR *length, PWSTR buffer);
  cf_layer_id_fn UnprepareLayer;
  cf_layer_id_fn DeactivateLayer;
  cf_layer_id_fn DestroyLayer;
  HRESULT(WINAPI *ProcessBaseImage)(PCWSTR path);
  HRESULT(WINAPI *ProcessUtilityImage)(PCWSTR path);
} cf_vmcompute;

/* Loads vmcompute.dll from System32 and resolves every layer call. Fails
 * with CF_E_NOT_IMPLEMENTED and a message that says to enable the
 * Containers feature when the DLL or one of the calls is missing. */
int cf_vmcompute_load(cf_vmcompute *vm, cf_err **err);
void cf_vmcompute_unload(cf_vmcompute *vm);

/* Calls report once per DLL and once per layer call, with found saying
 * whether LoadLibrary or GetProcAddress succeeded; symbol is NULL for the
 * DLL itself. Returns the number not found. */
int cf_vmcompute_probe(void (*report)(const char *dll, const char *symbol, bool found,
                                      void *context),
                       void *context);

/* Sets *err to CF_E_SYSTEM with "<what>: HRESULT 0x…: <system message>". */
int cf_win_hr_error(cf_err **err, HRESULT hr, const char *what);
/* The same for a Win32 error code from GetLastError(). */
int cf_win_last_error(cf_err **err, DWORD code, const char *what);

/* Converts between UTF-8 and UTF-16; fails with CF_E_INVALID on malformed
 * input. Free the result with free(). */
wchar_t *cf_win_utf16(const char *text, cf_err **err);
char *cf_win_utf8(const wchar_t *text, cf_err **err);

/* FSRM hard quotas on a volume root (the mount path of a writable layer),
 * through the FSRM COM API as groot's quota.dll does. quota_used sets
 * *found to false, and *used and *limit to 0, when the path has no quota. */
int cf_fsrm_set_quota(const wchar_t *path, uint64_t limit, cf_err **err);
int cf_fsrm_quota_used(const wchar_t *path, uint64_t *used, uint64_t *limit, bool *found,
                       cf_err **err);

/* Enables SeBackupPrivilege and SeRestorePrivilege in the process token,
 * which BackupWrite with security data and ImportLayer need. Fails when the
 * account does not hold them. */
int cf_win_enable_backup_privileges(cf_err **err);

/* Writes a layer from its tar (layer_writer.c). A base layer (staging_dir
 * NULL) is written straight into layer_dir; any other layer into the
 * import format under staging_dir, for ImportLayer. parent_dirs are the
 * parent layer folders, nearest first. */
typedef struct cf_win_layer_writer cf_win_layer_writer;

cf_win_layer_writer *cf_win_layer_writer_new(const char *layer_dir, const char *staging_dir,
                                             char *const *parent_dirs, size_t parent_count);
/* Reads the whole tar and writes every entry; *size gets the value of the
 * layer's `size` file. */
int cf_win_layer_writer_write(cf_win_layer_writer *writer, cf_wintar_read_fn read, void *context,
                              uint64_t *size, cf_err **err);
/* After ImportLayer: applies whiteouts (opaque ones against parent_dirs),
 * creates the hard links and restores directory times in layer_dir. A base
 * layer needs only the directory times. */
int cf_win_layer_writer_finish(cf_win_layer_writer *writer, cf_err **err);
void cf_win_layer_writer_free(cf_win_layer_writer *writer);

#endif
