/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seccomp filters, built with libseccomp in the parent and exported as a
 * classic BPF program, so the child only has to pass a pointer to seccomp(2).
 * docs/security.md explains each entry of the default profile.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/linux/security.h"

/* System calls the default profile fails with EPERM. Names this libseccomp
 * does not know are skipped; names that exist on only some architectures
 * are added where they exist. */
static const char *const denied_syscalls[] = {
    /* Loading and removing kernel code. */
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "query_module",
    "get_kernel_syms",
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "uselib",
    /* Whole-machine state: power, swap, clocks, accounting, quotas. */
    "reboot",
    "swapon",
    "swapoff",
    "settimeofday",
    "stime",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "acct",
    "quotactl",
    "quotactl_fd",
    "nfsservctl",
    "_sysctl",
    "syslog",
    "vhangup",
    /* The kernel keyring is not namespaced. */
    "add_key",
    "request_key",
    "keyctl",
    /* Large kernel attack surface with a history of exploits. */
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "lookup_dcookie",
    "sysfs",
    "ustat",
    "vm86",
    "vm86old",
    "iopl",
    "ioperm",
    /* Opens any file of a filesystem by handle, bypassing path checks. */
    "open_by_handle_at",
    /* Mounts and namespace changes: the container's tree is fixed. */
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "setns",
    /* Fanotify watches whole mounts. */
    "fanotify_init",
};

/* Personality flags that weaken memory protection: no ASLR, executable
 * data, a mappable page zero. */
static const unsigned long denied_personality_flags[] = {
    ADDR_NO_RANDOMIZE,
    READ_IMPLIES_EXEC,
    MMAP_PAGE_ZERO,
};

/* Architectures a filter accepts besides the native one. Any other
 * architecture kills the process, so a foreign calling convention cannot
 * slip past the rules. */
static const uint32_t extra_arches[] = {SCMP_ARCH_X86, SCMP_ARCH_X32};

static void release_ctx(scmp_filter_ctx *ctx)
{
  if (*ctx != NULL) {
    seccomp_release(*ctx);
  }
}

#define cf_autoseccomp __attribute__((cleanup(release_ctx)))

static int fail_rule(int rc, const char *name, cf_err **err)
{
  return cf_err_sys(err, -rc, "add seccomp rule for %s", name);
}

static int add_arches(scmp_filter_ctx ctx, const uint32_t *arches, size_t count, cf_err **err)
{
  for (size_t i = 0; i < count; i++) {
    int rc = seccomp_arch_add(ctx, arches[i]);
    if (rc < 0 && rc != -EEXIST) {
      return cf_err_sys(err, -rc, "add seccomp architecture %#x", arches[i]);
    }
  }
  return 0;
}

static int deny_syscalls(scmp_filter_ctx ctx, cf_err **err)
{
  for (size_t i = 0; i < sizeof(denied_syscalls) / sizeof(denied_syscalls[0]); i++) {
    int nr = seccomp_syscall_resolve_name(denied_syscalls[i]);
    if (nr == __NR_SCMP_ERROR) {
      continue;
    }
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    if (rc < 0) {
      return fail_rule(rc, denied_syscalls[i], err);
    }
  }
  return 0;
}

/* New user namespaces give their creator every capability inside them, and
 * with that the code paths behind those capabilities. clone3() passes its
 * flags in memory a filter cannot read, so it fails with ENOSYS and the C
 * library falls back to clone(), whose flags the filter can read. */
static int deny_user_namespaces(scmp_filter_ctx ctx, cf_err **err)
{
  const char *const calls[] = {"unshare", "clone"};
  for (size_t i = 0; i < 2; i++) {
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), seccomp_syscall_resolve_name(calls[i]), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
    if (rc < 0) {
      return fail_rule(rc, calls[i], err);
    }
  }
  int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("clone3"), 0);
  if (rc < 0) {
    return fail_rule(rc, "clone3", err);
  }
  return 0;
}

/* libseccomp takes one comparison per argument and rule, so each flag gets
 * its own rule. NOTE: the query personality(0xffffffff) sets every flag and
 * fails with EPERM too. */
static int deny_personality_flags(scmp_filter_ctx ctx, cf_err **err)
{
  int nr = seccomp_syscall_resolve_name("personality");
  for (size_t i = 0; i < sizeof(denied_personality_flags) / sizeof(denied_personality_flags[0]);
       i++) {
    unsigned long flag = denied_personality_flags[i];
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
    if (rc < 0) {
      return fail_rule(rc, "personality", err);
    }
  }
  return 0;
}

/* Exports the filter through a memfd, the only output libseccomp 2.5 has,
 * and reads it back into out. */
static int export_program(scmp_filter_ctx ctx, struct sock_fprog *out, cf_err **err)
{
  cf_autoclose int fd = memfd_create("cfwin-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    return cf_err_sys(err, errno, "create memfd for the seccomp program");
  }
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) {
    return cf_err_sys(err, -rc, "export seccomp program");
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    return cf_err_sys(err, errno, "stat exported seccomp program");
  }
  size_t size = (size_t)st.st_size;
  if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
      size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    return cf_err_set(err, CF_E_INVALID,
                      "seccomp program of %zu bytes is empty, not whole instructions, or longer "
                      "than %d instructions",
                      size, BPF_MAXINSNS);
  }
  cf_autofree struct sock_filter *insns = cf_xmalloc(size);
  if (pread(fd, insns, size, 0) != (ssize_t)size) {
    return cf_err_sys(err, errno, "read exported seccomp program");
  }
  out->len = (unsigned short)(size / sizeof(struct sock_filter));
  out->filter = cf_steal(&insns);
  return 0;
}

int cf_sec_seccomp_default(struct sock_fprog *out, cf_err **err)
{
  cf_autoseccomp scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "initialise seccomp filter");
  }
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc < 0) {
    return cf_err_sys(err, -rc, "set seccomp action for foreign architectures");
  }
  if (add_arches(ctx, extra_arches, sizeof(extra_arches) / sizeof(extra_arches[0]), err) < 0 ||
      deny_syscalls(ctx, err) < 0 || deny_user_namespaces(ctx, err) < 0 ||
      deny_personality_flags(ctx, err) < 0) {
    return -1;
  }
  return export_program(ctx, out, err);
}

/* ---- OCI linux.seccomp ---- */

/* Parses "SCMP_ACT_*" with errno_ret for SCMP_ACT_ERRNO and SCMP_ACT_TRACE. */
static int parse_action(const char *name, int errno_ret, uint32_t *action, cf_err **err)
{
  static const struct {
    const char *name;
    uint32_t action;
  } plain[] = {
      {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
      {"SCMP_ACT_KILL", SCMP_ACT_KILL},
      {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
      {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
      {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
      {"SCMP_ACT_LOG", SCMP_ACT_LOG},
  };
  for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
    if (strcmp(name, plain[i].name) == 0) {
      *action = plain[i].action;
      return 0;
    }
  }
  if (strcmp(name, "SCMP_ACT_ERRNO") == 0) {
    *action = SCMP_ACT_ERRNO((uint32_t)errno_ret);
    return 0;
  }
  if (strcmp(name, "SCMP_ACT_TRACE") == 0) {
    *action = SCMP_ACT_TRACE((uint32_t)errno_ret);
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID,
                    "unknown seccomp action %s: use SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, "
                    "SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, "
                    "SCMP_ACT_TRACE or SCMP_ACT_LOG",
                    name);
}

/* Reads an optional errno value (errnoRet, defaultErrnoRet); EPERM when
 * missing, as runc does. */
static int parse_errno(const json_t *obj, const char *key, int *out, cf_err **err)
{
  json_t *value = json_object_get(obj, key);
  *out = EPERM;
  if (value == NULL) {
    return 0;
  }
  if (!json_is_integer(value) || json_integer_value(value) < 0 ||
      json_integer_value(value) > 4095) {
    return cf_err_set(err, CF_E_INVALID, "seccomp %s must be an integer from 0 to 4095", key);
  }
  *out = (int)json_integer_value(value);
  return 0;
}

/* Turns "SCMP_ARCH_X86_64" into libseccomp's token. */
static int parse_arch(const char *name, uint32_t *arch, cf_err **err)
{
  const char prefix[] = "SCMP_ARCH_";
  char lower[32];
  size_t len = strlen(name);
  if (strncmp(name, prefix, sizeof(prefix) - 1) == 0 &&
      len - (sizeof(prefix) - 1) < sizeof(lower)) {
    size_t n = 0;
    for (const char *p = name + sizeof(prefix) - 1; *p != '\0'; p++) {
      lower[n++] = (char)tolower((unsigned char)*p);
    }
    lower[n] = '\0';
    *arch = seccomp_arch_resolve_name(lower);
    if (*arch != 0) {
      return 0;
    }
  }
  return cf_err_set(err, CF_E_INVALID, "unknown seccomp architecture %s", name);
}

static int parse_operator(const char *name, enum scmp_compare *op, cf_err **err)
{
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
    if (strcmp(name, ops[i].name) == 0) {
      *op = ops[i].op;
      return 0;
    }
  }
  return cf_err_set(err, CF_E_INVALID, "unknown seccomp operator %s", name);
}

static int parse_u64(const json_t *obj, const char *key, bool required, uint64_t *out, cf_err **err)
{
  json_t *value = json_object_get(obj, key);
  *out = 0;
  if (value == NULL && !required) {
    return 0;
  }
  if (!json_is_integer(value) || json_integer_value(value) < 0) {
    return cf_err_set(err, CF_E_INVALID, "seccomp argument %s must be a non-negative integer", key);
  }
  *out = (uint64_t)json_integer_value(value);
  return 0;
}

/* Parses the args array of a rule; at most 6, one per argument index. */
static int parse_args(const json_t *args, struct scmp_arg_cmp *out, unsigned *count, cf_err **err)
{
  *count = 0;
  if (args == NULL || json_is_null(args)) {
    return 0;
  }
  if (!json_is_array(args) || json_array_size(args) > 6) {
    return cf_err_set(err, CF_E_INVALID, "seccomp args must be an array of at most 6 entries");
  }
  size_t i;
  json_t *arg;
  json_array_foreach(args, i, arg)
  {
    uint64_t index;
    const char *op_name = json_string_value(json_object_get(arg, "op"));
    if (parse_u64(arg, "index", true, &index, err) < 0 ||
        parse_u64(arg, "value", true, &out[i].datum_a, err) < 0 ||
        parse_u64(arg, "valueTwo", false, &out[i].datum_b, err) < 0) {
      return -1;
    }
    if (index > 5) {
      return cf_err_set(err, CF_E_INVALID, "seccomp argument index %llu is above 5",
                        (unsigned long long)index);
    }
    if (op_name == NULL) {
      return cf_err_set(err, CF_E_INVALID, "seccomp argument %llu has no op",
                        (unsigned long long)index);
    }
    if (parse_operator(op_name, &out[i].op, err) < 0) {
      return -1;
    }
    out[i].arg = (unsigned)index;
  }
  *count = (unsigned)json_array_size(args);
  return 0;
}

/* Adds one rule per name. A name this libseccomp does not know is skipped,
 * because profiles list system calls of newer kernels. A rule whose action
 * is the default one is skipped too, because libseccomp rejects it. */
static int add_oci_rule(scmp_filter_ctx ctx, const json_t *rule, uint32_t default_action,
                        cf_err **err)
{
  const json_t *names = json_object_get(rule, "names");
  const char *action_name = json_string_value(json_object_get(rule, "action"));
  if (!json_is_array(names) || action_name == NULL) {
    return cf_err_set(err, CF_E_INVALID, "seccomp syscalls entry needs names and action");
  }
  int errno_ret;
  uint32_t action;
  struct scmp_arg_cmp args[6];
  unsigned arg_count;
  if (parse_errno(rule, "errnoRet", &errno_ret, err) < 0 ||
      parse_action(action_name, errno_ret, &action, err) < 0 ||
      parse_args(json_object_get(rule, "args"), args, &arg_count, err) < 0) {
    return -1;
  }
  if (action == default_action) {
    return 0;
  }
  size_t i;
  json_t *name;
  json_array_foreach(names, i, name)
  {
    if (!json_is_string(name)) {
      return cf_err_set(err, CF_E_INVALID, "seccomp syscall names must be strings");
    }
    int nr = seccomp_syscall_resolve_name(json_string_value(name));
    if (nr == __NR_SCMP_ERROR) {
      continue;
    }
    int rc = seccomp_rule_add_array(ctx, action, nr, arg_count, args);
    if (rc < 0) {
      return fail_rule(rc, json_string_value(name), err);
    }
  }
  return 0;
}

static int add_oci_arches(scmp_filter_ctx ctx, const json_t *arches, cf_err **err)
{
  if (arches == NULL) {
    return add_arches(ctx, extra_arches, sizeof(extra_arches) / sizeof(extra_arches[0]), err);
  }
  if (!json_is_array(arches)) {
    return cf_err_set(err, CF_E_INVALID, "seccomp architectures must be an array");
  }
  size_t i;
  json_t *name;
  json_array_foreach(arches, i, name)
  {
    uint32_t arch;
    if (!json_is_string(name)) {
      return cf_err_set(err, CF_E_INVALID, "seccomp architectures must be strings");
    }
    if (parse_arch(json_string_value(name), &arch, err) < 0 || add_arches(ctx, &arch, 1, err) < 0) {
      return -1;
    }
  }
  return 0;
}

static int build_oci_filter(const json_t *seccomp, scmp_filter_ctx *ctx, cf_err **err)
{
  const char *default_name = json_string_value(json_object_get(seccomp, "defaultAction"));
  if (default_name == NULL) {
    return cf_err_set(err, CF_E_INVALID, "seccomp defaultAction is missing");
  }
  int errno_ret;
  uint32_t default_action;
  if (parse_errno(seccomp, "defaultErrnoRet", &errno_ret, err) < 0 ||
      parse_action(default_name, errno_ret, &default_action, err) < 0) {
    return -1;
  }
  *ctx = seccomp_init(default_action);
  if (*ctx == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "initialise seccomp filter");
  }
  int rc = seccomp_attr_set(*ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc < 0) {
    return cf_err_sys(err, -rc, "set seccomp action for foreign architectures");
  }
  if (add_oci_arches(*ctx, json_object_get(seccomp, "architectures"), err) < 0) {
    return -1;
  }
  const json_t *rules = json_object_get(seccomp, "syscalls");
  if (rules != NULL && !json_is_array(rules)) {
    return cf_err_set(err, CF_E_INVALID, "seccomp syscalls must be an array");
  }
  size_t i;
  json_t *rule;
  json_array_foreach(rules, i, rule)
  {
    if (add_oci_rule(*ctx, rule, default_action, err) < 0) {
      return cf_err_wrap(err, "seccomp syscalls entry %zu", i);
    }
  }
  return 0;
}

int cf_sec_seccomp_from_oci(const json_t *seccomp, struct sock_fprog *out, cf_err **err)
{
  if (!json_is_object(seccomp)) {
    return cf_err_set(err, CF_E_INVALID, "linux.seccomp must be an object");
  }
  /* NOTE: flags and listenerPath (seccomp user notification) are not
   * supported; a profile that sets them is rejected. */
  if (json_object_get(seccomp, "listenerPath") != NULL ||
      json_array_size(json_object_get(seccomp, "flags")) > 0) {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "seccomp flags and listenerPath are not supported: remove them");
  }
  cf_autoseccomp scmp_filter_ctx ctx = NULL;
  if (build_oci_filter(seccomp, &ctx, err) < 0) {
    return -1;
  }
  return export_program(ctx, out, err);
}
