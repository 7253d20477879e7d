/* SPDX-License-Identifier: Apache-2.0 */
#include "image/entry.h"

#include <archive.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/mem.h"

#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_MARKER ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."

int cf_image_entry_normalize(const char *kind, const char *path, char **out, cf_err **err)
{
  *out = NULL;
  if (path[0] == '/') {
    return cf_err_set(err, CF_E_INVALID, "%s \"%s\" escapes the layer directory: absolute path",
                      kind, path);
  }
  cf_buf clean;
  cf_buf_init(&clean, SIZE_MAX);
  const char *p = path;
  while (*p != '\0') {
    size_t len = strcspn(p, "/");
    if (len == 2 && p[0] == '.' && p[1] == '.') {
      cf_buf_free(&clean);
      return cf_err_set(err, CF_E_INVALID,
                        "%s \"%s\" escapes the layer directory: \"..\" component", kind, path);
    }
    bool skip = len == 0 || (len == 1 && p[0] == '.');
    if (!skip) {
      if (clean.len > 0) {
        cf_buf_append(&clean, "/", 1, NULL);
      }
      cf_buf_append(&clean, p, len, NULL);
    }
    p += len;
    p += strspn(p, "/");
  }
  if (clean.len == 0) {
    cf_buf_append_str(&clean, ".", NULL);
  }
  *out = cf_buf_take(&clean);
  return 0;
}

/* Copies every extended attribute but trusted.overlay.* back into entry. */
static void drop_overlay_xattrs(struct archive_entry *entry)
{
  size_t count = (size_t)archive_entry_xattr_reset(entry);
  if (count == 0) {
    return;
  }
  struct saved_xattr {
    char *name;
    void *value;
    size_t size;
  } *saved = cf_xcalloc(count, sizeof(*saved));
  size_t saved_count = 0;
  bool dropped = false;
  const char *name;
  const void *value;
  size_t size;
  while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
    if (strncmp(name, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) == 0) {
      dropped = true;
      continue;
    }
    saved[saved_count].name = cf_xstrdup(name);
    saved[saved_count].value = cf_xmalloc(size);
    memcpy(saved[saved_count].value, value, size);
    saved[saved_count].size = size;
    saved_count++;
  }
  if (dropped) {
    archive_entry_xattr_clear(entry);
    for (size_t i = 0; i < saved_count; i++) {
      archive_entry_xattr_add_entry(entry, saved[i].name, saved[i].value, saved[i].size);
    }
  }
  for (size_t i = 0; i < saved_count; i++) {
    free(saved[i].name);
    free(saved[i].value);
  }
  free(saved);
}

/* Splits a normalized path into its directory ("." at the top) and base name. */
static char *parent_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash != NULL ? cf_xstrndup(path, (size_t)(slash - path)) : cf_xstrdup(".");
}

static const char *base_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash != NULL ? slash + 1 : path;
}

static int classify_whiteout(const char *raw, const char *path, enum cf_entry_action *action,
                             char **target, cf_err **err)
{
  const char *base = base_of(path);
  cf_autofree char *dir = parent_of(path);
  if (strcmp(base, OPAQUE_MARKER) == 0) {
    *action = CF_ENTRY_OPAQUE;
    *target = cf_steal(&dir);
    return 0;
  }
  const char *hidden = base + strlen(WHITEOUT_PREFIX);
  /* .wh..wh.* names are aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs) that
   * overlayfs has no use for. */
  if (strncmp(hidden, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0) {
    *action = CF_ENTRY_SKIP;
    return 0;
  }
  if (hidden[0] == '\0' || strcmp(hidden, ".") == 0 || strcmp(hidden, "..") == 0) {
    return cf_err_set(err, CF_E_INVALID, "entry \"%s\" is not a valid whiteout", raw);
  }
  *action = CF_ENTRY_WHITEOUT;
  *target = strcmp(dir, ".") == 0 ? cf_xstrdup(hidden) : cf_xasprintf("%s/%s", dir, hidden);
  return 0;
}

/* Device nodes other than 0/0 whiteouts are not created, whether the
 * container is privileged or not: a node in a layer would give the
 * container a host device that the runtime did not grant. Layers are
 * shared by every container of the image, so a node kept for a privileged
 * one would appear in unprivileged ones too. A privileged container that
 * needs a node can make it itself with CAP_MKNOD. */
static bool is_device_node(struct archive_entry *entry)
{
  mode_t type = archive_entry_filetype(entry);
  if (type == AE_IFBLK) {
    return true;
  }
  return type == AE_IFCHR && archive_entry_rdev(entry) != 0;
}

/* Keeps set-user-ID and set-group-ID bits on regular files, where images
 * rely on them (su, ping), and set-group-ID on directories, where new files
 * inherit the group. Linux ignores set-user-ID on a directory, and on a
 * FIFO, socket or whiteout device both bits serve no purpose, so they are
 * cleared there. libarchive also clears both on a file whose owner it could
 * not set, as happens when the unpack does not run as root. */
static void strip_special_bits(struct archive_entry *entry)
{
  mode_t type = archive_entry_filetype(entry);
  mode_t clear = S_ISUID | S_ISGID;
  if (type == AE_IFREG) {
    clear = 0;
  } else if (type == AE_IFDIR) {
    clear = S_ISUID;
  }
  archive_entry_set_perm(entry, archive_entry_perm(entry) & ~clear);
}

static int normalize_hardlink(struct archive_entry *entry, const char *raw, cf_err **err)
{
  const char *link = archive_entry_hardlink(entry);
  if (link == NULL) {
    return 0;
  }
  cf_autofree char *clean = NULL;
  if (cf_image_entry_normalize("hard link target", link, &clean, err) < 0) {
    return cf_err_wrap(err, "entry \"%s\"", raw);
  }
  archive_entry_set_hardlink(entry, clean);
  return 0;
}

int cf_image_entry_prepare(struct archive_entry *entry, enum cf_entry_action *action, char **target,
                           cf_err **err)
{
  *target = NULL;
  *action = CF_ENTRY_WRITE;
  const char *name = archive_entry_pathname(entry);
  if (name == NULL) {
    return cf_err_set(err, CF_E_INVALID, "entry without a path name");
  }
  cf_autofree char *raw = cf_xstrdup(name);
  cf_autofree char *path = NULL;
  if (cf_image_entry_normalize("entry", raw, &path, err) < 0) {
    return -1;
  }
  if (normalize_hardlink(entry, raw, err) < 0) {
    return -1;
  }
  archive_entry_set_pathname(entry, path);
  drop_overlay_xattrs(entry);
  strip_special_bits(entry);

  if (strncmp(base_of(path), WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0) {
    return classify_whiteout(raw, path, action, target, err);
  }
  if (is_device_node(entry)) {
    *action = CF_ENTRY_SKIP;
  }
  return 0;
}

static int map_id(const char *kind, const cf_id_map *map, int64_t id, const char *name,
                  int64_t *host, cf_err **err)
{
  uint32_t mapped = 0;
  if (id < 0 || id > (int64_t)UINT32_MAX || !cf_id_map_to_host(map, (uint32_t)id, &mapped)) {
    return cf_err_set(err, CF_E_INVALID,
                      "entry \"%s\" is owned by %s %" PRId64
                      ", which no range of the %s mapping contains; add a range that maps it",
                      name, kind, id, kind);
  }
  *host = mapped;
  return 0;
}

int cf_image_entry_map_owner(struct archive_entry *entry, const cf_id_mapping *mapping,
                             cf_err **err)
{
  const char *name = archive_entry_pathname(entry);
  name = name != NULL ? name : "";
  int64_t uid = 0;
  int64_t gid = 0;
  if (map_id("uid", &mapping->uids, archive_entry_uid(entry), name, &uid, err) < 0 ||
      map_id("gid", &mapping->gids, archive_entry_gid(entry), name, &gid, err) < 0) {
    return -1;
  }
  archive_entry_set_uid(entry, uid);
  archive_entry_set_gid(entry, gid);
  return 0;
}

cf_dir_owner cf_image_dir_owner(const cf_id_mapping *mapping)
{
  cf_dir_owner owner = {.uid = (uid_t)-1, .gid = (gid_t)-1};
  uint32_t uid = 0;
  uint32_t gid = 0;
  if (cf_id_mapping_is_set(mapping) && cf_id_map_to_host(&mapping->uids, 0, &uid) &&
      cf_id_map_to_host(&mapping->gids, 0, &gid)) {
    owner.uid = uid;
    owner.gid = gid;
  }
  return owner;
}
