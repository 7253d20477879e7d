/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Platform-neutral builders for the Windows image backend: driver store
 * paths laid out as groot-windows lays them out, the layer-folder list of a
 * container (top layer first), the JSON documents the Windows calls and the
 * runtime spec need, the Windows layer path of a tar entry, and HRESULT
 * messages.
 *
 * These functions are compiled and unit-tested on every platform. They use
 * only base (buf, err, mem) and the C library, never jansson, because the
 * mingw-w64 cross build has no jansson. Paths are UTF-8 with `\` separators;
 * the files in windows/ convert them to UTF-16 at the DLL call.
 */
#ifndef CFWIN_IMAGE_WINIMAGE_H
#define CFWIN_IMAGE_WINIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Maximum length of a store, layer or volume path in UTF-8 bytes. Longer
 * results fail with CF_E_LIMIT, because the layer calls take plain Win32
 * paths, not `\\?\` long paths. */
#define CF_WIN_PATH_MAX 259

/* Turns a --driver-store value into an absolute Windows path as groot does:
 * `/` becomes `\`, a path without a drive letter is joined onto `C:\`,
 * repeated separators, `.` components and a trailing `\` are removed.
 * Rejects `..` components, UNC and `\\?\` paths, relative drive paths
 * (`C:x`) and names Windows cannot create (see cf_win_name_check). */
int cf_win_store_root(const char *path, char **out, cf_err **err);

/* Returns a new copy of an oci:// URI in the oci:///path form. Guardian
 * writes layouts it prepared as oci://C:/path, with the drive as the URL's
 * host, and groot reads that as C:\path, so that form gets a third slash.
 * Other URIs are copied unchanged. */
char *cf_win_oci_uri_normalize(const char *uri);

/* Turns the path of an oci:// URI (cf_oci_uri.path) into the Windows path
 * of the layout, as groot does: `/C:/layout` becomes `C:\layout`, and
 * `/var/layout`, without a drive letter, becomes `C:\var\layout`. The rules
 * and errors of cf_win_store_root apply, naming the "OCI layout path". */
int cf_win_oci_layout_path(const char *uri_path, char **out, cf_err **err);

/* Checks one path component: not empty, no control characters or any of
 * <>:"/\|?*, no trailing dot or space, not a reserved device name (CON,
 * PRN, AUX, NUL, COM1-9, LPT1-9, also with an extension such as NUL.txt).
 * what names the value in the error ("handle", "tar entry"). */
int cf_win_name_check(const char *what, const char *name, size_t len, cf_err **err);

/* <root>\layers and <root>\volumes: the DriverInfo home directories of
 * imported layers and of writable layers (groot calls them volumes). */
char *cf_win_layers_dir(const char *root);
char *cf_win_volumes_dir(const char *root);

/* <root>\layers\<hex>, where chain_id is `sha256:` followed by 64 lowercase
 * hex digits or the bare hex. */
int cf_win_layer_path(const char *root, const char *chain_id, char **out, cf_err **err);

/* <root>\volumes\<handle> for a Garden handle
 * ([A-Za-z0-9][A-Za-z0-9_.-]{0,127}) that is also a valid Windows name. */
int cf_win_volume_path(const char *root, const char *handle, char **out, cf_err **err);

/* The layer folders of an image for `windows.layerFolders`, for PrepareLayer
 * and for CreateSandboxLayer: chain_ids come bottom layer first (as
 * cf_image lists them) and *out gets count paths top layer first. Free with
 * cf_strv_free(*out, count). */
int cf_win_layer_folders(const char *root, char *const *chain_ids, size_t count, char ***out,
                         cf_err **err);

/* A GUID in the Win32 layout (Data1-3 in host order, Data4 as bytes). */
typedef struct cf_win_guid {
  uint32_t data1;
  uint16_t data2;
  uint16_t data3;
  uint8_t data4[8];
} cf_win_guid;

#define CF_WIN_GUID_STRLEN 36

/* Writes the lowercase registry form without braces,
 * "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", and a NUL into out. */
void cf_win_guid_format(const cf_win_guid *guid, char out[CF_WIN_GUID_STRLEN + 1]);

/* Checks that path is a volume GUID path, `\\?\Volume{GUID}` with an
 * optional trailing `\`, the only form HCS accepts as Storage.Path. */
int cf_win_volume_guid_path_check(const char *path, cf_err **err);

/* One layer of a layer data document: the layer's GUID string (from
 * NameToGuid of the folder's base name) and its folder. */
typedef struct cf_win_layer_ref {
  const char *id;
  const char *path;
} cf_win_layer_ref;

/* The layerData document of the computestorage calls and the Layers of an
 * HCS v2 Container.Storage:
 * {"SchemaVersion":{"Major":2,"Minor":1},"Layers":[{"Id":..,"Path":..},..]}
 * with the layers nearest parent first. */
int cf_win_layer_data_json(const cf_win_layer_ref *layers, size_t count, char **out, cf_err **err);

/* The value of a runtime spec's "windows" member:
 * {"layerFolders":["<top>",..,"<base>"]}. */
int cf_win_windows_json(char *const *folders, size_t count, char **out, cf_err **err);

/* The runtime spec groot's create prints:
 * {"ociVersion":"1.2.1","process":{"user":{"uid":0,"gid":0},"env":[..],"cwd":""},
 *  "root":{"path":<volume_path>},"windows":{"layerFolders":[..]}}.
 * "process" is left out when env_count is 0, as groot does. */
int cf_win_image_spec_json(const char *volume_path, char *const *env, size_t env_count,
                           char *const *folders, size_t folder_count, char **out, cf_err **err);

/* Kind of change a layer tar entry makes in the Windows layer format. */
enum cf_win_entry_kind {
  CF_WIN_ENTRY_PATH,     /* create the entry at the path */
  CF_WIN_ENTRY_WHITEOUT, /* `.wh.NAME`: remove the path (NAME in the same directory) */
  CF_WIN_ENTRY_OPAQUE,   /* `.wh..wh..opq`: hide the parent layers' content of the path */
};

/* Converts a tar entry name of a Windows layer (`Files/…`, `Hives/…`,
 * `UtilityVM/…`, `/` separators, an optional leading `./`) into its path
 * inside the layer (`Files\…`). Each rejection names the entry and the rule.
 * Rejected are absolute names, drive letters, `..` components, `\` in a
 * name and `:` (alternate data streams and drive-relative names). So are
 * reserved device names, trailing dots or spaces, names outside those three
 * top directories and names of more than 512 components. */
int cf_win_layer_entry_path(const char *tar_name, char **out, enum cf_win_entry_kind *kind,
                            cf_err **err);

/* Names of the HCS and FSRM HRESULTs that Windows has no message text for,
 * or NULL. */
const char *cf_win_hresult_name(uint32_t hr);

/* The message for a failed call: "<call>: HRESULT 0x8007XXXX: <text>", where
 * text is system_message (from FormatMessage, trailing newline and dot
 * removed), else the code's name, else "no system message". */
char *cf_win_hresult_message(const char *call, uint32_t hr, const char *system_message);

#endif
