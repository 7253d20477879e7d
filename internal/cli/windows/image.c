/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image role in cfwin.exe, groot-windows-compatible, on the Windows
 * image storage backend (image/windows, vmcompute.dll). `delete`, `stats`
 * and `capacity` are implemented. `create` and `pull` open the store, so a
 * host without the Containers feature gets the vmcompute.dll error, and then
 * fail because the registry and OCI layout readers are not built into
 * cfwin.exe yet. Exit status: 0, 1 for a failed command (message on stdout,
 * as on Linux), 3 for an unknown command.
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "cli/cli_internal.h"
#include "cli/flags.h"
#include "image/storage.h"
#include "image/windows/win.h"
#include "image/winimage.h"

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
  fprintf(out, "usage: groot --driver-store DIR [--log-level LEVEL] COMMAND ...\n"
               "\n"
               "Image plugin for Guardian, groot-windows-compatible (cfwin.exe).\n"
               "\n"
               "Commands:\n"
               "  create [--disk-limit-size-bytes N] [--exclude-image-from-quota]\n"
               "         [--username U --password P] IMAGE-URI HANDLE\n"
               "                      not supported by cfwin.exe yet\n"
               "  pull [--username U --password P] IMAGE-URI\n"
               "                      not supported by cfwin.exe yet\n"
               "  delete HANDLE       remove a volume (an unknown handle succeeds)\n"
               "  stats HANDLE        print the volume's disk use\n"
               "  capacity            print the size in bytes of the store's volume\n"
               "  help                print this usage\n"
               "\n"
               "--driver-store is required; a path without a drive letter is taken on C:.\n"
               "The commands need the Containers feature (vmcompute.dll).\n");
}

static int fail(cf_err *err)
{
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

static int run_stats(cf_storage *storage, const char *handle, cf_err **err)
{
  cf_storage_usage usage;
  if (cf_storage_volume_usage(storage, handle, &usage, err) < 0) {
    return -1;
  }
  // NOTE: groot-windows adds the sizes of the image's layers to
  // total_bytes_used; this build reports only the writable layer.
  printf("{\"disk_usage\":{\"total_bytes_used\":%llu,\"exclusive_bytes_used\":%llu}}\n",
         (unsigned long long)usage.used_bytes, (unsigned long long)usage.used_bytes);
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

/* Parses create's and pull's options, so a bad option gets the same error
 * as on Linux before the command is rejected. */
static int parse_pull_options(int argc, char **argv, int start, int *next, cf_err **err)
{
  long long disk_limit = 0;
  bool exclude_image = false;
  const char *username = NULL;
  const char *password = NULL;
  cf_flag flags[] = {
      {"disk-limit-size-bytes", CF_FLAG_INT, &disk_limit},
      {"exclude-image-from-quota", CF_FLAG_BOOL, &exclude_image},
      {"username", CF_FLAG_STRING, &username},
      {"password", CF_FLAG_STRING, &password},
  };
  return cf_flags_parse(flags, (int)(sizeof(flags) / sizeof(flags[0])), argc, argv, start, next,
                        err);
}

static int run_pull_command(cf_storage *storage, const char *command, cf_err **err)
{
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "%s: not supported on Windows by cfwin.exe yet, because its registry and OCI "
                    "layout readers are not built for Windows; use groot.exe for this command",
                    command);
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

/* Checks the command's arguments, opens the store and runs the command. */
static int run_command(const global_options *o, const char *command, int argc, char **argv,
                       int next, cf_err **err)
{
  bool pulls = strcmp(command, "create") == 0 || strcmp(command, "pull") == 0;
  int args = next + 1;
  if (pulls && parse_pull_options(argc, argv, next + 1, &args, err) < 0) {
    return -1;
  }
  int expected = strcmp(command, "create") == 0 ? 2 : strcmp(command, "capacity") == 0 ? 0 : 1;
  if (check_arg_count(command, argc - args, expected, err) < 0 ||
      cf_cli_image_configure_logging(o->log_level, err) < 0) {
    return -1;
  }
  if (o->config_path != NULL) {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "%s: --config is not supported by cfwin.exe on Windows yet; pass "
                      "--driver-store and --log-level instead",
                      command);
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
  int rc;
  if (pulls) {
    rc = run_pull_command(storage, command, err);
  } else if (strcmp(command, "delete") == 0) {
    rc = run_delete(storage, argv[args], err);
  } else {
    rc = run_stats(storage, argv[args], err);
  }
  cf_storage_close(storage);
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
  int rc = cf_flags_parse(flags, (int)(sizeof(flags) / sizeof(flags[0])), argc, argv, start, &next,
                          &err);
  if (rc < 0) {
    rc = fail(err);
  } else if (o.help || next >= argc || strcmp(argv[next], "help") == 0) {
    print_usage(stdout);
  } else if (!known_command(argv[next])) {
    fprintf(stderr, "No help topic for '%s'\n", argv[next]);
    rc = 3;
  } else if (run_command(&o, argv[next], argc, argv, next, &err) < 0) {
    rc = fail(err);
  }
  cf_flag_strings_clear(&o.uid_mappings);
  cf_flag_strings_clear(&o.gid_mappings);
  return rc;
}
