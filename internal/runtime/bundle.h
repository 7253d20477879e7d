/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI bundles and process specs: loading config.json and process.json,
 * validating them with winc's messages (runtime-tools wording for the
 * mandatory fields and the platform), and the parsed form the runtime role
 * uses. Platform-neutral: the platform is a parameter, so Windows bundles
 * are checked with winc's windows messages on any host.
 */
#ifndef CFWIN_RUNTIME_BUNDLE_H
#define CFWIN_RUNTIME_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* The runtime-spec version `state` reports. */
#define CF_OCI_RUNTIME_VERSION "1.2.1"

enum cf_bundle_platform {
  CF_BUNDLE_LINUX,
  CF_BUNDLE_WINDOWS,
};

typedef struct cf_bundle_mount {
  char *destination;
  char *type;   /* NULL when missing */
  char *source; /* NULL when missing */
  char **options;
  size_t option_count;
} cf_bundle_mount;

typedef struct cf_bundle_namespace {
  char *type; /* "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time" */
  char *path; /* NULL: a new namespace */
} cf_bundle_namespace;

typedef struct cf_bundle_process {
  bool terminal;
  unsigned console_height; /* consoleSize, 0 when missing */
  unsigned console_width;
  char **args;
  size_t arg_count;
  char **env;
  size_t env_count;
  char *cwd;
  bool has_ids; /* user.uid and user.gid were given */
  uint32_t uid;
  uint32_t gid;
  char *username; /* user.username (Windows), or NULL */
} cf_bundle_process;

typedef struct cf_bundle {
  char *dir; /* absolute, cleaned bundle directory */
  char *oci_version;
  char *root_path; /* absolute: a relative root.path is joined onto dir */
  bool root_readonly;
  char *hostname; /* NULL when missing */
  bool has_process;
  cf_bundle_process process;
  cf_bundle_mount *mounts;
  size_t mount_count;
  bool has_linux;
  cf_bundle_namespace *namespaces;
  size_t namespace_count;
  char **layer_folders; /* windows.layerFolders, top first */
  size_t layer_folder_count;
  char *network_shared_container; /* windows.network.networkSharedContainerName */
  char *network_namespace;        /* windows.network.networkNamespace (an HCN GUID) */
  uint64_t memory_limit;          /* windows.resources.memory.limit in bytes, 0 when missing */
  uint16_t cpu_shares;            /* windows.resources.cpu.shares, 0 when missing */
} cf_bundle;

/* Loads and validates <bundle_dir>/config.json for container id. bundle_dir
 * NULL or "" means the working directory; it is made absolute and cleaned,
 * so a trailing slash is fine. Errors, in winc's order and wording:
 *   container id does not match bundle directory name: ID
 *   bundle does not exist: P
 *   bundle config.json does not exist: P
 *   bundle config.json not encoded in UTF-8: P
 *   bundle config.json contains invalid JSON: P: DETAIL
 *   bundle config.json is invalid: P:\n\tMSG...  (cf_bundle_check)
 *   process config is invalid:\n\tMSG...           (cf_process_check)
 * On success the caller frees *out with cf_bundle_clear(). */
int cf_bundle_load(const char *id, const char *bundle_dir, enum cf_bundle_platform platform,
                   cf_bundle *out, cf_err **err);

/* Parses the text of a config.json into *out without reading files; dir is
 * the bundle directory for messages and relative root paths. Same errors as
 * cf_bundle_load() from the UTF-8 check on. */
int cf_bundle_parse(const char *dir, const char *text, size_t len, enum cf_bundle_platform platform,
                    cf_bundle *out, cf_err **err);

void cf_bundle_clear(cf_bundle *bundle);

/* Loads a process.json (exec -p). Errors:
 *   process config does not exist: F
 *   process config is not encoded in UTF-8: F
 *   process config contains invalid JSON: F: DETAIL
 * The spec is not validated here: apply the exec overrides first, then call
 * cf_process_check(). The caller frees *out with cf_bundle_process_clear(). */
int cf_process_load(const char *path, cf_bundle_process *out, cf_err **err);

/* Checks the process rules: args not empty, cwd absolute, env entries
 * K=V. Fails with "process config is invalid:" and one "\n\t" line per
 * broken rule. */
int cf_process_check(const cf_bundle_process *process, enum cf_bundle_platform platform,
                     cf_err **err);

void cf_bundle_process_clear(cf_bundle_process *process);

/* Finds the value of "name=" in an option list such as an overlay mount's,
 * or NULL. */
const char *cf_bundle_option_value(const cf_bundle_mount *mount, const char *name);

#endif
