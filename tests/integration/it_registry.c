/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry pulls (docker:// URIs) against Debian's docker-registry, which
 * this program starts on a free 127.0.0.1 port with its own storage, and
 * against a fake registry in the same process (tests/support/fake_registry.h)
 * that demands tokens or Basic credentials and misbehaves on purpose.
 * Images are built with the image builder and pushed with skopeo.
 */
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "base/fs.h"
#include "base/mem.h"
#include "base/buf.h"
#include "fake_registry.h"
#include "image/image.h"
#include "image_builder.h"
#include "oci/oci.h"
#include "store/store.h"
#include "testutil.h"

#define REGISTRY_BIN "/usr/bin/docker-registry"
#define SKOPEO_BIN "/usr/bin/skopeo"
#define PARALLEL_PULLS 10

static char *work; /* temporary directory of the whole program */
static pid_t registry_pid = -1;
static int registry_port;
static char registry_addr[64];  /* 127.0.0.1:PORT */
static cf_built_image app;      /* layout app, tag v1: two gzip layers */
static cf_built_image multi[2]; /* layout multi: amd64 and arm64 images */
static char multi_index_digest[CF_DIGEST_LEN + 1];
static cf_built_image liar; /* layout liar: a layer whose size the manifest overstates */
static char foreign_manifest[CF_DIGEST_LEN + 1];
static fake_registry fake; /* serves the app layout */
static fake_registry cdn;  /* a second origin for redirects and foreign layers */

static const cf_tar_entry base_entries[] = {
    {CF_TAR_DIR, "etc", NULL, 0755},
    {CF_TAR_FILE, "etc/hostname", "base\n", 0644},
    {CF_TAR_FILE, "bin/tool", "#!/bin/sh\necho tool\n", 0755},
};
static const cf_tar_entry top_entries[] = {
    {CF_TAR_FILE, "etc/hostname", "top\n", 0644},
    {CF_TAR_FILE, "srv/data.txt", "data", 0644},
};
static const cf_tar_entry arm_entries[] = {
    {CF_TAR_FILE, "etc/arch", "arm64\n", 0644},
};

static void stop_registry(void)
{
  if (registry_pid > 0) {
    kill(registry_pid, SIGTERM);
    waitpid(registry_pid, NULL, 0);
    registry_pid = -1;
  }
}

static void on_signal(int sig)
{
  stop_registry();
  signal(sig, SIG_DFL);
  raise(sig);
}

static int free_port(void)
{
  fake_registry probe = {0};
  fake_registry_start(&probe);
  int port = probe.port;
  fake_registry_stop(&probe);
  return port;
}

static bool registry_answers(void)
{
  CURL *curl = curl_easy_init();
  char url[128];
  snprintf(url, sizeof(url), "http://%s/v2/", registry_addr);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  long status = 0;
  bool ok = curl_easy_perform(curl) == CURLE_OK &&
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200;
  curl_easy_cleanup(curl);
  return ok;
}

static void start_registry(void)
{
  registry_port = free_port();
  snprintf(registry_addr, sizeof(registry_addr), "127.0.0.1:%d", registry_port);
  cf_autofree char *config = cf_path_join(work, "registry.yml");
  cf_autofree char *data = cf_path_join(work, "registry-data");
  FILE *f = fopen(config, "w");
  assert_non_null(f);
  fprintf(f,
          "version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: {rootdirectory: %s}\n"
          "http:\n  addr: %s\n",
          data, registry_addr);
  fclose(f);
  cf_autofree char *log = cf_path_join(work, "registry.log");
  registry_pid = fork();
  if (registry_pid == 0) {
    freopen(log, "w", stdout);
    freopen(log, "a", stderr);
    execl(REGISTRY_BIN, REGISTRY_BIN, "serve", config, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 100 && !registry_answers(); i++) {
    usleep(50000);
  }
  assert_true(registry_answers());
}

static void push(const char *layout, const char *tag, const char *repo, bool all)
{
  cf_autofree char *src = cf_xasprintf("oci:%s:%s", layout, tag);
  cf_autofree char *dst = cf_xasprintf("docker://%s/%s", registry_addr, repo);
  char *argv[] = {SKOPEO_BIN,           "copy", "-q", "--dest-tls-verify=false",
                  all ? "--all" : "-q", src,    dst,  NULL};
  pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail_msg("skopeo copy %s %s failed with status %d", src, dst, status);
  }
}

static void build_app(void)
{
  cf_test_layer layers[] = {
      {.entries = base_entries, .entry_count = 3, .compression = CF_TEST_GZIP},
      {.entries = top_entries, .entry_count = 2, .compression = CF_TEST_GZIP},
  };
  cf_test_image image = {.layers = layers, .layer_count = 2, .tag = "v1"};
  cf_autofree char *dir = cf_path_join(work, "app");
  cf_err *err = NULL;
  assert_int_equal(cf_test_layout_write(dir, &image, 1, &app, &err), 0);
}

static void build_liar(void)
{
  cf_test_layer layers[] = {
      {.entries = base_entries, .entry_count = 3, .compression = CF_TEST_GZIP, .wrong_size = true},
  };
  cf_test_image image = {.layers = layers, .layer_count = 1, .tag = "v1"};
  cf_autofree char *dir = cf_path_join(work, "liar");
  cf_err *err = NULL;
  assert_int_equal(cf_test_layout_write(dir, &image, 1, &liar, &err), 0);
}

/* Two images and an index over them that names their platforms. */
static void build_multi(void)
{
  cf_test_layer amd[] = {{.entries = base_entries, .entry_count = 3}};
  cf_test_layer arm[] = {{.entries = arm_entries, .entry_count = 1}};
  cf_test_image images[] = {
      {.layers = amd, .layer_count = 1, .tag = "amd"},
      {.layers = arm, .layer_count = 1, .tag = "arm"},
  };
  cf_autofree char *dir = cf_path_join(work, "multi");
  cf_err *err = NULL;
  assert_int_equal(cf_test_layout_write(dir, images, 2, multi, &err), 0);
  cf_autofree char *index =
      cf_xasprintf("{\"schemaVersion\":2,\"mediaType\":\"" CF_OCI_MEDIA_INDEX "\",\"manifests\":["
                   "{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST "\",\"digest\":\"%s\",\"size\":%lld,"
                   "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
                   "{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST "\",\"digest\":\"%s\",\"size\":%lld,"
                   "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
                   multi[1].manifest_digest, (long long)multi[1].manifest_size,
                   multi[0].manifest_digest, (long long)multi[0].manifest_size);
  assert_int_equal(cf_test_blob_write(dir, index, strlen(index), multi_index_digest, &err), 0);
  cf_autofree char *top =
      cf_xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" CF_OCI_MEDIA_INDEX "\","
                   "\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"" CF_OCI_ANNOTATION_REF_NAME
                   "\":\"multi\"}}]}",
                   multi_index_digest, strlen(index));
  assert_int_equal(cf_test_index_write(dir, top, &err), 0);
}

/* Adds to the app layout a manifest "foreign" whose base layer is
 * non-distributable, with a URL on the cdn server. */
static void build_foreign(void)
{
  cf_autofree char *dir = cf_path_join(work, "app");
  cf_autofree char *path =
      cf_xasprintf("%s/blobs/sha256/%s", dir, app.manifest_digest + strlen("sha256:"));
  json_t *manifest = json_load_file(path, 0, NULL);
  assert_non_null(manifest);
  json_t *layer = json_array_get(json_object_get(manifest, "layers"), 0);
  json_object_set_new(layer, "mediaType",
                      json_string("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"));
  cf_autofree char *url =
      cf_xasprintf("http://127.0.0.1:%d/cdn/%s", cdn.port, app.layers[0].digest);
  json_object_set_new(layer, "urls", json_pack("[ss]", "ftp://127.0.0.1/ignored", url));
  char *text = json_dumps(manifest, JSON_COMPACT);
  json_decref(manifest);
  cf_err *err = NULL;
  assert_int_equal(cf_test_blob_write(dir, text, strlen(text), foreign_manifest, &err), 0);
  cf_autofree char *index = cf_xasprintf(
      "{\"schemaVersion\":2,\"manifests\":["
      "{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST "\",\"digest\":\"%s\",\"size\":%lld,"
      "\"annotations\":{\"" CF_OCI_ANNOTATION_REF_NAME "\":\"v1\"}},"
      "{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,"
      "\"annotations\":{\"" CF_OCI_ANNOTATION_REF_NAME "\":\"foreign\"}}]}",
      app.manifest_digest, (long long)app.manifest_size, foreign_manifest, strlen(text));
  free(text);
  assert_int_equal(cf_test_index_write(dir, index, &err), 0);
}

static int setup_all(void **state)
{
  (void)state;
  work = cf_test_tmpdir("it-registry");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  atexit(stop_registry);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  build_app();
  build_liar();
  build_multi();
  start_registry();
  cf_autofree char *app_dir = cf_path_join(work, "app");
  cf_autofree char *multi_dir = cf_path_join(work, "multi");
  push(app_dir, "v1", "test/app:v1", false);
  push(multi_dir, "multi", "test/multi:multi", true);
  snprintf(cdn.layout, sizeof(cdn.layout), "%s", app_dir);
  fake_registry_start(&cdn);
  snprintf(fake.layout, sizeof(fake.layout), "%s", app_dir);
  fake_registry_start(&fake);
  build_foreign();
  return 0;
}

static int teardown_all(void **state)
{
  (void)state;
  stop_registry();
  fake_registry_stop(&fake);
  fake_registry_stop(&cdn);
  cf_test_rmdir(work);
  free(work);
  return 0;
}

/* --- per test: a fresh depot and store, fakes without failures --- */

struct depot {
  char *dir;
  cf_store *store;
  cf_image_store *images;
  char insecure[2][64];
  const char *insecure_list[2];
  cf_pull_options options;
};

static void clear_knobs(fake_registry *f)
{
  f->auth = FAKE_AUTH_NONE;
  f->username = f->password = NULL;
  f->token_lifetime = 60;
  f->insufficient_scope_once = false;
  f->cut_blob[0] = f->fail_blob[0] = f->corrupt_blob[0] = f->redirect_to[0] = '\0';
  f->missing_blob[0] = '\0';
  f->blob_delay_ms = 0;
  f->manifest_type[0] = '\0';
  f->overstate_path[0] = '\0';
  f->announced_length = 0;
  f->stall_path[0] = '\0';
  f->stall_after_bytes = 0;
  fake_registry_reset(f);
}

static int setup_depot(void **state)
{
  struct depot *d = cf_xcalloc(1, sizeof(*d));
  static int counter;
  d->dir = cf_xasprintf("%s/depot-%d", work, counter++);
  cf_err *err = NULL;
  if (cf_mkdir_p(d->dir, 0755, &err) < 0 || cf_store_open(d->dir, &d->store, &err) < 0 ||
      cf_image_store_open(d->dir, d->store, &d->images, &err) < 0) {
    fail_msg("open depot: %s", err->message);
  }
  snprintf(d->insecure[0], sizeof(d->insecure[0]), "%s", registry_addr);
  snprintf(d->insecure[1], sizeof(d->insecure[1]), "127.0.0.1:%d", fake.port);
  d->insecure_list[0] = d->insecure[0];
  d->insecure_list[1] = d->insecure[1];
  d->options.insecure_registries = d->insecure_list;
  d->options.insecure_registry_count = 2;
  d->options.retry_base_ms = 10;
  snprintf(fake.layout, sizeof(fake.layout), "%s/app", work);
  clear_knobs(&fake);
  clear_knobs(&cdn);
  *state = d;
  return 0;
}

static int teardown_depot(void **state)
{
  struct depot *d = *state;
  cf_image_store_close(d->images);
  cf_store_close(d->store);
  cf_test_rmdir(d->dir);
  free(d->dir);
  free(d);
  return 0;
}

static char *real_uri(const char *repo_ref)
{
  return cf_xasprintf("docker://%s/%s", registry_addr, repo_ref);
}

static char *fake_uri(const char *ref)
{
  return cf_xasprintf("docker://127.0.0.1:%d/test/app%s", fake.port, ref);
}

static void pull_ok(struct depot *d, const char *uri, cf_image *image)
{
  cf_err *err = NULL;
  if (cf_image_pull_with(d->images, uri, &d->options, image, &err) < 0) {
    fail_msg("pull %s: %s", uri, err->message);
  }
}

static cf_err *pull_error(struct depot *d, const char *uri)
{
  cf_image image;
  cf_err *err = NULL;
  if (cf_image_pull_with(d->images, uri, &d->options, &image, &err) == 0) {
    cf_image_clear(&image);
    fail_msg("pull %s succeeded, expected an error", uri);
  }
  return err;
}

static void assert_file(const char *dir, const char *name, const char *content)
{
  cf_autofree char *path = cf_path_join(dir, name);
  cf_buf buf;
  cf_buf_init(&buf, 4096);
  cf_err *err = NULL;
  if (cf_read_file(path, &buf, &err) < 0) {
    fail_msg("%s", err->message);
  }
  assert_string_equal(buf.data, content);
  cf_buf_free(&buf);
}

static void assert_app(const cf_image *image)
{
  assert_int_equal(image->layer_count, 2);
  assert_file(image->layer_dirs[0], "etc/hostname", "base\n");
  assert_file(image->layer_dirs[1], "etc/hostname", "top\n");
  assert_file(image->layer_dirs[1], "srv/data.txt", "data");
}

/* Fails unless <depot>/layers holds only lock files and ready layers. */
static void assert_no_partial_layers(const struct depot *d, int max_dirs)
{
  cf_autofree char *layers = cf_path_join(d->dir, "layers");
  DIR *dir = opendir(layers);
  assert_non_null(dir);
  int dirs = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.' || strstr(e->d_name, ".lock") != NULL) {
      continue;
    }
    assert_null(strstr(e->d_name, "tmp-"));
    dirs++;
  }
  closedir(dir);
  assert_true(dirs <= max_dirs);
}

/* --- against docker-registry --- */

static void test_pull_by_tag(void **state)
{
  struct depot *d = *state;
  cf_autofree char *uri = real_uri("test/app:v1");
  cf_image image;
  pull_ok(d, uri, &image);
  assert_app(&image);
  assert_string_equal(image.manifest_digest, app.manifest_digest);
  cf_image_clear(&image);
}

static void test_pull_by_digest(void **state)
{
  struct depot *d = *state;
  cf_autofree char *uri =
      cf_xasprintf("docker://%s/test/app@%s", registry_addr, app.manifest_digest);
  cf_image image;
  pull_ok(d, uri, &image);
  assert_app(&image);
  cf_image_clear(&image);
}

static void test_index_picks_amd64(void **state)
{
  struct depot *d = *state;
  cf_autofree char *uri = real_uri("test/multi:multi");
  d->options.platform.os = "linux";
  d->options.platform.architecture = "amd64";
  cf_image image;
  pull_ok(d, uri, &image);
  assert_string_equal(image.manifest_digest, multi[0].manifest_digest);
  cf_image_clear(&image);
}

static void test_index_missing_platform(void **state)
{
  struct depot *d = *state;
  cf_autofree char *uri = real_uri("test/multi:multi");
  d->options.platform.architecture = "s390x";
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  assert_non_null(strstr(err->message, "linux/s390x"));
  assert_non_null(strstr(err->message, "linux/amd64"));
  assert_non_null(strstr(err->message, "linux/arm64/v8"));
  cf_err_free(err);
}

static void test_missing_tag(void **state)
{
  struct depot *d = *state;
  cf_autofree char *uri = real_uri("test/app:nope");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  assert_non_null(strstr(err->message, "manifest nope"));
  cf_err_free(err);
}

static void test_secure_registry_needs_tls(void **state)
{
  struct depot *d = *state;
  cf_autofree char *uri = real_uri("test/app:v1");
  d->options.insecure_registry_count = 0;
  d->options.max_retries = 1;
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_SYSTEM);
  assert_non_null(strstr(err->message, "ping"));
  assert_non_null(strstr(err->message, "list it in insecure_registries"));
  cf_err_free(err);
}

/* --- against the fake registry --- */

static void test_token_auth(void **state)
{
  struct depot *d = *state;
  fake.auth = FAKE_AUTH_BEARER;
  fake.username = "alice";
  fake.password = "s3cret-pw";
  fake.insufficient_scope_once = true;
  fake.token_lifetime = 1;
  fake.blob_delay_ms = 1100; /* outlives a token: the client must renew it */
  d->options.username = "alice";
  d->options.password = "s3cret-pw";
  d->options.parallel_layers = 1;
  cf_autofree char *uri = fake_uri(":v1");
  cf_image image;
  pull_ok(d, uri, &image);
  assert_app(&image);
  cf_image_clear(&image);
  assert_int_equal(fake.bad_credentials, 0);
  assert_int_equal(fake.expired_tokens, 0);
  assert_true(fake.token_requests >= 3); /* first, after insufficient_scope, renewals */
  assert_true(fake.unauthorized >= 1);
}

static void test_token_bad_password(void **state)
{
  struct depot *d = *state;
  fake.auth = FAKE_AUTH_BEARER;
  fake.username = "alice";
  fake.password = "s3cret-pw";
  d->options.username = "alice";
  d->options.password = "wrong-pw";
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_INVALID);
  assert_non_null(strstr(err->message, "token"));
  assert_null(strstr(err->message, "wrong-pw"));
  assert_true(fake.bad_credentials >= 1);
  cf_err_free(err);
}

static void test_basic_auth(void **state)
{
  struct depot *d = *state;
  fake.auth = FAKE_AUTH_BASIC;
  fake.username = "bob";
  fake.password = "pa:ss";
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_INVALID);
  assert_non_null(strstr(err->message, "requires a username and password"));
  cf_err_free(err);
  d->options.username = "bob";
  d->options.password = "pa:ss";
  cf_image image;
  pull_ok(d, uri, &image);
  assert_app(&image);
  cf_image_clear(&image);
}

static void test_resume_cut_blob(void **state)
{
  struct depot *d = *state;
  snprintf(fake.cut_blob, sizeof(fake.cut_blob), "%s", app.layers[0].digest);
  cf_autofree char *uri = fake_uri(":v1");
  cf_image image;
  pull_ok(d, uri, &image);
  assert_app(&image);
  cf_image_clear(&image);
  assert_int_equal(fake.range_requests, 1);
  assert_int_equal(fake_registry_blob_gets(&fake, app.layers[0].digest), 2);
}

static void test_retry_after_500(void **state)
{
  struct depot *d = *state;
  snprintf(fake.fail_blob, sizeof(fake.fail_blob), "%s", app.layers[1].digest);
  cf_autofree char *uri = fake_uri(":v1");
  cf_image image;
  pull_ok(d, uri, &image);
  assert_app(&image);
  cf_image_clear(&image);
  assert_int_equal(fake_registry_blob_gets(&fake, app.layers[1].digest), 2);
}

static void test_digest_mismatch(void **state)
{
  struct depot *d = *state;
  snprintf(fake.corrupt_blob, sizeof(fake.corrupt_blob), "%s", app.layers[0].digest);
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_INTEGRITY);
  assert_non_null(strstr(err->message, "digest mismatch"));
  assert_non_null(strstr(err->message, app.layers[0].digest));
  assert_non_null(strstr(err->message, "got sha256:"));
  assert_non_null(strstr(err->message, CF_OCI_MEDIA_LAYER_GZIP));
  cf_err_free(err);
  assert_no_partial_layers(d, 1);
}

static void test_size_lie(void **state)
{
  struct depot *d = *state;
  snprintf(fake.layout, sizeof(fake.layout), "%s/liar", work);
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_INTEGRITY);
  assert_non_null(strstr(err->message, "size mismatch"));
  assert_non_null(strstr(err->message, liar.layers[0].digest));
  cf_err_free(err);
  assert_no_partial_layers(d, 0);
}

static void test_foreign_layer(void **state)
{
  struct depot *d = *state;
  fake.auth = FAKE_AUTH_BEARER;
  fake.token_lifetime = 60;
  snprintf(fake.missing_blob, sizeof(fake.missing_blob), "%s", app.layers[0].digest);
  cf_autofree char *uri = fake_uri(":foreign");
  cf_image image;
  pull_ok(d, uri, &image);
  assert_app(&image);
  cf_image_clear(&image);
  assert_int_equal(fake_registry_blob_gets(&cdn, app.layers[0].digest), 1);
  assert_int_equal(fake_registry_blob_gets(&fake, app.layers[0].digest), 0);
  assert_int_equal(cdn.authorized_blob_gets, 0);
}

static void test_redirect_drops_auth(void **state)
{
  struct depot *d = *state;
  fake.auth = FAKE_AUTH_BEARER;
  snprintf(fake.redirect_to, sizeof(fake.redirect_to), "http://127.0.0.1:%d", cdn.port);
  cf_autofree char *uri = fake_uri(":v1");
  cf_image image;
  pull_ok(d, uri, &image);
  assert_app(&image);
  cf_image_clear(&image);
  assert_int_equal(fake_registry_blob_gets(&cdn, app.layers[0].digest), 1);
  assert_int_equal(fake_registry_blob_gets(&cdn, app.layers[1].digest), 1);
  assert_int_equal(cdn.authorized_blob_gets, 0);
  assert_true(fake.authorized_blob_gets >= 3); /* config and both layers, with the token */
}

static void test_schema1_content_type_rejected(void **state)
{
  struct depot *d = *state;
  static const char *const types[] = {
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
      "application/vnd.docker.distribution.manifest.v1+json; charset=utf-8",
  };
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    snprintf(fake.manifest_type, sizeof(fake.manifest_type), "%s", types[i]);
    cf_autofree char *uri = fake_uri(":v1");
    cf_err *err = pull_error(d, uri);
    assert_int_equal(err->code, CF_E_INVALID);
    assert_non_null(strstr(err->message, "manifest v1"));
    assert_non_null(strstr(err->message, "Docker schema 1"));
    assert_non_null(strstr(err->message, types[i]));
    cf_err_free(err);
  }
  assert_int_equal(fake_registry_blob_gets(&fake, app.config_digest), 0);
}

/* A generic Content-Type leaves the media type to the document. */
static void test_generic_content_type_uses_body(void **state)
{
  struct depot *d = *state;
  snprintf(fake.manifest_type, sizeof(fake.manifest_type), "application/json");
  cf_autofree char *uri = fake_uri(":v1");
  cf_image image;
  pull_ok(d, uri, &image);
  assert_app(&image);
  cf_image_clear(&image);
}

/* A response that announces 2 GiB and sends the real body fails as soon as
 * its headers arrive, and is not retried. */
static void test_blob_length_overstated(void **state)
{
  struct depot *d = *state;
  snprintf(fake.overstate_path, sizeof(fake.overstate_path), "/blobs/%s", app.layers[0].digest);
  fake.announced_length = 2147483648LL;
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_INTEGRITY);
  assert_non_null(strstr(err->message, app.layers[0].digest));
  assert_non_null(strstr(err->message, "Content-Length 2147483648 bytes"));
  cf_autofree char *states =
      cf_xasprintf("the descriptor states %lld bytes", (long long)app.layers[0].size);
  assert_non_null(strstr(err->message, states));
  cf_err_free(err);
  assert_int_equal(fake_registry_blob_gets(&fake, app.layers[0].digest), 1);
  assert_no_partial_layers(d, 1);
}

static void test_config_length_overstated(void **state)
{
  struct depot *d = *state;
  snprintf(fake.overstate_path, sizeof(fake.overstate_path), "/blobs/%s", app.config_digest);
  fake.announced_length = 2147483648LL;
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_INTEGRITY);
  assert_non_null(strstr(err->message, "Content-Length 2147483648 bytes"));
  assert_non_null(strstr(err->message, "the descriptor states"));
  cf_err_free(err);
  assert_int_equal(fake_registry_blob_gets(&fake, app.config_digest), 1);
}

/* A manifest by tag has no descriptor, so the 4 MiB cap applies. */
static void test_manifest_length_over_cap(void **state)
{
  struct depot *d = *state;
  snprintf(fake.overstate_path, sizeof(fake.overstate_path), "/manifests/");
  fake.announced_length = 2147483648LL;
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_LIMIT);
  assert_non_null(strstr(err->message, "manifest v1"));
  assert_non_null(strstr(err->message, "Content-Length 2147483648 bytes"));
  assert_non_null(strstr(err->message, "maximum of 4194304 bytes"));
  cf_err_free(err);
}

static void test_layer_count_limit(void **state)
{
  struct depot *d = *state;
  d->options.max_layers = 1;
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_LIMIT);
  assert_non_null(strstr(err->message, app.manifest_digest));
  assert_non_null(strstr(err->message, "has 2 layers, more than the max_layers limit of 1"));
  cf_err_free(err);
  assert_int_equal(fake_registry_blob_gets(&fake, app.config_digest), 0);
  assert_int_equal(fake_registry_blob_gets(&fake, app.layers[0].digest), 0);
  assert_int_equal(fake_registry_blob_gets(&fake, app.layers[1].digest), 0);
  assert_no_partial_layers(d, 0);
}

/* A registry that sends one byte and then nothing: each time limit ends
 * the pull with a message that names the URL and the limit's option. The
 * limits are short so the tests stay fast; no test asserts on timings. */
static void test_stalled_manifest_fails(void **state)
{
  struct depot *d = *state;
  snprintf(fake.stall_path, sizeof(fake.stall_path), "/manifests/");
  fake.stall_after_bytes = 1;
  d->options.stall_timeout_s = 1;
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_SYSTEM);
  assert_non_null(strstr(err->message, "/v2/test/app/manifests/v1"));
  assert_non_null(strstr(err->message, "stalled"));
  assert_non_null(strstr(err->message, "1 s (stall_timeout_s in the groot config file"));
  cf_err_free(err);
}

static void test_stalled_blob_fails(void **state)
{
  struct depot *d = *state;
  snprintf(fake.stall_path, sizeof(fake.stall_path), "/blobs/%s", app.layers[0].digest);
  fake.stall_after_bytes = 1;
  d->options.stall_timeout_s = 1;
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_SYSTEM);
  assert_non_null(strstr(err->message, fake.stall_path));
  assert_non_null(strstr(err->message, "1 s (stall_timeout_s in the groot config file"));
  cf_err_free(err);
  assert_int_equal(fake_registry_blob_gets(&fake, app.layers[0].digest), 1);
  assert_no_partial_layers(d, 1);
}

static void test_manifest_request_timeout(void **state)
{
  struct depot *d = *state;
  snprintf(fake.stall_path, sizeof(fake.stall_path), "/manifests/");
  fake.stall_after_bytes = 1;
  d->options.stall_timeout_s = 30;
  d->options.request_timeout_s = 1;
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_SYSTEM);
  assert_non_null(strstr(err->message, "/v2/test/app/manifests/v1"));
  assert_non_null(strstr(err->message, "1 s (request_timeout_s in the groot config file"));
  cf_err_free(err);
}

static void test_pull_timeout(void **state)
{
  struct depot *d = *state;
  snprintf(fake.stall_path, sizeof(fake.stall_path), "/blobs/%s", app.layers[0].digest);
  fake.stall_after_bytes = 1;
  d->options.stall_timeout_s = 30;
  d->options.pull_timeout_s = 2;
  cf_autofree char *uri = fake_uri(":v1");
  cf_err *err = pull_error(d, uri);
  assert_int_equal(err->code, CF_E_SYSTEM);
  /* On a loaded machine the limit can run out before the stalled blob is
   * requested, so the message names whichever request was in flight; the
   * stall itself lasts 30 s, so only the pull limit gives this message. */
  assert_non_null(strstr(err->message, "/v2/test/app/"));
  assert_non_null(strstr(err->message, "time limit of 2 s; raise pull_timeout_s"));
  cf_err_free(err);
  assert_no_partial_layers(d, 1);
}

struct parallel_pull {
  struct depot *depot;
  const char *uri;
  int rc;
  cf_err *err;
};

static void *pull_thread(void *arg)
{
  struct parallel_pull *p = arg;
  cf_image image;
  p->rc = cf_image_pull_with(p->depot->images, p->uri, &p->depot->options, &image, &p->err);
  if (p->rc == 0) {
    cf_image_clear(&image);
  }
  return NULL;
}

static void test_parallel_pulls_download_once(void **state)
{
  struct depot *d = *state;
  fake.blob_delay_ms = 50; /* keeps the pulls overlapping */
  cf_autofree char *uri = fake_uri(":v1");
  struct parallel_pull pulls[PARALLEL_PULLS];
  pthread_t threads[PARALLEL_PULLS];
  for (int i = 0; i < PARALLEL_PULLS; i++) {
    pulls[i] = (struct parallel_pull){.depot = d, .uri = uri};
    assert_int_equal(pthread_create(&threads[i], NULL, pull_thread, &pulls[i]), 0);
  }
  for (int i = 0; i < PARALLEL_PULLS; i++) {
    pthread_join(threads[i], NULL);
    if (pulls[i].rc != 0) {
      fail_msg("pull %d: %s", i, pulls[i].err->message);
    }
  }
  assert_int_equal(fake_registry_blob_gets(&fake, app.layers[0].digest), 1);
  assert_int_equal(fake_registry_blob_gets(&fake, app.layers[1].digest), 1);
}

int main(void)
{
  if (!cf_test_is_root()) {
    fprintf(stderr, "skipped: the registry tests need root to unpack layers as in production\n");
    return 77;
  }
  if (access(REGISTRY_BIN, X_OK) != 0 || access(SKOPEO_BIN, X_OK) != 0) {
    fprintf(stderr, "skipped: install docker-registry and skopeo\n");
    return 77;
  }
  /* Loopback traffic must not go to a proxy from the environment. */
  setenv("no_proxy", "127.0.0.1", 1);
  setenv("NO_PROXY", "127.0.0.1", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_pull_by_tag, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_pull_by_digest, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_index_picks_amd64, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_index_missing_platform, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_missing_tag, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_secure_registry_needs_tls, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_token_auth, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_token_bad_password, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_basic_auth, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_resume_cut_blob, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_retry_after_500, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_digest_mismatch, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_size_lie, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_foreign_layer, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_redirect_drops_auth, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_parallel_pulls_download_once, setup_depot,
                                      teardown_depot),
      cmocka_unit_test_setup_teardown(test_schema1_content_type_rejected, setup_depot,
                                      teardown_depot),
      cmocka_unit_test_setup_teardown(test_generic_content_type_uses_body, setup_depot,
                                      teardown_depot),
      cmocka_unit_test_setup_teardown(test_blob_length_overstated, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_config_length_overstated, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_manifest_length_over_cap, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_layer_count_limit, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_stalled_manifest_fails, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_stalled_blob_fails, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_manifest_request_timeout, setup_depot, teardown_depot),
      cmocka_unit_test_setup_teardown(test_pull_timeout, setup_depot, teardown_depot),
  };
  return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
