/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's use of the image module: containers from a registry with
 * credentials, images cached at start, and collection of unused layers
 * after a destroy. The registry is a fake of the test's own on 127.0.0.1
 * that serves the busybox image and demands Basic credentials.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "base/mem.h"
#include "fake_registry.h"
#include "fixture.h"
#include "garden/client.h"

static it_server server;
static fake_registry registry;
static char *cached_uri;
static char *insecure;
static const char *extra[8];

static int setup_all(void **state)
{
  (void)state;
  it_server_prepare(&server);
  snprintf(registry.layout, sizeof(registry.layout), "%s", server.image_dir);
  registry.auth = FAKE_AUTH_BASIC;
  registry.username = "alice";
  registry.password = "s3cret-word";
  fake_registry_start(&registry);
  insecure = cf_xasprintf("127.0.0.1:%d", registry.port);
  cached_uri = cf_xasprintf("docker://127.0.0.1:%d/test/busybox:latest", registry.port);
  extra[0] = "--insecure-docker-registry";
  extra[1] = insecure;
  extra[2] = "--gc-threshold-bytes";
  extra[3] = "0";
  server.extra_args = extra;
  it_server_start(&server);
  return 0;
}

static int teardown_all(void **state)
{
  (void)state;
  it_server_cleanup(&server);
  fake_registry_stop(&registry);
  free(cached_uri);
  free(insecure);
  return server.exit_status == 0 ? 0 : -1;
}

static int create_from_registry(const char *handle, const char *password, char **created,
                                cf_err **err)
{
  json_t *spec = json_pack("{s:s, s:{s:s, s:s, s:s}}", "handle", handle, "image", "uri", cached_uri,
                           "username", "alice", "password", password);
  int rc = cf_garden_client_create(&server.tcp, spec, created, err);
  json_decref(spec);
  return rc;
}

/* Unpacked layer directories in the depot's layer store. */
static size_t layer_dirs(void)
{
  cf_autofree char *layers = cf_path_join(server.depot, "layers");
  DIR *dir = opendir(layers);
  assert_non_null(dir);
  size_t count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    cf_autofree char *path = cf_path_join(layers, entry->d_name);
    struct stat st;
    if (entry->d_name[0] != '.' && lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      count++;
    }
  }
  closedir(dir);
  return count;
}

static void test_create_with_registry_credentials(void **state)
{
  (void)state;
  char *handle = NULL;
  cf_err *err = NULL;
  if (create_from_registry("it-registry", "s3cret-word", &handle, &err) < 0) {
    fail_msg("create: %s", err->message);
  }
  assert_true(layer_dirs() >= 1);

  json_t *spec = json_pack("{s:s, s:[s], s:{}, s:{}}", "path", "echo", "args", "from-registry",
                           "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  assert_int_equal(cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err), 0);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(result.out.data, "from-registry\n");
  cf_garden_process_result_clear(&result);
  json_decref(spec);

  assert_int_equal(cf_garden_client_destroy(&server.tcp, handle, NULL), 0);
  /* The threshold of 0 bytes collects every layer no container uses. */
  assert_int_equal(layer_dirs(), 0);
  free(handle);
}

static void test_wrong_password_rejected(void **state)
{
  (void)state;
  char *handle = NULL;
  cf_err *err = NULL;
  assert_int_equal(create_from_registry("it-bad-password", "wrong-word", &handle, &err), -1);
  assert_null(strstr(err->message, "wrong-word"));
  assert_non_null(strstr(err->message, "401"));
  cf_err_free(err);
  json_t *handles = NULL;
  assert_int_equal(cf_garden_client_call(&server.tcp, "GET", "/containers?garden.state=all", NULL,
                                         &handles, NULL),
                   0);
  assert_int_equal(json_array_size(json_object_get(handles, "Handles")), 0);
  json_decref(handles);
}

/* The digest of the busybox image's layer, from its OCI layout. */
static char *first_layer_digest(void)
{
  cf_autofree char *index_path = cf_path_join(server.image_dir, "index.json");
  json_t *index = json_load_file(index_path, 0, NULL);
  assert_non_null(index);
  const char *manifest_digest = json_string_value(
      json_object_get(json_array_get(json_object_get(index, "manifests"), 0), "digest"));
  assert_non_null(manifest_digest);
  cf_autofree char *manifest_path =
      cf_xasprintf("%s/blobs/sha256/%s", server.image_dir, manifest_digest + 7);
  json_decref(index);
  json_t *manifest = json_load_file(manifest_path, 0, NULL);
  assert_non_null(manifest);
  char *digest = cf_xstrdup(json_string_value(
      json_object_get(json_array_get(json_object_get(manifest, "layers"), 0), "digest")));
  json_decref(manifest);
  return digest;
}

static void test_cached_image_pulled_at_start(void **state)
{
  (void)state;
  assert_int_equal(it_server_stop(&server), 0);
  /* An anonymous registry for the cached image: the fake serves one
   * layout, so switch it off Basic auth for this server's start. */
  registry.auth = FAKE_AUTH_NONE;
  fake_registry_reset(&registry);
  const char *with_cache[] = {"--insecure-docker-registry", insecure, "--cached-image-uri",
                              cached_uri, NULL};
  server.extra_args = with_cache;
  it_server_start(&server);
  size_t cached_layers = layer_dirs();
  assert_true(cached_layers >= 1);

  /* A create of the cached image downloads no blob again. */
  fake_registry_reset(&registry);
  char *handle = NULL;
  cf_err *err = NULL;
  json_t *spec = json_pack("{s:s, s:{s:s}}", "handle", "it-cached", "image", "uri", cached_uri);
  if (cf_garden_client_create(&server.tcp, spec, &handle, &err) < 0) {
    fail_msg("create: %s", err->message);
  }
  json_decref(spec);
  char *layer = first_layer_digest();
  assert_int_equal(fake_registry_blob_gets(&registry, layer), 0);
  free(layer);
  assert_int_equal(cf_garden_client_destroy(&server.tcp, handle, NULL), 0);
  /* Without --gc-threshold-bytes, layers stay. */
  assert_int_equal(layer_dirs(), cached_layers);
  free(handle);
  registry.auth = FAKE_AUTH_BASIC;
  server.extra_args = extra;
}

int main(void)
{
  it_require_root();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_with_registry_credentials),
      cmocka_unit_test(test_wrong_password_rejected),
      cmocka_unit_test(test_cached_image_pulled_at_start),
  };
  return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
