/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image role, groot-compatible: `groot [global options] COMMAND ...`.
 * As groot does, it prints a failed command's error on stdout (Guardian
 * reads it from there) and exits 1, writes lager JSON lines with source
 * "groot" on stderr, and exits 3 with "No help topic for 'X'" on stderr for
 * an unknown command.
 */
#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "cli/cli_internal.h"
#include "cli/flags.h"
#include "cli/image_config.h"
#include "image/volume.h"

/* groot on Linux has no default; this is the BOSH groot job's default store. */
#define DEFAULT_DRIVER_STORE "/var/lib/groot"
#define OCI_VERSION "1.2.1"

typedef struct global_options {
  const char *driver_store;
  const char *config_path;
  const char *log_level;
  /* Also accepted before the command, because Guardian puts the plugin's
   * extra arguments there for every command. */
  cf_flag_strings uid_mappings;
  cf_flag_strings gid_mappings;
  bool help;
} global_options;

typedef struct create_options {
  long long disk_limit;
  bool exclude_image;
  const char *username;
  const char *password;
  cf_flag_strings uid_mappings;
  cf_flag_strings gid_mappings;
} create_options;

/* An open driver store. */
typedef struct groot {
  char *dir;
  cf_store *store;
  cf_image_store *images;
  cf_pull_options pull; /* credentials and insecure registries; strings borrowed */
} groot;

static void print_usage(FILE *out)
{
  fprintf(out, "usage: groot [--driver-store DIR] [--config FILE] [--log-level LEVEL]\n"
               "             [--uid-mapping C:H:S ... --gid-mapping C:H:S ...] COMMAND ...\n"
               "\n"
               "Image plugin for Guardian, groot-compatible.\n"
               "\n"
               "Commands:\n"
               "  create [--disk-limit-size-bytes N] [--exclude-image-from-quota]\n"
               "         [--username U --password P] [--uid-mapping C:H:S] [--gid-mapping C:H:S]\n"
               "         IMAGE-URI HANDLE\n"
               "                      make a volume and print its runtime spec\n"
               "  pull [--username U --password P] [--uid-mapping C:H:S] [--gid-mapping C:H:S]\n"
               "       IMAGE-URI      unpack an image into the store\n"
               "  delete HANDLE       remove a volume (an unknown handle succeeds)\n"
               "  stats HANDLE        print the volume's disk use\n"
               "  capacity            print the store filesystem's size in bytes\n"
               "  list                print the handles of all volumes\n"
               "  gc                  remove layers that no volume uses\n"
               "  help                print this usage\n"
               "\n"
               "IMAGE-URI is oci:///path[:tag], docker://[host[:port]]/repo[:tag|@digest], or\n"
               "the path of an uncompressed tar file (a single-layer image).\n"
               "The store defaults to " DEFAULT_DRIVER_STORE "; the log level (debug, info,\n"
               "error, fatal) comes from the config file's log_level and --log-level.\n"
               "--uid-mapping and --gid-mapping (repeatable, both or neither, before or after\n"
               "the command) unpack the image for a user namespace: container id C and the\n"
               "S-1 ids after it belong to host id H onwards, as in 0:100000:65536.\n");
}

static int open_groot(const char *driver_store, groot *g, cf_err **err)
{
  memset(g, 0, sizeof(*g));
  if (driver_store[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "driver store must be set");
  }
  if (cf_mkdir_p(driver_store, 0700, err) < 0) {
    return cf_err_wrap(err, "create driver store");
  }
  g->dir = realpath(driver_store, NULL);
  if (g->dir == NULL) {
    return cf_err_sys(err, errno, "resolve driver store %s", driver_store);
  }
  if (cf_store_open(g->dir, &g->store, err) < 0 ||
      cf_image_store_open(g->dir, g->store, &g->images, err) < 0) {
    return -1;
  }
  return 0;
}

/* groot accepts a relative --driver-store; it is made absolute once, here,
 * so every later path and message uses the same directory. */
static char *absolute_store(const char *driver_store)
{
  if (driver_store[0] == '/' || driver_store[0] == '\0') {
    return cf_xstrdup(driver_store);
  }
  cf_autofree char *cwd = getcwd(NULL, 0);
  return cwd != NULL ? cf_path_join(cwd, driver_store) : cf_xstrdup(driver_store);
}

static bool read_only_command(const char *command)
{
  return strcmp(command, "capacity") == 0 || strcmp(command, "list") == 0 ||
         strcmp(command, "stats") == 0;
}

/* A read-only command on a store that was never created: list prints no
 * handles, the others fail. Neither creates the store. Returns 1 when the
 * store exists and the command should run. */
static int check_store_exists(const char *store, const char *command, cf_err **err)
{
  cf_autofree char *db = cf_path_join(store, "cfwin.db");
  if (access(db, F_OK) == 0) {
    return 1;
  }
  if (strcmp(command, "list") == 0) {
    return 0;
  }
  return cf_err_set(err, CF_E_NOT_FOUND,
                    "driver store %s does not exist; check --driver-store, or run create or "
                    "pull to make it",
                    store);
}

static void close_groot(groot *g)
{
  cf_image_store_close(g->images);
  cf_store_close(g->store);
  free(g->dir);
}

static int check_arg_count(int have, int expected, cf_err **err)
{
  if (have != expected) {
    return cf_err_set(err, CF_E_INVALID, "Incorrect number of args. Expect %d, got %d", expected,
                      have);
  }
  return 0;
}

/* The lower layers top first, as overlayfs takes them. */
static char *lowerdir_option(const cf_volume *volume)
{
  cf_autofree char *dirs = cf_xstrdup("");
  for (size_t i = volume->layer_count; i > 0; i--) {
    char *next =
        cf_xasprintf("%s%s%s", dirs, dirs[0] != '\0' ? ":" : "", volume->layer_dirs[i - 1]);
    free(dirs);
    dirs = next;
  }
  return cf_xasprintf("lowerdir=%s", dirs);
}

/* Linux form: root.path is the overlay mount point, and mounts list what a
 * runtime mounts inside the container's mount namespace, in order. */
static json_t *linux_mounts(const cf_volume *volume)
{
  json_t *mounts = json_array();
  if (volume->device != NULL) {
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s]}", "destination",
                                            volume->mount_dir, "type", volume->fs_type, "source",
                                            volume->device, "options", "noatime"));
  }
  cf_autofree char *lower = lowerdir_option(volume);
  cf_autofree char *upper = cf_xasprintf("upperdir=%s", volume->upper);
  cf_autofree char *work = cf_xasprintf("workdir=%s", volume->work);
  json_array_append_new(mounts,
                        json_pack("{s:s, s:s, s:s, s:[s, s, s]}", "destination", "/", "type",
                                  "overlay", "source", "overlay", "options", lower, upper, work));
  return mounts;
}

static json_t *create_output(const cf_volume *volume, const cf_image *image)
{
  json_t *spec = json_pack("{s:s}", "ociVersion", OCI_VERSION);
  if (image->env_count > 0) {
    json_t *env = json_array();
    for (size_t i = 0; i < image->env_count; i++) {
      json_array_append_new(env, json_string(image->env[i]));
    }
    json_object_set_new(spec, "process", json_pack("{s:o}", "env", env));
  }
#ifdef _WIN32
  /* windows.layerFolders lists the layers top first; root.path is the volume. */
  json_t *folders = json_array();
  for (size_t i = volume->layer_count; i > 0; i--) {
    json_array_append_new(folders, json_string(volume->layer_dirs[i - 1]));
  }
  json_object_set_new(spec, "root", json_pack("{s:s}", "path", volume->path));
  json_object_set_new(spec, "windows", json_pack("{s:o}", "layerFolders", folders));
#else
  json_object_set_new(spec, "root", json_pack("{s:s}", "path", volume->target));
  json_object_set_new(spec, "mounts", linux_mounts(volume));
#endif
  return spec;
}

static int print_json(json_t *value)
{
  char *text = json_dumps(value, JSON_COMPACT);
  json_decref(value);
  if (text == NULL) {
    return -1;
  }
  printf("%s\n", text);
  free(text);
  return 0;
}

static int pull_image(groot *g, const char *uri, cf_image *image, cf_err **err)
{
  cf_log(CF_LOG_INFO, "pull.start", "{s:s}", "uri", uri);
  if (cf_image_source_pull(g->images, uri, &g->pull, image, err) < 0) {
    return cf_err_wrap(err, "pulling image");
  }
  cf_log(CF_LOG_INFO, "pull.done", "{s:s, s:s}", "uri", uri, "digest", image->manifest_digest);
  return 0;
}

static int run_create(groot *g, const create_options *o, char **args, cf_err **err)
{
  if (o->disk_limit < 0) {
    return cf_err_set(err, CF_E_INVALID, "invalid disk limit: %lld", o->disk_limit);
  }
  if (o->disk_limit > CF_VOLUME_MAX_DISK_LIMIT) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid disk limit: %lld: the maximum is %lld bytes (1 PiB); use a "
                      "smaller limit, or 0 for none",
                      o->disk_limit, (long long)CF_VOLUME_MAX_DISK_LIMIT);
  }
  /* A handle that can never name a volume fails before the pull. */
  if (cf_handle_validate(args[1], err) < 0) {
    return -1;
  }
  cf_image image = {0};
  if (pull_image(g, args[0], &image, err) < 0) {
    return -1;
  }
  cf_volume_request request = {
      .handle = args[1],
      .image_uri = args[0],
      .image = &image,
      .disk_limit = o->disk_limit,
      .scope = o->exclude_image ? CF_DISK_SCOPE_EXCLUSIVE : CF_DISK_SCOPE_TOTAL,
  };
  cf_volume volume;
  int rc = cf_volume_create_pulled(g->images, args[0], &g->pull, &request, &image, &volume, err);
  if (rc == 0) {
    cf_log(CF_LOG_INFO, "create.done", "{s:s, s:I}", "handle", args[1], "quota",
           (json_int_t)volume.quota);
    print_json(create_output(&volume, &image));
    cf_volume_clear(&volume);
  }
  cf_image_clear(&image);
  return rc;
}

static int run_pull(groot *g, char **args, cf_err **err)
{
  cf_image image = {0};
  int rc = pull_image(g, args[0], &image, err);
  cf_image_clear(&image);
  return rc;
}

static int run_delete(groot *g, const char *handle, cf_err **err)
{
  /* A handle create rejects can never have a volume, so as groot does for
   * any unknown handle, delete succeeds. */
  cf_err *invalid = NULL;
  if (cf_handle_validate(handle, &invalid) < 0) {
    cf_log(CF_LOG_INFO, "delete.volume-not-found", "{s:s, s:s}", "bundleID", handle, "reason",
           invalid->message);
    cf_err_free(invalid);
    return 0;
  }
  bool existed = false;
  if (cf_volume_delete(g->images, handle, &existed, err) < 0) {
    return -1;
  }
  if (!existed) {
    cf_log(CF_LOG_INFO, "delete.volume-not-found", "{s:s}", "bundleID", handle);
  }
  return 0;
}

static int run_stats(groot *g, const char *handle, cf_err **err)
{
  cf_volume_stats stats;
  if (cf_volume_stats_get(g->images, handle, &stats, err) < 0) {
    return -1;
  }
  return print_json(json_pack("{s:{s:I, s:I}}", "disk_usage", "total_bytes_used",
                              (json_int_t)stats.total_bytes_used, "exclusive_bytes_used",
                              (json_int_t)stats.exclusive_bytes_used));
}

static int run_capacity(groot *g, cf_err **err)
{
  struct statvfs vfs;
  if (statvfs(g->dir, &vfs) < 0) {
    return cf_err_sys(err, errno, "read the size of the filesystem of %s", g->dir);
  }
  json_int_t bytes = (json_int_t)vfs.f_blocks * (json_int_t)vfs.f_frsize;
  return print_json(json_pack("{s:I}", "capacity", bytes));
}

static int run_list(groot *g, cf_err **err)
{
  char **handles = NULL;
  size_t count = 0;
  if (cf_volume_list(g->images, &handles, &count, err) < 0) {
    return -1;
  }
  for (size_t i = 0; i < count; i++) {
    printf("%s\n", handles[i]);
  }
  cf_strv_free(handles, count);
  return 0;
}

static int run_gc(groot *g, cf_err **err)
{
  size_t removed = 0;
  if (cf_image_gc(g->images, &removed, err) < 0) {
    return -1;
  }
  cf_log(CF_LOG_INFO, "gc.done", "{s:I}", "removed_layers", (json_int_t)removed);
  return 0;
}

/* Parses the command's own options and checks its argument count. */
static int parse_command(const char *command, int argc, char **argv, int start, create_options *o,
                         int *next, int *expected, cf_err **err)
{
  cf_flag create_flags[] = {
      {"disk-limit-size-bytes", CF_FLAG_INT, &o->disk_limit},
      {"exclude-image-from-quota", CF_FLAG_BOOL, &o->exclude_image},
      {"username", CF_FLAG_STRING, &o->username},
      {"password", CF_FLAG_STRING, &o->password},
      {"uid-mapping", CF_FLAG_STRINGS, &o->uid_mappings},
      {"gid-mapping", CF_FLAG_STRINGS, &o->gid_mappings},
  };
  int flag_count = 0;
  cf_flag *flags = create_flags;
  if (strcmp(command, "create") == 0) {
    flag_count = 6;
    *expected = 2;
  } else if (strcmp(command, "pull") == 0) {
    flags = create_flags + 2;
    flag_count = 4;
    *expected = 1;
  } else if (strcmp(command, "delete") == 0 || strcmp(command, "stats") == 0) {
    *expected = 1;
  } else {
    *expected = 0;
  }
  if (cf_flags_parse(flags, flag_count, argc, argv, start, next, err) < 0) {
    return -1;
  }
  return check_arg_count(argc - *next, *expected, err);
}

static int run_command(groot *g, const char *command, const create_options *o, char **args,
                       cf_err **err)
{
  if (strcmp(command, "create") == 0) {
    return run_create(g, o, args, err);
  }
  if (strcmp(command, "pull") == 0) {
    return run_pull(g, args, err);
  }
  if (strcmp(command, "delete") == 0) {
    return run_delete(g, args[0], err);
  }
  if (strcmp(command, "stats") == 0) {
    return run_stats(g, args[0], err);
  }
  if (strcmp(command, "capacity") == 0) {
    return run_capacity(g, err);
  }
  if (strcmp(command, "list") == 0) {
    return run_list(g, err);
  }
  return run_gc(g, err);
}

static bool known_command(const char *command)
{
  static const char *const commands[] = {"create",   "pull", "delete", "stats",
                                         "capacity", "list", "gc"};
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(command, commands[i]) == 0) {
      return true;
    }
  }
  return false;
}

/* Reads the config file and the global options; the flag overrides the
 * config's log level. */
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

static int fail(cf_err *err)
{
  cf_cli_image_use_groot_hint(err);
  cf_log_error("failed", err, NULL);
  printf("%s\n", err->message);
  cf_err_free(err);
  return 1;
}

/* Adds each "CONTAINER:HOST:SIZE" value to map; errors name the value. */
static int add_mappings(const char *kind, const cf_flag_strings *values, cf_id_map *map,
                        cf_err **err)
{
  for (size_t i = 0; i < values->count; i++) {
    cf_id_range range;
    if (cf_id_range_parse(kind, values->values[i], &range, err) < 0 ||
        cf_id_map_add(map, kind, &range, err) < 0) {
      return -1;
    }
  }
  return 0;
}

/* Builds the id mapping from the options before and after the command. */
static int parse_id_mapping(const global_options *global, const create_options *command,
                            cf_id_mapping *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  if (add_mappings("uid", &global->uid_mappings, &out->uids, err) < 0 ||
      add_mappings("uid", &command->uid_mappings, &out->uids, err) < 0 ||
      add_mappings("gid", &global->gid_mappings, &out->gids, err) < 0 ||
      add_mappings("gid", &command->gid_mappings, &out->gids, err) < 0) {
    return -1;
  }
  return cf_id_mapping_validate(out, err);
}

/* Config values are positive int64s; the pull options take unsigned ints. */
static unsigned clamp_unsigned(int64_t value)
{
  return value > (int64_t)UINT_MAX ? UINT_MAX : (unsigned)value;
}

/* Runs a known command after the global options. */
static int run_groot(const global_options *o, const char *command, int argc, char **argv, int next)
{
  cf_err *err = NULL;
  cf_image_config config = {0};
  if (setup(o, &config, &err) < 0) {
    cf_image_config_clear(&config);
    return fail(err);
  }
  create_options co = {0};
  int expected = 0;
  groot g = {0};
  cf_id_mapping mapping = {0};
  int rc = parse_command(command, argc, argv, next + 1, &co, &next, &expected, &err);
  if (rc == 0) {
    rc = parse_id_mapping(o, &co, &mapping, &err);
  }
  cf_autofree char *store =
      absolute_store(o->driver_store != NULL ? o->driver_store : DEFAULT_DRIVER_STORE);
  bool run = rc == 0;
  if (run && read_only_command(command)) {
    int exists = check_store_exists(store, command, &err);
    rc = exists < 0 ? -1 : 0;
    run = exists == 1;
  }
  if (run) {
    rc = open_groot(store, &g, &err);
  }
  if (run && rc == 0) {
    g.pull.username = co.username;
    g.pull.password = co.password;
    g.pull.insecure_registries = (const char *const *)config.insecure_registries;
    g.pull.insecure_registry_count = config.insecure_registry_count;
    g.pull.max_layer_bytes = config.max_layer_bytes;
    g.pull.max_image_bytes = config.max_image_bytes;
    g.pull.max_layer_entries = config.max_layer_entries;
    g.pull.max_layers = clamp_unsigned(config.max_layers);
    g.pull.stall_timeout_s = clamp_unsigned(config.stall_timeout_s);
    g.pull.request_timeout_s = clamp_unsigned(config.request_timeout_s);
    g.pull.pull_timeout_s = clamp_unsigned(config.pull_timeout_s);
    g.pull.id_mapping = mapping;
    rc = run_command(&g, command, &co, argv + next, &err);
  }
  close_groot(&g);
  cf_image_config_clear(&config);
  cf_flag_strings_clear(&co.uid_mappings);
  cf_flag_strings_clear(&co.gid_mappings);
  return rc < 0 ? fail(err) : 0;
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
      {"store", CF_FLAG_IGNORED, NULL}, /* groot keeps it for older Guardians */
      {"help", CF_FLAG_BOOL, &o.help},
      {"h", CF_FLAG_BOOL, &o.help},
  };
  cf_err *err = NULL;
  int next = 0;
  cf_log_configure(STDERR_FILENO, CF_LOG_INFO, CF_LOG_TIME_RFC3339, "groot");
  if (cf_flags_parse(flags, (int)(sizeof(flags) / sizeof(flags[0])), argc, argv, start, &next,
                     &err) < 0) {
    return fail(err);
  }
  if (o.help || next >= argc) {
    print_usage(stdout);
    return 0;
  }
  const char *command = argv[next];
  if (strcmp(command, "help") == 0) {
    /* urfave/cli, groot's option library, prints the usage for `help`. */
    print_usage(stdout);
    return 0;
  }
  if (!known_command(command)) {
    fprintf(stderr, "No help topic for '%s'\n", command);
    return 3;
  }
  int rc = run_groot(&o, command, argc, argv, next);
  cf_flag_strings_clear(&o.uid_mappings);
  cf_flag_strings_clear(&o.gid_mappings);
  return rc;
}
