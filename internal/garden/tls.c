/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "base/mem.h"

#define READ_CHUNK 16384

struct cf_tls_config {
  mbedtls_ssl_config ssl;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_x509_crt cert;
  mbedtls_x509_crt ca;
  mbedtls_pk_context key;
};

/* Formats mbedTLS's text for code, e.g. "X509 - Certificate verification
 * failed". */
static int tls_fail(cf_err **err, int code, const char *action)
{
  char reason[160];
  mbedtls_strerror(code, reason, sizeof(reason));
  return cf_err_set(err, CF_E_INVALID, "%s: %s (mbedTLS error -0x%04x)", action, reason,
                    (unsigned)-code);
}

/* Writes mbedTLS's reasons for a failed certificate check, such as "The
 * certificate is not correctly signed by the trusted CA", on one line. */
static void describe_verify_result(uint32_t flags, char *out, size_t size)
{
  int n = mbedtls_x509_crt_verify_info(out, size, "", flags);
  if (n <= 0) {
    snprintf(out, size, "verification flags 0x%x", (unsigned)flags);
    return;
  }
  for (char *p = out; *p != '\0'; p++) {
    if (*p == '\n') {
      *p = p[1] != '\0' ? ',' : '\0';
    }
  }
}

static cf_tls_config *config_alloc(void)
{
  cf_tls_config *config = cf_xcalloc(1, sizeof(*config));
  mbedtls_ssl_config_init(&config->ssl);
  mbedtls_entropy_init(&config->entropy);
  mbedtls_ctr_drbg_init(&config->drbg);
  mbedtls_x509_crt_init(&config->cert);
  mbedtls_x509_crt_init(&config->ca);
  mbedtls_pk_init(&config->key);
  return config;
}

void cf_tls_config_free(cf_tls_config *config)
{
  if (config == NULL) {
    return;
  }
  mbedtls_ssl_config_free(&config->ssl);
  mbedtls_pk_free(&config->key);
  mbedtls_x509_crt_free(&config->ca);
  mbedtls_x509_crt_free(&config->cert);
  mbedtls_ctr_drbg_free(&config->drbg);
  mbedtls_entropy_free(&config->entropy);
  free(config);
}

static int parse_key(cf_tls_config *config, const char *path)
{
#if MBEDTLS_VERSION_MAJOR >= 3
  return mbedtls_pk_parse_keyfile(&config->key, path, NULL, mbedtls_ctr_drbg_random, &config->drbg);
#else
  return mbedtls_pk_parse_keyfile(&config->key, path, NULL);
#endif
}

/* Opens path once so that a missing or unreadable file is reported with
 * the system's reason, which mbedTLS reduces to a generic I/O error. */
static int check_readable(const char *path, const char *what, cf_err **err)
{
  FILE *file = fopen(path, "rb");
  if (file == NULL) {
    return cf_err_sys(err, errno, "read %s %s", what, path);
  }
  fclose(file);
  return 0;
}

/* Reads every certificate of a PEM file into chain. mbedTLS returns a
 * positive count when only some of them parse, which is an error here. */
static int read_certificates(mbedtls_x509_crt *chain, const char *path, const char *what,
                             cf_err **err)
{
  if (check_readable(path, what, err) < 0) {
    return -1;
  }
  int rc = mbedtls_x509_crt_parse_file(chain, path);
  if (rc > 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "read %s %s: %d of its certificates are invalid, so fix or remove them", what,
                      path, rc);
  }
  if (rc < 0) {
    cf_autofree char *action = cf_xasprintf("read %s %s", what, path);
    return tls_fail(err, rc, action);
  }
  return 0;
}

static int check_pair(cf_tls_config *config)
{
#if MBEDTLS_VERSION_MAJOR >= 3
  return mbedtls_pk_check_pair(&config->cert.pk, &config->key, mbedtls_ctr_drbg_random,
                               &config->drbg);
#else
  return mbedtls_pk_check_pair(&config->cert.pk, &config->key);
#endif
}

/* Loads the certificate chain and its key and checks that they belong
 * together. */
static int load_identity(cf_tls_config *config, const cf_tls_paths *paths, cf_err **err)
{
  if (read_certificates(&config->cert, paths->cert_path, "TLS certificate", err) < 0) {
    return -1;
  }
  if (check_readable(paths->key_path, "TLS private key", err) < 0) {
    return -1;
  }
  int rc = parse_key(config, paths->key_path);
  if (rc != 0) {
    cf_autofree char *action = cf_xasprintf("read TLS private key %s", paths->key_path);
    return tls_fail(err, rc, action);
  }
  rc = check_pair(config);
  if (rc != 0) {
    cf_autofree char *action =
        cf_xasprintf("TLS private key %s does not belong to the first certificate of %s",
                     paths->key_path, paths->cert_path);
    return tls_fail(err, rc, action);
  }
  rc = mbedtls_ssl_conf_own_cert(&config->ssl, &config->cert, &config->key);
  if (rc != 0) {
    return tls_fail(err, rc, "use the TLS certificate and key");
  }
  return 0;
}

static int load_ca(cf_tls_config *config, const char *path, cf_err **err)
{
  if (read_certificates(&config->ca, path, "TLS CA certificates", err) < 0) {
    return -1;
  }
  mbedtls_ssl_conf_ca_chain(&config->ssl, &config->ca, NULL);
  mbedtls_ssl_conf_authmode(&config->ssl, MBEDTLS_SSL_VERIFY_REQUIRED);
  return 0;
}

/* Seeds the random generator and sets the defaults for endpoint, with
 * TLS 1.2 as the lowest version. */
static int config_start(cf_tls_config *config, int endpoint, cf_err **err)
{
  static const unsigned char personal[] = "cfwin-garden-tls";
  int rc = mbedtls_ctr_drbg_seed(&config->drbg, mbedtls_entropy_func, &config->entropy, personal,
                                 sizeof(personal) - 1);
  if (rc != 0) {
    return tls_fail(err, rc, "seed the TLS random generator");
  }
  rc = mbedtls_ssl_config_defaults(&config->ssl, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                   MBEDTLS_SSL_PRESET_DEFAULT);
  if (rc != 0) {
    return tls_fail(err, rc, "set up TLS");
  }
  mbedtls_ssl_conf_rng(&config->ssl, mbedtls_ctr_drbg_random, &config->drbg);
#if MBEDTLS_VERSION_MAJOR >= 3
  mbedtls_ssl_conf_min_tls_version(&config->ssl, MBEDTLS_SSL_VERSION_TLS1_2);
#else
  mbedtls_ssl_conf_min_version(&config->ssl, MBEDTLS_SSL_MAJOR_VERSION_3,
                               MBEDTLS_SSL_MINOR_VERSION_3);
#endif
  return 0;
}

int cf_tls_server_config_new(const cf_tls_paths *paths, cf_tls_config **out, cf_err **err)
{
  *out = NULL;
  if (paths->cert_path == NULL || paths->key_path == NULL) {
    return cf_err_set(err, CF_E_INVALID, "a TLS listener needs a certificate and a private key");
  }
  cf_tls_config *config = config_alloc();
  if (config_start(config, MBEDTLS_SSL_IS_SERVER, err) < 0 ||
      load_identity(config, paths, err) < 0) {
    cf_tls_config_free(config);
    return -1;
  }
  if (paths->ca_path == NULL) {
    mbedtls_ssl_conf_authmode(&config->ssl, MBEDTLS_SSL_VERIFY_NONE);
  } else if (load_ca(config, paths->ca_path, err) < 0) {
    cf_tls_config_free(config);
    return -1;
  }
  *out = config;
  return 0;
}

int cf_tls_client_config_new(const cf_tls_paths *paths, cf_tls_config **out, cf_err **err)
{
  *out = NULL;
  if (paths->ca_path == NULL) {
    return cf_err_set(err, CF_E_INVALID,
                      "TLS needs the CA certificates that signed the server's certificate, to "
                      "verify it");
  }
  if ((paths->cert_path == NULL) != (paths->key_path == NULL)) {
    return cf_err_set(err, CF_E_INVALID,
                      "a TLS client certificate needs its private key: give both or neither");
  }
  cf_tls_config *config = config_alloc();
  if (config_start(config, MBEDTLS_SSL_IS_CLIENT, err) < 0 ||
      load_ca(config, paths->ca_path, err) < 0 ||
      (paths->cert_path != NULL && load_identity(config, paths, err) < 0)) {
    cf_tls_config_free(config);
    return -1;
  }
  *out = config;
  return 0;
}

/* --- Server sessions --- */

struct cf_tls_session {
  mbedtls_ssl_context ssl;
  cf_tls_send_fn send;
  void *send_ctx;
  const unsigned char *input; /* ciphertext of the current feed not yet consumed */
  size_t input_len;
  bool ready;
};

static int session_bio_send(void *ctx, const unsigned char *data, size_t len)
{
  cf_tls_session *session = ctx;
  session->send(session->send_ctx, data, len);
  return (int)(len > INT32_MAX ? INT32_MAX : len);
}

static int session_bio_recv(void *ctx, unsigned char *data, size_t size)
{
  cf_tls_session *session = ctx;
  if (session->input_len == 0) {
    return MBEDTLS_ERR_SSL_WANT_READ;
  }
  size_t n = size < session->input_len ? size : session->input_len;
  memcpy(data, session->input, n);
  session->input += n;
  session->input_len -= n;
  return (int)n;
}

cf_tls_session *cf_tls_session_new(const cf_tls_config *config, cf_tls_send_fn send, void *ctx)
{
  cf_tls_session *session = cf_xcalloc(1, sizeof(*session));
  mbedtls_ssl_init(&session->ssl);
  session->send = send;
  session->send_ctx = ctx;
  if (mbedtls_ssl_setup(&session->ssl, &config->ssl) != 0) {
    /* Only an allocation failure makes setup fail. */
    cf_tls_session_free(session);
    return NULL;
  }
  mbedtls_ssl_set_bio(&session->ssl, session, session_bio_send, session_bio_recv, NULL);
  return session;
}

void cf_tls_session_free(cf_tls_session *session)
{
  if (session == NULL) {
    return;
  }
  mbedtls_ssl_free(&session->ssl);
  free(session);
}

bool cf_tls_session_ready(const cf_tls_session *session)
{
  return session->ready;
}

/* Decrypts every complete record into *plain. Returns 1 on the peer's
 * close alert. */
static int read_records(cf_tls_session *session, cf_buf *plain, cf_err **err)
{
  unsigned char chunk[READ_CHUNK];
  for (;;) {
    int rc = mbedtls_ssl_read(&session->ssl, chunk, sizeof(chunk));
    if (rc > 0) {
      if (cf_buf_append(plain, chunk, (size_t)rc, err) < 0) {
        return -1;
      }
      continue;
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
      return 0;
    }
    if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
      return 1;
    }
    return tls_fail(err, rc, "read TLS record");
  }
}

int cf_tls_session_feed(cf_tls_session *session, const void *data, size_t len, cf_buf *plain,
                        cf_err **err)
{
  session->input = data;
  session->input_len = len;
  int result = 0;
  if (!session->ready) {
    int rc = mbedtls_ssl_handshake(&session->ssl);
    if (rc == 0) {
      session->ready = true;
    } else if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
      result = tls_fail(err, rc, "TLS handshake");
    }
  }
  if (result == 0 && session->ready) {
    result = read_records(session, plain, err);
  }
  session->input = NULL;
  session->input_len = 0;
  return result;
}

int cf_tls_session_write(cf_tls_session *session, const void *data, size_t len, cf_err **err)
{
  if (!session->ready) {
    return cf_err_set(err, CF_E_INVALID, "write before the TLS handshake has finished");
  }
  const unsigned char *p = data;
  while (len > 0) {
    int rc = mbedtls_ssl_write(&session->ssl, p, len);
    if (rc < 0) {
      return tls_fail(err, rc, "write TLS record");
    }
    p += rc;
    len -= (size_t)rc;
  }
  return 0;
}

/* --- Client sessions --- */

struct cf_tls_client {
  mbedtls_ssl_context ssl;
  cf_tls_io io;
  cf_err *io_err;        /* the transport's error behind the last failed call */
  unsigned char ipv4[4]; /* the server's IPv4 address, when that is its name */
};

static int client_bio_send(void *ctx, const unsigned char *data, size_t len)
{
  cf_tls_client *client = ctx;
  cf_err_clear(&client->io_err);
  if (client->io.send(client->io.ctx, data, len, &client->io_err) < 0) {
    return MBEDTLS_ERR_NET_SEND_FAILED;
  }
  return (int)(len > INT32_MAX ? INT32_MAX : len);
}

static int client_bio_recv(void *ctx, unsigned char *data, size_t size)
{
  cf_tls_client *client = ctx;
  size_t n = 0;
  cf_err_clear(&client->io_err);
  if (client->io.recv(client->io.ctx, data, size, &n, &client->io_err) < 0) {
    return MBEDTLS_ERR_NET_RECV_FAILED;
  }
  return (int)n;
}

/* Reports the transport's own error when it caused the failure. */
static int client_fail(cf_tls_client *client, int code, const char *action, cf_err **err)
{
  if (client->io_err != NULL) {
    cf_err *io_err = cf_steal(&client->io_err);
    if (err != NULL) {
      *err = io_err;
      return cf_err_wrap(err, "%s", action);
    }
    cf_err_free(io_err);
    return -1;
  }
  if (code == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
    char reasons[512];
    describe_verify_result(mbedtls_ssl_get_verify_result(&client->ssl), reasons, sizeof(reasons));
    cf_autofree char *detailed = cf_xasprintf("%s: %s", action, reasons);
    return tls_fail(err, code, detailed);
  }
  return tls_fail(err, code, action);
}

#if MBEDTLS_VERSION_MAJOR < 3
/* mbedTLS 2.28 keeps only the dNSName and otherName entries of a
 * certificate's subjectAltName (see its x509_crt.h), so a client that
 * addresses the server by an IPv4 address checks the iPAddress entries
 * itself.
 * NOTE: IPv6 addresses, and IP addresses under mbedTLS 3 releases, are
 * left to mbedTLS; neither was tried here. */

/* Parses dotted-quad IPv4 text such as "192.0.2.7" into out. */
static bool parse_ipv4(const char *text, unsigned char out[4])
{
  const char *p = text;
  for (int i = 0; i < 4; i++) {
    if (*p < '0' || *p > '9') {
      return false;
    }
    unsigned value = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) {
      value = value * 10 + (unsigned)(*p++ - '0');
      digits++;
    }
    if (value > 255 || digits > 3 || *p != (i < 3 ? '.' : '\0')) {
      return false;
    }
    out[i] = (unsigned char)value;
    p += i < 3 ? 1 : 0;
  }
  return true;
}

/* Looks for an iPAddress entry equal to address in a GeneralNames
 * sequence (RFC 5280, section 4.2.1.6). */
static bool general_names_contain(unsigned char *p, const unsigned char *end,
                                  const unsigned char *address, size_t address_len)
{
  size_t len = 0;
  if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0) {
    return false;
  }
  end = p + len;
  while (p < end) {
    unsigned char tag = *p++;
    if (mbedtls_asn1_get_len(&p, end, &len) != 0) {
      return false;
    }
    if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == address_len &&
        memcmp(p, address, len) == 0) {
      return true;
    }
    p += len;
  }
  return false;
}

/* Finds the subjectAltName extension among the certificate's extensions
 * and checks its iPAddress entries. */
static bool certificate_names_address(const mbedtls_x509_crt *crt, const unsigned char *address,
                                      size_t address_len)
{
  unsigned char *p = crt->v3_ext.p;
  size_t len = 0;
  if (p == NULL || mbedtls_asn1_get_tag(&p, crt->v3_ext.p + crt->v3_ext.len, &len,
                                        MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0) {
    return false;
  }
  const unsigned char *end = p + len;
  while (p < end) {
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) !=
        0) {
      return false;
    }
    const unsigned char *extension_end = p + len;
    mbedtls_x509_buf oid = {.tag = MBEDTLS_ASN1_OID};
    if (mbedtls_asn1_get_tag(&p, extension_end, &oid.len, MBEDTLS_ASN1_OID) != 0) {
      return false;
    }
    oid.p = p;
    p += oid.len;
    int critical = 0;
    mbedtls_asn1_get_bool(&p, extension_end, &critical); /* optional, so no error */
    if (mbedtls_asn1_get_tag(&p, extension_end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0) {
      return false;
    }
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid) == 0) {
      return general_names_contain(p, p + len, address, address_len);
    }
    p = (unsigned char *)extension_end;
  }
  return false;
}

/* Marks the server's own certificate (depth 0) as a name mismatch unless
 * it names the address the client connected to. */
static int verify_ipv4(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
  const cf_tls_client *client = ctx;
  if (depth == 0 && !certificate_names_address(crt, client->ipv4, sizeof(client->ipv4))) {
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
  }
  return 0;
}
#endif

/* Sets the name the server's certificate must carry. */
static int set_server_name(cf_tls_client *client, const char *server_name)
{
#if MBEDTLS_VERSION_MAJOR < 3
  if (parse_ipv4(server_name, client->ipv4)) {
    mbedtls_ssl_set_verify(&client->ssl, verify_ipv4, client);
    return 0;
  }
#endif
  return mbedtls_ssl_set_hostname(&client->ssl, server_name);
}

int cf_tls_client_connect(const cf_tls_config *config, const cf_tls_io *io, const char *server_name,
                          cf_tls_client **out, cf_err **err)
{
  *out = NULL;
  if (server_name == NULL || server_name[0] == '\0') {
    /* mbedTLS skips the name check without one. */
    return cf_err_set(err, CF_E_INVALID,
                      "TLS needs the server's name to check its certificate against: give the "
                      "host name or address the certificate names");
  }
  cf_tls_client *client = cf_xcalloc(1, sizeof(*client));
  mbedtls_ssl_init(&client->ssl);
  client->io = *io;
  int rc = mbedtls_ssl_setup(&client->ssl, &config->ssl);
  if (rc == 0) {
    rc = set_server_name(client, server_name);
  }
  if (rc != 0) {
    tls_fail(err, rc, "set up TLS session");
    cf_tls_client_close(client);
    return -1;
  }
  mbedtls_ssl_set_bio(&client->ssl, client, client_bio_send, client_bio_recv, NULL);
  do {
    rc = mbedtls_ssl_handshake(&client->ssl);
  } while (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE);
  if (rc != 0) {
    cf_autofree char *action = cf_xasprintf("TLS handshake with %s", server_name);
    client_fail(client, rc, action, err);
    cf_tls_client_close(client);
    return -1;
  }
  *out = client;
  return 0;
}

int cf_tls_client_read(cf_tls_client *client, void *data, size_t size, size_t *n, cf_err **err)
{
  *n = 0;
  for (;;) {
    int rc = mbedtls_ssl_read(&client->ssl, data, size);
    if (rc > 0) {
      *n = (size_t)rc;
      return 0;
    }
    if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
      return 0;
    }
    if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
      return client_fail(client, rc, "read TLS record", err);
    }
  }
}

size_t cf_tls_client_pending(const cf_tls_client *client)
{
  return mbedtls_ssl_get_bytes_avail(&client->ssl);
}

int cf_tls_client_write(cf_tls_client *client, const void *data, size_t len, cf_err **err)
{
  const unsigned char *p = data;
  while (len > 0) {
    int rc = mbedtls_ssl_write(&client->ssl, p, len);
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
      continue;
    }
    if (rc < 0) {
      return client_fail(client, rc, "write TLS record", err);
    }
    p += rc;
    len -= (size_t)rc;
  }
  return 0;
}

void cf_tls_client_close(cf_tls_client *client)
{
  if (client == NULL) {
    return;
  }
  mbedtls_ssl_close_notify(&client->ssl);
  cf_err_free(client->io_err);
  mbedtls_ssl_free(&client->ssl);
  free(client);
}
