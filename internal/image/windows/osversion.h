/* SPDX-License-Identifier: Apache-2.0 */
/* The host's Windows version in the form of an image's os.version. */
#ifndef CFWIN_IMAGE_WINDOWS_OSVERSION_H
#define CFWIN_IMAGE_WINDOWS_OSVERSION_H

#include "base/err.h"

/* Stores "MAJOR.MINOR.BUILD.UBR" of the running host in *out (free()),
 * such as "10.0.17763.5458" on Windows Server 2019: the value that
 * cf_image_platform.os_version takes to pick the matching manifest. */
int cf_win_host_os_version(char **out, cf_err **err);

#endif
