/* Helpers shared by the hacloud native addon's source files. */
#ifndef HACLOUD_COMMON_H
#define HACLOUD_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <node_api.h>

/*
 * Throw an Error "<what>: <strerror>" carrying .code ("EPERM"), .errno (negative, as in Node's
 * own system errors), .syscall and .reason (the bare strerror text), so the TypeScript side
 * can turn it into a one-line message.
 * Always returns NULL so callers can `return throw_errno(...)`.
 */
napi_value throw_errno(napi_env env, int err, const char *syscall, const char *what);

/* "EPERM" and "operation not permitted" for a positive errno, as Node names its system errors. */
const char *errno_name(int err);
const char *errno_text(int err);
void js_callback(napi_env env, napi_async_context async, napi_ref self, bool *in_callback,
                 napi_ref fn_ref, size_t argc, napi_value *argv);
void js_report_error(napi_env env, napi_async_context async, napi_ref self, bool *in_callback,
                     napi_ref on_error, int err, bool fatal);

/* Throw a TypeError/RangeError with a plain message; returns NULL. */
napi_value throw_type(napi_env env, const char *msg);
napi_value throw_range(napi_env env, const char *msg);

/* After a failed napi_* call: throw a generic error unless one is already pending. */
void throw_napi_failure(napi_env env, const char *expr);

#define NAPI_CALL(env, call)                 \
  do {                                       \
    if ((call) != napi_ok) {                 \
      throw_napi_failure((env), #call);      \
      return NULL;                           \
    }                                        \
  } while (0)

/* Argument readers: return 0 on success, or throw a TypeError naming `name` and return -1. */
int arg_int32(napi_env env, napi_value v, const char *name, int32_t *out);
int arg_uint32(napi_env env, napi_value v, const char *name, uint32_t *out);
int arg_bytes(napi_env env, napi_value v, const char *name, uint8_t **data, size_t *len);
int arg_u32array(napi_env env, napi_value v, const char *name, uint32_t **data, size_t *len);
int arg_f64array(napi_env env, napi_value v, const char *name, double **data, size_t *len);
/* Copy a string into buf (cap bytes incl. NUL); a longer string is a RangeError, not truncated. */
int arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t cap);

/* Option readers: obj[key] (-1 if the lookup throws), and obj[key] as with arg_uint32. */
int get_prop(napi_env env, napi_value obj, const char *key, napi_value *out);
int get_u32(napi_env env, napi_value obj, const char *key, uint32_t *out);
/* obj[key] as with get_u32 when present (not undefined), else *out = fallback. */
int get_optional_u32(napi_env env, napi_value obj, const char *key, uint32_t fallback, uint32_t *out);

/* The byte length and data of a typed array of any element type; -1 (nothing thrown) if v is
   none. */
int typed_span(napi_env env, napi_value v, void **data, size_t *bytes);

/* exports[name] = a frozen object of named numbers: the limits a class checks its arguments
   against, so the TypeScript side reads them instead of copying them. */
typedef struct {
  const char *name;
  double value;
} js_constant_t;
napi_status export_constants(napi_env env, napi_value exports, const char *name, const js_constant_t *list,
                             size_t n);

/* Define class `name` with the given prototype methods and set it as exports[name]. */
napi_status define_class(napi_env env, napi_value exports, const char *name, napi_callback ctor,
                         const napi_property_descriptor *methods, size_t n_methods);
#define JS_METHOD(name, fn) {(name), NULL, (fn), NULL, NULL, NULL, napi_default, NULL}

/* Register the Poller class on `exports` (poller.c). */
napi_status poller_register(napi_env env, napi_value exports);
/* Register the NativeAead class (aead.c) and the UdpSocket class (udp.c). */
napi_status aead_register(napi_env env, napi_value exports);
napi_status udp_register(napi_env env, napi_value exports);

#endif
