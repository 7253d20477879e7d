/* SPDX-License-Identifier: Apache-2.0 */
/* The security plan: defaults, the OCI config, and the order of the steps. */
#include "runtime/linux/security.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/mem.h"

/* runc's defaults: /proc and /sys entries that expose host kernel state or
 * let root change it. */
static const char *const default_masked[] = {
    "/proc/acpi",        "/proc/kcore",
    "/proc/keys",        "/proc/latency_stats",
    "/proc/timer_list",  "/proc/timer_stats",
    "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware",     "/sys/devices/virtual/powercap",
};

static const char *const default_readonly[] = {
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static char **copy_strv(const char *const *strv, size_t count)
{
  char **copy = cf_xcalloc(count, sizeof(char *));
  for (size_t i = 0; i < count; i++) {
    copy[i] = cf_xstrdup(strv[i]);
  }
  return copy;
}

static int kernel_cap_last(void)
{
  int bits = (int)cap_max_bits();
  return bits > 0 && bits <= 64 ? bits - 1 : CAP_LAST_CAP;
}

int cf_sec_plan_default(bool privileged, cf_sec_plan *plan, cf_err **err)
{
  *plan = (cf_sec_plan){.privileged = privileged, .cap_last = kernel_cap_last()};
  if (privileged) {
    plan->keep_caps = true;
    return 0;
  }
  plan->no_new_privs = true;
  cf_sec_caps_default(&plan->caps);
  if (cf_sec_seccomp_default(&plan->seccomp, err) < 0) {
    return -1;
  }
  size_t masked = sizeof(default_masked) / sizeof(default_masked[0]);
  size_t readonly = sizeof(default_readonly) / sizeof(default_readonly[0]);
  plan->masked_paths = copy_strv(default_masked, masked);
  plan->masked_count = masked;
  plan->readonly_paths = copy_strv(default_readonly, readonly);
  plan->readonly_count = readonly;
  return 0;
}

void cf_sec_plan_free(cf_sec_plan *plan)
{
  free(plan->seccomp.filter);
  free(plan->rlimits);
  cf_strv_free(plan->masked_paths, plan->masked_count);
  cf_strv_free(plan->readonly_paths, plan->readonly_count);
  *plan = (cf_sec_plan){0};
}

/* Capabilities the running kernel does not know are left out, as runc
 * does, so a spec written for a newer kernel still runs. */
static void mask_unknown_caps(cf_sec_plan *plan)
{
  uint64_t known = plan->cap_last >= 63 ? UINT64_MAX : (UINT64_C(1) << (plan->cap_last + 1)) - 1;
  cf_sec_caps *caps = &plan->caps;
  caps->bounding &= known;
  caps->effective &= known;
  caps->permitted &= known;
  caps->inheritable &= known;
  caps->ambient &= known;
}

static int read_process(const json_t *process, cf_sec_plan *plan, cf_err **err)
{
  if (process == NULL) {
    return 0;
  }
  const json_t *nnp = json_object_get(process, "noNewPrivileges");
  if (nnp != NULL) {
    if (!json_is_boolean(nnp)) {
      return cf_err_set(err, CF_E_INVALID, "process.noNewPrivileges must be true or false");
    }
    plan->no_new_privs = json_is_true(nnp);
  }
  const json_t *caps = json_object_get(process, "capabilities");
  if (caps != NULL) {
    if (cf_sec_caps_from_oci(caps, &plan->caps, err) < 0) {
      return -1;
    }
    plan->keep_caps = false;
    mask_unknown_caps(plan);
  }
  const json_t *rlimits = json_object_get(process, "rlimits");
  if (rlimits != NULL) {
    return cf_sec_rlimits_from_oci(rlimits, &plan->rlimits, &plan->rlimit_count, err);
  }
  return 0;
}

static int read_paths(const json_t *linux_obj, const char *key, char ***paths, size_t *count,
                      cf_err **err)
{
  const json_t *value = json_object_get(linux_obj, key);
  if (value == NULL) {
    return 0;
  }
  char field[32];
  snprintf(field, sizeof(field), "linux.%s", key);
  cf_strv_free(*paths, *count);
  *paths = NULL;
  *count = 0;
  return cf_sec_paths_from_oci(value, field, paths, count, err);
}

static int read_linux(const json_t *linux_obj, cf_sec_plan *plan, cf_err **err)
{
  if (linux_obj == NULL) {
    return 0;
  }
  const json_t *seccomp = json_object_get(linux_obj, "seccomp");
  if (seccomp != NULL) {
    free(plan->seccomp.filter);
    plan->seccomp = (struct sock_fprog){0};
    if (cf_sec_seccomp_from_oci(seccomp, &plan->seccomp, err) < 0) {
      return cf_err_wrap(err, "linux.seccomp");
    }
  }
  if (read_paths(linux_obj, "maskedPaths", &plan->masked_paths, &plan->masked_count, err) < 0) {
    return -1;
  }
  return read_paths(linux_obj, "readonlyPaths", &plan->readonly_paths, &plan->readonly_count, err);
}

int cf_sec_plan_from_oci(const json_t *config, bool privileged, cf_sec_plan *plan, cf_err **err)
{
  if (!json_is_object(config)) {
    return cf_err_set(err, CF_E_INVALID, "OCI config must be a JSON object");
  }
  if (cf_sec_plan_default(privileged, plan, err) < 0) {
    return -1;
  }
  if (read_process(json_object_get(config, "process"), plan, err) < 0 ||
      read_linux(json_object_get(config, "linux"), plan, err) < 0) {
    cf_sec_plan_free(plan);
    return -1;
  }
  return 0;
}

int cf_sec_exe_is_runtime(pid_t pid, bool *same, cf_err **err)
{
  struct stat self;
  struct stat other;
  char path[64];
  if (stat("/proc/self/exe", &self) < 0) {
    return cf_err_sys(err, errno, "stat /proc/self/exe");
  }
  snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
  if (stat(path, &other) < 0) {
    return cf_err_sys(err, errno, "stat %s", path);
  }
  *same = self.st_dev == other.st_dev && self.st_ino == other.st_ino;
  return 0;
}

/* ---- child side ---- */

int cf_sec_apply_not_dumpable(cf_sec_fault *fault)
{
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    *fault = (cf_sec_fault){"mark the process not dumpable", ""};
    return -1;
  }
  return 0;
}

int cf_sec_apply_no_new_privs(const cf_sec_plan *plan, cf_sec_fault *fault)
{
  if (plan->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    *fault = (cf_sec_fault){"set no_new_privs", ""};
    return -1;
  }
  return 0;
}

int cf_sec_apply_seccomp(const cf_sec_plan *plan, cf_sec_fault *fault)
{
  if (plan->seccomp.len == 0) {
    return 0;
  }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &plan->seccomp) < 0) {
    *fault = (cf_sec_fault){"load the seccomp filter", ""};
    return -1;
  }
  return 0;
}

int cf_sec_apply_before_user_switch(const cf_sec_plan *plan, cf_sec_fault *fault)
{
  if (cf_sec_apply_rlimits(plan, fault) < 0 || cf_sec_apply_bounding(plan, fault) < 0) {
    return -1;
  }
  if (!plan->no_new_privs) {
    return cf_sec_apply_seccomp(plan, fault);
  }
  return 0;
}

int cf_sec_apply_after_user_switch(const cf_sec_plan *plan, cf_sec_fault *fault)
{
  if (cf_sec_apply_caps(plan, fault) < 0 || cf_sec_apply_no_new_privs(plan, fault) < 0) {
    return -1;
  }
  if (plan->no_new_privs) {
    return cf_sec_apply_seccomp(plan, fault);
  }
  return 0;
}
