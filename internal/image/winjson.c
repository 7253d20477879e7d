/* SPDX-License-Identifier: Apache-2.0 */
/* JSON documents, GUID strings and HRESULT messages of the Windows image
 * backend. Platform-neutral and free of jansson: see winimage.h. */
#include "image/winimage.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

/* Maximum size of a document, the same 4 MiB the image module allows for the
 * JSON documents it reads. */
#define DOC_MAX (4u * 1024 * 1024)

void cf_win_guid_format(const cf_win_guid *guid, char out[CF_WIN_GUID_STRLEN + 1])
{
  const uint8_t *d = guid->data4;
  snprintf(out, CF_WIN_GUID_STRLEN + 1, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           (unsigned)guid->data1, (unsigned)guid->data2, (unsigned)guid->data3, d[0], d[1], d[2],
           d[3], d[4], d[5], d[6], d[7]);
}

static bool is_hex(char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Checks the 36 characters of a GUID in registry form at s. */
static bool is_guid_text(const char *s)
{
  for (size_t i = 0; i < CF_WIN_GUID_STRLEN; i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) {
      return false;
    }
  }
  return true;
}

int cf_win_volume_guid_path_check(const char *path, cf_err **err)
{
  static const char prefix[] = "\\\\?\\Volume{";
  size_t plen = strlen(prefix);
  size_t len = strlen(path);
  size_t bare = plen + CF_WIN_GUID_STRLEN + 1;
  bool valid = (len == bare || (len == bare + 1 && path[bare] == '\\')) &&
               strncmp(path, prefix, plen) == 0 && is_guid_text(path + plen) &&
               path[bare - 1] == '}';
  if (!valid) {
    return cf_err_set(err, CF_E_INVALID,
                      "volume path \"%s\": expected \\\\?\\Volume{GUID}\\ as GetLayerMountPath "
                      "returns it",
                      path);
  }
  return 0;
}

/* Appends s as a JSON string. Bytes >= 0x80 pass through, so UTF-8 input
 * stays UTF-8. */
static void append_json_string(cf_buf *buf, const char *s)
{
  cf_buf_append_str(buf, "\"", NULL);
  for (const char *p = s; *p != '\0'; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') {
      char escaped[2] = {'\\', (char)c};
      cf_buf_append(buf, escaped, 2, NULL);
    } else if (c == '\n') {
      cf_buf_append_str(buf, "\\n", NULL);
    } else if (c == '\t') {
      cf_buf_append_str(buf, "\\t", NULL);
    } else if (c < 0x20 || c == 0x7f) {
      cf_buf_printf(buf, NULL, "\\u%04x", c);
    } else {
      cf_buf_append(buf, p, 1, NULL);
    }
  }
  cf_buf_append_str(buf, "\"", NULL);
}

static void append_string_array(cf_buf *buf, char *const *items, size_t count)
{
  cf_buf_append_str(buf, "[", NULL);
  for (size_t i = 0; i < count; i++) {
    if (i > 0) {
      cf_buf_append_str(buf, ",", NULL);
    }
    append_json_string(buf, items[i]);
  }
  cf_buf_append_str(buf, "]", NULL);
}

/* The builders append without a maximum (appends then cannot fail) and
 * check the total here. */
static void doc_init(cf_buf *buf)
{
  cf_buf_init(buf, SIZE_MAX);
}

static int doc_take(const char *what, cf_buf *buf, char **out, cf_err **err)
{
  if (buf->len > DOC_MAX) {
    size_t len = buf->len;
    cf_buf_free(buf);
    return cf_err_set(err, CF_E_LIMIT, "%s is %zu bytes, more than the maximum of %u", what, len,
                      DOC_MAX);
  }
  *out = cf_buf_take(buf);
  return 0;
}

int cf_win_layer_data_json(const cf_win_layer_ref *layers, size_t count, char **out, cf_err **err)
{
  cf_buf buf;
  doc_init(&buf);
  cf_buf_append_str(&buf, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":1},\"Layers\":[", NULL);
  for (size_t i = 0; i < count; i++) {
    cf_buf_append_str(&buf, i > 0 ? ",{\"Id\":" : "{\"Id\":", NULL);
    append_json_string(&buf, layers[i].id);
    cf_buf_append_str(&buf, ",\"Path\":", NULL);
    append_json_string(&buf, layers[i].path);
    cf_buf_append_str(&buf, "}", NULL);
  }
  cf_buf_append_str(&buf, "]}", NULL);
  return doc_take("layer data document", &buf, out, err);
}

static void append_windows(cf_buf *buf, char *const *folders, size_t count)
{
  cf_buf_append_str(buf, "{\"layerFolders\":", NULL);
  append_string_array(buf, folders, count);
  cf_buf_append_str(buf, "}", NULL);
}

int cf_win_windows_json(char *const *folders, size_t count, char **out, cf_err **err)
{
  cf_buf buf;
  doc_init(&buf);
  append_windows(&buf, folders, count);
  return doc_take("windows section", &buf, out, err);
}

int cf_win_image_spec_json(const char *volume_path, char *const *env, size_t env_count,
                           char *const *folders, size_t folder_count, char **out, cf_err **err)
{
  cf_buf buf;
  doc_init(&buf);
  cf_buf_append_str(&buf, "{\"ociVersion\":\"1.2.1\",", NULL);
  if (env_count > 0) {
    cf_buf_append_str(&buf, "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"env\":", NULL);
    append_string_array(&buf, env, env_count);
    cf_buf_append_str(&buf, ",\"cwd\":\"\"},", NULL);
  }
  cf_buf_append_str(&buf, "\"root\":{\"path\":", NULL);
  append_json_string(&buf, volume_path);
  cf_buf_append_str(&buf, "},\"windows\":", NULL);
  append_windows(&buf, folders, folder_count);
  cf_buf_append_str(&buf, "}", NULL);
  return doc_take("runtime spec", &buf, out, err);
}

/* --- HRESULTs --- */

typedef struct hresult_name {
  uint32_t code;
  const char *name;
} hresult_name;

/* HCS codes have no message table entry in Windows, so FormatMessage finds
 * no text for them; FSRM codes are included for quota calls. */
static const hresult_name hresult_names[] = {
    {0xC0370103u, "HCS_E_OPERATION_PENDING: the operation is still pending"},
    {0xC0370105u, "HCS_E_INVALID_STATE: the compute system is in an invalid state"},
    {0xC0370106u, "HCS_E_UNEXPECTED_EXIT: the compute system exited unexpectedly"},
    {0xC037010Bu, "HCS_E_UNKNOWN_MESSAGE: unknown message"},
    {0xC037010Du, "HCS_E_INVALID_JSON: invalid JSON document"},
    {0xC037010Eu, "HCS_E_SYSTEM_NOT_FOUND: the compute system does not exist"},
    {0xC0370110u, "HCS_E_SYSTEM_ALREADY_STOPPED: the compute system is already stopped"},
    {0x80370110u, "HCS_E_SYSTEM_ALREADY_STOPPED: the compute system is already stopped"},
    {0x80370118u, "HCS_E_OPERATION_TIMEOUT: the operation timed out"},
    {0x8037011Fu, "HCS_E_PROCESS_ALREADY_STOPPED: the process is already stopped"},
    {0x80045301u, "FSRM_E_NOT_FOUND: no FSRM quota on the path"},
    {0x80045313u, "FSRM_E_FILE_SYSTEM_DRIVER_NOT_INSTALLED: a required filter driver is not "
                  "installed"},
};

const char *cf_win_hresult_name(uint32_t hr)
{
  for (size_t i = 0; i < sizeof(hresult_names) / sizeof(hresult_names[0]); i++) {
    if (hresult_names[i].code == hr) {
      return hresult_names[i].name;
    }
  }
  return NULL;
}

/* Length of text without the trailing line breaks, spaces and final dot
 * that FormatMessage adds. */
static size_t trimmed_length(const char *text)
{
  size_t len = strlen(text);
  while (len > 0 && strchr("\r\n .", text[len - 1]) != NULL) {
    len--;
  }
  return len;
}

char *cf_win_hresult_message(const char *call, uint32_t hr, const char *system_message)
{
  const char *name = cf_win_hresult_name(hr);
  if (system_message != NULL && trimmed_length(system_message) > 0) {
    return cf_xasprintf("%s: HRESULT 0x%08X: %.*s", call, (unsigned)hr,
                        (int)trimmed_length(system_message), system_message);
  }
  if (name != NULL) {
    return cf_xasprintf("%s: HRESULT 0x%08X: %s", call, (unsigned)hr, name);
  }
  return cf_xasprintf("%s: HRESULT 0x%08X: no system message", call, (unsigned)hr);
}
