/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal root filesystem around a statically linked busybox. */
#ifndef CFWIN_TESTS_BUSYBOX_ROOTFS_H
#define CFWIN_TESTS_BUSYBOX_ROOTFS_H

#include "base/err.h"

/* Where Debian's busybox-static package installs the binary. */
#define CF_BUSYBOX_DEFAULT_PATH "/bin/busybox"

/* Fills dir (created when missing) with bin/busybox, a bin/ symlink to it
 * for every applet that `busybox --list` prints, the directories proc, sys,
 * dev, tmp (mode 1777), etc, root and home, an etc/passwd with root (uid 0,
 * home /root, shell /bin/sh) and nobody (uid 65534), and an etc/group with
 * root and nogroup. busybox must be a statically linked executable, because
 * the rootfs has no shared libraries; CF_E_NOT_FOUND when it is missing and
 * CF_E_INVALID when it is dynamically linked, both saying to install
 * busybox-static. */
int cf_busybox_rootfs_make(const char *busybox, const char *dir, cf_err **err);

#endif
