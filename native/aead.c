/*
 * NativeAead: AES-256-GCM and ChaCha20-Poly1305 (IETF) through the OpenSSL that Node ships
 * (the node binary exports the EVP symbols; headers come with Node's include directory).
 *
 * node:crypto has no "into this buffer" API and builds a Cipher object per packet (~10 us per
 * seal+open here); this object sets the key once, at construction, and per packet only sets
 * the nonce, so a 1400-byte seal costs well under a microsecond of cipher setup.
 *
 *   new NativeAead(algorithm, key)     algorithm 1 = chacha20-poly1305, 2 = aes-256-gcm
 *                                      (the wire ids of src/crypto/aead.ts); key 32 bytes
 *   .seal(counter, aad, plaintext, out) -> bytes written (plaintext.length + 16)
 *   .open(counter, aad, ciphertext, out) -> plaintext length, or -1 (short or forged)
 *   .openPacket(counter, packet, aadBytes, out) -> as open, with packet[0, aadBytes) as the aad
 *                                      and the rest as the ciphertext: a received datagram
 *                                      is opened without a JS view of its parts
 *   .destroy()                          frees the contexts (OpenSSL wipes the key schedule)
 *
 * Nonce: 4 zero bytes + the 64-bit counter, little-endian (as documented in aead.ts).
 * `out` may be the same memory as the input (in place) or not overlap it at all.
 * Size mistakes are our own bugs and throw a RangeError; no call allocates.
 */
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#define KEY_BYTES 32
#define NONCE_BYTES 12
#define TAG_BYTES 16
#define ALG_CHACHA20 1
#define ALG_AES256 2

typedef struct {
  EVP_CIPHER_CTX *enc, *dec;
} aead_t;

static void aead_free(aead_t *a) {
  if (a->enc) EVP_CIPHER_CTX_free(a->enc); /* EVP_CIPHER_CTX_free cleanses the key material */
  if (a->dec) EVP_CIPHER_CTX_free(a->dec);
  a->enc = a->dec = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  aead_free(data);
  free(data);
}

static EVP_CIPHER_CTX *new_ctx(const EVP_CIPHER *cipher, const uint8_t *key, int enc) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return NULL;
  if (EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, NONCE_BYTES, NULL) != 1 ||
      EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, enc) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

static napi_value aead_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 2) return throw_type(env, "new NativeAead(algorithm, key) needs 2 arguments");
  uint32_t alg;
  uint8_t *key;
  size_t key_len;
  if (arg_uint32(env, argv[0], "algorithm", &alg) || arg_bytes(env, argv[1], "key", &key, &key_len)) return NULL;
  if (key_len != KEY_BYTES) return throw_range(env, "AEAD keys have 32 bytes");
  const EVP_CIPHER *cipher = alg == ALG_AES256 ? EVP_aes_256_gcm() : alg == ALG_CHACHA20 ? EVP_chacha20_poly1305() : NULL;
  if (!cipher) return throw_range(env, "algorithm must be 1 (chacha20-poly1305) or 2 (aes-256-gcm)");

  aead_t *a = calloc(1, sizeof *a);
  if (!a) return throw_errno(env, 12 /* ENOMEM */, "calloc", "NativeAead");
  a->enc = new_ctx(cipher, key, 1);
  a->dec = new_ctx(cipher, key, 0);
  if (!a->enc || !a->dec) {
    aead_free(a);
    free(a);
    napi_throw_error(env, NULL, "OpenSSL refused to set up the AEAD context");
    return NULL;
  }
  if (napi_wrap(env, self, a, finalize, NULL, NULL) != napi_ok) {
    aead_free(a);
    free(a);
    throw_napi_failure(env, "napi_wrap");
    return NULL;
  }
  return self;
}

typedef struct {
  aead_t *a;
  uint8_t nonce[NONCE_BYTES];
  uint8_t *aad, *in, *out;
  size_t aad_len, in_len, out_len;
} call_t;

/* Unwrap `this`, read the counter into the nonce and return the 4 arguments in argv.
 * Throws and returns -1 on bad arguments. */
static int read_head(napi_env env, napi_callback_info info, napi_value argv[4], call_t *c) {
  size_t argc = 4;
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok || argc < 4) {
    throw_type(env, "4 arguments needed");
    return -1;
  }
  if (napi_unwrap(env, self, &data) != napi_ok || !data) {
    throw_type(env, "not a NativeAead");
    return -1;
  }
  c->a = data;
  if (!c->a->enc) {
    throw_range(env, "NativeAead was destroyed");
    return -1;
  }
  double counter;
  if (napi_get_value_double(env, argv[0], &counter) != napi_ok || !(counter >= 0) ||
      counter > 9007199254740991.0 || counter != floor(counter)) {
    throw_range(env, "counter must be an integer in 0..2^53-1");
    return -1;
  }
  uint64_t n = (uint64_t)counter;
  memset(c->nonce, 0, 4);
  for (int i = 0; i < 8; i++) c->nonce[4 + i] = (uint8_t)(n >> (8 * i));
  return 0;
}

static int check_sizes(napi_env env, const call_t *c) {
  if (c->in_len > 0x7fffffff - TAG_BYTES || c->aad_len > 0x7fffffff) {
    throw_range(env, "input too large");
    return -1;
  }
  return 0;
}

/* (counter, aad, input, out) */
static int read_call(napi_env env, napi_callback_info info, call_t *c) {
  napi_value argv[4];
  if (read_head(env, info, argv, c) ||
      arg_bytes(env, argv[1], "aad", &c->aad, &c->aad_len) ||
      arg_bytes(env, argv[2], "input", &c->in, &c->in_len) ||
      arg_bytes(env, argv[3], "out", &c->out, &c->out_len))
    return -1;
  return check_sizes(env, c);
}

/* (counter, packet, aadBytes, out): packet[0, aadBytes) is the associated data, the rest the
 * input. Sets *short_packet instead of failing when the packet is shorter than aadBytes. */
static int read_packet_call(napi_env env, napi_callback_info info, call_t *c, bool *short_packet) {
  napi_value argv[4];
  uint8_t *packet;
  size_t packet_len;
  uint32_t aad_bytes;
  if (read_head(env, info, argv, c) ||
      arg_bytes(env, argv[1], "packet", &packet, &packet_len) ||
      arg_uint32(env, argv[2], "aadBytes", &aad_bytes) ||
      arg_bytes(env, argv[3], "out", &c->out, &c->out_len))
    return -1;
  *short_packet = packet_len < aad_bytes;
  c->aad = packet;
  c->aad_len = *short_packet ? packet_len : aad_bytes;
  c->in = packet + c->aad_len;
  c->in_len = packet_len - c->aad_len;
  return check_sizes(env, c);
}

static napi_value int_result(napi_env env, int32_t v) {
  napi_value r;
  NAPI_CALL(env, napi_create_int32(env, v, &r));
  return r;
}

/* OpenSSL allows out == in; a partial overlap would corrupt data silently, so refuse it. */
static bool bad_overlap(const uint8_t *in, size_t in_len, const uint8_t *out, size_t out_len) {
  if (in == out || in_len == 0 || out_len == 0) return false;
  return in < out + out_len && out < in + in_len;
}

static napi_value aead_seal(napi_env env, napi_callback_info info) {
  call_t c;
  if (read_call(env, info, &c)) return NULL;
  if (c.out_len < c.in_len + TAG_BYTES) return throw_range(env, "AEAD output buffer too small");
  if (bad_overlap(c.in, c.in_len, c.out, c.out_len)) return throw_range(env, "input and out partly overlap");
  EVP_CIPHER_CTX *ctx = c.a->enc;
  int len = 0, fin = 0;
  if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, c.nonce) != 1 ||
      (c.aad_len && EVP_EncryptUpdate(ctx, NULL, &len, c.aad, (int)c.aad_len) != 1) ||
      (c.in_len && EVP_EncryptUpdate(ctx, c.out, &len, c.in, (int)c.in_len) != 1) ||
      EVP_EncryptFinal_ex(ctx, c.out + c.in_len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, c.out + c.in_len) != 1) {
    napi_throw_error(env, NULL, "OpenSSL AEAD seal failed");
    return NULL;
  }
  return int_result(env, (int32_t)(c.in_len + TAG_BYTES));
}

/* Verify and decrypt c->in (ciphertext + tag) into c->out: plaintext length or -1. */
static napi_value open_into(napi_env env, const call_t *c) {
  if (c->in_len < TAG_BYTES) return int_result(env, -1);
  size_t len = c->in_len - TAG_BYTES;
  if (c->out_len < len) return int_result(env, -1);
  if (bad_overlap(c->in, len, c->out, c->out_len)) return throw_range(env, "input and out partly overlap");
  uint8_t tag[TAG_BYTES]; /* copied first: decrypting in place may not touch it, but be sure */
  memcpy(tag, c->in + len, TAG_BYTES);
  EVP_CIPHER_CTX *ctx = c->a->dec;
  int n = 0, fin = 0;
  if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, c->nonce) != 1 ||
      (c->aad_len && EVP_DecryptUpdate(ctx, NULL, &n, c->aad, (int)c->aad_len) != 1) ||
      (len && EVP_DecryptUpdate(ctx, c->out, &n, c->in, (int)len) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, tag) != 1)
    return int_result(env, -1);
  if (EVP_DecryptFinal_ex(ctx, c->out + len, &fin) != 1) return int_result(env, -1);
  return int_result(env, (int32_t)len);
}

static napi_value aead_open(napi_env env, napi_callback_info info) {
  call_t c;
  if (read_call(env, info, &c)) return NULL;
  return open_into(env, &c);
}

static napi_value aead_open_packet(napi_env env, napi_callback_info info) {
  call_t c;
  bool short_packet;
  if (read_packet_call(env, info, &c, &short_packet)) return NULL;
  if (short_packet) return int_result(env, -1);
  return open_into(env, &c);
}

static napi_value aead_destroy(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  NAPI_CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  if (napi_unwrap(env, self, &data) == napi_ok && data) aead_free(data);
  return NULL;
}

napi_status aead_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      JS_METHOD("seal", aead_seal),
      JS_METHOD("open", aead_open),
      JS_METHOD("openPacket", aead_open_packet),
      JS_METHOD("destroy", aead_destroy),
  };
  return define_class(env, exports, "NativeAead", aead_new, methods, sizeof methods / sizeof methods[0]);
}
