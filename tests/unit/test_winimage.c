/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the platform-neutral builders of the Windows image backend
 * (internal/image/winimage.h), run natively on Linux. Expected strings are
 * written out literally from the reference documents on groot-windows and
 * the Windows host APIs named in each comment, never produced by the code
 * under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "image/winimage.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

/* Asserts that err is set with code and a message containing part. */
static void assert_error(cf_err *err, enum cf_code code, const char *part)
{
  assert_non_null(err);
  if (strstr(err->message, part) == NULL) {
    fail_msg("message \"%s\" does not contain \"%s\"", err->message, part);
  }
  assert_int_equal(err->code, code);
}

/* --- Driver store root --- */

static void store_root_unix_style(void **state)
{
  /* groot-image.md 1.2: "/var/vcap/data/groot becomes C:\var\vcap\data\groot" */
  char *root = NULL;
  assert_int_equal(cf_win_store_root("/var/vcap/data/groot", &root, NULL), 0);
  assert_string_equal(root, "C:\\var\\vcap\\data\\groot");
  free(root);
}

static void store_root_drive_paths(void **state)
{
  static const struct {
    const char *input;
    const char *expected;
  } cases[] = {
      /* groot-image.md 1.3: oci:///C:/hydratorOutput gives C:\hydratorOutput
       * (the same drive-letter rule applies to the store). */
      {"C:/hydratorOutput", "C:\\hydratorOutput"},
      /* groot-image.md 1.13: pre-start uses a store such as C:\var\vcap\data\groot. */
      {"C:\\var\\vcap\\data\\groot", "C:\\var\\vcap\\data\\groot"},
      {"D:\\groot\\\\store\\.\\x\\", "D:\\groot\\store\\x"},
      {"C:", "C:\\"},
      {"/", "C:\\"},
      {"/var/lib/groot", "C:\\var\\lib\\groot"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char *root = NULL;
    cf_err *err = NULL;
    if (cf_win_store_root(cases[i].input, &root, &err) < 0) {
      fail_msg("%s: %s", cases[i].input, err->message);
    }
    assert_string_equal(root, cases[i].expected);
    free(root);
  }
}

static void store_root_rejected(void **state)
{
  static const struct {
    const char *input;
    const char *part;
  } cases[] = {
      /* groot-image.md 1.2: "driver store must be set" */
      {"", "driver store must be set"},
      {"\\\\server\\share\\groot", "UNC and device paths are not supported"},
      {"//?/C:/groot", "UNC and device paths are not supported"},
      {"C:groot", "ambiguous"},
      {"/var/../groot", "\"..\" components are not allowed"},
      {"/var/NUL/groot", "reserved device name"},
      {"/var/groot./x", "trailing dots and spaces"},
      {"/var/gr*ot", "character 0x2a"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char *root = NULL;
    cf_err *err = NULL;
    assert_int_equal(cf_win_store_root(cases[i].input, &root, &err), -1);
    assert_null(root);
    assert_error(err, CF_E_INVALID, cases[i].part);
    cf_err_free(err);
  }
}

static void store_root_too_long(void **state)
{
  char input[400];
  memset(input, 'a', sizeof(input) - 1);
  input[0] = '/';
  input[sizeof(input) - 1] = '\0';
  char *root = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_win_store_root(input, &root, &err), -1);
  assert_error(err, CF_E_LIMIT, "longer than 259 bytes");
  cf_err_free(err);
}

/* --- Layer and volume paths --- */

/* --- OCI layout path of an oci:// URI --- */

static void layout_path_forms(void **state)
{
  static const struct {
    const char *input;
    const char *expected;
  } cases[] = {
      /* groot reads oci:///C:/hydratorOutput, whose URL path is /C:/hydratorOutput,
       * as C:\hydratorOutput. */
      {"/C:/hydratorOutput", "C:\\hydratorOutput"},
      /* A path without a drive letter is on C:, as in groot. */
      {"/var/vcap/data/layout", "C:\\var\\vcap\\data\\layout"},
      {"/z:/tmp/layout/", "z:\\tmp\\layout"},
      {"/D:/a//b/./c", "D:\\a\\b\\c"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char *path = NULL;
    cf_err *err = NULL;
    if (cf_win_oci_layout_path(cases[i].input, &path, &err) < 0) {
      fail_msg("%s: %s", cases[i].input, err->message);
    }
    assert_string_equal(path, cases[i].expected);
    free(path);
  }
}

static void oci_uri_drive_as_host(void **state)
{
  static const struct {
    const char *input;
    const char *expected;
  } cases[] = {
      /* Guardian's form for a layout it prepared: the drive is the URL's host. */
      {"oci://C:/depot/h1/image", "oci:///C:/depot/h1/image"},
      {"oci://d:/layout:tag", "oci:///d:/layout:tag"},
      {"oci://C:", "oci:///C:"},
      /* Already in the oci:///path form, or not a drive: unchanged. */
      {"oci:///C:/layout", "oci:///C:/layout"},
      {"oci:///var/layout", "oci:///var/layout"},
      {"oci://host/layout", "oci://host/layout"},
      {"oci://C:layout", "oci://C:layout"},
      {"docker://C:/x", "docker://C:/x"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char *uri = cf_win_oci_uri_normalize(cases[i].input);
    if (strcmp(uri, cases[i].expected) != 0) {
      fail_msg("%s: got %s, expected %s", cases[i].input, uri, cases[i].expected);
    }
    free(uri);
  }
}

static void layout_path_rejected(void **state)
{
  static const struct {
    const char *input;
    const char *part;
  } cases[] = {
      {"/C:/images/../layout", "OCI layout path \"C:/images/../layout\": \"..\" components"},
      {"//server/share/layout", "OCI layout path \"//server/share/layout\": UNC"},
      {"/C:/lay|out", "OCI layout path component"},
      {"/C:layout", "ambiguous"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char *path = NULL;
    cf_err *err = NULL;
    assert_int_equal(cf_win_oci_layout_path(cases[i].input, &path, &err), -1);
    assert_null(path);
    assert_error(err, CF_E_INVALID, cases[i].part);
    cf_err_free(err);
  }
}

static void layer_and_volume_paths(void **state)
{
  /* groot-image.md 1.7: <driver-store>\layers\<chainID>\ and
   * <driver-store>\volumes\<handle>\; 1.8: layer folders look like
   * C:\var\vcap\data\groot\layers\<chainID>. */
  char *layers = cf_win_layers_dir("C:\\var\\vcap\\data\\groot");
  char *volumes = cf_win_volumes_dir("C:\\var\\vcap\\data\\groot");
  assert_string_equal(layers, "C:\\var\\vcap\\data\\groot\\layers");
  assert_string_equal(volumes, "C:\\var\\vcap\\data\\groot\\volumes");
  free(layers);
  free(volumes);

  char *path = NULL;
  assert_int_equal(cf_win_layer_path("C:\\var\\vcap\\data\\groot", "sha256:" HEX_A, &path, NULL),
                   0);
  assert_string_equal(path, "C:\\var\\vcap\\data\\groot\\layers\\" HEX_A);
  free(path);
  assert_int_equal(cf_win_layer_path("C:\\groot", HEX_B, &path, NULL), 0);
  assert_string_equal(path, "C:\\groot\\layers\\" HEX_B);
  free(path);

  assert_int_equal(cf_win_volume_path("C:\\var\\vcap\\data\\groot", "c1-app.0", &path, NULL), 0);
  assert_string_equal(path, "C:\\var\\vcap\\data\\groot\\volumes\\c1-app.0");
  free(path);

  char *root_layers = cf_win_layers_dir("C:\\");
  assert_string_equal(root_layers, "C:\\layers");
  free(root_layers);
}

static void layer_path_rejects_bad_chain_ids(void **state)
{
  static const char *const ids[] = {
      "sha256:" HEX_A "a",
      "sha512:" HEX_A,
      "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
      "AAAAAAAAAAAAAAAA",
      "../../../Windows",
      "",
      "sha256:",
  };
  for (size_t i = 0; i < COUNT(ids); i++) {
    char *path = NULL;
    cf_err *err = NULL;
    assert_int_equal(cf_win_layer_path("C:\\groot", ids[i], &path, &err), -1);
    assert_null(path);
    assert_error(err, CF_E_INVALID, "expected sha256: and 64 lowercase hex digits");
    cf_err_free(err);
  }
}

static void volume_path_rejects_bad_handles(void **state)
{
  static const struct {
    const char *handle;
    const char *part;
  } cases[] = {
      {"", "expected a letter or digit"},
      {"-x", "expected a letter or digit"},
      {"a/b", "expected a letter or digit"},
      {"a\\b", "expected a letter or digit"},
      {"a:b", "expected a letter or digit"},
      /* Valid Garden handles that Windows cannot use as directory names. */
      {"con", "reserved device name"},
      {"NUL.txt", "reserved device name"},
      {"app.", "trailing dots and spaces"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char *path = NULL;
    cf_err *err = NULL;
    assert_int_equal(cf_win_volume_path("C:\\groot", cases[i].handle, &path, &err), -1);
    assert_null(path);
    assert_error(err, CF_E_INVALID, cases[i].part);
    cf_err_free(err);
  }
}

static void layer_folders_top_first(void **state)
{
  /* groot-image.md 1.8: "layerFolders = <store>\layers\<chainID> for each
   * chain ID, reversed: topmost layer first, base layer last". */
  char *ids[] = {"sha256:" HEX_A, "sha256:" HEX_B, "sha256:" HEX_C}; /* base first */
  char **folders = NULL;
  assert_int_equal(cf_win_layer_folders("C:\\var\\vcap\\data\\groot", ids, 3, &folders, NULL), 0);
  assert_string_equal(folders[0], "C:\\var\\vcap\\data\\groot\\layers\\" HEX_C);
  assert_string_equal(folders[1], "C:\\var\\vcap\\data\\groot\\layers\\" HEX_B);
  assert_string_equal(folders[2], "C:\\var\\vcap\\data\\groot\\layers\\" HEX_A);
  cf_strv_free(folders, 3);
}

static void layer_folders_bad_id_names_layer(void **state)
{
  char *ids[] = {"sha256:" HEX_A, "sha256:nothex"};
  char **folders = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_win_layer_folders("C:\\groot", ids, 2, &folders, &err), -1);
  assert_null(folders);
  assert_error(err, CF_E_INVALID, "layer 2 of 2: layer chain id \"sha256:nothex\"");
  cf_err_free(err);
}

/* --- GUIDs and volume paths --- */

static void guid_format_registry_form(void **state)
{
  /* groot-image.md 1.9: CLSID_FsrmQuotaManager
   * {90dcab7f-347c-4bfc-b543-540326305fbe}. */
  cf_win_guid guid = {0x90dcab7f, 0x347c, 0x4bfc, {0xb5, 0x43, 0x54, 0x03, 0x26, 0x30, 0x5f, 0xbe}};
  char text[CF_WIN_GUID_STRLEN + 1];
  cf_win_guid_format(&guid, text);
  assert_string_equal(text, "90dcab7f-347c-4bfc-b543-540326305fbe");
}

static void volume_guid_path_accepted(void **state)
{
  /* windows-host-apis.md 3: Storage.Path must match
   * ^\\\\\?\\(Volume)\{GUID\}\\?$; groot-image.md 1.8: root.path is
   * \\?\Volume{<guid>}\ with the trailing backslash. */
  assert_int_equal(
      cf_win_volume_guid_path_check("\\\\?\\Volume{3c1f0a2b-1111-2222-3333-444455556666}\\", NULL),
      0);
  assert_int_equal(
      cf_win_volume_guid_path_check("\\\\?\\Volume{3C1F0A2B-1111-2222-3333-444455556666}", NULL),
      0);
}

static void volume_guid_path_rejected(void **state)
{
  static const char *const paths[] = {
      "C:\\var\\vcap\\data\\groot\\volumes\\c1",
      "\\\\?\\Volume{3c1f0a2b-1111-2222-3333-444455556666}\\\\",
      "\\\\?\\Volume{3c1f0a2b-1111-2222-3333-44445555666}\\",
      "\\\\?\\Volume{3c1f0a2b_1111-2222-3333-444455556666}\\",
      "\\\\.\\Volume{3c1f0a2b-1111-2222-3333-444455556666}\\",
      "\\\\?\\Volume{3c1f0a2b-1111-2222-3333-444455556666}\\x",
      "",
  };
  for (size_t i = 0; i < COUNT(paths); i++) {
    cf_err *err = NULL;
    assert_int_equal(cf_win_volume_guid_path_check(paths[i], &err), -1);
    assert_error(err, CF_E_INVALID, "expected \\\\?\\Volume{GUID}\\");
    cf_err_free(err);
  }
}

/* --- JSON documents --- */

static void layer_data_document(void **state)
{
  /* windows-host-apis.md 5, layerData JSON:
   * {"SchemaVersion":{"Major":2,"Minor":1},"Layers":[{"Id":"<guid>","Path":"C:\\layers\\<parent>"},
   * …]} with the layers nearest parent first. */
  cf_win_layer_ref layers[] = {
      {"8a1b2c3d-0000-1111-2222-333344445555", "C:\\layers\\parent"},
      {"9e8d7c6b-aaaa-bbbb-cccc-ddddeeeeffff", "C:\\layers\\base"},
  };
  char *doc = NULL;
  assert_int_equal(cf_win_layer_data_json(layers, 2, &doc, NULL), 0);
  assert_string_equal(doc, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":1},\"Layers\":["
                           "{\"Id\":\"8a1b2c3d-0000-1111-2222-333344445555\","
                           "\"Path\":\"C:\\\\layers\\\\parent\"},"
                           "{\"Id\":\"9e8d7c6b-aaaa-bbbb-cccc-ddddeeeeffff\","
                           "\"Path\":\"C:\\\\layers\\\\base\"}]}");
  free(doc);

  assert_int_equal(cf_win_layer_data_json(NULL, 0, &doc, NULL), 0);
  assert_string_equal(doc, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":1},\"Layers\":[]}");
  free(doc);
}

static void windows_section_document(void **state)
{
  /* groot-image.md 1.8: "windows":{"layerFolders":["C:\\var\\vcap\\data\\groot\\layers\\<chainID
   * top>", "…", "C:\\var\\vcap\\data\\groot\\layers\\<chainID base>"]} */
  char *folders[] = {"C:\\var\\vcap\\data\\groot\\layers\\" HEX_B,
                     "C:\\var\\vcap\\data\\groot\\layers\\" HEX_A};
  char *doc = NULL;
  assert_int_equal(cf_win_windows_json(folders, 2, &doc, NULL), 0);
  assert_string_equal(doc, "{\"layerFolders\":["
                           "\"C:\\\\var\\\\vcap\\\\data\\\\groot\\\\layers\\\\" HEX_B "\","
                           "\"C:\\\\var\\\\vcap\\\\data\\\\groot\\\\layers\\\\" HEX_A "\"]}");
  free(doc);
}

static void image_spec_with_env(void **state)
{
  /* groot-image.md 1.8, exact stdout shape:
   * {"ociVersion":"1.2.1",
   *  "process":{"user":{"uid":0,"gid":0},"env":["PATH=…","…"],"cwd":""},
   *  "root":{"path":"\\\\?\\Volume{3c1f…}\\"},
   *  "windows":{"layerFolders":[...top..., ...base...]}} */
  char *env[] = {"PATH=C:\\Windows\\system32;C:\\Windows", "QUOTE=\"x\""};
  char *folders[] = {"C:\\groot\\layers\\" HEX_B, "C:\\groot\\layers\\" HEX_A};
  char *doc = NULL;
  assert_int_equal(cf_win_image_spec_json("\\\\?\\Volume{3c1f0a2b-1111-2222-3333-444455556666}\\",
                                          env, 2, folders, 2, &doc, NULL),
                   0);
  assert_string_equal(doc, "{\"ociVersion\":\"1.2.1\","
                           "\"process\":{\"user\":{\"uid\":0,\"gid\":0},"
                           "\"env\":[\"PATH=C:\\\\Windows\\\\system32;C:\\\\Windows\","
                           "\"QUOTE=\\\"x\\\"\"],\"cwd\":\"\"},"
                           "\"root\":{\"path\":"
                           "\"\\\\\\\\?\\\\Volume{3c1f0a2b-1111-2222-3333-444455556666}\\\\\"},"
                           "\"windows\":{\"layerFolders\":["
                           "\"C:\\\\groot\\\\layers\\\\" HEX_B "\","
                           "\"C:\\\\groot\\\\layers\\\\" HEX_A "\"]}}");
  free(doc);
}

static void image_spec_without_env(void **state)
{
  /* groot-image.md 1.8: "process is present only when the image has Env". */
  char *folders[] = {"C:\\groot\\layers\\" HEX_A};
  char *doc = NULL;
  assert_int_equal(cf_win_image_spec_json("\\\\?\\Volume{3c1f0a2b-1111-2222-3333-444455556666}\\",
                                          NULL, 0, folders, 1, &doc, NULL),
                   0);
  assert_string_equal(doc,
                      "{\"ociVersion\":\"1.2.1\","
                      "\"root\":{\"path\":"
                      "\"\\\\\\\\?\\\\Volume{3c1f0a2b-1111-2222-3333-444455556666}\\\\\"},"
                      "\"windows\":{\"layerFolders\":[\"C:\\\\groot\\\\layers\\\\" HEX_A "\"]}}");
  free(doc);
}

static void json_escapes_control_characters(void **state)
{
  char *env[] = {"A=tab\there\nnew\x01line\x7f"};
  char *doc = NULL;
  assert_int_equal(cf_win_image_spec_json("v", env, 1, NULL, 0, &doc, NULL), 0);
  assert_non_null(strstr(doc, "\"A=tab\\there\\nnew\\u0001line\\u007f\""));
  free(doc);
}

/* --- Tar entry names --- */

static void entry_paths_converted(void **state)
{
  /* groot-image.md 1.6/1.7: tar names use '/', layers hold Files\, Hives\
   * and UtilityVM\; 1.6 names UtilityVM/Files/EFI/Microsoft/Boot/BCD. */
  static const struct {
    const char *name;
    const char *expected;
  } cases[] = {
      {"Files/Windows/System32/cmd.exe", "Files\\Windows\\System32\\cmd.exe"},
      {"Hives/DefaultUser_Delta", "Hives\\DefaultUser_Delta"},
      {"UtilityVM/Files/EFI/Microsoft/Boot/BCD", "UtilityVM\\Files\\EFI\\Microsoft\\Boot\\BCD"},
      {"./Files/app/", "Files\\app"},
      {"Files//app/./web.config", "Files\\app\\web.config"},
      {"Files", "Files"},
      {"files/x", "Files\\x"},
      {"Files/\xc3\xa9t\xc3\xa9.txt", "Files\\\xc3\xa9t\xc3\xa9.txt"},
      {"Files/CONSOLE.txt", "Files\\CONSOLE.txt"},
      {"Files/COM10", "Files\\COM10"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char *path = NULL;
    enum cf_win_entry_kind kind = CF_WIN_ENTRY_OPAQUE;
    cf_err *err = NULL;
    if (cf_win_layer_entry_path(cases[i].name, &path, &kind, &err) < 0) {
      fail_msg("%s: %s", cases[i].name, err->message);
    }
    assert_string_equal(path, cases[i].expected);
    assert_int_equal(kind, CF_WIN_ENTRY_PATH);
    free(path);
  }
}

static void entry_whiteouts(void **state)
{
  /* groot-image.md 1.6: "A base name starting .wh. is a whiteout:
   * Remove(dir/<name without .wh.>)"; opaque markers .wh..wh..opq. */
  char *path = NULL;
  enum cf_win_entry_kind kind = CF_WIN_ENTRY_PATH;
  assert_int_equal(cf_win_layer_entry_path("Files/app/.wh.old.dll", &path, &kind, NULL), 0);
  assert_string_equal(path, "Files\\app\\old.dll");
  assert_int_equal(kind, CF_WIN_ENTRY_WHITEOUT);
  free(path);

  assert_int_equal(cf_win_layer_entry_path("Files/app/.wh..wh..opq", &path, &kind, NULL), 0);
  assert_string_equal(path, "Files\\app");
  assert_int_equal(kind, CF_WIN_ENTRY_OPAQUE);
  free(path);
}

static void entry_hostile_names_rejected(void **state)
{
  static const struct {
    const char *name;
    const char *part;
  } cases[] = {
      {"Files/../../Windows/System32/evil.dll", "\"..\" components would escape the layer"},
      {"..", "\"..\" components would escape the layer"},
      {"Files/a/..", "\"..\" components would escape the layer"},
      {"/Files/x", "absolute names are not allowed"},
      {"//server/share", "absolute names are not allowed"},
      {"C:/Windows/System32/x.dll", "drive letters are not allowed"},
      {"c:Files", "drive letters are not allowed"},
      {"Files\\..\\x", "'\\' is a path separator on Windows"},
      /* groot-image.md 1.6: alternate data streams are entries named <file>:<stream>. */
      {"Files/app.exe:hidden", "alternate data stream"},
      {"Files/dir::$INDEX_ALLOCATION/x", "alternate data stream"},
      {"Files/CON", "reserved device name"},
      {"Files/app/nul.txt", "reserved device name"},
      {"Files/aux .log", "reserved device name"},
      {"Files/LPT1", "reserved device name"},
      {"Files/COM\xc2\xb9", "reserved device name"},
      {"Files/CONIN$", "reserved device name"},
      {"Files/app.", "trailing dots and spaces"},
      {"Files/app ", "trailing dots and spaces"},
      {"Files/dir./x", "trailing dots and spaces"},
      {"Files/a*b", "character 0x2a"},
      {"Files/a?b", "character 0x3f"},
      {"Files/a\x01"
       "b",
       "character 0x01"},
      {"Files/a|b", "character 0x7c"},
      {"etc/passwd", "not inside Files, Hives or UtilityVM"},
      {"FilesX/a", "not inside Files, Hives or UtilityVM"},
      {"", "empty name"},
      {"./", "empty name"},
      {".wh.Files", "a whiteout must be inside Files, Hives or UtilityVM"},
      {".wh..wh..opq", "a whiteout must be inside Files, Hives or UtilityVM"},
      {"Files/.wh.", "whiteout without a file name"},
      {"Files/.wh.CON", "reserved device name"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char *path = NULL;
    enum cf_win_entry_kind kind = CF_WIN_ENTRY_PATH;
    cf_err *err = NULL;
    if (cf_win_layer_entry_path(cases[i].name, &path, &kind, &err) == 0) {
      fail_msg("accepted \"%s\" as \"%s\"", cases[i].name, path);
    }
    assert_null(path);
    assert_error(err, CF_E_INVALID, cases[i].part);
    assert_non_null(strstr(err->message, "tar entry \""));
    cf_err_free(err);
  }
}

static void entry_error_names_entry(void **state)
{
  char *path = NULL;
  enum cf_win_entry_kind kind;
  cf_err *err = NULL;
  assert_int_equal(cf_win_layer_entry_path("Files/x/../y", &path, &kind, &err), -1);
  assert_string_equal(err->message,
                      "tar entry \"Files/x/../y\": \"..\" components would escape the layer");
  cf_err_free(err);
}

/* --- HRESULT messages --- */

static void hresult_messages(void **state)
{
  /* windows-host-apis.md 7: 0x80370118 is the operation timeout
   * (HCS_E_OPERATION_TIMEOUT), 0x8037011F a process already stopped;
   * none of these are in the system message table. */
  char *text = cf_win_hresult_message("HcsWaitForOperationResult", 0x80370118u, NULL);
  assert_string_equal(text, "HcsWaitForOperationResult: HRESULT 0x80370118: "
                            "HCS_E_OPERATION_TIMEOUT: the operation timed out");
  free(text);
  text = cf_win_hresult_message("ImportLayer", 0x80070005u, "Access is denied.\r\n");
  assert_string_equal(text, "ImportLayer: HRESULT 0x80070005: Access is denied");
  free(text);
  text = cf_win_hresult_message("PrepareLayer", 0x80001234u, "");
  assert_string_equal(text, "PrepareLayer: HRESULT 0x80001234: no system message");
  free(text);
  /* groot-image.md 1.9: FSRM_E_NOT_FOUND (0x80045301) means no quota. */
  assert_non_null(cf_win_hresult_name(0x80045301u));
  assert_non_null(strstr(cf_win_hresult_name(0x8037011Fu), "HCS_E_PROCESS_ALREADY_STOPPED"));
  assert_null(cf_win_hresult_name(0));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(store_root_unix_style),
      cmocka_unit_test(store_root_drive_paths),
      cmocka_unit_test(store_root_rejected),
      cmocka_unit_test(store_root_too_long),
      cmocka_unit_test(layout_path_forms),
      cmocka_unit_test(layout_path_rejected),
      cmocka_unit_test(oci_uri_drive_as_host),
      cmocka_unit_test(layer_and_volume_paths),
      cmocka_unit_test(layer_path_rejects_bad_chain_ids),
      cmocka_unit_test(volume_path_rejects_bad_handles),
      cmocka_unit_test(layer_folders_top_first),
      cmocka_unit_test(layer_folders_bad_id_names_layer),
      cmocka_unit_test(guid_format_registry_form),
      cmocka_unit_test(volume_guid_path_accepted),
      cmocka_unit_test(volume_guid_path_rejected),
      cmocka_unit_test(layer_data_document),
      cmocka_unit_test(windows_section_document),
      cmocka_unit_test(image_spec_with_env),
      cmocka_unit_test(image_spec_without_env),
      cmocka_unit_test(json_escapes_control_characters),
      cmocka_unit_test(entry_paths_converted),
      cmocka_unit_test(entry_whiteouts),
      cmocka_unit_test(entry_hostile_names_rejected),
      cmocka_unit_test(entry_error_names_entry),
      cmocka_unit_test(hresult_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
