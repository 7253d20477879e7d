/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image role in cfwin.exe, groot-windows-compatible, on the Windows
 * image storage backend (image/windows, vmcompute.dll). `pull` and `create`
 * resolve oci:// and docker:// URIs with the shared layout and registry
 * readers and import the layers into the driver store. `create` then adds
 * the container's writable volume and prints its runtime spec. `delete`,
 * `stats` and `capacity` work on the volumes. Exit status: 0, 1 for a
 * failed command (message on stdout, as groot prints it), 3 for an unknown
 * command.
 */
#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "cli/cli_internal.h"
#include "cli/flags.h"
#include "cli/image_config.h"
#include "image/storage.h"
#include "image/windows/pull.h"
#include "image/windows/win.h"
#include "image/winimage.h"

/* groot's name of the file in a volume's directory that stores the image
 * size, {"size":N}; stats adds N to the bytes the container wrote. */
#define METADATA_FILE "metadata.json"

typedef struct global_options {
  const char *driver_store;
  const char *config_path;
  const char *log_level;
  cf_flag_strings uid_mappings;
  cf_flag_strings gid_mappings;
  bool help;
} global_options;

static void print_usage(FILE *out)
{
  fprintf(out, "usage: groot --driver-store DIR [--config FILE] [--log-level LEVEL] COMMAND ...\n"
               "\n"
               "Image plugin for Guardian, groot-windows-compatible (cfwin.exe).\n"
               "\n"
               "Commands:\n"
               "  create [--disk-limit-size-bytes N] [--exclude-image-from-quota]\n"
               "         [--username U --password P] IMAGE-URI HANDLE\n"
               "                      pull the image, create the volume of HANDLE and\n"
               "                      print its runtime spec; the disk limit is in bytes,\n"
               "                      the image counts against it unless excluded\n"
               "  pull [--username U --password P] IMAGE-URI\n"
               "                      import the image's layers into the driver store\n"
               "  delete HANDLE       remove a volume (an unknown handle succeeds)\n"
               "  stats HANDLE        print the volume's disk use\n"
               "  capacity            print the size in bytes of the store's volume\n"
               "  help                print this usage\n"
               "\n"
               "IMAGE-URI is oci:///C:/path/to/layout[:tag] (a path without a drive letter is\n"
               "on C:) or docker://[host[:port]]/repository[:tag|@sha256:digest].\n"
               "--driver-store is required; a path without a drive letter is taken on C:.\n"
               "--config FILE sets log_level, insecure_registries (host[:port] list) and the\n"
               "pull limits as groot's config file does; --log-level overrides its level.\n"
               "The commands need the Containers feature (vmcompute.dll).\n");
}

static int fail(cf_err *err)
{
  cf_cli_image_use_groot_hint(err);
  cf_log_error("failed", err, NULL);
  printf("%s\n", err->message);
  cf_err_free(err);
  return 1;
}

static int check_arg_count(const char *command, int have, int expected, cf_err **err)
{
  if (have != expected) {
    return cf_err_set(err, CF_E_INVALID, "%s: %d arguments expected, got %d; see `groot --help`",
                      command, expected, have);
  }
  return 0;
}

static int run_delete(cf_storage *storage, const char *handle, cf_err **err)
{
  // As groot does for any unknown handle, delete succeeds for a handle
  // that create would reject.
  cf_err *invalid = NULL;
  if (cf_handle_validate(handle, &invalid) < 0) {
    cf_log(CF_LOG_INFO, "delete.volume-not-found", "{s:s, s:s}", "bundleID", handle, "reason",
           invalid->message);
    cf_err_free(invalid);
    return 0;
  }
  return cf_storage_volume_destroy(storage, handle, err);
}

/* Opens a volume's metadata.json with _wfopen, because fopen takes paths
 * in the ANSI code page. */
static FILE *open_metadata(const char *path, const wchar_t *mode, cf_err **err)
{
  cf_autofree wchar_t *wide = cf_win_utf16(path, err);
  if (wide == NULL) {
    return NULL;
  }
  FILE *file = _wfopen(wide, mode);
  if (file == NULL) {
    cf_err_sys(err, errno, "open %s", path);
  }
  return file;
}

/* Reads the image size create stored in the volume's metadata.json. As in
 * groot, stats fails when the file is missing. */
static int read_image_size(cf_storage *storage, const char *handle, uint64_t *size, cf_err **err)
{
  cf_autofree char *volume = NULL;
  if (cf_win_volume_path(cf_storage_root(storage), handle, &volume, err) < 0) {
    return -1;
  }
  cf_autofree char *path = cf_xasprintf("%s\\" METADATA_FILE, volume);
  FILE *file = open_metadata(path, L"rb", err);
  if (file == NULL) {
    return -1;
  }
  json_error_t error;
  json_t *doc = json_loadf(file, 0, &error);
  fclose(file);
  if (doc == NULL) {
    return cf_err_set(err, CF_E_INVALID, "couldn't parse metadata.json: %s: %s", path, error.text);
  }
  json_t *value = json_object_get(doc, "size");
  int rc = 0;
  if (!json_is_integer(value) || json_integer_value(value) < 0) {
    rc = cf_err_set(err, CF_E_INVALID,
                    "couldn't parse metadata.json: %s: \"size\" must be a non-negative integer; "
                    "delete the volume and create it again",
                    path);
  } else {
    *size = (uint64_t)json_integer_value(value);
  }
  json_decref(doc);
  return rc;
}

static int run_stats(cf_storage *storage, const char *handle, cf_err **err)
{
  cf_storage_usage usage;
  uint64_t image_size = 0;
  if (cf_storage_volume_usage(storage, handle, &usage, err) < 0 ||
      read_image_size(storage, handle, &image_size, err) < 0) {
    return -1;
  }
  printf("{\"disk_usage\":{\"total_bytes_used\":%llu,\"exclusive_bytes_used\":%llu}}\n",
         (unsigned long long)(image_size + usage.used_bytes), (unsigned long long)usage.used_bytes);
  return 0;
}

static int run_capacity(const char *driver_store, cf_err **err)
{
  cf_autofree char *root = NULL;
  if (cf_win_store_root(driver_store, &root, err) < 0) {
    return -1;
  }
  cf_autofree wchar_t *wide = cf_win_utf16(root, err);
  if (wide == NULL) {
    return -1;
  }
  ULARGE_INTEGER total;
  if (!GetDiskFreeSpaceExW(wide, NULL, &total, NULL)) {
    cf_win_last_error(err, GetLastError(), "GetDiskFreeSpaceExW");
    return cf_err_wrap(err, "capacity: read the size of the volume of the store %s", root);
  }
  printf("{\"capacity\":%llu}\n", (unsigned long long)total.QuadPart);
  return 0;
}

/* The options of create and pull. */
typedef struct pull_flags {
  long long disk_limit;
  bool exclude_image;
  const char *username;
  const char *password;
} pull_flags;

/* Parses create's and pull's options. pull takes only the credentials, as
 * in groot. */
static int parse_pull_options(const char *command, int argc, char **argv, int start,
                              pull_flags *out, int *next, cf_err **err)
{
  cf_flag flags[] = {
      {"username", CF_FLAG_STRING, &out->username},
      {"password", CF_FLAG_STRING, &out->password},
      {"disk-limit-size-bytes", CF_FLAG_INT, &out->disk_limit},
      {"exclude-image-from-quota", CF_FLAG_BOOL, &out->exclude_image},
  };
  int count = strcmp(command, "create") == 0 ? 4 : 2;
  return cf_flags_parse(flags, count, argc, argv, start, next, err);
}

/* Config values are positive int64s; the pull options take unsigned ints. */
static unsigned clamp_unsigned(int64_t value)
{
  return value > (int64_t)UINT_MAX ? UINT_MAX : (unsigned)value;
}

static void set_pull_options(const cf_image_config *config, const pull_flags *flags,
                             cf_pull_options *out)
{
  *out = (cf_pull_options){
      .username = flags->username,
      .password = flags->password,
      .insecure_registries = (const char *const *)config->insecure_registries,
      .insecure_registry_count = config->insecure_registry_count,
      .max_layer_bytes = config->max_layer_bytes,
      .max_image_bytes = config->max_image_bytes,
      .max_layer_entries = config->max_layer_entries,
      .max_layers = clamp_unsigned(config->max_layers),
      .stall_timeout_s = clamp_unsigned(config->stall_timeout_s),
      .request_timeout_s = clamp_unsigned(config->request_timeout_s),
      .pull_timeout_s = clamp_unsigned(config->pull_timeout_s),
  };
}

static int run_pull(cf_storage *storage, const char *uri, const cf_pull_options *options,
                    cf_err **err)
{
  cf_win_image image;
  if (cf_win_image_pull(storage, uri, options, 0, &image, err) < 0) {
    return -1;
  }
  cf_win_image_clear(&image);
  return 0;
}

/* The size limit of the writable volume, as groot computes it: the whole
 * limit when the image is excluded, else the limit minus the image. 0 is
 * no limit. */
static int volume_limit(const pull_flags *flags, uint64_t image_size, uint64_t *out, cf_err **err)
{
  *out = (uint64_t)flags->disk_limit;
  if (flags->disk_limit == 0 || flags->exclude_image) {
    return 0;
  }
  if ((uint64_t)flags->disk_limit <= image_size) {
    return cf_err_set(err, CF_E_LIMIT,
                      "disk limit %lld must be larger than image size %" PRIu64
                      "; raise --disk-limit-size-bytes or pass --exclude-image-from-quota",
                      flags->disk_limit, image_size);
  }
  *out -= image_size;
  return 0;
}

static int write_metadata(cf_storage *storage, const char *handle, uint64_t image_size,
                          cf_err **err)
{
  cf_autofree char *volume = NULL;
  if (cf_win_volume_path(cf_storage_root(storage), handle, &volume, err) < 0) {
    return -1;
  }
  cf_autofree char *path = cf_xasprintf("%s\\" METADATA_FILE, volume);
  FILE *file = open_metadata(path, L"wb", err);
  if (file == NULL) {
    return cf_err_wrap(err, "WriteMetadata failed");
  }
  int written = fprintf(file, "{\"size\":%" PRIu64 "}", image_size);
  if (fclose(file) != 0 || written < 0) {
    cf_err_sys(err, errno, "write %s", path);
    return cf_err_wrap(err, "WriteMetadata failed");
  }
  return 0;
}

static int print_spec(cf_storage *storage, const cf_win_image *image, const char *mount_path,
                      cf_err **err)
{
  char **folders = NULL;
  if (cf_win_layer_folders(cf_storage_root(storage), image->chain_ids, image->layer_count, &folders,
                           err) < 0) {
    return -1;
  }
  cf_autofree char *spec = NULL;
  int rc = cf_win_image_spec_json(mount_path, image->env, image->env_count, folders,
                                  image->layer_count, &spec, err);
  cf_strv_free(folders, image->layer_count);
  if (rc == 0) {
    printf("%s\n", spec);
  }
  return rc;
}

/* Creates the volume of handle over the pulled image and prints the spec.
 * A volume that exists gets groot's "layer already exists" error. */
static int create_volume(cf_storage *storage, const char *handle, const cf_win_image *image,
                         const pull_flags *flags, cf_err **err)
{
  uint64_t limit = 0;
  if (volume_limit(flags, image->size, &limit, err) < 0) {
    return -1;
  }
  cf_autofree char *mount_path = NULL;
  if (cf_storage_volume_create(storage, handle, image->chain_ids, image->layer_count, limit,
                               &mount_path, err) < 0) {
    if (err != NULL && *err != NULL && (*err)->code == CF_E_EXISTS) {
      cf_err_clear(err);
      return cf_err_set(err, CF_E_EXISTS,
                        "layer already exists: %s; delete it first or pick another handle", handle);
    }
    return -1;
  }
  // As in groot, a volume whose metadata cannot be written stays for
  // Guardian's delete.
  if (write_metadata(storage, handle, image->size, err) < 0) {
    return -1;
  }
  return print_spec(storage, image, mount_path, err);
}

static int run_create(cf_storage *storage, const char *uri, const char *handle,
                      const pull_flags *flags, const cf_pull_options *options, cf_err **err)
{
  if (flags->disk_limit < 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid disk limit: %lld; --disk-limit-size-bytes takes 0 (no limit) or "
                      "more bytes",
                      flags->disk_limit);
  }
  cf_autofree char *volume = NULL;
  if (cf_win_volume_path(cf_storage_root(storage), handle, &volume, err) < 0) {
    return -1;
  }
  // As in groot, an excluded image is not checked against the limit.
  // NOTE: groot also stops a download that passes the remaining limit
  // uncompressed; here the image size is checked after the pull.
  uint64_t disk_quota = flags->exclude_image ? 0 : (uint64_t)flags->disk_limit;
  cf_win_image image;
  if (cf_win_image_pull(storage, uri, options, disk_quota, &image, err) < 0) {
    return cf_err_wrap(err, "pulling image");
  }
  int rc = create_volume(storage, handle, &image, flags, err);
  cf_win_image_clear(&image);
  return rc < 0 ? cf_err_wrap(err, "creating bundle") : 0;
}

static bool known_command(const char *command)
{
  static const char *const commands[] = {"create", "pull", "delete", "stats", "capacity"};
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(command, commands[i]) == 0) {
      return true;
    }
  }
  return false;
}

/* Reads the config file and sets the log level. --log-level overrides the
 * config's log_level. */
static int setup(const global_options *o, cf_image_config *config, cf_err **err)
{
  if (o->config_path != NULL && cf_image_config_load(o->config_path, config, err) < 0) {
    return -1;
  }
  const char *level = o->log_level != NULL ? o->log_level : config->log_level;
  if (cf_cli_image_configure_logging(level, err) < 0) {
    return -1;
  }
  for (size_t i = 0; i < config->unknown_key_count; i++) {
    cf_log(CF_LOG_INFO, "config.unknown-key-ignored", "{s:s, s:s}", "key", config->unknown_keys[i],
           "config", o->config_path);
  }
  return 0;
}

static int run_on_store(cf_storage *storage, const char *command, char **args,
                        const pull_flags *flags, const cf_pull_options *options, cf_err **err)
{
  if (strcmp(command, "pull") == 0) {
    return run_pull(storage, args[0], options, err);
  }
  if (strcmp(command, "create") == 0) {
    return run_create(storage, args[0], args[1], flags, options, err);
  }
  if (strcmp(command, "delete") == 0) {
    return run_delete(storage, args[0], err);
  }
  return run_stats(storage, args[0], err);
}

/* Checks the command's arguments, opens the store and runs the command. */
static int run_command(const global_options *o, const cf_image_config *config, const char *command,
                       int argc, char **argv, int next, cf_err **err)
{
  bool pulls = strcmp(command, "create") == 0 || strcmp(command, "pull") == 0;
  pull_flags flags = {0};
  int args = next + 1;
  if (pulls && parse_pull_options(command, argc, argv, next + 1, &flags, &args, err) < 0) {
    return -1;
  }
  int expected = strcmp(command, "create") == 0 ? 2 : strcmp(command, "capacity") == 0 ? 0 : 1;
  if (check_arg_count(command, argc - args, expected, err) < 0) {
    return -1;
  }
  if (o->driver_store == NULL || o->driver_store[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "%s: --driver-store is required on Windows", command);
  }
  if (strcmp(command, "capacity") == 0) {
    return run_capacity(o->driver_store, err);
  }
  cf_storage *storage = NULL;
  if (cf_storage_open(o->driver_store, &storage, err) < 0) {
    return cf_err_wrap(err, "%s", command);
  }
  cf_pull_options options;
  set_pull_options(config, &flags, &options);
  int rc = run_on_store(storage, command, argv + args, &flags, &options, err);
  cf_storage_close(storage);
  return rc;
}

static int run_known_command(const global_options *o, const char *command, int argc, char **argv,
                             int next, cf_err **err)
{
  cf_image_config config = {0};
  int rc = setup(o, &config, err);
  if (rc == 0) {
    rc = run_command(o, &config, command, argc, argv, next, err);
  }
  cf_image_config_clear(&config);
  return rc;
}

int cf_cli_image(int argc, char **argv, int start)
{
  global_options o = {0};
  cf_flag flags[] = {
      {"driver-store", CF_FLAG_STRING, &o.driver_store},
      {"config", CF_FLAG_STRING, &o.config_path},
      {"log-level", CF_FLAG_STRING, &o.log_level},
      {"uid-mapping", CF_FLAG_STRINGS, &o.uid_mappings},
      {"gid-mapping", CF_FLAG_STRINGS, &o.gid_mappings},
      {"store", CF_FLAG_IGNORED, NULL},
      {"help", CF_FLAG_BOOL, &o.help},
      {"h", CF_FLAG_BOOL, &o.help},
  };
  cf_err *err = NULL;
  int next = 0;
  cf_log_configure(STDERR_FILENO, CF_LOG_INFO, CF_LOG_TIME_RFC3339, "groot");
  // groot ends its lines with LF, and msvcrt's text mode would write CR LF.
  _setmode(_fileno(stdout), _O_BINARY);
  int rc = cf_flags_parse(flags, (int)(sizeof(flags) / sizeof(flags[0])), argc, argv, start, &next,
                          &err);
  if (rc < 0) {
    rc = fail(err);
  } else if (o.help || next >= argc || strcmp(argv[next], "help") == 0) {
    print_usage(stdout);
  } else if (!known_command(argv[next])) {
    fprintf(stderr, "No help topic for '%s'\n", argv[next]);
    rc = 3;
  } else if (run_known_command(&o, argv[next], argc, argv, next, &err) < 0) {
    rc = fail(err);
  }
  cf_flag_strings_clear(&o.uid_mappings);
  cf_flag_strings_clear(&o.gid_mappings);
  return rc;
}
