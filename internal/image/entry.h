/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checks on layer tar entries before they are written, and the overlayfs
 * form of OCI whiteouts. The filesystem helpers take paths relative to the
 * current directory, which the unpack thread has set to the layer directory.
 */
#ifndef CFWIN_IMAGE_ENTRY_H
#define CFWIN_IMAGE_ENTRY_H

#include <archive_entry.h>
#include <sys/types.h>

#include "base/err.h"
#include "image/idmap.h"

/* Owner of the directories an unpack creates that no entry describes
 * (missing parents, opaque directories): for a mapped layer the host ids
 * of container root, else (uid_t)-1 and (gid_t)-1, which keep the
 * creator's. */
typedef struct cf_dir_owner {
  uid_t uid;
  gid_t gid;
} cf_dir_owner;

/* Actions for a tar entry. */
enum cf_entry_action {
  CF_ENTRY_WRITE,    /* extract the entry as it is */
  CF_ENTRY_WHITEOUT, /* .wh.NAME: create a whiteout device for NAME */
  CF_ENTRY_OPAQUE,   /* .wh..wh..opq: mark the directory opaque */
  CF_ENTRY_SKIP,     /* write nothing (other .wh..wh. names, device nodes) */
};

/* Rewrites path into a clean relative form ("./a//b/" becomes "a/b", the
 * root becomes ".") as a new string in *out. Fails with CF_E_INVALID for an
 * absolute path or a ".." component; kind names the path in the message
 * ("entry", "hard link target"). */
int cf_image_entry_normalize(const char *kind, const char *path, char **out, cf_err **err);

/* Normalizes the entry's path and hard-link target in place, drops
 * trusted.overlay.* extended attributes (only whiteout conversion may set
 * them), limits the set-user-ID and set-group-ID bits (kept on regular
 * files, set-group-ID also on directories, cleared elsewhere) and decides
 * the action. For whiteouts *target is a new string: the path the whiteout
 * hides, or the directory to mark opaque; else NULL. Errors name the
 * entry. */
int cf_image_entry_prepare(struct archive_entry *entry, enum cf_entry_action *action, char **target,
                           cf_err **err);

/* Replaces the entry's uid and gid with the host ids that mapping gives.
 * Fails with CF_E_INVALID naming the entry and the id when no range
 * contains one of them. */
int cf_image_entry_map_owner(struct archive_entry *entry, const cf_id_mapping *mapping,
                             cf_err **err);

/* Returns the owner for directories no entry describes: the host ids of
 * container id 0 when mapping is set, else (uid_t)-1 and (gid_t)-1. A
 * mapping without container id 0 also gives -1. */
cf_dir_owner cf_image_dir_owner(const cf_id_mapping *mapping);

/* Creates the missing directories above path with mode 0755, owned by
 * owner, after the checks of cf_image_entry_check_parents(). */
int cf_image_entry_make_parents(const char *path, const cf_dir_owner *owner, cf_err **err);

/* Fails with CF_E_INVALID when a directory on the way to path (every
 * component but the last) is a symbolic link, so nothing is written through
 * a link that may point outside the layer. */
int cf_image_entry_check_parents(const char *path, cf_err **err);

/* Replaces path with a 0/0 character device, the overlayfs whiteout. */
int cf_image_whiteout_create(const char *path, const cf_dir_owner *owner, cf_err **err);

/* Sets trusted.overlay.opaque=y on directory dir, creating it (owned by
 * owner) when missing. */
int cf_image_opaque_mark(const char *dir, const cf_dir_owner *owner, cf_err **err);

#endif
