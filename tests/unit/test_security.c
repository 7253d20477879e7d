/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the runtime's process hardening. Pure tests run the seccomp
 * program through a small classic BPF interpreter and parse capabilities,
 * rlimits and id maps. Root-only tests start real children that apply a
 * plan in new mount, UTS and user namespaces, so the host is never changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/linux/security.h"
#include "runtime/linux/sys.h"
#include "runtime/linux/userns.h"
#include "testutil.h"

/* A host uid range no account uses: the user namespace tests map root of
 * the namespace to it. */
#define UNUSED_HOST_ID 1879048192U

/* Seconds after which a test child kills itself, so a hung check fails
 * instead of blocking the run. */
#define CHILD_ALARM_S 20

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (e))

/* ---- classic BPF interpreter for seccomp programs ---- */

/* Runs prog on one system call as the kernel would and returns the action. */
static uint32_t run_filter(const struct sock_fprog *prog, uint32_t arch, int nr, uint64_t arg0)
{
  struct seccomp_data data = {.nr = nr, .arch = arch};
  data.args[0] = arg0;
  const uint8_t *bytes = (const uint8_t *)&data;
  uint32_t a = 0;
  uint32_t x = 0;
  uint32_t mem[BPF_MEMWORDS] = {0};
  for (size_t pc = 0; pc < prog->len; pc++) {
    const struct sock_filter *ins = &prog->filter[pc];
    uint32_t operand = BPF_SRC(ins->code) == BPF_X ? x : ins->k;
    switch (BPF_CLASS(ins->code)) {
    case BPF_LD:
      if (BPF_MODE(ins->code) == BPF_ABS) {
        assert_true(ins->k + 4 <= sizeof(data));
        memcpy(&a, bytes + ins->k, 4);
      } else if (BPF_MODE(ins->code) == BPF_MEM) {
        a = mem[ins->k];
      } else if (BPF_MODE(ins->code) == BPF_IMM) {
        a = ins->k;
      } else {
        fail_msg("unsupported load 0x%x", ins->code);
      }
      break;
    case BPF_LDX:
      x = BPF_MODE(ins->code) == BPF_MEM ? mem[ins->k] : ins->k;
      break;
    case BPF_ST:
      mem[ins->k] = a;
      break;
    case BPF_STX:
      mem[ins->k] = x;
      break;
    case BPF_ALU:
      switch (BPF_OP(ins->code)) {
      case BPF_AND:
        a &= operand;
        break;
      case BPF_OR:
        a |= operand;
        break;
      case BPF_ADD:
        a += operand;
        break;
      case BPF_SUB:
        a -= operand;
        break;
      default:
        fail_msg("unsupported ALU op 0x%x", ins->code);
      }
      break;
    case BPF_JMP: {
      bool taken = false;
      switch (BPF_OP(ins->code)) {
      case BPF_JA:
        pc += ins->k;
        continue;
      case BPF_JEQ:
        taken = a == operand;
        break;
      case BPF_JGT:
        taken = a > operand;
        break;
      case BPF_JGE:
        taken = a >= operand;
        break;
      case BPF_JSET:
        taken = (a & operand) != 0;
        break;
      default:
        fail_msg("unsupported jump 0x%x", ins->code);
      }
      pc += taken ? ins->jt : ins->jf;
      break;
    }
    case BPF_RET:
      return BPF_RVAL(ins->code) == BPF_A ? a : ins->k;
    case BPF_MISC:
      if (BPF_MISCOP(ins->code) == BPF_TAX) {
        x = a;
      } else {
        a = x;
      }
      break;
    default:
      fail_msg("unsupported instruction 0x%x", ins->code);
    }
  }
  fail_msg("seccomp program ran off its end");
  return 0;
}

static int nr_on(uint32_t arch, const char *name)
{
  int nr = seccomp_syscall_resolve_name_arch(arch, name);
  assert_true(nr >= 0);
  return nr;
}

/* ---- default seccomp profile (pure) ---- */

static void seccomp_default_denies_modules(void **state)
{
  struct sock_fprog prog = {0};
  cf_err *err = NULL;
  assert_int_equal(cf_sec_seccomp_default(&prog, &err), 0);
  const int denied[] = {
      __NR_init_module,     __NR_finit_module,
      __NR_delete_module,   __NR_kexec_load,
      __NR_kexec_file_load, __NR_reboot,
      __NR_swapon,          __NR_keyctl,
      __NR_add_key,         __NR_bpf,
      __NR_perf_event_open, __NR_open_by_handle_at,
      __NR_userfaultfd,     __NR_acct,
      __NR_settimeofday,    __NR_clock_settime,
      __NR_adjtimex,        __NR_mount,
      __NR_umount2,         __NR_pivot_root,
      __NR_setns,           __NR_io_uring_setup,
  };
  for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
    assert_int_equal(run_filter(&prog, AUDIT_ARCH_X86_64, denied[i], 0), RET_ERRNO(EPERM));
  }
  const int allowed[] = {__NR_read, __NR_write, __NR_openat, __NR_getpid, __NR_execve, __NR_chroot};
  for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
    assert_int_equal(run_filter(&prog, AUDIT_ARCH_X86_64, allowed[i], 0), SECCOMP_RET_ALLOW);
  }
  free(prog.filter);
}

static void seccomp_default_covers_i386(void **state)
{
  struct sock_fprog prog = {0};
  assert_int_equal(cf_sec_seccomp_default(&prog, NULL), 0);
  /* i386 numbers: init_module 128, finit_module 350, read 3. */
  assert_int_equal(nr_on(SCMP_ARCH_X86, "init_module"), 128);
  assert_int_equal(run_filter(&prog, AUDIT_ARCH_I386, 128, 0), RET_ERRNO(EPERM));
  assert_int_equal(run_filter(&prog, AUDIT_ARCH_I386, 350, 0), RET_ERRNO(EPERM));
  assert_int_equal(run_filter(&prog, AUDIT_ARCH_I386, 3, 0), SECCOMP_RET_ALLOW);
  assert_int_equal(run_filter(&prog, AUDIT_ARCH_I386, nr_on(SCMP_ARCH_X86, "mount"), 0),
                   RET_ERRNO(EPERM));
  free(prog.filter);
}

static void seccomp_default_kills_foreign_arch(void **state)
{
  struct sock_fprog prog = {0};
  assert_int_equal(cf_sec_seccomp_default(&prog, NULL), 0);
  assert_int_equal(run_filter(&prog, AUDIT_ARCH_AARCH64, 63, 0), SECCOMP_RET_KILL_PROCESS);
  assert_int_equal(run_filter(&prog, AUDIT_ARCH_ARM, 3, 0), SECCOMP_RET_KILL_PROCESS);
  free(prog.filter);
}

static void seccomp_default_checks_arguments(void **state)
{
  struct sock_fprog prog = {0};
  assert_int_equal(cf_sec_seccomp_default(&prog, NULL), 0);
  uint32_t arch = AUDIT_ARCH_X86_64;
  assert_int_equal(run_filter(&prog, arch, __NR_unshare, CLONE_NEWUSER), RET_ERRNO(EPERM));
  assert_int_equal(run_filter(&prog, arch, __NR_unshare, CLONE_NEWUSER | CLONE_NEWNS),
                   RET_ERRNO(EPERM));
  assert_int_equal(run_filter(&prog, arch, __NR_unshare, CLONE_NEWNS), SECCOMP_RET_ALLOW);
  assert_int_equal(run_filter(&prog, arch, __NR_clone, CLONE_NEWUSER | SIGCHLD), RET_ERRNO(EPERM));
  assert_int_equal(run_filter(&prog, arch, __NR_clone, SIGCHLD), SECCOMP_RET_ALLOW);
  assert_int_equal(run_filter(&prog, arch, __NR_clone3, 0), RET_ERRNO(ENOSYS));
  assert_int_equal(run_filter(&prog, arch, __NR_personality, PER_LINUX), SECCOMP_RET_ALLOW);
  assert_int_equal(run_filter(&prog, arch, __NR_personality, PER_LINUX32), SECCOMP_RET_ALLOW);
  assert_int_equal(run_filter(&prog, arch, __NR_personality, ADDR_NO_RANDOMIZE), RET_ERRNO(EPERM));
  assert_int_equal(run_filter(&prog, arch, __NR_personality, READ_IMPLIES_EXEC), RET_ERRNO(EPERM));
  free(prog.filter);
}

/* ---- OCI seccomp (pure) ---- */

static json_t *load_json(const char *text)
{
  json_error_t error;
  json_t *value = json_loads(text, 0, &error);
  if (value == NULL) {
    fail_msg("invalid test JSON: %s", error.text);
  }
  return value;
}

static void seccomp_oci_profile_applies_rules(void **state)
{
  json_t *profile =
      load_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
                "\"architectures\":[\"SCMP_ARCH_X86_64\"],"
                "\"syscalls\":[{\"names\":[\"read\",\"write\",\"no_such_call\"],\"action\":\"SCMP_"
                "ACT_ALLOW\"},"
                "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38},"
                "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\","
                "\"args\":[{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]}]}");
  struct sock_fprog prog = {0};
  cf_err *err = NULL;
  assert_int_equal(cf_sec_seccomp_from_oci(profile, &prog, &err), 0);
  uint32_t arch = AUDIT_ARCH_X86_64;
  assert_int_equal(run_filter(&prog, arch, __NR_read, 0), SECCOMP_RET_ALLOW);
  assert_int_equal(run_filter(&prog, arch, __NR_getpid, 0), RET_ERRNO(EPERM));
  assert_int_equal(run_filter(&prog, arch, __NR_mkdir, 0), RET_ERRNO(38));
  assert_int_equal(run_filter(&prog, arch, __NR_personality, 8), SECCOMP_RET_ALLOW);
  assert_int_equal(run_filter(&prog, arch, __NR_personality, 0), RET_ERRNO(EPERM));
  assert_int_equal(run_filter(&prog, AUDIT_ARCH_I386, 3, 0), SECCOMP_RET_KILL_PROCESS);
  free(prog.filter);
  json_decref(profile);
}

static void expect_oci_error(const char *text, const char *needle)
{
  json_t *profile = load_json(text);
  struct sock_fprog prog = {0};
  cf_err *err = NULL;
  assert_int_equal(cf_sec_seccomp_from_oci(profile, &prog, &err), -1);
  assert_non_null(err);
  if (strstr(err->message, needle) == NULL) {
    fail_msg("error \"%s\" does not name %s", err->message, needle);
  }
  assert_null(prog.filter);
  cf_err_free(err);
  json_decref(profile);
}

static void seccomp_oci_rejects_bad_profiles(void **state)
{
  expect_oci_error("{}", "defaultAction");
  expect_oci_error("{\"defaultAction\":\"SCMP_ACT_MAYBE\"}", "SCMP_ACT_MAYBE");
  expect_oci_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_VAX\"]}",
                   "SCMP_ARCH_VAX");
  expect_oci_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                   "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,"
                   "\"op\":\"SCMP_CMP_ABOUT\"}]}]}",
                   "SCMP_CMP_ABOUT");
  expect_oci_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                   "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":7,\"value\":1,"
                   "\"op\":\"SCMP_CMP_EQ\"}]}]}",
                   "index 7");
  expect_oci_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/x\"}",
                   "listenerPath");
}

/* ---- capabilities (pure) ---- */

static void caps_default_is_runc_set(void **state)
{
  const int expected[] = {CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
                          CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
                          CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
                          CAP_KILL,    CAP_AUDIT_WRITE};
  uint64_t mask = 0;
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
    mask |= UINT64_C(1) << expected[i];
  }
  cf_sec_caps caps;
  cf_sec_caps_default(&caps);
  assert_int_equal(caps.bounding, mask);
  assert_int_equal(caps.effective, mask);
  assert_int_equal(caps.permitted, mask);
  assert_int_equal(caps.inheritable, 0);
  assert_int_equal(caps.ambient, 0);
  assert_int_equal(caps.bounding & (UINT64_C(1) << CAP_SYS_MODULE), 0);
}

static void caps_names_parse(void **state)
{
  int cap = -1;
  assert_int_equal(cf_sec_cap_from_name("CAP_SYS_ADMIN", &cap, NULL), 0);
  assert_int_equal(cap, CAP_SYS_ADMIN);
  assert_int_equal(cf_sec_cap_from_name("CAP_CHOWN", &cap, NULL), 0);
  assert_int_equal(cap, CAP_CHOWN);
  const char *invalid[] = {"CAP_BOGUS", "cap_chown", "12", "", "CAP_", "SYS_ADMIN"};
  for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
    cf_err *err = NULL;
    assert_int_equal(cf_sec_cap_from_name(invalid[i], &cap, &err), -1);
    assert_int_equal(err->code, CF_E_INVALID);
    assert_non_null(strstr(err->message, "unknown capability"));
    cf_err_free(err);
  }
}

static void caps_oci_sets(void **state)
{
  json_t *caps = load_json("{\"bounding\":[\"CAP_KILL\",\"CAP_NET_RAW\"],"
                           "\"effective\":[\"CAP_KILL\"],\"permitted\":[\"CAP_KILL\"],"
                           "\"inheritable\":[\"CAP_KILL\"],\"ambient\":[\"CAP_KILL\"]}");
  cf_sec_caps out;
  assert_int_equal(cf_sec_caps_from_oci(caps, &out, NULL), 0);
  uint64_t kill_bit = UINT64_C(1) << CAP_KILL;
  assert_int_equal(out.bounding, kill_bit | (UINT64_C(1) << CAP_NET_RAW));
  assert_int_equal(out.effective, kill_bit);
  assert_int_equal(out.ambient, kill_bit);
  json_decref(caps);

  cf_err *err = NULL;
  caps = load_json("{\"effective\":[\"CAP_KILL\"],\"permitted\":[]}");
  assert_int_equal(cf_sec_caps_from_oci(caps, &out, &err), -1);
  assert_non_null(strstr(err->message, "not in permitted"));
  cf_err_clear(&err);
  json_decref(caps);

  /* The sets `runc spec` writes: ambient without inheritable is dropped. */
  caps = load_json("{\"bounding\":[\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"],"
                   "\"permitted\":[\"CAP_KILL\"],\"ambient\":[\"CAP_KILL\"]}");
  assert_int_equal(cf_sec_caps_from_oci(caps, &out, NULL), 0);
  assert_int_equal(out.permitted, kill_bit);
  assert_int_equal(out.ambient, 0);
  json_decref(caps);

  caps = load_json("{\"bounding\":[\"CAP_KILL\",\"CAP_TELEPORT\"]}");
  assert_int_equal(cf_sec_caps_from_oci(caps, &out, &err), -1);
  assert_non_null(strstr(err->message, "process.capabilities.bounding"));
  assert_non_null(strstr(err->message, "CAP_TELEPORT"));
  cf_err_free(err);
  json_decref(caps);
}

/* ---- rlimits (pure) ---- */

static void rlimits_parse_valid(void **state)
{
  json_t *rlimits = load_json("[{\"type\":\"RLIMIT_NOFILE\",\"soft\":100,\"hard\":200},"
                              "{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":0}]");
  cf_sec_rlimit *out = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_sec_rlimits_from_oci(rlimits, &out, &count, &err), 0);
  assert_int_equal(count, 2);
  assert_int_equal(out[0].resource, RLIMIT_NOFILE);
  assert_string_equal(out[0].name, "RLIMIT_NOFILE");
  assert_int_equal(out[0].limit.rlim_cur, 100);
  assert_int_equal(out[0].limit.rlim_max, 200);
  assert_int_equal(out[1].resource, RLIMIT_CORE);
  free(out);
  json_decref(rlimits);
}

static void expect_rlimit_error(const char *text, const char *needle)
{
  json_t *rlimits = load_json(text);
  cf_sec_rlimit *out = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_sec_rlimits_from_oci(rlimits, &out, &count, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  if (strstr(err->message, needle) == NULL) {
    fail_msg("error \"%s\" does not name %s", err->message, needle);
  }
  assert_null(out);
  cf_err_free(err);
  json_decref(rlimits);
}

static void rlimits_reject_invalid(void **state)
{
  expect_rlimit_error("[{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":1}]", "RLIMIT_BOGUS");
  expect_rlimit_error("[{\"type\":\"RLIMIT_NOFILE\",\"soft\":5,\"hard\":4}]", "soft limit 5");
  expect_rlimit_error("[{\"type\":\"RLIMIT_NOFILE\",\"soft\":-1,\"hard\":4}]", "soft");
  expect_rlimit_error("[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1}]", "hard");
  expect_rlimit_error("[{\"soft\":1,\"hard\":1}]", "no type");
  expect_rlimit_error("[{\"type\":\"RLIMIT_CPU\",\"soft\":1,\"hard\":1},"
                      "{\"type\":\"RLIMIT_CPU\",\"soft\":1,\"hard\":1}]",
                      "twice");
  expect_rlimit_error("{}", "array");
}

static bool has_cap(int cap)
{
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
  struct __user_cap_data_struct data[2] = {0};
  assert_int_equal(syscall(SYS_capget, &header, data), 0);
  return (data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap)) != 0;
}

static void rlimits_reject_hard_above_own(void **state)
{
  struct rlimit own;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &own), 0);
  if (own.rlim_max == RLIM_INFINITY || own.rlim_max > INT64_MAX - 1 || has_cap(CAP_SYS_RESOURCE)) {
    skip();
  }
  char text[128];
  snprintf(text, sizeof(text), "[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":%llu}]",
           (unsigned long long)own.rlim_max + 1);
  expect_rlimit_error(text, "CAP_SYS_RESOURCE");
}

/* ---- id maps (pure) ---- */

static void expect_map_error(const char *text, const char *needle)
{
  json_t *mappings = load_json(text);
  cf_id_map map;
  cf_err *err = NULL;
  assert_int_equal(cf_userns_map_from_oci(mappings, "linux.uidMappings", &map, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  if (strstr(err->message, needle) == NULL) {
    fail_msg("error \"%s\" does not name %s", err->message, needle);
  }
  cf_err_free(err);
  json_decref(mappings);
}

static void userns_map_parses(void **state)
{
  json_t *mappings = load_json("[{\"containerID\":0,\"hostID\":100000,\"size\":1000},"
                               "{\"containerID\":1000,\"hostID\":200000,\"size\":64536}]");
  cf_id_map map;
  assert_int_equal(cf_userns_map_from_oci(mappings, "linux.uidMappings", &map, NULL), 0);
  assert_int_equal(map.count, 2);
  assert_int_equal(map.ranges[1].container_id, 1000);
  assert_int_equal(map.ranges[1].host_id, 200000);
  assert_int_equal(map.ranges[1].size, 64536);
  cf_userns_map_free(&map);
  json_decref(mappings);
}

static void userns_map_rejects_invalid(void **state)
{
  expect_map_error("[]", "1 to 340");
  expect_map_error("[{\"containerID\":0,\"hostID\":100000,\"size\":0}]", "size 0");
  expect_map_error("[{\"containerID\":0,\"hostID\":100000,\"size\":10},"
                   "{\"containerID\":5,\"hostID\":200000,\"size\":10}]",
                   "overlap inside the container");
  expect_map_error("[{\"containerID\":0,\"hostID\":100000,\"size\":10},"
                   "{\"containerID\":10,\"hostID\":100009,\"size\":10}]",
                   "overlap on the host");
  expect_map_error("[{\"containerID\":4294967290,\"hostID\":0,\"size\":10}]", "runs past");
  expect_map_error("[{\"containerID\":0,\"hostID\":4294967295,\"size\":1}]", "hostID");
  expect_map_error("[{\"containerID\":0,\"size\":1}]", "uidMappings entry 0");
}

static void userns_map_limits_ranges(void **state)
{
  cf_id_map map = {.ranges = cf_xcalloc(341, sizeof(cf_id_range)), .count = 341};
  for (size_t i = 0; i < 341; i++) {
    map.ranges[i] = (cf_id_range){(uint32_t)i, (uint32_t)(100000 + i), 1};
  }
  cf_err *err = NULL;
  assert_int_equal(cf_userns_map_validate(&map, "linux.gidMappings", &err), -1);
  assert_non_null(strstr(err->message, "341 entries"));
  cf_err_clear(&err);
  map.count = 340;
  assert_int_equal(cf_userns_map_validate(&map, "linux.gidMappings", &err), 0);
  cf_userns_map_free(&map);
}

/* ---- plans (pure) ---- */

static void plan_defaults_by_privilege(void **state)
{
  cf_sec_plan plan;
  assert_int_equal(cf_sec_plan_default(false, &plan, NULL), 0);
  assert_true(plan.no_new_privs);
  assert_false(plan.keep_caps);
  assert_true(plan.seccomp.len > 0);
  assert_int_equal(plan.masked_count, 10);
  assert_string_equal(plan.masked_paths[1], "/proc/kcore");
  assert_int_equal(plan.readonly_count, 6);
  assert_string_equal(plan.readonly_paths[4], "/proc/sys");
  cf_sec_plan_free(&plan);

  assert_int_equal(cf_sec_plan_default(true, &plan, NULL), 0);
  assert_false(plan.no_new_privs);
  assert_true(plan.keep_caps);
  assert_int_equal(plan.seccomp.len, 0);
  assert_int_equal(plan.masked_count, 0);
  assert_int_equal(plan.readonly_count, 0);
  cf_sec_plan_free(&plan);
}

static void plan_reads_oci_config(void **state)
{
  json_t *config = load_json(
      "{\"process\":{\"noNewPrivileges\":false,\"capabilities\":{\"bounding\":[\"CAP_KILL\"]},"
      "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":10}]},"
      "\"linux\":{\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[],"
      "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
      "\"action\":\"SCMP_ACT_ERRNO\"}]}}}");
  cf_sec_plan plan;
  cf_err *err = NULL;
  assert_int_equal(cf_sec_plan_from_oci(config, false, &plan, &err), 0);
  assert_false(plan.no_new_privs);
  assert_int_equal(plan.caps.bounding, UINT64_C(1) << CAP_KILL);
  assert_int_equal(plan.caps.effective, 0);
  assert_int_equal(plan.rlimit_count, 1);
  assert_int_equal(plan.masked_count, 1);
  assert_int_equal(plan.readonly_count, 0);
  assert_int_equal(run_filter(&plan.seccomp, AUDIT_ARCH_X86_64, __NR_mkdir, 0), RET_ERRNO(EPERM));
  assert_int_equal(run_filter(&plan.seccomp, AUDIT_ARCH_X86_64, __NR_init_module, 0),
                   SECCOMP_RET_ALLOW);
  cf_sec_plan_free(&plan);
  json_decref(config);

  config = load_json("{\"linux\":{\"maskedPaths\":[\"proc/kcore\"]}}");
  assert_int_equal(cf_sec_plan_from_oci(config, false, &plan, &err), -1);
  assert_non_null(strstr(err->message, "linux.maskedPaths entry 0"));
  cf_err_free(err);
  json_decref(config);
}

/* ---- real children (root) ---- */

/* Fails the child with a message when cond is false. */
#define CHILD_CHECK(cond, ...)                                                                     \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "child check failed: " __VA_ARGS__);                                         \
      fprintf(stderr, " (errno %d)\n", errno);                                                     \
      _exit(1);                                                                                    \
    }                                                                                              \
  } while (0)

static void child_apply_or_die(int rc, const cf_sec_fault *fault)
{
  CHILD_CHECK(rc == 0, "%s %s", fault->step, fault->value);
}

/* Waits for the child and checks that it passed every check. */
static void expect_child_ok(pid_t pid)
{
  int status;
  assert_true(pid > 0);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail_msg("child %d ended with status 0x%x", (int)pid, status);
  }
}

/* Forks a child in new namespaces (flags for clone(); CLONE_NEWUSER gets
 * the map 0 UNUSED_HOST_ID 65536) that runs fn and exits 0. */
static pid_t start_child(unsigned long flags, void (*fn)(void *), void *arg)
{
  cf_userns_sync sync;
  assert_int_equal(cf_userns_sync_open(&sync, NULL), 0);
  fflush(NULL);
  pid_t pid = cf_sys_clone(flags | SIGCHLD);
  if (pid == 0) {
    alarm(CHILD_ALARM_S);
    cf_sec_fault fault = {"", ""};
    if ((flags & CLONE_NEWUSER) != 0) {
      child_apply_or_die(cf_userns_sync_wait(&sync, &fault), &fault);
      child_apply_or_die(cf_userns_become_root(&fault), &fault);
    }
    fn(arg);
    _exit(0);
  }
  assert_true(pid > 0);
  cf_userns_sync_close_child(&sync);
  if ((flags & CLONE_NEWUSER) != 0) {
    cf_id_range range = {0, UNUSED_HOST_ID, 65536};
    cf_id_map map = {&range, 1};
    cf_err *err = NULL;
    if (cf_userns_write_maps(pid, &map, &map, &err) < 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      fail_msg("%s", err->message);
    }
  }
  if ((flags & CLONE_NEWUSER) != 0) {
    assert_int_equal(cf_userns_sync_release(&sync, NULL), 0);
  }
  cf_userns_sync_close(&sync);
  return pid;
}

static void skip_unless_root(void)
{
  if (!cf_test_is_root()) {
    skip();
  }
}

/* Returns the hex value of a "Key:\t<hex>" line of /proc/self/status. */
static uint64_t status_field(const char *key)
{
  FILE *f = fopen("/proc/self/status", "r");
  CHILD_CHECK(f != NULL, "open /proc/self/status");
  char line[256];
  size_t len = strlen(key);
  uint64_t value = UINT64_MAX;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, key, len) == 0 && line[len] == ':') {
      value = strtoull(line + len + 1, NULL, 16);
    }
  }
  fclose(f);
  CHILD_CHECK(value != UINT64_MAX, "no %s in /proc/self/status", key);
  return value;
}

static void call_module_syscalls(void *arg)
{
  int expect_eperm = *(int *)arg;
  cf_sec_plan plan = {.no_new_privs = true};
  cf_sec_fault fault;
  if (expect_eperm) {
    CHILD_CHECK(cf_sec_seccomp_default(&plan.seccomp, NULL) == 0, "build seccomp program");
    child_apply_or_die(cf_sec_apply_no_new_privs(&plan, &fault), &fault);
    child_apply_or_die(cf_sec_apply_seccomp(&plan, &fault), &fault);
  }
  /* Invalid arguments, so nothing can load even without the filter. */
  errno = 0;
  long rc = syscall(SYS_init_module, NULL, 0, "");
  CHILD_CHECK(rc == -1, "init_module returned %ld", rc);
  CHILD_CHECK((errno == EPERM) == (expect_eperm != 0), "init_module errno %d", errno);
  rc = syscall(SYS_finit_module, -1, "", 0);
  CHILD_CHECK(rc == -1, "finit_module returned %ld", rc);
  CHILD_CHECK((errno == EPERM) == (expect_eperm != 0), "finit_module errno %d", errno);
}

/* The child without the filter is the control: as root it must not get
 * EPERM, so the EPERM of the filtered child comes from seccomp. */
static void apply_seccomp_denies_modules(void **state)
{
  skip_unless_root();
  int without = 0;
  expect_child_ok(start_child(0, call_module_syscalls, &without));
  int with = 1;
  expect_child_ok(start_child(0, call_module_syscalls, &with));
}

static void check_applied_process(void *arg)
{
  const struct rlimit *nofile = arg;
  cf_sec_plan plan;
  cf_sec_fault fault;
  CHILD_CHECK(cf_sec_plan_default(false, &plan, NULL) == 0, "build default plan");
  cf_sec_rlimit limit = {RLIMIT_NOFILE, "RLIMIT_NOFILE", *nofile};
  plan.rlimits = &limit;
  plan.rlimit_count = 1;
  child_apply_or_die(cf_sec_apply_before_user_switch(&plan, &fault), &fault);
  child_apply_or_die(cf_sec_apply_after_user_switch(&plan, &fault), &fault);

  uint64_t module_bit = UINT64_C(1) << CAP_SYS_MODULE;
  CHILD_CHECK((status_field("CapEff") & module_bit) == 0, "CAP_SYS_MODULE in CapEff");
  CHILD_CHECK((status_field("CapBnd") & module_bit) == 0, "CAP_SYS_MODULE in CapBnd");
  CHILD_CHECK(status_field("CapBnd") == plan.caps.bounding, "CapBnd is not the default set");
  CHILD_CHECK(status_field("NoNewPrivs") == 1, "NoNewPrivs is not 1");
  CHILD_CHECK(status_field("Seccomp") == SECCOMP_MODE_FILTER, "Seccomp is not filter mode");
  struct rlimit now;
  CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &now) == 0, "getrlimit");
  CHILD_CHECK(now.rlim_cur == nofile->rlim_cur, "soft nofile %llu",
              (unsigned long long)now.rlim_cur);
  CHILD_CHECK(now.rlim_max == nofile->rlim_max, "hard nofile %llu",
              (unsigned long long)now.rlim_max);
  CHILD_CHECK(syscall(SYS_init_module, NULL, 0, "") == -1 && errno == EPERM, "init_module");
}

static void apply_default_process_plan(void **state)
{
  skip_unless_root();
  struct rlimit own;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &own), 0);
  /* Below the machine's hard limit, which root cannot raise here. */
  rlim_t hard = own.rlim_max == RLIM_INFINITY ? 4096 : own.rlim_max / 2;
  struct rlimit nofile = {.rlim_cur = hard / 2, .rlim_max = hard};
  assert_true(nofile.rlim_cur > 0 && nofile.rlim_cur != own.rlim_cur);
  expect_child_ok(start_child(0, check_applied_process, &nofile));
}

static void check_host_file_denied(void *arg)
{
  const char *dir = arg;
  char path[4096];
  snprintf(path, sizeof(path), "%s/secret", dir);
  CHILD_CHECK(getuid() == 0 && geteuid() == 0, "uid %d inside the namespace", (int)getuid());
  CHILD_CHECK(getgid() == 0, "gid %d inside the namespace", (int)getgid());
  CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "make / private");
  CHILD_CHECK(mount(dir, dir, NULL, MS_BIND, NULL) == 0, "bind mount %s", dir);
  struct stat st;
  CHILD_CHECK(stat(path, &st) == 0, "stat %s", path);
  int fd = open(path, O_RDONLY);
  CHILD_CHECK(fd < 0 && errno == EACCES, "open %s for reading", path);
  fd = open(path, O_WRONLY);
  CHILD_CHECK(fd < 0 && errno == EACCES, "open %s for writing", path);
  CHILD_CHECK(unlink(path) < 0, "unlink %s", path);
}

static void userns_root_cannot_open_host_file(void **state)
{
  skip_unless_root();
  cf_autofree char *dir = cf_test_tmpdir("security");
  char path[4096];
  snprintf(path, sizeof(path), "%s/secret", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "host", 4), 4);
  close(fd);
  /* The namespace's root must be able to reach the file's directory. */
  assert_int_equal(chmod(dir, 0755), 0);

  expect_child_ok(start_child(CLONE_NEWUSER | CLONE_NEWNS, check_host_file_denied, dir));

  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_size, 4);
  cf_test_rmdir(dir);
}

/* Masked files of the default list that this kernel has; /proc/kcore
 * needs CONFIG_PROC_KCORE. */
static const char *const masked_files[] = {"/proc/kcore", "/proc/timer_list"};
#define MASKED_FILE_COUNT (sizeof(masked_files) / sizeof(masked_files[0]))

static bool has_content(const char *path)
{
  char buf[64];
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    return false;
  }
  ssize_t n = read(fd, buf, sizeof(buf));
  close(fd);
  return n > 0;
}

static void check_masked_paths(void *arg)
{
  bool in_userns = arg != NULL;
  bool present[MASKED_FILE_COUNT];
  for (size_t i = 0; i < MASKED_FILE_COUNT; i++) {
    present[i] = has_content(masked_files[i]);
  }
  cf_sec_plan plan;
  cf_sec_fault fault;
  CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "make / private");
  CHILD_CHECK(cf_sec_plan_default(false, &plan, NULL) == 0, "build default plan");
  child_apply_or_die(cf_sec_apply_paths(&plan, &fault), &fault);

  for (size_t i = 0; i < MASKED_FILE_COUNT; i++) {
    if (present[i]) {
      CHILD_CHECK(!has_content(masked_files[i]), "%s is not empty", masked_files[i]);
    }
  }
  struct statvfs vfs;
  CHILD_CHECK(statvfs("/proc/sys", &vfs) == 0, "statvfs /proc/sys");
  CHILD_CHECK((vfs.f_flag & ST_RDONLY) != 0, "/proc/sys is not mounted read-only");
  /* In a user namespace the host-owned sysctl file fails the permission
   * check (EACCES) before the mount's read-only flag is looked at. */
  int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
  CHILD_CHECK(fd < 0 && errno == (in_userns ? EACCES : EROFS),
              "open /proc/sys/kernel/hostname for writing");

  DIR *dir = opendir("/sys/firmware");
  if (dir != NULL) {
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
      CHILD_CHECK(entry->d_name[0] == '.', "/sys/firmware shows %s", entry->d_name);
    }
    closedir(dir);
  }
}

static void apply_paths_masks_proc(void **state)
{
  skip_unless_root();
  /* The check needs a masked file with content to hide. */
  bool any = false;
  for (size_t i = 0; i < MASKED_FILE_COUNT; i++) {
    any = any || has_content(masked_files[i]);
  }
  if (!any) {
    skip();
  }
  expect_child_ok(start_child(CLONE_NEWNS | CLONE_NEWUTS, check_masked_paths, NULL));
  static int in_userns = 1;
  expect_child_ok(
      start_child(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS, check_masked_paths, &in_userns));
  /* The host's /proc is untouched. */
  struct statvfs vfs;
  assert_int_equal(statvfs("/proc/sys", &vfs), 0);
  assert_int_equal(vfs.f_flag & ST_RDONLY, 0);
}

typedef struct holder_args {
  bool dumpable;
  int ready_fd; /* write end: one byte once the holder is set up */
} holder_args;

static void pause_child(void *arg)
{
  const holder_args *args = arg;
  cf_sec_plan plan;
  cf_sec_fault fault;
  CHILD_CHECK(cf_sec_plan_default(false, &plan, NULL) == 0, "build default plan");
  child_apply_or_die(cf_sec_apply_bounding(&plan, &fault), &fault);
  child_apply_or_die(cf_sec_apply_caps(&plan, &fault), &fault);
  if (!args->dumpable) {
    child_apply_or_die(cf_sec_apply_not_dumpable(&fault), &fault);
  }
  CHILD_CHECK(write(args->ready_fd, "1", 1) == 1, "report ready");
  pause();
}

static void read_exe_link(void *arg)
{
  const pid_t *target = arg;
  cf_sec_plan plan;
  cf_sec_fault fault;
  CHILD_CHECK(cf_sec_plan_default(false, &plan, NULL) == 0, "build default plan");
  child_apply_or_die(cf_sec_apply_bounding(&plan, &fault), &fault);
  child_apply_or_die(cf_sec_apply_caps(&plan, &fault), &fault);
  char path[64];
  char link[4096];
  snprintf(path, sizeof(path), "/proc/%d/exe", (int)target[0]);
  bool expect_denied = target[1] != 0;
  ssize_t n = readlink(path, link, sizeof(link));
  if (expect_denied) {
    CHILD_CHECK(n < 0 && errno == EACCES, "readlink %s", path);
  } else {
    CHILD_CHECK(n > 0, "readlink %s", path);
  }
}

/* A copy of the runtime that is not dumpable hides its /proc/<pid>/exe
 * from a process with the same uid and capabilities; the dumpable copy is
 * the control. */
static void not_dumpable_hides_runtime_exe(void **state)
{
  skip_unless_root();
  for (int i = 0; i < 2; i++) {
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    holder_args args = {.dumpable = i == 0, .ready_fd = fds[1]};
    pid_t holder = start_child(0, pause_child, &args);
    close(fds[1]);
    char byte;
    assert_int_equal(read(fds[0], &byte, 1), 1);
    close(fds[0]);

    bool same = false;
    assert_int_equal(cf_sec_exe_is_runtime(holder, &same, NULL), 0);
    assert_true(same);
    pid_t target[2] = {holder, args.dumpable ? 0 : 1};
    expect_child_ok(start_child(0, read_exe_link, target));
    kill(holder, SIGKILL);
    assert_int_equal(waitpid(holder, NULL, 0), holder);
  }
}

static void exec_sleep(void *arg)
{
  const int *fds = arg;
  close(fds[0]);
  execl("/bin/sleep", "sleep", "30", (char *)NULL);
  _exit(2);
}

static void exec_leaves_runtime_exe(void **state)
{
  skip_unless_root();
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = start_child(0, exec_sleep, fds);
  close(fds[1]);
  /* The child's write end closes at its execve(), and only then. */
  char byte;
  assert_int_equal(read(fds[0], &byte, 1), 0);
  close(fds[0]);
  bool same = true;
  assert_int_equal(cf_sec_exe_is_runtime(pid, &same, NULL), 0);
  kill(pid, SIGKILL);
  assert_int_equal(waitpid(pid, NULL, 0), pid);
  assert_false(same);
}

int main(void)
{
  const struct CMUnitTest pure[] = {
      cmocka_unit_test(seccomp_default_denies_modules),
      cmocka_unit_test(seccomp_default_covers_i386),
      cmocka_unit_test(seccomp_default_kills_foreign_arch),
      cmocka_unit_test(seccomp_default_checks_arguments),
      cmocka_unit_test(seccomp_oci_profile_applies_rules),
      cmocka_unit_test(seccomp_oci_rejects_bad_profiles),
      cmocka_unit_test(caps_default_is_runc_set),
      cmocka_unit_test(caps_names_parse),
      cmocka_unit_test(caps_oci_sets),
      cmocka_unit_test(rlimits_parse_valid),
      cmocka_unit_test(rlimits_reject_invalid),
      cmocka_unit_test(rlimits_reject_hard_above_own),
      cmocka_unit_test(userns_map_parses),
      cmocka_unit_test(userns_map_rejects_invalid),
      cmocka_unit_test(userns_map_limits_ranges),
      cmocka_unit_test(plan_defaults_by_privilege),
      cmocka_unit_test(plan_reads_oci_config),
  };
  const struct CMUnitTest children[] = {
      cmocka_unit_test(apply_seccomp_denies_modules),
      cmocka_unit_test(apply_default_process_plan),
      cmocka_unit_test(userns_root_cannot_open_host_file),
      cmocka_unit_test(apply_paths_masks_proc),
      cmocka_unit_test(not_dumpable_hides_runtime_exe),
      cmocka_unit_test(exec_leaves_runtime_exe),
  };
  int failed = cmocka_run_group_tests(pure, NULL, NULL);
  failed += cmocka_run_group_tests(children, NULL, NULL);
  return failed;
}
