/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container init: the child that cf_runtime_container_create() clones
 * into new mount, pid, uts, ipc and network namespaces. It builds the root
 * filesystem, reports ready or the failed step through a pipe, and then
 * reaps orphans as pid 1 until it is killed.
 */
#ifndef CFWIN_RUNTIME_LINUX_INIT_H
#define CFWIN_RUNTIME_LINUX_INIT_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/linux/security.h"
#include "runtime/linux/userns.h"

/* One mount of an OCI bundle, converted to mount(2) arguments. */
typedef struct cf_init_mount {
  const char *source;
  char *target; /* relative to the root filesystem; edited in place while created */
  const char *type;
  unsigned long flags; /* mount flags; for a bind mount, those of the remount */
  char *data;          /* filesystem options, or NULL */
  bool bind;
  bool recursive; /* rbind */
  bool file;      /* a bind mount of a file: the mount point is a file */
} cf_init_mount;

/* Everything the init needs, prepared by the parent before clone(), because
 * the child must not allocate. */
typedef struct cf_init_plan {
  const char *target;      /* the overlay mount point; becomes "/" */
  char *overlay_options;   /* mount(2) data, or NULL when it exceeds a page */
  const char **lower_dirs; /* top layer first, for fsconfig() when options is NULL */
  size_t lower_count;
  const char *upper_dir;
  const char *work_dir;
  const char *upper_device;    /* NULL, or the device to mount on upper_mount_dir first */
  const char *upper_fs_type;   /* its filesystem type */
  const char *upper_mount_dir; /* where upper_dir and work_dir live */
  bool plain_root;             /* target is a directory to bind onto itself, no overlay */
  bool readonly_root;          /* remount the root read-only at the end */
  bool own_mounts;             /* mounts replace the fixed /proc, /dev, /sys set */
  cf_init_mount *mounts;
  size_t mount_count;
  bool dev_mounted; /* a mount covers /dev: add the host devices and links */
  int network_fd;   /* network namespace to join, or -1 for a new one */
  const char *hostname;
  char *args; /* the argv area, overwritten with the init's name; or NULL */
  size_t args_len;
  int report_fd; /* write end of the report pipe */
  /* The init waits on sync until the parent has put it in the container's
   * cgroup and, with userns, written its id maps. */
  cf_userns_sync sync;
  bool userns; /* cloned into a new user namespace: become its root */
  /* With userns: the upper filesystem, mounted detached on the host side
   * because the init may not mount it, or -1. */
  int upper_mount_fd;
  const cf_sec_plan *sec; /* masked and read-only paths */
} cf_init_plan;

/* Runs in the cloned child: sets up the container and becomes its init.
 * Never returns; exits with status 1 after reporting a failed step. */
_Noreturn void cf_init_run(cf_init_plan *plan);

#endif
