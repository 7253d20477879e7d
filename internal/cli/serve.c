/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cfwin serve` and its gdn form (`gdn [--config FILE] server|setup|cleanup`).
 */
#include <errno.h>
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "cli/cli_internal.h"
#include "cli/flags.h"
#include "cli/gdn_setup.h"
#include "cli/serve_config.h"
#include "cli/serve_platform.h"
#include "garden/backend.h"
#include "garden/server.h"

typedef struct serve_options {
  const char *bind_ip;
  long long bind_port;
  const char *bind_socket;
  const char *depot;
  const char *default_rootfs;
  const char *config_path;
  const char *log_level;
  const char *time_format;
  long long max_containers;
  int64_t default_grace_time;
  bool destroy_on_startup;
  bool disable_privileged;
  int64_t read_header_timeout; /* nanoseconds */
  cf_flag_strings insecure_registries;
  cf_flag_strings cached_images;
  long long gc_threshold;
  long long graph_cleanup_mb; /* gdn's name for the threshold, in MiB; -1: never */
  long long max_layer_bytes;
  long long max_image_bytes;
  long long max_layer_entries;
  long long max_layers;
  long long stall_timeout;
  long long request_timeout;
  long long pull_timeout;
  long long cpu_quota_per_share;
  const char *cpu_entitlement_per_share; /* a decimal number, parsed once set */
  bool disable_network;
  cf_server_network_flags network;
  cf_flag_strings dns_servers;
  cf_flag_strings deny_networks;
  const char *tls_cert;
  const char *tls_key;
  const char *tls_ca;
  bool help;
  bool ignored_bool;
} serve_options;

enum {
  FLAG_BIND_IP,
  FLAG_BIND_PORT,
  FLAG_BIND_SOCKET,
  FLAG_DEPOT,
  FLAG_DEFAULT_ROOTFS,
  FLAG_GC_THRESHOLD,
  FLAG_GRAPH_CLEANUP,
};

static int init_flags(serve_options *o, cf_flag *flags)
{
  cf_flag table[] = {
      [FLAG_BIND_IP] = {"bind-ip", CF_FLAG_STRING, &o->bind_ip},
      [FLAG_BIND_PORT] = {"bind-port", CF_FLAG_INT, &o->bind_port},
      [FLAG_BIND_SOCKET] = {"bind-socket", CF_FLAG_STRING, &o->bind_socket},
      [FLAG_DEPOT] = {"depot", CF_FLAG_STRING, &o->depot},
      [FLAG_DEFAULT_ROOTFS] = {"default-rootfs", CF_FLAG_STRING, &o->default_rootfs},
      [FLAG_GC_THRESHOLD] = {"gc-threshold-bytes", CF_FLAG_INT, &o->gc_threshold},
      [FLAG_GRAPH_CLEANUP] = {"graph-cleanup-threshold-in-megabytes", CF_FLAG_INT,
                              &o->graph_cleanup_mb},
      {"config", CF_FLAG_STRING, &o->config_path},
      {"log-level", CF_FLAG_STRING, &o->log_level},
      {"time-format", CF_FLAG_STRING, &o->time_format},
      {"max-containers", CF_FLAG_INT, &o->max_containers},
      {"default-grace-time", CF_FLAG_DURATION, &o->default_grace_time},
      {"destroy-containers-on-startup", CF_FLAG_BOOL, &o->destroy_on_startup},
      {"disable-privileged-containers", CF_FLAG_BOOL, &o->disable_privileged},
      {"read-header-timeout", CF_FLAG_DURATION, &o->read_header_timeout},
      {"insecure-docker-registry", CF_FLAG_STRINGS, &o->insecure_registries},
      {"cached-image-uri", CF_FLAG_STRINGS, &o->cached_images},
      {"max-layer-bytes", CF_FLAG_INT, &o->max_layer_bytes},
      {"max-image-bytes", CF_FLAG_INT, &o->max_image_bytes},
      {"max-layer-entries", CF_FLAG_INT, &o->max_layer_entries},
      {"max-layers", CF_FLAG_INT, &o->max_layers},
      {"registry-stall-timeout", CF_FLAG_INT, &o->stall_timeout},
      {"registry-request-timeout", CF_FLAG_INT, &o->request_timeout},
      {"pull-timeout", CF_FLAG_INT, &o->pull_timeout},
      {"cpu-quota-per-share", CF_FLAG_INT, &o->cpu_quota_per_share},
      {"cpu-entitlement-per-share", CF_FLAG_STRING, &o->cpu_entitlement_per_share},
      {"disable-network", CF_FLAG_BOOL, &o->disable_network},
      {"network-name", CF_FLAG_STRING, &o->network.name},
      {"network-pool", CF_FLAG_STRING, &o->network.pool},
      {"port-pool-start", CF_FLAG_INT, &o->network.port_pool_start},
      {"port-pool-size", CF_FLAG_INT, &o->network.port_pool_size},
      {"mtu", CF_FLAG_INT, &o->network.mtu},
      {"dns-server", CF_FLAG_STRINGS, &o->dns_servers},
      {"deny-network", CF_FLAG_STRINGS, &o->deny_networks},
      {"allow-host-access", CF_FLAG_BOOL, &o->network.allow_host_access},
      {"external-ip", CF_FLAG_STRING, &o->network.external_ip},
      {"tls-cert", CF_FLAG_STRING, &o->tls_cert},
      {"tls-key", CF_FLAG_STRING, &o->tls_key},
      {"tls-ca", CF_FLAG_STRING, &o->tls_ca},
      {"help", CF_FLAG_BOOL, &o->help},
      /* gdn flags a Guardian deployment passes that cfwin does not need. */
      {"skip-setup", CF_FLAG_BOOL, &o->ignored_bool},
      {"cleanup-process-dirs-on-wait", CF_FLAG_BOOL, &o->ignored_bool},
      {"runtime-plugin", CF_FLAG_IGNORED, NULL},
      {"runtime-plugin-extra-arg", CF_FLAG_IGNORED, NULL},
      {"image-plugin", CF_FLAG_IGNORED, NULL},
      {"image-plugin-extra-arg", CF_FLAG_IGNORED, NULL},
      {"privileged-image-plugin", CF_FLAG_IGNORED, NULL},
      {"privileged-image-plugin-extra-arg", CF_FLAG_IGNORED, NULL},
      {"dadoo-bin", CF_FLAG_IGNORED, NULL},
      /* cfwin pulls from the registry an image URI names. */
      {"docker-registry", CF_FLAG_IGNORED, NULL},
      /* cfwin emits no dropsonde metrics. */
      {"metrics-emission-interval", CF_FLAG_IGNORED, NULL},
      {"network-plugin", CF_FLAG_IGNORED, NULL},
      {"network-plugin-extra-arg", CF_FLAG_IGNORED, NULL},
      {"init-bin", CF_FLAG_IGNORED, NULL},
      {"nstar-bin", CF_FLAG_IGNORED, NULL},
      {"tar-bin", CF_FLAG_IGNORED, NULL},
      {"dropsonde-origin", CF_FLAG_IGNORED, NULL},
      {"dropsonde-destination", CF_FLAG_IGNORED, NULL},
      {"properties-path", CF_FLAG_IGNORED, NULL},
      {"debug-bind-ip", CF_FLAG_IGNORED, NULL},
      {"debug-bind-port", CF_FLAG_IGNORED, NULL},
      /* The store keeps the port pool's state. */
      {"port-pool-properties-path", CF_FLAG_IGNORED, NULL},
      /* Metrics always carry NetworkStat. */
      {"enable-container-network-metrics", CF_FLAG_BOOL, &o->ignored_bool},
  };
  int count = (int)(sizeof(table) / sizeof(table[0]));
  memcpy(flags, table, sizeof(table));
  return count;
}

#define MAX_FLAGS 80

static void print_serve_usage(FILE *out)
{
  fprintf(out,
          "usage: cfwin serve [options]\n"
          "       cfwin gdn [--config FILE] server|setup|cleanup [options]\n"
          "       gdn [--config FILE] server|setup|cleanup [options]\n"
          "\n"
          "Serves the Garden API. setup prepares the depot, the container network and\n"
          "checks cgroups, as the server would on first use; cleanup destroys every\n"
          "container of the depot, then deletes the network's bridge and nftables table,\n"
          "loop devices of the depot and the empty container cgroup parent.\n"
          "\n"
          "  --bind-ip IP             listen on TCP at IP (default 127.0.0.1 when no\n"
          "                           listener is given; gdn: only when set)\n"
          "  --bind-port PORT         TCP port (default 7777)\n"
          "  --bind-socket PATH       listen on a unix socket (gdn default /tmp/garden.sock)\n"
          "  --depot DIR              state directory (default %s; gdn: %s)\n"
          "  --default-rootfs URI     image for containers that name none\n"
          "                           (default oci://DEPOT/default-rootfs)\n"
          "  --max-containers N       containers allowed at once (default 256; 0: no limit)\n"
          "  --default-grace-time D   idle time before an unused container is destroyed,\n"
          "                           e.g. 5m, for creates that give none (default 0: never)\n"
          "  --disable-privileged-containers\n"
          "                           reject creates of privileged containers\n"
          "  --read-header-timeout D  time a client has to send a request's headers, e.g.\n"
          "                           30s; the connection is then closed (default 0: none)\n"
          "  --destroy-containers-on-startup\n"
          "                           destroy every container left from an earlier run\n"
          "  --max-layer-bytes N      uncompressed bytes a pulled layer may have\n"
          "                           (default 34359738368, 32 GiB)\n"
          "  --max-image-bytes N      uncompressed bytes of all layers of an image\n"
          "                           (default 68719476736, 64 GiB)\n"
          "  --max-layer-entries N    tar entries a pulled layer may have\n"
          "                           (default 2000000)\n"
          "  --max-layers N           layers an image may have (default 500, the most\n"
          "                           overlayfs stacks)\n"
          "  --registry-stall-timeout S\n"
          "                           seconds a registry transfer may stay below 1 byte/s\n"
          "                           (default 30)\n"
          "  --registry-request-timeout S\n"
          "                           seconds for one manifest, token or config request\n"
          "                           (default 120)\n"
          "  --pull-timeout S         seconds for a whole registry pull (default 1800)\n"
          "  --insecure-docker-registry HOST:PORT\n"
          "                           a registry that may use plain HTTP or unverified TLS\n"
          "                           (repeatable)\n"
          "  --cached-image-uri URI   an image to pull into the layer store at start\n"
          "                           (repeatable)\n"
          "  --gc-threshold-bytes N   after a destroy, remove layers no container uses once\n"
          "                           the layer store holds more than N bytes (default -1:\n"
          "                           never; 0: after every destroy)\n"
          "  --graph-cleanup-threshold-in-megabytes N\n"
          "                           gdn's name for the same threshold, in MiB (-1: never)\n"
          "  --cpu-quota-per-share US microseconds of CPU time per 100 ms period that each\n"
          "                           CPU share allows a container (default 0: no maximum)\n"
          "  --cpu-entitlement-per-share PERCENT\n"
          "                           CPU percentage one share is entitled to, for metrics\n"
          "                           (default: CPU cores times 100 divided by MiB of memory)\n"
          "  --network-pool CIDR      subnet of container addresses; its first address is\n"
          "                           the host's (default " CF_SERVER_DEFAULT_NETWORK_POOL ")\n"
          "  --network-name NAME      name of the container network's bridge, 1 to 15\n"
          "                           characters (default " CF_SERVER_DEFAULT_NETWORK_NAME ")\n"
          "  --port-pool-start PORT   first host port for NetIn mappings (default 40000)\n"
          "  --port-pool-size N       host ports in the pool (default 5000)\n"
          "  --mtu N                  MTU of container interfaces, 68 to 1500 (default 0:\n"
          "                           the MTU of the host's default route)\n"
          "  --dns-server IP          DNS server for containers, each allowed on TCP and UDP\n"
          "                           port 53 (repeatable)\n"
          "  --deny-network CIDR      accepted for gdn; outbound traffic is already denied\n"
          "                           unless a NetOut rule allows it (repeatable)\n"
          "  --allow-host-access      let containers reach the host's address on the\n"
          "                           container network and the external IP\n"
          "  --external-ip IP         address clients reach mapped ports at, recorded as\n"
          "                           garden.network.external-ip (default: the host's first\n"
          "                           address outside the container network)\n"
          "  --disable-network        give containers loopback only; NetIn and NetOut fail\n"
          "  --tls-cert FILE          serve TLS on the TCP listener with this PEM certificate\n"
          "                           (chain); the unix socket stays plain\n"
          "  --tls-key FILE           the certificate's PEM private key\n"
          "  --tls-ca FILE            PEM CA certificates; clients must then present a\n"
          "                           certificate they signed\n"
          "  --config FILE            read flags from an INI file: long flag names as keys\n"
          "                           under [server]; command-line flags win\n"
          "  --log-level LEVEL        debug, info, error or fatal (default info)\n"
          "  --time-format FORMAT     unix-epoch or rfc3339 (default unix-epoch)\n"
          "  --help                   print this help\n",
          cf_serve_platform_defaults.depot, cf_serve_platform_defaults.gdn_depot);
  if (cf_serve_platform_defaults.help_note != NULL) {
    fprintf(out, "\n%s", cf_serve_platform_defaults.help_note);
  }
}

/* Reads the config file into *storage and sets every flag the command
 * line did not give. String flags point into *storage afterwards. */
static int load_config(const char *path, cf_flag *flags, int count, cf_buf *storage, cf_err **err)
{
  bool from_command_line[MAX_FLAGS];
  for (int i = 0; i < count; i++) {
    from_command_line[i] = flags[i].seen;
  }
  /* A FIFO or a device would block the read, or never end. */
  struct stat st;
  if (stat(path, &st) < 0) {
    return cf_err_sys(err, errno, "read config %s", path);
  }
  if (!S_ISREG(st.st_mode)) {
    return cf_err_set(err, CF_E_INVALID, "config %s is not a regular file; give a text file", path);
  }
  if (cf_read_file(path, storage, err) < 0) {
    return cf_err_wrap(err, "read config");
  }
  if (memchr(storage->data, '\0', storage->len) != NULL) {
    return cf_err_set(err, CF_E_INVALID, "config %s: contains a NUL byte; use a text file", path);
  }
  if (cf_buf_append(storage, "", 1, err) < 0) {
    return cf_err_wrap(err, "read config %s", path);
  }
  return cf_serve_config_apply(path, storage->data, flags, count, from_command_line, err);
}

/* Logs each gdn flag that was given and that cfwin accepts without using. */
static void log_ignored_flags(const cf_flag *flags, int count, const serve_options *o)
{
  for (int i = 0; i < count; i++) {
    bool ignored = flags[i].type == CF_FLAG_IGNORED || flags[i].target == &o->ignored_bool;
    if (ignored && flags[i].seen) {
      cf_log(CF_LOG_DEBUG, "flag-ignored", "{s:s}", "flag", flags[i].name);
    }
  }
}

/* A key without a certificate, or a CA without both, is a mistake the
 * server would otherwise silently serve plain HTTP for. */
static int check_tls(const serve_options *o, cf_err **err)
{
  if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
    return cf_err_set(err, CF_E_INVALID,
                      "--tls-cert and --tls-key go together: give both files (PEM) or neither");
  }
  if (o->tls_ca != NULL && o->tls_cert == NULL) {
    return cf_err_set(err, CF_E_INVALID,
                      "--tls-ca verifies client certificates of a TLS listener: give --tls-cert "
                      "and --tls-key too");
  }
  return 0;
}

static int configure_logging(const serve_options *o, cf_err **err)
{
  enum cf_log_level level = CF_LOG_INFO;
  enum cf_log_time_format format = CF_LOG_TIME_UNIX_EPOCH;
  if (o->log_level != NULL && cf_log_parse_level(o->log_level, &level, err) < 0) {
    return -1;
  }
  if (o->time_format != NULL && cf_log_parse_time_format(o->time_format, &format, err) < 0) {
    return -1;
  }
  cf_log_configure(STDOUT_FILENO, level, format, "guardian");
  return 0;
}

static int check_limits(const serve_options *o, cf_err **err)
{
  const struct {
    const char *flag;
    long long value;
  } limits[] = {
      {"max-layer-bytes", o->max_layer_bytes},
      {"max-image-bytes", o->max_image_bytes},
      {"max-layer-entries", o->max_layer_entries},
      {"max-layers", o->max_layers},
      {"registry-stall-timeout", o->stall_timeout},
      {"registry-request-timeout", o->request_timeout},
      {"pull-timeout", o->pull_timeout},
      {"cpu-quota-per-share", o->cpu_quota_per_share},
  };
  for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
    if (limits[i].value < 0 || (i >= 3 && limits[i].value > UINT_MAX)) {
      return cf_err_set(err, CF_E_INVALID, "invalid --%s %lld: use 0 (the default) or more",
                        limits[i].flag, limits[i].value);
    }
  }
  return 0;
}

/* Parses --cpu-entitlement-per-share: a finite, non-negative percentage;
 * 0 when the flag is not given. */
static int parse_entitlement(const char *text, double *out, cf_err **err)
{
  *out = 0;
  if (text == NULL) {
    return 0;
  }
  char *end = NULL;
  errno = 0;
  double value = strtod(text, &end);
  if (end == text || *end != '\0' || errno != 0 || !isfinite(value) || value < 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid --cpu-entitlement-per-share \"%s\": use a percentage such as 0.5",
                      text);
  }
  *out = value;
  return 0;
}

/* Builds the container network into *network unless --disable-network is
 * given; config->network points to it. */
static int build_network(serve_options *o, cf_server_config *config, cf_backend_network *network,
                         cf_err **err)
{
  if (o->disable_network) {
    return 0;
  }
  o->network.dns_servers = o->dns_servers.values;
  o->network.dns_server_count = o->dns_servers.count;
  o->network.deny_networks = o->deny_networks.values;
  o->network.deny_network_count = o->deny_networks.count;
  if (cf_server_network_parse(&o->network, config->depot, network, err) < 0) {
    return -1;
  }
  config->network = network;
  return 0;
}

/* Builds the server configuration with cfwin's or gdn's defaults. *owned
 * collects strings the configuration points to. */
static int build_config(serve_options *o, const cf_flag *flags, const cf_serve_mode *mode,
                        cf_server_config *config, char **owned_depot, char **owned_rootfs,
                        cf_err **err)
{
  bool any_listener = flags[FLAG_BIND_IP].seen || flags[FLAG_BIND_SOCKET].seen;
  if (o->bind_port < 0 || o->bind_port > 65535) {
    return cf_err_set(err, CF_E_INVALID, "invalid --bind-port %lld: use 0 to 65535", o->bind_port);
  }
  if (o->read_header_timeout < 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid --read-header-timeout: use 0 (no limit) or a positive duration "
                      "such as 30s");
  }
  if (o->max_containers < 0) {
    return cf_err_set(err, CF_E_INVALID, "invalid --max-containers %lld: use 0 or more",
                      o->max_containers);
  }
  if (flags[FLAG_GRAPH_CLEANUP].seen && flags[FLAG_GC_THRESHOLD].seen) {
    return cf_err_set(err, CF_E_INVALID,
                      "--graph-cleanup-threshold-in-megabytes and --gc-threshold-bytes set the "
                      "same threshold: give one of them");
  }
  if (flags[FLAG_GRAPH_CLEANUP].seen) {
    if (o->graph_cleanup_mb < -1 || o->graph_cleanup_mb > INT64_MAX / (1024 * 1024)) {
      return cf_err_set(err, CF_E_INVALID,
                        "invalid --graph-cleanup-threshold-in-megabytes %lld: use -1 (never) or "
                        "0 or more",
                        o->graph_cleanup_mb);
    }
    o->gc_threshold = o->graph_cleanup_mb < 0 ? -1 : o->graph_cleanup_mb * 1024 * 1024;
  }
  double entitlement = 0;
  if (check_tls(o, err) < 0 || check_limits(o, err) < 0 ||
      parse_entitlement(o->cpu_entitlement_per_share, &entitlement, err) < 0) {
    return -1;
  }
  const char *depot =
      mode->as_gdn ? cf_serve_platform_defaults.gdn_depot : cf_serve_platform_defaults.depot;
  if (o->depot != NULL) {
    depot = o->depot;
  }
  /* Cleanup of a depot that was never made has nothing to remove there, and
   * must not make it. */
  struct stat st;
  if (mode->command == CF_SERVE_CLEANUP && stat(depot, &st) < 0 && errno == ENOENT) {
    *owned_depot = cf_xstrdup(depot);
  } else if (cf_mkdir_p(depot, 0700, err) < 0) {
    return cf_err_wrap(err, "create depot");
  } else {
    *owned_depot = cf_serve_absolute_path(depot);
  }
  if (*owned_depot == NULL) {
    return cf_err_sys(err, errno, "resolve depot %s", depot);
  }
  if (o->default_rootfs == NULL && !mode->as_gdn) {
    *owned_rootfs = cf_xasprintf("oci://%s/default-rootfs", *owned_depot);
  }
  *config = (cf_server_config){
      .bind_ip = o->bind_ip,
      .bind_port = (int)o->bind_port,
      .bind_socket = o->bind_socket,
      .depot = *owned_depot,
      .default_rootfs = *owned_rootfs != NULL ? *owned_rootfs : o->default_rootfs,
      .max_containers = (uint64_t)o->max_containers,
      .disable_privileged_containers = o->disable_privileged,
      .read_header_timeout_ms = (uint64_t)(o->read_header_timeout + 999999) / 1000000,
      .tls = {.cert_path = o->tls_cert, .key_path = o->tls_key, .ca_path = o->tls_ca},
      .default_grace_time_ns = o->default_grace_time,
      .destroy_containers_on_startup = o->destroy_on_startup,
      .pull =
          {
              .insecure_registries = o->insecure_registries.values,
              .insecure_registry_count = o->insecure_registries.count,
              .max_layer_bytes = o->max_layer_bytes,
              .max_image_bytes = o->max_image_bytes,
              .max_layer_entries = o->max_layer_entries,
              .max_layers = (unsigned)o->max_layers,
              .stall_timeout_s = (unsigned)o->stall_timeout,
              .request_timeout_s = (unsigned)o->request_timeout,
              .pull_timeout_s = (unsigned)o->pull_timeout,
          },
      .cached_image_uris = o->cached_images.values,
      .cached_image_count = o->cached_images.count,
      .gc_threshold_bytes = o->gc_threshold,
      .cpu_quota_per_share_us = (uint64_t)o->cpu_quota_per_share,
      .cpu_entitlement_per_share = entitlement,
  };
  if (!any_listener && mode->as_gdn && cf_serve_platform_defaults.gdn_socket != NULL) {
    config->bind_socket = cf_serve_platform_defaults.gdn_socket;
  } else if (!any_listener) {
    config->bind_ip = "127.0.0.1";
  }
  return 0;
}

static int run_command(enum cf_serve_command command, const cf_server_config *config, cf_err **err)
{
  switch (command) {
  case CF_SERVE_SETUP:
    return cf_gdn_setup(config, err);
  case CF_SERVE_CLEANUP:
    return cf_gdn_cleanup(config, err);
  case CF_SERVE_SERVER:
    break;
  }
  return cf_serve_run_server(config, err);
}

int cf_cli_serve(int argc, char **argv, int start, cf_serve_mode mode)
{
  serve_options o = {
      .bind_port = 7777,
      .max_containers = 256,
      .gc_threshold = -1,
      .network = {.port_pool_start = CF_NET_DEFAULT_PORT_POOL_START,
                  .port_pool_size = CF_NET_DEFAULT_PORT_POOL_SIZE},
  };
  cf_backend_network network = {0};
  cf_flag flags[MAX_FLAGS];
  int count = init_flags(&o, flags);
  cf_buf config_text;
  cf_buf_init(&config_text, 1024 * 1024);
  char *depot = NULL;
  char *rootfs = NULL;
  cf_err *err = NULL;
  int next = 0;
  int status = 0;

  if (cf_flags_parse(flags, count, argc, argv, start, &next, &err) < 0) {
    goto usage;
  }
  const char *config_path = o.config_path != NULL ? o.config_path : mode.config_path;
  if (config_path != NULL && load_config(config_path, flags, count, &config_text, &err) < 0) {
    goto invalid;
  }
  if (o.help) {
    print_serve_usage(stdout);
    goto out;
  }
  if (next < argc) {
    cf_err_set(&err, CF_E_INVALID, "unexpected argument \"%s\"", argv[next]);
    goto usage;
  }
  cf_server_config config;
  if (configure_logging(&o, &err) < 0 ||
      build_config(&o, flags, &mode, &config, &depot, &rootfs, &err) < 0 ||
      build_network(&o, &config, &network, &err) < 0) {
    goto invalid;
  }
  log_ignored_flags(flags, count, &o);
  if (run_command(mode.command, &config, &err) < 0) {
    goto fail;
  }
  goto out;

usage:
  fprintf(stderr, "cfwin serve: %s\n\n", err->message);
  print_serve_usage(stderr);
  status = 2;
  goto out;
invalid:
  /* A bad value, not a bad command line: the usage would push the message
   * out of sight. */
  fprintf(stderr, "cfwin serve: %s\n(`cfwin serve --help` lists the flags)\n", err->message);
  status = 2;
  goto out;
fail:
  cf_log_error("failed", err, NULL);
  fprintf(stderr, "cfwin serve: %s\n", err->message);
  status = 1;
out:
  cf_err_free(err);
  free(depot);
  free(rootfs);
  cf_buf_free(&config_text);
  cf_flag_strings_clear(&o.insecure_registries);
  cf_flag_strings_clear(&o.cached_images);
  cf_flag_strings_clear(&o.dns_servers);
  cf_flag_strings_clear(&o.deny_networks);
  cf_server_network_clear(&network);
  return status;
}

void cf_cli_serve_help(void)
{
  print_serve_usage(stdout);
}
