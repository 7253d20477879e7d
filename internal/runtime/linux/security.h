/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process hardening for containers: a seccomp filter, a reduced capability
 * set, no_new_privs, rlimits, and masked and read-only paths.
 *
 * Each feature comes in two halves. The prepare half runs in the parent:
 * it parses the OCI config, validates it, allocates, and builds everything
 * the child needs, such as the seccomp BPF program. The apply half runs in a
 * child cloned from the multi-threaded server, so it only makes system calls
 * on memory of the prepared plan and never allocates. docs/security.md lists
 * the defaults and the reasons for them.
 */
#ifndef CFWIN_RUNTIME_LINUX_SECURITY_H
#define CFWIN_RUNTIME_LINUX_SECURITY_H

#include <jansson.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "base/err.h"

/* Capability sets as bit masks, bit n for capability n. */
typedef struct cf_sec_caps {
  uint64_t bounding;
  uint64_t effective;
  uint64_t permitted;
  uint64_t inheritable;
  uint64_t ambient;
} cf_sec_caps;

typedef struct cf_sec_rlimit {
  int resource;     /* RLIMIT_* */
  const char *name; /* its OCI name, "RLIMIT_NOFILE"; static storage */
  struct rlimit limit;
} cf_sec_rlimit;

/* What the apply functions enforce; built by cf_sec_plan_default() or
 * cf_sec_plan_from_oci() and released with cf_sec_plan_free(). */
typedef struct cf_sec_plan {
  bool privileged;
  bool no_new_privs;
  struct sock_fprog seccomp; /* len 0: no filter */
  bool keep_caps;            /* true: leave the inherited capabilities alone */
  cf_sec_caps caps;
  int cap_last; /* highest capability number the running kernel supports */
  cf_sec_rlimit *rlimits;
  size_t rlimit_count;
  char **masked_paths; /* absolute paths inside the container */
  size_t masked_count;
  char **readonly_paths;
  size_t readonly_count;
} cf_sec_plan;

/* The step of a child-side function that failed, for the caller's report:
 * step is a static string, value points into the plan or is "". errno contains the cause when the
 * function returns -1. */
typedef struct cf_sec_fault {
  const char *step;
  const char *value;
} cf_sec_fault;

/* ---- parent side: prepare (allocates, returns cf_err) ---- */

/* Fills plan with the defaults. An unprivileged container gets the default
 * seccomp filter, the default capability set, no_new_privs and the default
 * masked and read-only paths. A privileged container keeps every
 * capability and gets no seccomp filter, and its /proc and /sys are left
 * unmasked and writable. */
int cf_sec_plan_default(bool privileged, cf_sec_plan *plan, cf_err **err);

/* Fills plan from an OCI runtime config (the whole config.json object):
 * process.capabilities, process.rlimits, process.noNewPrivileges,
 * linux.seccomp, linux.maskedPaths and linux.readonlyPaths. A section the
 * config does not have takes its value from cf_sec_plan_default(). */
int cf_sec_plan_from_oci(const json_t *config, bool privileged, cf_sec_plan *plan, cf_err **err);

void cf_sec_plan_free(cf_sec_plan *plan);

/* The default seccomp filter as a BPF program; free out->filter. */
int cf_sec_seccomp_default(struct sock_fprog *out, cf_err **err);

/* A seccomp filter from an OCI linux.seccomp object; free out->filter. */
int cf_sec_seccomp_from_oci(const json_t *seccomp, struct sock_fprog *out, cf_err **err);

/* The capability sets of runc's default spec. */
void cf_sec_caps_default(cf_sec_caps *caps);

/* Narrows the plan of a non-root process in a privileged container, which
 * otherwise keeps the server's capabilities. Its bounding set becomes the
 * default set plus CAP_SYS_ADMIN and its other sets become empty, which is
 * CapBnd a82425fb in garden-integration-tests' security_test.go. Changes
 * nothing when the plan is unprivileged or its capabilities come from an
 * OCI config. */
void cf_sec_plan_limit_privileged_user(cf_sec_plan *plan);

/* Parses an OCI capability name such as "CAP_CHOWN". */
int cf_sec_cap_from_name(const char *name, int *value, cf_err **err);

/* Parses an OCI process.capabilities object; a missing set is empty. */
int cf_sec_caps_from_oci(const json_t *caps, cf_sec_caps *out, cf_err **err);

/* Parses an OCI process.rlimits array into *out (caller frees). Each hard
 * limit must be at most the caller's own hard limit unless the caller has
 * CAP_SYS_RESOURCE, because the child could not raise it either. */
int cf_sec_rlimits_from_oci(const json_t *rlimits, cf_sec_rlimit **out, size_t *count,
                            cf_err **err);

/* Parses a JSON array of absolute paths, such as linux.maskedPaths, into a
 * string vector (free with cf_strv_free()). field names it in errors. */
int cf_sec_paths_from_oci(const json_t *paths, const char *field, char ***out, size_t *count,
                          cf_err **err);

/* Sets *same to whether /proc/<pid>/exe is the binary of the calling
 * process (same device and inode). A process in a container must not be
 * able to reach the runtime binary this way. */
int cf_sec_exe_is_runtime(pid_t pid, bool *same, cf_err **err);

/* ---- child side: apply (system calls only; return 0, or -1 with errno
 * set and *fault filled) ---- */

/* Marks the process not dumpable, so no process of the container can open
 * its /proc/<pid>/exe, mem or fds while it is still a copy of the runtime.
 * execve() resets this for the user's program. */
int cf_sec_apply_not_dumpable(cf_sec_fault *fault);

/* Masks and makes read-only the plan's paths, resolved in the current root:
 * /dev/null is bind-mounted over masked files, an empty read-only tmpfs
 * over masked directories, and read-only paths are bind-mounted onto
 * themselves and remounted read-only. Missing paths are skipped. Runs after
 * pivot_root, with /proc, /sys and /dev/null mounted. */
int cf_sec_apply_paths(const cf_sec_plan *plan, cf_sec_fault *fault);

int cf_sec_apply_rlimits(const cf_sec_plan *plan, cf_sec_fault *fault);

/* Drops the capabilities outside the bounding set and sets PR_SET_KEEPCAPS,
 * so a later setresuid() to a non-root user keeps the permitted set. Runs
 * before the user switch, while the process still has CAP_SETPCAP. */
int cf_sec_apply_bounding(const cf_sec_plan *plan, cf_sec_fault *fault);

/* Sets the effective, permitted, inheritable and ambient sets with capset()
 * and PR_CAP_AMBIENT. Runs after the user switch. */
int cf_sec_apply_caps(const cf_sec_plan *plan, cf_sec_fault *fault);

int cf_sec_apply_no_new_privs(const cf_sec_plan *plan, cf_sec_fault *fault);

/* Loads the plan's seccomp filter. Without no_new_privs the kernel requires
 * CAP_SYS_ADMIN, so then it must run before the capabilities are dropped. */
int cf_sec_apply_seccomp(const cf_sec_plan *plan, cf_sec_fault *fault);

/* The process-level steps in their required order, around the caller's
 * setgroups/setresgid/setresuid: rlimits, bounding set and, without
 * no_new_privs, seccomp come before the user switch ... */
int cf_sec_apply_before_user_switch(const cf_sec_plan *plan, cf_sec_fault *fault);

/* ... and capabilities, no_new_privs and, with it, seccomp after it, right
 * before execve(). */
int cf_sec_apply_after_user_switch(const cf_sec_plan *plan, cf_sec_fault *fault);

#endif
