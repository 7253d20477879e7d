/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Capability sets: parsed with libcap in the parent, applied in the child
 * with prctl() and the raw capset system call, which need no allocation.
 */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/linux/security.h"

#define CAP_BIT(cap) (UINT64_C(1) << (cap))

/* runc's default spec (and Docker's default): enough to run a package
 * manager or a service as root inside the container, nothing that reaches
 * the host kernel's global state. */
static const int default_caps[] = {
    CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
    CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
    CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
    CAP_KILL,    CAP_AUDIT_WRITE,
};

void cf_sec_caps_default(cf_sec_caps *caps)
{
  uint64_t set = 0;
  for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++) {
    set |= CAP_BIT(default_caps[i]);
  }
  /* The inheritable set stays empty, so a program run by a non-root user
   * cannot regain capabilities through file capabilities (CVE-2022-29162). */
  *caps = (cf_sec_caps){.bounding = set, .effective = set, .permitted = set};
}

void cf_sec_plan_limit_privileged_user(cf_sec_plan *plan)
{
  if (!plan->privileged || !plan->keep_caps) {
    return;
  }
  cf_sec_caps defaults;
  cf_sec_caps_default(&defaults);
  uint64_t known = plan->cap_last >= 63 ? UINT64_MAX : (UINT64_C(1) << (plan->cap_last + 1)) - 1;
  plan->keep_caps = false;
  plan->caps = (cf_sec_caps){.bounding = (defaults.bounding | CAP_BIT(CAP_SYS_ADMIN)) & known};
}

int cf_sec_cap_from_name(const char *name, int *value, cf_err **err)
{
  cap_value_t cap;
  /* libcap also takes numbers and lower case; OCI names are "CAP_" and
   * upper case only. */
  bool upper = strncmp(name, "CAP_", 4) == 0 && name[4] != '\0';
  for (const char *p = name; upper && *p != '\0'; p++) {
    upper = (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
  }
  if (!upper || cap_from_name(name, &cap) < 0 || cap < 0 || cap > 63) {
    return cf_err_set(err, CF_E_INVALID,
                      "unknown capability %s: use a name such as CAP_CHOWN from capabilities(7)",
                      name);
  }
  *value = cap;
  return 0;
}

static int parse_set(const json_t *caps, const char *key, uint64_t *out, cf_err **err)
{
  const json_t *names = json_object_get(caps, key);
  *out = 0;
  if (names == NULL || json_is_null(names)) {
    return 0;
  }
  if (!json_is_array(names)) {
    return cf_err_set(err, CF_E_INVALID, "process.capabilities.%s must be an array of names", key);
  }
  size_t i;
  json_t *name;
  json_array_foreach(names, i, name)
  {
    int cap;
    if (!json_is_string(name)) {
      return cf_err_set(err, CF_E_INVALID, "process.capabilities.%s entry %zu is not a string", key,
                        i);
    }
    if (cf_sec_cap_from_name(json_string_value(name), &cap, err) < 0) {
      return cf_err_wrap(err, "process.capabilities.%s", key);
    }
    *out |= CAP_BIT(cap);
  }
  return 0;
}

int cf_sec_caps_from_oci(const json_t *caps, cf_sec_caps *out, cf_err **err)
{
  if (!json_is_object(caps)) {
    return cf_err_set(err, CF_E_INVALID, "process.capabilities must be an object");
  }
  if (parse_set(caps, "bounding", &out->bounding, err) < 0 ||
      parse_set(caps, "effective", &out->effective, err) < 0 ||
      parse_set(caps, "permitted", &out->permitted, err) < 0 ||
      parse_set(caps, "inheritable", &out->inheritable, err) < 0 ||
      parse_set(caps, "ambient", &out->ambient, err) < 0) {
    return -1;
  }
  /* The kernel refuses these at capset() time in the child; a parent-side
   * check gives the caller a message that names the sets. */
  if ((out->effective & ~out->permitted) != 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "process.capabilities.effective has capabilities not in permitted");
  }
  /* The kernel raises an ambient capability only when it is permitted and
   * inheritable. `runc spec` writes ambient capabilities with no inheritable
   * set, and runc starts such bundles without them, so they are dropped here
   * too rather than rejected. */
  out->ambient &= out->permitted & out->inheritable;
  return 0;
}

/* ---- child side ---- */

int cf_sec_apply_bounding(const cf_sec_plan *plan, cf_sec_fault *fault)
{
  if (plan->keep_caps) {
    return 0;
  }
  for (int cap = 0; cap <= plan->cap_last; cap++) {
    if ((plan->caps.bounding & CAP_BIT(cap)) == 0 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      *fault = (cf_sec_fault){"drop capability from the bounding set", ""};
      return -1;
    }
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
    *fault = (cf_sec_fault){"keep capabilities across the user switch", ""};
    return -1;
  }
  return 0;
}

static int set_ambient(const cf_sec_plan *plan, cf_sec_fault *fault)
{
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    *fault = (cf_sec_fault){"clear the ambient capabilities", ""};
    return -1;
  }
  for (int cap = 0; cap <= plan->cap_last; cap++) {
    if ((plan->caps.ambient & CAP_BIT(cap)) != 0 &&
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
      *fault = (cf_sec_fault){"raise an ambient capability", ""};
      return -1;
    }
  }
  return 0;
}

int cf_sec_apply_caps(const cf_sec_plan *plan, cf_sec_fault *fault)
{
  if (plan->keep_caps) {
    return 0;
  }
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  const cf_sec_caps *caps = &plan->caps;
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(caps->effective >> (32 * i));
    data[i].permitted = (uint32_t)(caps->permitted >> (32 * i));
    data[i].inheritable = (uint32_t)(caps->inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) < 0) {
    *fault = (cf_sec_fault){"set capabilities", ""};
    return -1;
  }
  return set_ambient(plan, fault);
}
