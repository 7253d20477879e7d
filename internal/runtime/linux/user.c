/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/linux/user.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

#define ROOT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define USER_PATH "/usr/local/bin:/usr/bin:/bin"

/* One ':'-separated field of a passwd or group line; not NUL-terminated. */
typedef struct field {
  const char *p;
  size_t len;
} field;

/* passwd has 7 fields (name:password:uid:gid:gecos:home:shell), group 4
 * (name:password:gid:members). */
typedef struct entry {
  field f[7];
  size_t count;
} entry;

static bool field_eq(field f, const char *s)
{
  return strlen(s) == f.len && memcmp(f.p, s, f.len) == 0;
}

/* Parses a decimal id. (uint32_t)-1 is rejected: the kernel reads it as "no
 * change" in setresuid() and friends. */
static bool parse_id(const char *s, size_t len, uint32_t *out)
{
  if (len == 0 || len > 10) {
    return false;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    value = value * 10 + (uint64_t)(s[i] - '0');
  }
  if (value >= UINT32_MAX) {
    return false;
  }
  *out = (uint32_t)value;
  return true;
}

static bool parse_field_id(field f, uint32_t *out)
{
  return parse_id(f.p, f.len, out);
}

/* Reads the next line at *cursor into e, skipping blank and comment lines.
 * Returns false at the end of text. */
static bool next_entry(const char **cursor, entry *e)
{
  while (**cursor != '\0') {
    const char *line = *cursor;
    const char *end = strchr(line, '\n');
    if (end == NULL) {
      end = line + strlen(line);
    }
    *cursor = *end == '\n' ? end + 1 : end;
    if (end == line || line[0] == '#') {
      continue;
    }
    e->count = 0;
    const char *p = line;
    while (e->count < 7) {
      const char *colon = memchr(p, ':', (size_t)(end - p));
      const char *stop = colon != NULL ? colon : end;
      e->f[e->count++] = (field){p, (size_t)(stop - p)};
      if (colon == NULL) {
        break;
      }
      p = colon + 1;
    }
    return true;
  }
  return false;
}

/* Finds the first passwd entry whose name is user, or whose uid is user
 * when user is numeric, with valid uid and gid fields. */
static bool find_passwd(const char *passwd, const char *user, entry *out, uint32_t *uid,
                        uint32_t *gid)
{
  uint32_t expected = 0;
  bool numeric = parse_id(user, strlen(user), &expected);
  const char *cursor = passwd != NULL ? passwd : "";
  entry e;
  while (next_entry(&cursor, &e)) {
    if (e.count < 4 || !parse_field_id(e.f[2], uid) || !parse_field_id(e.f[3], gid)) {
      continue;
    }
    if (field_eq(e.f[0], user) || (numeric && *uid == expected)) {
      *out = e;
      return true;
    }
  }
  return false;
}

/* Finds the gid of the first group named name, or numbered name when it is
 * numeric. */
static bool find_group(const char *group, const char *name, uint32_t *gid)
{
  uint32_t expected = 0;
  bool numeric = parse_id(name, strlen(name), &expected);
  const char *cursor = group != NULL ? group : "";
  entry e;
  while (next_entry(&cursor, &e)) {
    uint32_t id;
    if (e.count < 3 || !parse_field_id(e.f[2], &id)) {
      continue;
    }
    if (field_eq(e.f[0], name) || (numeric && id == expected)) {
      *gid = id;
      return true;
    }
  }
  return false;
}

static bool list_has_member(field members, const char *name)
{
  const char *p = members.p;
  const char *end = members.p + members.len;
  while (p < end) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *stop = comma != NULL ? comma : end;
    field member = {p, (size_t)(stop - p)};
    while (member.len > 0 && member.p[0] == ' ') {
      member.p++;
      member.len--;
    }
    while (member.len > 0 && member.p[member.len - 1] == ' ') {
      member.len--;
    }
    if (field_eq(member, name)) {
      return true;
    }
    p = stop + 1;
  }
  return false;
}

static void add_group(cf_user *user, gid_t gid)
{
  for (size_t i = 0; i < user->group_count; i++) {
    if (user->groups[i] == gid) {
      return;
    }
  }
  user->groups = cf_xrealloc(user->groups, (user->group_count + 1) * sizeof(gid_t));
  user->groups[user->group_count++] = gid;
}

static void add_member_groups(cf_user *user, const char *group)
{
  const char *cursor = group != NULL ? group : "";
  entry e;
  while (next_entry(&cursor, &e)) {
    uint32_t gid;
    if (e.count < 4 || !parse_field_id(e.f[2], &gid)) {
      continue;
    }
    if (list_has_member(e.f[3], user->name)) {
      add_group(user, gid);
    }
  }
}

/* Fills user from the passwd entry for name, or from the defaults for a
 * numeric name or root. */
static int resolve_passwd(const char *name, const char *passwd, cf_user *user, cf_err **err)
{
  entry e;
  uint32_t uid;
  uint32_t gid;
  if (find_passwd(passwd, name, &e, &uid, &gid)) {
    user->uid = uid;
    user->gid = gid;
    user->name = cf_xstrndup(e.f[0].p, e.f[0].len);
    bool has_home = e.count > 5 && e.f[5].len > 0;
    user->home = has_home ? cf_xstrndup(e.f[5].p, e.f[5].len) : cf_xstrdup("/");
    return 0;
  }
  if (strcmp(name, "root") == 0) {
    uid = 0;
  } else if (!parse_id(name, strlen(name), &uid)) {
    return cf_err_set(err, CF_E_USER_NOT_FOUND,
                      "unable to find user %s: no matching entries in passwd file", name);
  }
  user->uid = uid;
  user->gid = 0;
  user->name = uid == 0 ? cf_xstrdup("root") : cf_xasprintf("%u", (unsigned)uid);
  user->home = cf_xstrdup(uid == 0 ? "/root" : "/");
  return 0;
}

int cf_user_resolve(const char *spec, const char *passwd, const char *group, cf_user *out,
                    cf_err **err)
{
  *out = (cf_user){0};
  cf_autofree char *name = cf_xstrdup(spec != NULL ? spec : "");
  char *group_name = strchr(name, ':');
  if (group_name != NULL) {
    *group_name++ = '\0';
  }
  if (name[0] == '\0') {
    free(name);
    name = cf_xstrdup("0");
  }

  cf_user user = {0};
  if (resolve_passwd(name, passwd, &user, err) < 0) {
    return -1;
  }
  if (group_name != NULL && group_name[0] != '\0') {
    uint32_t gid;
    if (!find_group(group, group_name, &gid) && !parse_id(group_name, strlen(group_name), &gid)) {
      cf_user_free(&user);
      return cf_err_set(err, CF_E_USER_NOT_FOUND,
                        "unable to find group %s: no matching entries in group file", group_name);
    }
    user.gid = gid;
    add_group(&user, gid);
  } else {
    add_group(&user, user.gid);
    add_member_groups(&user, group);
  }
  *out = user;
  return 0;
}

void cf_user_free(cf_user *user)
{
  free(user->groups);
  free(user->name);
  free(user->home);
  *user = (cf_user){0};
}

static bool env_has(const char *const *env, size_t count, const char *name)
{
  size_t len = strlen(name);
  for (size_t i = 0; i < count; i++) {
    if (strncmp(env[i], name, len) == 0 && env[i][len] == '=') {
      return true;
    }
  }
  return false;
}

char **cf_user_env(const cf_user *user, const char *const *env, size_t env_count, size_t *count)
{
  char **out = cf_xcalloc(env_count + 4, sizeof(char *));
  size_t n = 0;
  for (size_t i = 0; i < env_count; i++) {
    out[n++] = cf_xstrdup(env[i]);
  }
  if (!env_has(env, env_count, "HOME")) {
    out[n++] = cf_xasprintf("HOME=%s", user->home);
  }
  if (!env_has(env, env_count, "USER")) {
    out[n++] = cf_xasprintf("USER=%s", user->name);
  }
  if (!env_has(env, env_count, "PATH")) {
    out[n++] = cf_xstrdup(user->uid == 0 ? "PATH=" ROOT_PATH : "PATH=" USER_PATH);
  }
  *count = n;
  return out;
}

const char *cf_env_get(char *const *env, const char *name)
{
  size_t len = strlen(name);
  for (size_t i = 0; env[i] != NULL; i++) {
    if (strncmp(env[i], name, len) == 0 && env[i][len] == '=') {
      return env[i] + len + 1;
    }
  }
  return NULL;
}
