/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files the backend writes: the container's /etc/resolv.conf, reached
 * through /proc/<pid>/root with openat2(RESOLVE_IN_ROOT) so that a symlink
 * in the container's tree resolves inside that tree and never reaches the
 * host's files, and the IPv4 forwarding switch of the host namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "network/linux/netlinux.h"

#define MAX_RESOLV_CONF (64 * 1024)

static int open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .mode = (flags & O_CREAT) ? mode : 0,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

static int build_resolv_conf(const uint32_t *servers, size_t server_count,
                             const char *const *search_domains, size_t search_domain_count,
                             cf_buf *out, cf_err **err)
{
  for (size_t i = 0; i < search_domain_count; i++) {
    const char *domain = search_domains[i];
    if (domain[0] == '\0' || domain[strcspn(domain, " \t\r\n#;")] != '\0') {
      return cf_err_set(err, CF_E_INVALID,
                        "invalid search domain \"%s\": use a non-empty name without spaces",
                        domain);
    }
  }
  for (size_t i = 0; i < server_count; i++) {
    char address[16];
    cf_nft_format_ip(servers[i], address);
    if (cf_buf_printf(out, err, "nameserver %s\n", address) < 0) {
      return -1;
    }
  }
  if (search_domain_count > 0 && cf_buf_append_str(out, "search", err) < 0) {
    return -1;
  }
  for (size_t i = 0; i < search_domain_count; i++) {
    if (cf_buf_printf(out, err, " %s", search_domains[i]) < 0) {
      return -1;
    }
  }
  if (search_domain_count > 0) {
    return cf_buf_append_str(out, "\n", err);
  }
  return 0;
}

/* Opens the container's etc directory, making it when it is missing. */
static int open_etc(int root_fd, cf_err **err)
{
  int fd = open_in_root(root_fd, "etc", O_PATH | O_DIRECTORY, 0);
  if (fd < 0 && errno == ENOENT) {
    if (mkdirat(root_fd, "etc", 0755) < 0 && errno != EEXIST) {
      return cf_err_sys(err, errno, "make /etc in the container");
    }
    fd = open_in_root(root_fd, "etc", O_PATH | O_DIRECTORY, 0);
  }
  if (fd < 0) {
    return cf_err_sys(err, errno, "open /etc in the container");
  }
  return fd;
}

/* Fails when root_fd is the caller's own root directory: a pid that is not
 * in a container (one that shares the host's root) would have the host's
 * /etc/resolv.conf rewritten. */
static int check_not_host_root(int root_fd, pid_t pid, cf_err **err)
{
  struct stat container_root;
  struct stat own_root;
  if (fstat(root_fd, &container_root) < 0 || stat("/", &own_root) < 0) {
    return cf_err_sys(err, errno, "compare the root of process %d with this process's root",
                      (int)pid);
  }
  if (container_root.st_dev == own_root.st_dev && container_root.st_ino == own_root.st_ino) {
    return cf_err_set(err, CF_E_INVALID,
                      "process %d has this host's root directory, so it is not in a container; "
                      "give the pid of a container's init (resolv.conf not written)",
                      (int)pid);
  }
  return 0;
}

int cf_netlx_write_resolv_conf(pid_t pid, const uint32_t *servers, size_t server_count,
                               const char *const *search_domains, size_t search_domain_count,
                               cf_err **err)
{
  cf_buf text;
  cf_buf_init(&text, MAX_RESOLV_CONF);
  if (build_resolv_conf(servers, server_count, search_domains, search_domain_count, &text, err) <
      0) {
    cf_buf_free(&text);
    return cf_err_wrap(err, "write resolv.conf");
  }

  cf_autofree char *root = cf_xasprintf("/proc/%d/root", (int)pid);
  cf_autoclose int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cf_autoclose int etc_fd = -1;
  cf_autoclose int fd = -1;
  int rc = -1;
  if (root_fd < 0) {
    cf_err_sys(err, errno, "open the root of process %d", (int)pid);
  } else if (check_not_host_root(root_fd, pid, err) < 0) {
    /* err is set */
  } else if ((etc_fd = open_etc(root_fd, err)) < 0) {
    /* err is set */
  } else if ((fd = open_in_root(root_fd, "etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC, 0644)) <
             0) {
    cf_err_sys(err, errno, "open /etc/resolv.conf in the container");
  } else {
    rc = cf_write_all(fd, text.data, text.len, err);
  }
  cf_buf_free(&text);
  if (rc < 0) {
    return cf_err_wrap(err, "write resolv.conf of process %d", (int)pid);
  }
  return 0;
}

int cf_netlx_enable_forwarding(cf_err **err)
{
  /* /proc/sys/net shows the network namespace of the thread that opens it. */
  const char *path = "/proc/sys/net/ipv4/ip_forward";
  cf_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return cf_err_sys(err, errno, "enable IPv4 forwarding: open %s", path);
  }
  if (write(fd, "1\n", 2) != 2) {
    return cf_err_sys(err, errno, "enable IPv4 forwarding: write %s", path);
  }
  return 0;
}
