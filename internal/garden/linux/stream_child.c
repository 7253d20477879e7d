/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The StreamIn and StreamOut child on Linux. It is forked, without an
 * exec, from a worker thread of the server. It uses malloc (glibc's fork()
 * leaves the allocator usable in the child of a multi-threaded process),
 * libarchive and system calls, and never the server's logger, store or
 * event loop, whose locks another thread may have held at the fork.
 */
#include "garden/stream_child.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "runtime/linux/proc.h"
#include "runtime/linux/sys.h"
#include "runtime/linux/user.h"
#include "runtime/linux/userns.h"

/* Descriptor numbers in the child. */
enum {
  CHILD_DATA_FD = 3,
  CHILD_ERROR_FD = 4,
  CHILD_INIT_FD = 5,
  CHILD_ROOT_FD = 6,
  CHILD_FIRST_FREE_FD = 7,
};

/* Largest /etc/passwd or /etc/group read from a container. */
#define USER_FILE_MAX (8 * 1024 * 1024)
#define COPY_BLOCK (64 * 1024)

/* What the child needs, prepared before the fork. */
typedef struct child_plan {
  const cf_stream_child_spec *spec;
  pid_t parent;
  bool join_userns;
  int data_fd; /* the child's end of the data pipe */
  int error_fd;
  int init_fd; /* pidfd of the init */
  int root_fd; /* O_PATH descriptor of the init's root */
  int null_fd; /* /dev/null, for the standard streams */
} child_plan;

/* --- Child --- */

/* Writes the message to the error pipe and exits with status 1. */
_Noreturn __attribute__((format(printf, 1, 2))) static void child_fail(const char *fmt, ...)
{
  char message[CF_STREAM_CHILD_MESSAGE_MAX];
  va_list args;
  va_start(args, fmt);
  int n = vsnprintf(message, sizeof(message), fmt, args);
  va_end(args);
  size_t len = n < 0 ? 0 : (size_t)n < sizeof(message) ? (size_t)n : sizeof(message) - 1;
  ssize_t ignored = write(CHILD_ERROR_FD, message, len);
  (void)ignored;
  _exit(1);
}

/* Moves the child's descriptors to their fixed numbers and closes every
 * other one the server had open, so no socket or directory of the server
 * stays reachable. The standard streams become /dev/null. */
static void arrange_fds(child_plan *plan)
{
  int fds[] = {plan->data_fd, plan->error_fd, plan->init_fd, plan->root_fd, plan->null_fd};
  for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
    fds[i] = fcntl(fds[i], F_DUPFD, 64);
    if (fds[i] < 0) {
      _exit(1);
    }
  }
  int targets[] = {CHILD_DATA_FD, CHILD_ERROR_FD, CHILD_INIT_FD, CHILD_ROOT_FD};
  for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
    if (dup2(fds[i], targets[i]) < 0) {
      _exit(1);
    }
  }
  for (int i = 0; i < 3; i++) {
    if (dup2(fds[4], i) < 0) {
      _exit(1);
    }
  }
  cf_sys_close_range(CHILD_FIRST_FREE_FD, ~0U, 0);
}

/* Joins the init's mount namespace (and user namespace) and its root. */
static void enter_container(const child_plan *plan)
{
  int user = plan->join_userns ? CLONE_NEWUSER : 0;
  if (setns(CHILD_INIT_FD, CLONE_NEWNS | user) < 0) {
    child_fail("join the mount namespace of the container: %s", strerror(errno));
  }
  cf_sec_fault fault;
  if (plan->join_userns && cf_userns_become_root(&fault) < 0) {
    child_fail("%s: %s", fault.step, strerror(errno));
  }
  if (fchdir(CHILD_ROOT_FD) < 0 || chroot(".") < 0 || chdir("/") < 0) {
    child_fail("enter the root directory of the container: %s", strerror(errno));
  }
  close(CHILD_INIT_FD);
  close(CHILD_ROOT_FD);
}

/* Reads a file of the container, which is already the root directory.
 * Returns NULL when the file is missing. */
static char *read_user_file(const char *path)
{
  /* O_NONBLOCK: a FIFO planted in the image must not block the child. */
  cf_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0 && errno == ENOENT) {
    return NULL;
  }
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    child_fail("open %s in the container: %s", path, strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    child_fail("%s in the container is not a regular file", path);
  }
  cf_buf buf;
  cf_buf_init(&buf, USER_FILE_MAX);
  char chunk[8192];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 || cf_buf_append(&buf, chunk, (size_t)n, NULL) < 0) {
      child_fail("read %s in the container: %s", path, n < 0 ? strerror(errno) : "too large");
    }
  }
  return cf_buf_take(&buf);
}

/* The container's /etc/passwd and /etc/group, NULL when missing. */
typedef struct accounts {
  char *passwd;
  char *group;
  char name[256]; /* the last name looked up */
} accounts;

static void resolve_user(const char *spec, const accounts *files, cf_user *user)
{
  cf_err *err = NULL;
  if (cf_user_resolve(spec != NULL ? spec : "", files->passwd, files->group, user, &err) < 0) {
    child_fail("%s", err->message);
  }
}

/* Finds the name of id in a passwd or group text ("name:x:id:..." lines),
 * for the owner names of StreamOut entries. Returns NULL without an entry. */
static const char *lookup_name(char *out, size_t size, const char *text, la_int64_t id)
{
  for (const char *line = text; line != NULL && *line != '\0';) {
    const char *end = strchr(line, '\n');
    size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
    const char *first = memchr(line, ':', len);
    const char *second =
        first != NULL ? memchr(first + 1, ':', len - (size_t)(first + 1 - line)) : NULL;
    if (second != NULL && (size_t)(first - line) < size && strtoll(second + 1, NULL, 10) == id &&
        second[1] >= '0' && second[1] <= '9') {
      snprintf(out, size, "%.*s", (int)(first - line), line);
      return out;
    }
    line = end != NULL ? end + 1 : NULL;
  }
  return NULL;
}

static const char *lookup_user_name(void *ctx, la_int64_t uid)
{
  accounts *files = ctx;
  return lookup_name(files->name, sizeof(files->name), files->passwd, uid);
}

static const char *lookup_group_name(void *ctx, la_int64_t gid)
{
  accounts *files = ctx;
  return lookup_name(files->name, sizeof(files->name), files->group, gid);
}

/* A relative path is relative to the user's home, as gdn's streams are. */
static char *absolute_path(const char *path, const cf_user *user)
{
  if (path[0] == '/') {
    return cf_xstrdup(path);
  }
  return cf_xasprintf("%s/%s", user->home, path);
}

/* Creates name in the directory parent as root and gives it to the user,
 * or opens it when it exists. Returns a descriptor of the directory. A
 * process of the container may swap a new directory for a link before
 * its owner changes, and chown(2) would then give the link's target to
 * the user. So the new directory is opened without following links and
 * must still be owned by root. */
static int make_directory(int parent, const char *name, const char *path, const cf_user *user)
{
  if (mkdirat(parent, name, 0755) < 0) {
    if (errno != EEXIST) {
      child_fail("create destination %s: %s", path, strerror(errno));
    }
    int fd = openat(parent, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      child_fail("create destination %s: %s", path, strerror(errno));
    }
    return fd;
  }
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
    child_fail("create destination %s: it was replaced while being created", path);
  }
  if (fchown(fd, user->uid, user->gid) < 0) {
    child_fail("change owner of %s: %s", path, strerror(errno));
  }
  return fd;
}

/* Creates dir and its missing parents as root, each new one owned by the
 * user, as gdn does, so a user can stream into a new directory under one
 * it cannot write. */
static void make_destination(char *dir, const cf_user *user)
{
  /* mkdir(2) would reject such a path, and the walk below would not. */
  if (strlen(dir) >= PATH_MAX) {
    child_fail("create destination: the path has %zu bytes, more than PATH_MAX (%d)", strlen(dir),
               PATH_MAX);
  }
  int parent = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0) {
    child_fail("open the root directory of the container: %s", strerror(errno));
  }
  for (char *name = dir; *name != '\0';) {
    char *end = name + strcspn(name, "/");
    char saved = *end;
    *end = '\0';
    if (end > name) {
      int next = make_directory(parent, name, dir, user);
      close(parent);
      parent = next;
    }
    *end = saved;
    name = saved == '\0' ? end : end + 1;
  }
  close(parent);
}

/* Root keeps only the capabilities that writing files for other owners
 * needs. Device nodes (CAP_MKNOD), mounts and chroot are out of reach,
 * and so is open_by_handle_at(2) (CAP_DAC_READ_SEARCH), which opens files
 * by handle past the chroot. CAP_DAC_OVERRIDE already lets root read and
 * search every directory. */
static void limit_root(void)
{
  static const int kept[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_SETFCAP};
  uint64_t mask = 0;
  for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
    mask |= 1ULL << kept[i];
  }
  for (int cap = 0; cap < 64; cap++) {
    if ((mask & (1ULL << cap)) == 0 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
        errno != EINVAL) {
      child_fail("drop capability %d: %s", cap, strerror(errno));
    }
  }
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {
      {.effective = (uint32_t)mask, .permitted = (uint32_t)mask, .inheritable = 0},
      {.effective = (uint32_t)(mask >> 32), .permitted = (uint32_t)(mask >> 32), .inheritable = 0},
  };
  if (syscall(SYS_capset, &header, data) < 0) {
    child_fail("limit capabilities: %s", strerror(errno));
  }
}

/* A user other than root loses every capability with the switch. */
static void switch_user(const cf_user *user)
{
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    child_fail("set no_new_privs: %s", strerror(errno));
  }
  if (cf_sys_setgroups(user->group_count, user->groups) < 0 || cf_sys_setresgid(user->gid) < 0 ||
      cf_sys_setresuid(user->uid) < 0) {
    child_fail("switch to user %s: %s", user->name, strerror(errno));
  }
  if (user->uid == 0) {
    limit_root();
  }
}

/* libarchive's message plus the system error, such as "Permission denied". */
static const char *archive_reason(struct archive *a, char *out, size_t size)
{
  const char *text = archive_error_string(a);
  int errnum = archive_errno(a);
  if (errnum > 0 && (text == NULL || strstr(text, strerror(errnum)) == NULL)) {
    snprintf(out, size, "%s: %s", text != NULL ? text : "failed", strerror(errnum));
  } else {
    snprintf(out, size, "%s", text != NULL ? text : "failed");
  }
  return out;
}

static int extract_flags(const cf_user *user)
{
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR |
              ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
              ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
  /* Only root can give files the owners the tar names; everyone else owns
   * what it extracts. */
  return user->uid == 0 ? flags | ARCHIVE_EXTRACT_OWNER : flags;
}

static void copy_entry_data(struct archive *in, struct archive *out, const char *name)
{
  char reason[512];
  for (;;) {
    const void *block;
    size_t size;
    la_int64_t offset;
    int rc = archive_read_data_block(in, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) {
      return;
    }
    if (rc < ARCHIVE_WARN) {
      child_fail("read %s from the tar stream: %s", name,
                 archive_reason(in, reason, sizeof(reason)));
    }
    if (archive_write_data_block(out, block, size, offset) < ARCHIVE_WARN) {
      child_fail("write %s: %s", name, archive_reason(out, reason, sizeof(reason)));
    }
  }
}

/* Reads what follows the end of the archive, so the server can send the
 * whole body. */
static void drain_input(void)
{
  char block[COPY_BLOCK];
  ssize_t n;
  while ((n = read(CHILD_DATA_FD, block, sizeof(block))) != 0) {
    if (n < 0 && errno != EINTR) {
      return;
    }
  }
}

static void extract(const cf_user *user)
{
  char reason[512];
  struct archive *in = archive_read_new();
  struct archive *out = archive_write_disk_new();
  archive_read_support_format_tar(in);
  archive_read_support_format_empty(in);
  archive_write_disk_set_options(out, extract_flags(user));
  if (archive_read_open_fd(in, CHILD_DATA_FD, COPY_BLOCK) != ARCHIVE_OK) {
    child_fail("read the tar stream: %s", archive_reason(in, reason, sizeof(reason)));
  }
  for (;;) {
    struct archive_entry *entry;
    int rc = archive_read_next_header(in, &entry);
    if (rc == ARCHIVE_EOF) {
      break;
    }
    if (rc < ARCHIVE_WARN) {
      child_fail("read the tar stream: %s", archive_reason(in, reason, sizeof(reason)));
    }
    cf_autofree char *name = cf_xstrdup(archive_entry_pathname(entry));
    if (archive_write_header(out, entry) < ARCHIVE_WARN) {
      child_fail("extract %s: %s", name, archive_reason(out, reason, sizeof(reason)));
    }
    copy_entry_data(in, out, name);
    if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
      child_fail("extract %s: %s", name, archive_reason(out, reason, sizeof(reason)));
    }
  }
  if (archive_write_close(out) < ARCHIVE_WARN) {
    child_fail("finish extraction: %s", archive_reason(out, reason, sizeof(reason)));
  }
  drain_input();
}

static void stream_in(const cf_stream_child_spec *spec, const cf_user *user)
{
  cf_autofree char *dir = absolute_path(spec->path, user);
  make_destination(dir, user);
  switch_user(user);
  if (chdir(dir) < 0) {
    child_fail("enter destination %s: %s", dir, strerror(errno));
  }
  extract(user);
}

static void copy_file_data(struct archive *disk, struct archive *out, const char *name)
{
  char reason[512];
  char block[COPY_BLOCK];
  for (;;) {
    la_ssize_t n = archive_read_data(disk, block, sizeof(block));
    if (n == 0) {
      return;
    }
    if (n < 0) {
      child_fail("read %s: %s", name, archive_reason(disk, reason, sizeof(reason)));
    }
    if (archive_write_data(out, block, (size_t)n) < 0) {
      child_fail("write the tar stream: %s", archive_reason(out, reason, sizeof(reason)));
    }
  }
}

/* Writes the tar of name, a path relative to the working directory, with
 * directories walked and symbolic links stored as links. */
static void archive_tree(const char *name, accounts *files)
{
  char reason[512];
  struct archive *disk = archive_read_disk_new();
  struct archive *out = archive_write_new();
  archive_read_disk_set_symlink_physical(disk);
  /* Owner names come from the container's own account files, as tar run
   * inside it would find them. */
  archive_read_disk_set_uname_lookup(disk, files, lookup_user_name, NULL);
  archive_read_disk_set_gname_lookup(disk, files, lookup_group_name, NULL);
  archive_write_set_format_pax_restricted(out);
  if (archive_write_open_fd(out, CHILD_DATA_FD) != ARCHIVE_OK) {
    child_fail("write the tar stream: %s", archive_reason(out, reason, sizeof(reason)));
  }
  if (archive_read_disk_open(disk, name) != ARCHIVE_OK) {
    child_fail("open %s: %s", name, archive_reason(disk, reason, sizeof(reason)));
  }
  struct archive_entry *entry = archive_entry_new();
  for (;;) {
    archive_entry_clear(entry);
    int rc = archive_read_next_header2(disk, entry);
    if (rc == ARCHIVE_EOF) {
      break;
    }
    if (rc < ARCHIVE_WARN) {
      child_fail("read %s: %s", name, archive_reason(disk, reason, sizeof(reason)));
    }
    archive_read_disk_descend(disk);
    rc = archive_write_header(out, entry);
    if (rc == ARCHIVE_FATAL) {
      child_fail("write the tar stream: %s", archive_reason(out, reason, sizeof(reason)));
    }
    if (rc == ARCHIVE_FAILED) {
      continue; /* a socket, which tar cannot hold, so GNU tar skips it too */
    }
    if (archive_entry_filetype(entry) == AE_IFREG && archive_entry_size(entry) > 0) {
      copy_file_data(disk, out, archive_entry_pathname(entry));
    }
  }
  archive_entry_free(entry);
  if (archive_write_close(out) != ARCHIVE_OK) {
    child_fail("write the tar stream: %s", archive_reason(out, reason, sizeof(reason)));
  }
}

/* Splits the source as gdn runs tar: "D/N" archives N in D, and a trailing
 * '/' archives "." in the directory itself. */
static void stream_out(const cf_stream_child_spec *spec, const cf_user *user, accounts *files)
{
  cf_autofree char *source = absolute_path(spec->path, user);
  size_t len = strlen(source);
  const char *name = ".";
  if (source[len - 1] != '/') {
    char *slash = strrchr(source, '/');
    name = slash + 1;
    *slash = '\0';
  }
  const char *dir = source[0] != '\0' ? source : "/";
  switch_user(user);
  if (chdir(dir) < 0) {
    child_fail("enter %s: %s", dir, strerror(errno));
  }
  struct stat st;
  if (lstat(name, &st) < 0) {
    child_fail("%s", strerror(errno)); /* the server's message names the path */
  }
  archive_tree(name, files);
}

_Noreturn static void run_child(child_plan *plan)
{
  cf_sys_default_signals();
  cf_sys_block_signals(0);
  /* The server's death kills the child, so no transfer outlives it. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != plan->parent) {
    _exit(1);
  }
  arrange_fds(plan);
  enter_container(plan);
  umask(022);
  accounts files = {.passwd = read_user_file("/etc/passwd"), .group = read_user_file("/etc/group")};
  cf_user user;
  resolve_user(plan->spec->user, &files, &user);
  if (plan->spec->extract) {
    stream_in(plan->spec, &user);
  } else {
    stream_out(plan->spec, &user, &files);
  }
  _exit(0);
}

/* --- Parent --- */

static bool in_own_userns(pid_t init_pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)init_pid);
  struct stat theirs;
  struct stat ours;
  return stat(path, &theirs) == 0 && stat("/proc/self/ns/user", &ours) == 0 &&
         (theirs.st_dev != ours.st_dev || theirs.st_ino != ours.st_ino);
}

static void close_plan(child_plan *plan)
{
  cf_closep(&plan->data_fd);
  cf_closep(&plan->error_fd);
  cf_closep(&plan->init_fd);
  cf_closep(&plan->root_fd);
  cf_closep(&plan->null_fd);
}

/* Opens the init's pidfd and root, checking that the pid still belongs to
 * the init once both are open, and notes whether it has a user namespace. */
static int open_init(const cf_stream_child_spec *spec, child_plan *plan, cf_err **err)
{
  if (cf_proc_open_init(spec->init_pid, spec->init_start_time, &plan->init_fd, &plan->root_fd,
                        err) < 0) {
    return -1;
  }
  plan->join_userns = in_own_userns(spec->init_pid);
  return 0;
}

static int make_pipes(const cf_stream_child_spec *spec, child_plan *plan, cf_stream_child *out,
                      cf_err **err)
{
  int data[2];
  int error[2];
  if (pipe2(data, O_CLOEXEC) < 0) {
    return cf_err_sys(err, errno, "create the tar stream pipe");
  }
  out->data_fd = spec->extract ? data[1] : data[0];
  plan->data_fd = spec->extract ? data[0] : data[1];
  if (pipe2(error, O_CLOEXEC) < 0) {
    return cf_err_sys(err, errno, "create the error pipe");
  }
  out->error_fd = error[0];
  plan->error_fd = error[1];
  plan->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (plan->null_fd < 0) {
    return cf_err_sys(err, errno, "open /dev/null");
  }
  return 0;
}

/* Forks with every signal blocked, so no handler of the server runs in
 * the child before it resets them. */
static pid_t fork_child(child_plan *plan)
{
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = fork();
  if (pid == 0) {
    run_child(plan);
  }
  int saved = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return pid;
}

static void reap(pid_t pid)
{
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

int cf_stream_child_start(const cf_stream_child_spec *spec, cf_stream_child *out, cf_err **err)
{
  *out = (cf_stream_child){.pid = -1, .pidfd = -1, .data_fd = -1, .error_fd = -1};
  child_plan plan = {.spec = spec,
                     .parent = getpid(),
                     .data_fd = -1,
                     .error_fd = -1,
                     .init_fd = -1,
                     .root_fd = -1,
                     .null_fd = -1};
  if (open_init(spec, &plan, err) < 0 || make_pipes(spec, &plan, out, err) < 0) {
    close_plan(&plan);
    cf_stream_child_close(out);
    return -1;
  }
  pid_t pid = fork_child(&plan);
  int saved = errno;
  close_plan(&plan);
  if (pid < 0) {
    cf_stream_child_close(out);
    return cf_err_sys(err, saved, "fork the stream child");
  }
  out->pid = pid;
  out->pidfd = cf_sys_pidfd_open(pid);
  if (out->pidfd < 0) {
    saved = errno;
    kill(pid, SIGKILL);
    reap(pid);
    cf_stream_child_close(out);
    return cf_err_sys(err, saved, "open pidfd of stream child %d", (int)pid);
  }
  return 0;
}

void cf_stream_child_kill(const cf_stream_child *child)
{
  if (child->pidfd >= 0) {
    cf_sys_pidfd_send_signal(child->pidfd, SIGKILL);
  }
}

static void read_message(int fd, char *message, size_t size)
{
  message[0] = '\0';
  if (fd < 0 || size == 0) {
    return;
  }
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  ssize_t n;
  do {
    n = read(fd, message, size - 1);
  } while (n < 0 && errno == EINTR);
  message[n > 0 ? n : 0] = '\0';
}

int cf_stream_child_wait(const cf_stream_child *child, bool *exited, int *exit_status,
                         char *message, size_t message_size, cf_err **err)
{
  *exited = false;
  int status = 0;
  pid_t rc;
  do {
    rc = waitpid(child->pid, &status, WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    return cf_err_sys(err, errno, "wait for stream child %d", (int)child->pid);
  }
  if (rc == 0) {
    return 0;
  }
  *exited = true;
  *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  read_message(child->error_fd, message, message_size);
  return 0;
}

void cf_stream_child_close(cf_stream_child *child)
{
  cf_closep(&child->pidfd);
  cf_closep(&child->data_fd);
  cf_closep(&child->error_fd);
}
