/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resolution of a process user against a container's own /etc/passwd and
 * /etc/group (never the host's, and never through NSS), and the environment
 * a process starts with. Pure functions over file contents, so they are
 * unit-tested without a container.
 */
#ifndef CFWIN_RUNTIME_LINUX_USER_H
#define CFWIN_RUNTIME_LINUX_USER_H

#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

typedef struct cf_user {
  uid_t uid;
  gid_t gid;
  gid_t *groups; /* the setgroups() list: gid first, then the user's other groups */
  size_t group_count;
  char *name; /* $USER: the passwd name, or the uid in decimal without an entry */
  char *home; /* $HOME and the default working directory */
} cf_user;

/* Resolves spec, one of "" (root), "NAME", "UID", "NAME:GROUP" or "UID:GID",
 * against the text of passwd and group files. Either text may be NULL for a
 * missing file. A numeric user or group needs no entry, and a uid without one
 * gets gid 0 and home "/" ("/root" for uid 0). "root" always resolves: to
 * uid 0 and home "/root" when passwd has no entry for it. Without a group in
 * spec, the user's groups are its gid and every group that lists its name as
 * a member. With a group, they are only that group. Fails with
 * CF_E_USER_NOT_FOUND for an unknown name. On success the caller frees out
 * with cf_user_free(). */
int cf_user_resolve(const char *spec, const char *passwd, const char *group, cf_user *out,
                    cf_err **err);

void cf_user_free(cf_user *user);

/* Returns a new NULL-terminated environment of *count entries: env in order,
 * then HOME, USER and PATH from user for each that env lacks. The default
 * PATH omits the sbin directories unless the user is root. The caller frees
 * it with cf_strv_free(). */
char **cf_user_env(const cf_user *user, const char *const *env, size_t env_count, size_t *count);

/* Returns the value of the first NAME= entry of a NULL-terminated environment,
 * or NULL. */
const char *cf_env_get(char *const *env, const char *name);

#endif
