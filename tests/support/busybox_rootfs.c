/* SPDX-License-Identifier: Apache-2.0 */
#include "busybox_rootfs.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"

#define INSTALL_HINT                                                                               \
  "install busybox-static (apt-get install busybox-static) or use the path of a statically "       \
  "linked busybox"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char group[] = "root:x:0:\n"
                            "nogroup:x:65534:\n";

/* Stores in *out whether a 64-bit ELF binary names a dynamic loader
 * (PT_INTERP) in its program headers. */
static int has_interpreter(int fd, bool *out, cf_err **err)
{
  Elf64_Ehdr header;
  if (pread(fd, &header, sizeof(header), 0) != (ssize_t)sizeof(header) ||
      memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64) {
    return cf_err_set(err, CF_E_INVALID, "not a 64-bit ELF executable");
  }
  *out = false;
  for (unsigned i = 0; i < header.e_phnum; i++) {
    Elf64_Phdr ph;
    off_t at = (off_t)header.e_phoff + (off_t)i * header.e_phentsize;
    if (pread(fd, &ph, sizeof(ph), at) != (ssize_t)sizeof(ph)) {
      return cf_err_set(err, CF_E_INVALID, "truncated ELF program header");
    }
    if (ph.p_type == PT_INTERP) {
      *out = true;
    }
  }
  return 0;
}

static int check_busybox(const char *busybox, cf_err **err)
{
  cf_autoclose int fd = open(busybox, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    return cf_err_set(err, CF_E_NOT_FOUND, "busybox not found at %s: " INSTALL_HINT, busybox);
  }
  if (fd < 0) {
    return cf_err_sys(err, errno, "open %s", busybox);
  }
  bool dynamic = false;
  if (has_interpreter(fd, &dynamic, err) < 0) {
    return cf_err_wrap(err, "%s", busybox);
  }
  if (dynamic) {
    return cf_err_set(
        err, CF_E_INVALID,
        "%s is dynamically linked and cannot run in a rootfs without libraries: " INSTALL_HINT,
        busybox);
  }
  return 0;
}

/* Runs `busybox --list` and collects its output. */
static int list_applets(const char *busybox, cf_buf *out, cf_err **err)
{
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    return cf_err_sys(err, errno, "pipe");
  }
  pid_t pid = fork();
  if (pid < 0) {
    int saved = errno;
    close(fds[0]);
    close(fds[1]);
    return cf_err_sys(err, saved, "fork");
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execl(busybox, "busybox", "--list", (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  char chunk[4096];
  ssize_t n;
  int rc = 0;
  while ((n = read(fds[0], chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0 && rc == 0) {
      rc = cf_buf_append(out, chunk, (size_t)n, err);
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
    rc = cf_err_set(err, CF_E_SYSTEM, "%s --list failed (wait status %d)", busybox, status);
  }
  return rc;
}

static bool applet_name_ok(const char *name)
{
  return name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
         strcmp(name, "..") != 0 && strcmp(name, "busybox") != 0;
}

static int link_applets(const char *busybox, const char *bin, cf_err **err)
{
  cf_buf list;
  cf_buf_init(&list, 1024 * 1024);
  int rc = list_applets(busybox, &list, err);
  for (char *line = list.data, *next; rc == 0 && line != NULL && *line != '\0'; line = next) {
    next = strchr(line, '\n');
    if (next != NULL) {
      *next++ = '\0';
    }
    if (!applet_name_ok(line)) {
      continue;
    }
    cf_autofree char *path = cf_path_join(bin, line);
    if (symlink("busybox", path) < 0 && errno != EEXIST) {
      rc = cf_err_sys(err, errno, "symlink %s", path);
    }
  }
  cf_buf_free(&list);
  return rc;
}

static int copy_busybox(const char *busybox, const char *bin, cf_err **err)
{
  cf_buf content;
  cf_buf_init(&content, 64 * 1024 * 1024);
  cf_autofree char *target = cf_path_join(bin, "busybox");
  int rc = cf_read_file(busybox, &content, err);
  if (rc == 0) {
    rc = cf_write_file_atomic(target, content.data, content.len, 0755, err);
  }
  if (rc == 0 && chmod(target, 0755) < 0) {
    rc = cf_err_sys(err, errno, "chmod %s", target);
  }
  cf_buf_free(&content);
  return rc;
}

static int make_dirs(const char *dir, cf_err **err)
{
  static const char *const names[] = {"bin", "proc", "sys", "dev", "tmp", "etc", "root", "home"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    cf_autofree char *path = cf_path_join(dir, names[i]);
    if (cf_mkdir_p(path, 0755, err) < 0) {
      return -1;
    }
  }
  cf_autofree char *tmp = cf_path_join(dir, "tmp");
  if (chmod(tmp, 01777) < 0) {
    return cf_err_sys(err, errno, "chmod %s", tmp);
  }
  return 0;
}

static int write_accounts(const char *dir, cf_err **err)
{
  cf_autofree char *passwd_path = cf_path_join(dir, "etc/passwd");
  cf_autofree char *group_path = cf_path_join(dir, "etc/group");
  if (cf_write_file_atomic(passwd_path, passwd, strlen(passwd), 0644, err) < 0) {
    return -1;
  }
  return cf_write_file_atomic(group_path, group, strlen(group), 0644, err);
}

int cf_busybox_rootfs_make(const char *busybox, const char *dir, cf_err **err)
{
  cf_autofree char *bin = cf_path_join(dir, "bin");
  if (check_busybox(busybox, err) < 0) {
    return -1;
  }
  if (make_dirs(dir, err) < 0 || copy_busybox(busybox, bin, err) < 0 ||
      link_applets(busybox, bin, err) < 0 || write_accounts(dir, err) < 0) {
    return cf_err_wrap(err, "make busybox rootfs in %s", dir);
  }
  return 0;
}
