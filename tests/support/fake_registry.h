/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small Docker Registry v2 server on 127.0.0.1 for tests. It serves the
 * manifests and blobs of one OCI layout (tags from index.json annotations),
 * can demand Bearer tokens from its own /token endpoint or Basic
 * credentials, and can misbehave on purpose: cut a blob, answer 500,
 * redirect blobs to another server, corrupt a blob, stall a response
 * after some bytes until the client gives up. It counts requests so
 * tests can check what a client did. Every connection gets its own thread
 * and one response ("Connection: close").
 */
#ifndef CFWIN_TESTS_FAKE_REGISTRY_H
#define CFWIN_TESTS_FAKE_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>

enum fake_auth {
  FAKE_AUTH_NONE,
  FAKE_AUTH_BEARER, /* tokens from GET /token, checked for scope and expiry */
  FAKE_AUTH_BASIC,
};

#define FAKE_MAX_COUNTED 32

typedef struct fake_registry {
  /* Set before fake_registry_start(); changes later are seen by new
   * requests (the test changes them only between pulls). */
  char layout[4096]; /* OCI layout whose blobs and tags are served */
  enum fake_auth auth;
  const char *username; /* the credentials /token or Basic expects */
  const char *password;
  int token_lifetime;           /* expires_in of tokens, seconds */
  bool insufficient_scope_once; /* answer the first authorised request with insufficient_scope */
  char cut_blob[80];            /* digest: the first GET sends half the body, then closes */
  char fail_blob[80];           /* digest: the first GET answers 500 */
  char corrupt_blob[80];        /* digest: served with its last byte changed */
  char redirect_to[256];        /* "http://127.0.0.1:PORT": blobs answer 307 to PORT/blobs/... */
  char missing_blob[80];        /* digest: answered with 404 */
  int blob_delay_ms;            /* sleep before each blob answer */
  char manifest_type[128];      /* Content-Type of manifests; "": the document's mediaType */
  char overstate_path[128];     /* requests whose path contains this ... */
  long long announced_length;   /* ... announce this Content-Length, send the real body, close */
  char stall_path[128];         /* requests whose path contains this ... */
  int stall_after_bytes;        /* ... get this many bytes of the response, then nothing */

  /* Results, under lock. */
  pthread_mutex_t lock;
  int port;
  int token_requests;
  int bad_credentials;
  int expired_tokens;                  /* requests that presented a token past its expiry */
  int unauthorized;                    /* 401 answers */
  int range_requests;                  /* GETs with a Range header */
  int authorized_blob_gets;            /* blob GETs that carried an Authorization header */
  char counted[FAKE_MAX_COUNTED][128]; /* digests of blob GETs ... */
  int counts[FAKE_MAX_COUNTED];        /* ... and how many each had */

  int listen_fd;
  pthread_t thread;
  bool cut_done, fail_done, scope_done;
} fake_registry;

/* Listens on a free 127.0.0.1 port (stored in port) and serves in a thread. */
void fake_registry_start(fake_registry *fake);
/* Stops listening; connection threads finish on their own. */
void fake_registry_stop(fake_registry *fake);
/* GETs of a blob so far. */
int fake_registry_blob_gets(fake_registry *fake, const char *digest);
/* Zeroes the counters and re-arms the one-time failures. */
void fake_registry_reset(fake_registry *fake);

#endif
