/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of bundle and process spec validation. The expected messages are
 * written out as winc prints them (its own file and process checks, and
 * the runtime-tools wording for mandatory fields and platforms).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "runtime/bundle.h"
#include "testutil.h"

static const char runc_spec[] =
    "{\"ociVersion\":\"1.0.2-dev\","
    " \"process\":{\"terminal\":false,\"user\":{\"uid\":1000,\"gid\":1001},"
    "  \"args\":[\"sh\",\"-c\",\"true\"],\"env\":[\"PATH=/bin\",\"TERM=xterm\"],\"cwd\":\"/\"},"
    " \"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    " \"hostname\":\"runc\","
    " \"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "  {\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    "   \"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]}],"
    " \"linux\":{\"namespaces\":[{\"type\":\"pid\"},"
    "  {\"type\":\"network\",\"path\":\"/proc/42/ns/net\"}]}}";

typedef struct fixture {
  char *dir;    /* temporary directory */
  char *bundle; /* dir/b1 */
} fixture;

static int setup(void **state)
{
  fixture *f = cf_xcalloc(1, sizeof(*f));
  f->dir = cf_test_tmpdir("bundle");
  f->bundle = cf_path_join(f->dir, "b1");
  assert_int_equal(mkdir(f->bundle, 0755), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fixture *f = *state;
  cf_test_rmdir(f->dir);
  free(f->dir);
  free(f->bundle);
  free(f);
  return 0;
}

static void write_file(const char *path, const char *text, size_t len)
{
  FILE *out = fopen(path, "w");
  assert_non_null(out);
  assert_int_equal(fwrite(text, 1, len, out), len);
  fclose(out);
}

static void write_config(const fixture *f, const char *text)
{
  cf_autofree char *path = cf_path_join(f->bundle, "config.json");
  write_file(path, text, strlen(text));
}

/* Loads bundle b1 for id and returns the error message (caller frees), or
 * NULL on success. */
static char *load_error(const char *id, const char *dir, enum cf_bundle_platform platform)
{
  cf_bundle bundle;
  cf_err *err = NULL;
  if (cf_bundle_load(id, dir, platform, &bundle, &err) == 0) {
    cf_bundle_clear(&bundle);
    return NULL;
  }
  char *message = cf_xstrdup(err->message);
  cf_err_free(err);
  return message;
}

static void test_runc_spec_parses(void **state)
{
  fixture *f = *state;
  write_config(f, runc_spec);
  cf_bundle bundle;
  cf_err *err = NULL;
  assert_int_equal(cf_bundle_load("b1", f->bundle, CF_BUNDLE_LINUX, &bundle, &err), 0);
  cf_autofree char *root = cf_xasprintf("%s/rootfs", f->bundle);
  assert_string_equal(bundle.dir, f->bundle);
  assert_string_equal(bundle.root_path, root);
  assert_true(bundle.root_readonly);
  assert_string_equal(bundle.hostname, "runc");
  assert_true(bundle.has_process);
  assert_int_equal(bundle.process.arg_count, 3);
  assert_string_equal(bundle.process.args[2], "true");
  assert_int_equal(bundle.process.env_count, 2);
  assert_true(bundle.process.has_ids);
  assert_int_equal(bundle.process.uid, 1000);
  assert_int_equal(bundle.process.gid, 1001);
  assert_int_equal(bundle.mount_count, 2);
  assert_string_equal(bundle.mounts[1].destination, "/dev");
  assert_int_equal(bundle.mounts[1].option_count, 4);
  assert_string_equal(cf_bundle_option_value(&bundle.mounts[1], "mode"), "755");
  assert_null(cf_bundle_option_value(&bundle.mounts[1], "uid"));
  assert_int_equal(bundle.namespace_count, 2);
  assert_null(bundle.namespaces[0].path);
  assert_string_equal(bundle.namespaces[1].path, "/proc/42/ns/net");
  cf_bundle_clear(&bundle);
}

static void test_trailing_slash_and_dots_are_cleaned(void **state)
{
  fixture *f = *state;
  write_config(f, runc_spec);
  cf_autofree char *dir = cf_xasprintf("%s/./../b1//", f->bundle);
  cf_bundle bundle;
  cf_err *err = NULL;
  assert_int_equal(cf_bundle_load("b1", dir, CF_BUNDLE_LINUX, &bundle, &err), 0);
  assert_string_equal(bundle.dir, f->bundle);
  cf_bundle_clear(&bundle);
}

static void test_working_directory_is_the_default(void **state)
{
  fixture *f = *state;
  write_config(f, runc_spec);
  cf_autofree char *old = getcwd(NULL, 0);
  assert_int_equal(chdir(f->bundle), 0);
  cf_bundle bundle;
  cf_err *err = NULL;
  int rc = cf_bundle_load("b1", NULL, CF_BUNDLE_LINUX, &bundle, &err);
  assert_int_equal(chdir(old), 0);
  assert_int_equal(rc, 0);
  cf_bundle_clear(&bundle);
}

static void test_id_must_match_directory(void **state)
{
  fixture *f = *state;
  write_config(f, runc_spec);
  cf_autofree char *message = load_error("other", f->bundle, CF_BUNDLE_LINUX);
  assert_string_equal(message, "container id does not match bundle directory name: other");
}

static void test_missing_bundle(void **state)
{
  fixture *f = *state;
  cf_autofree char *dir = cf_path_join(f->dir, "b2");
  cf_autofree char *message = load_error("b2", dir, CF_BUNDLE_LINUX);
  cf_autofree char *expected = cf_xasprintf("bundle does not exist: %s", dir);
  assert_string_equal(message, expected);
}

static void test_missing_config(void **state)
{
  fixture *f = *state;
  cf_autofree char *message = load_error("b1", f->bundle, CF_BUNDLE_LINUX);
  cf_autofree char *expected =
      cf_xasprintf("bundle config.json does not exist: %s/config.json", f->bundle);
  assert_string_equal(message, expected);
}

static void test_config_not_utf8(void **state)
{
  fixture *f = *state;
  cf_autofree char *path = cf_path_join(f->bundle, "config.json");
  write_file(path, "{\"hostname\":\"\xff\xfe\"}", 17);
  cf_autofree char *message = load_error("b1", f->bundle, CF_BUNDLE_LINUX);
  cf_autofree char *expected = cf_xasprintf("bundle config.json not encoded in UTF-8: %s", path);
  assert_string_equal(message, expected);
}

static void test_config_invalid_json(void **state)
{
  fixture *f = *state;
  write_config(f, "{\"ociVersion\":");
  cf_autofree char *message = load_error("b1", f->bundle, CF_BUNDLE_LINUX);
  cf_autofree char *prefix =
      cf_xasprintf("bundle config.json contains invalid JSON: %s/config.json: ", f->bundle);
  assert_non_null(message);
  assert_memory_equal(message, prefix, strlen(prefix));
}

static void test_wrong_field_type_is_invalid_json(void **state)
{
  fixture *f = *state;
  write_config(f, "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"
                  "\"process\":{\"cwd\":\"/\",\"args\":\"sh\"}}");
  cf_autofree char *message = load_error("b1", f->bundle, CF_BUNDLE_LINUX);
  cf_autofree char *expected = cf_xasprintf(
      "bundle config.json contains invalid JSON: %s/config.json: process.args must be an "
      "array of strings",
      f->bundle);
  assert_string_equal(message, expected);
}

static void test_missing_version_and_root(void **state)
{
  fixture *f = *state;
  write_config(f, "{}");
  cf_autofree char *message = load_error("b1", f->bundle, CF_BUNDLE_LINUX);
  cf_autofree char *expected = cf_xasprintf("bundle config.json is invalid: %s/config.json:"
                                            "\n\t'Spec.Version' should not be empty"
                                            "\n\t'root' MUST be set when platform is `linux`"
                                            "\n\t\"\" is not a valid SemVer: Version string empty",
                                            f->bundle);
  assert_string_equal(message, expected);
}

static void test_major_version_two(void **state)
{
  fixture *f = *state;
  write_config(f, "{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"rootfs\"}}");
  cf_autofree char *message = load_error("b1", f->bundle, CF_BUNDLE_LINUX);
  cf_autofree char *expected =
      cf_xasprintf("bundle config.json is invalid: %s/config.json:"
                   "\n\tvalidate currently only handles version 1.*, but the supplied "
                   "configuration targets 2.0.0",
                   f->bundle);
  assert_string_equal(message, expected);
}

static void test_empty_root_path_and_cwd(void **state)
{
  fixture *f = *state;
  write_config(f, "{\"ociVersion\":\"1.2.1\",\"root\":{\"path\":\"\"},"
                  "\"process\":{\"args\":[\"sh\"]}}");
  cf_autofree char *message = load_error("b1", f->bundle, CF_BUNDLE_LINUX);
  cf_autofree char *expected = cf_xasprintf("bundle config.json is invalid: %s/config.json:"
                                            "\n\t'Spec.Root.Path' should not be empty"
                                            "\n\t'Process.Cwd' should not be empty",
                                            f->bundle);
  assert_string_equal(message, expected);
}

static void test_windows_platform_messages(void **state)
{
  fixture *f = *state;
  write_config(f, "{\"ociVersion\":\"1.2.1\"}");
  cf_autofree char *message = load_error("b1", f->bundle, CF_BUNDLE_WINDOWS);
  cf_autofree char *expected = cf_xasprintf("bundle config.json is invalid: %s/config.json:"
                                            "\n\t'windows' MUST be set when platform is `windows`"
                                            "\n\t'root' MUST be set when platform is `windows`",
                                            f->bundle);
  assert_string_equal(message, expected);
}

static void test_windows_layer_folders(void **state)
{
  fixture *f = *state;
  write_config(f, "{\"ociVersion\":\"1.2.1\",\"root\":{\"path\":\"\\\\\\\\?\\\\Volume{x}\\\\\"},"
                  "\"windows\":{\"layerFolders\":[]}}");
  cf_autofree char *message = load_error("b1", f->bundle, CF_BUNDLE_WINDOWS);
  cf_autofree char *expected = cf_xasprintf("bundle config.json is invalid: %s/config.json:"
                                            "\n\t'Windows.LayerFolders' should not be empty",
                                            f->bundle);
  assert_string_equal(message, expected);
}

static void test_windows_bundle_parses(void **state)
{
  fixture *f = *state;
  write_config(f, "{\"ociVersion\":\"1.2.1\",\"root\":{\"path\":\"\\\\\\\\?\\\\Volume{x}\\\\\"},"
                  "\"process\":{\"args\":[\"cmd.exe\"],\"cwd\":\"C:\\\\\"},"
                  "\"windows\":{\"layerFolders\":[\"C:\\\\l2\",\"C:\\\\l1\"],"
                  "\"network\":{\"networkSharedContainerName\":\"parent\"}}}");
  cf_bundle bundle;
  cf_err *err = NULL;
  assert_int_equal(cf_bundle_load("b1", f->bundle, CF_BUNDLE_WINDOWS, &bundle, &err), 0);
  assert_string_equal(bundle.root_path, "\\\\?\\Volume{x}\\");
  assert_int_equal(bundle.layer_folder_count, 2);
  assert_string_equal(bundle.layer_folders[0], "C:\\l2");
  assert_string_equal(bundle.network_shared_container, "parent");
  cf_bundle_clear(&bundle);
}

static void test_windows_resources_parse(void **state)
{
  (void)state;
  const char text[] =
      "{\"ociVersion\":\"1.2.1\",\"root\":{\"path\":\"\\\\\\\\?\\\\Volume{x}\\\\\"},"
      "\"windows\":{\"layerFolders\":[\"C:\\\\l1\"],"
      "\"resources\":{\"memory\":{\"limit\":134217728},\"cpu\":{\"shares\":8080}},"
      "\"network\":{\"networkNamespace\":\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\"}}}";
  cf_bundle bundle;
  cf_err *err = NULL;
  assert_int_equal(cf_bundle_parse("/b1", text, strlen(text), CF_BUNDLE_WINDOWS, &bundle, &err), 0);
  assert_true(bundle.memory_limit == 134217728u);
  assert_int_equal(bundle.cpu_shares, 8080);
  assert_string_equal(bundle.network_namespace, "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
  assert_null(bundle.network_shared_container);
  cf_bundle_clear(&bundle);
}

static void test_windows_resources_missing(void **state)
{
  (void)state;
  const char text[] = "{\"ociVersion\":\"1.2.1\",\"root\":{\"path\":\"v\"},"
                      "\"windows\":{\"layerFolders\":[\"C:\\\\l1\"]}}";
  cf_bundle bundle;
  cf_err *err = NULL;
  assert_int_equal(cf_bundle_parse("/b1", text, strlen(text), CF_BUNDLE_WINDOWS, &bundle, &err), 0);
  assert_true(bundle.memory_limit == 0);
  assert_int_equal(bundle.cpu_shares, 0);
  assert_null(bundle.network_namespace);
  cf_bundle_clear(&bundle);
}

static void test_windows_resources_bad_types(void **state)
{
  (void)state;
  static const struct {
    const char *resources;
    const char *detail;
  } cases[] = {
      {"{\"memory\":{\"limit\":-1}}",
       "windows.resources.memory.limit must be an unsigned 64-bit integer"},
      {"{\"memory\":{\"limit\":\"1G\"}}",
       "windows.resources.memory.limit must be an unsigned 64-bit integer"},
      {"{\"cpu\":{\"shares\":70000}}",
       "windows.resources.cpu.shares must be an unsigned 16-bit integer"},
      {"[]", "windows.resources must be an object"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_autofree char *text =
        cf_xasprintf("{\"ociVersion\":\"1.2.1\",\"root\":{\"path\":\"v\"},"
                     "\"windows\":{\"layerFolders\":[\"l1\"],\"resources\":%s}}",
                     cases[i].resources);
    cf_bundle bundle;
    cf_err *err = NULL;
    assert_int_equal(cf_bundle_parse("/b1", text, strlen(text), CF_BUNDLE_WINDOWS, &bundle, &err),
                     -1);
    cf_autofree char *expected = cf_xasprintf(
        "bundle config.json contains invalid JSON: /b1/config.json: %s", cases[i].detail);
    assert_string_equal(err->message, expected);
    cf_err_free(err);
  }
}

static void test_bundle_process_rules(void **state)
{
  fixture *f = *state;
  write_config(f, "{\"ociVersion\":\"1.2.1\",\"root\":{\"path\":\"rootfs\"},"
                  "\"process\":{\"cwd\":\"x\",\"env\":[\"novalue\",\"K=V\"]}}");
  cf_autofree char *message = load_error("b1", f->bundle, CF_BUNDLE_LINUX);
  assert_string_equal(message, "process config is invalid:"
                               "\n\tcwd \"x\" is not an absolute path"
                               "\n\targs must not be empty"
                               "\n\tenv \"novalue\" should be in the form of 'key=value'.");
}

static void test_windows_cwd_without_volume_is_absolute(void **state)
{
  (void)state;
  char *args[] = {"cmd.exe"};
  cf_bundle_process process = {.args = args, .arg_count = 1, .cwd = "/Users"};
  assert_int_equal(cf_process_check(&process, CF_BUNDLE_WINDOWS, NULL), 0);
  process.cwd = "Users";
  cf_err *err = NULL;
  assert_int_equal(cf_process_check(&process, CF_BUNDLE_WINDOWS, &err), -1);
  assert_string_equal(err->message,
                      "process config is invalid:\n\tcwd \"Users\" is not an absolute path");
  cf_err_free(err);
}

static void test_process_file_errors(void **state)
{
  fixture *f = *state;
  cf_autofree char *path = cf_path_join(f->dir, "process.json");
  cf_bundle_process process;
  cf_err *err = NULL;

  assert_int_equal(cf_process_load(path, &process, &err), -1);
  cf_autofree char *missing = cf_xasprintf("process config does not exist: %s", path);
  assert_string_equal(err->message, missing);
  cf_err_clear(&err);

  write_file(path, "\"\xc0\xaf\"", 4);
  assert_int_equal(cf_process_load(path, &process, &err), -1);
  cf_autofree char *not_utf8 = cf_xasprintf("process config is not encoded in UTF-8: %s", path);
  assert_string_equal(err->message, not_utf8);
  cf_err_clear(&err);

  write_file(path, "{", 1);
  assert_int_equal(cf_process_load(path, &process, &err), -1);
  cf_autofree char *prefix = cf_xasprintf("process config contains invalid JSON: %s: ", path);
  assert_memory_equal(err->message, prefix, strlen(prefix));
  cf_err_clear(&err);

  const char *good = "{\"args\":[\"ls\",\"-l\"],\"cwd\":\"/tmp\",\"env\":[\"A=1\"],"
                     "\"user\":{\"uid\":5,\"gid\":6}}";
  write_file(path, good, strlen(good));
  assert_int_equal(cf_process_load(path, &process, &err), 0);
  assert_int_equal(process.arg_count, 2);
  assert_string_equal(process.cwd, "/tmp");
  assert_int_equal(process.uid, 5);
  assert_int_equal(process.gid, 6);
  cf_bundle_process_clear(&process);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_runc_spec_parses, setup, teardown),
      cmocka_unit_test_setup_teardown(test_trailing_slash_and_dots_are_cleaned, setup, teardown),
      cmocka_unit_test_setup_teardown(test_working_directory_is_the_default, setup, teardown),
      cmocka_unit_test_setup_teardown(test_id_must_match_directory, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_bundle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_config, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_not_utf8, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_invalid_json, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_field_type_is_invalid_json, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_version_and_root, setup, teardown),
      cmocka_unit_test_setup_teardown(test_major_version_two, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_root_path_and_cwd, setup, teardown),
      cmocka_unit_test_setup_teardown(test_windows_platform_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_windows_layer_folders, setup, teardown),
      cmocka_unit_test_setup_teardown(test_windows_bundle_parses, setup, teardown),
      cmocka_unit_test(test_windows_resources_parse),
      cmocka_unit_test(test_windows_resources_missing),
      cmocka_unit_test(test_windows_resources_bad_types),
      cmocka_unit_test_setup_teardown(test_bundle_process_rules, setup, teardown),
      cmocka_unit_test(test_windows_cwd_without_volume_is_absolute),
      cmocka_unit_test_setup_teardown(test_process_file_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
