/* Error and argument helpers for the hacloud native addon. */
#include "common.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

/* libuv knows the portable errno names; for the rest (EBADFD after a TUN device was deleted)
   ask glibc, so no error ever reads "Unknown system error". */
static bool uv_knows(int err) {
  char name[64]; /* the _r variant: plain uv_err_name leaks a string for unknown codes */
  uv_err_name_r(-err, name, sizeof name);
  return strncmp(name, "Unknown", 7) != 0;
}

const char *errno_name(int err) {
  if (uv_knows(err)) return uv_err_name(-err);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
  if (strerrorname_np(err)) return strerrorname_np(err);
#endif
  return "UNKNOWN";
}

const char *errno_text(int err) {
  return uv_knows(err) ? uv_strerror(-err) : strerror(err);
}

napi_value throw_errno(napi_env env, int err, const char *syscall, const char *what) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, errno_text(err));
  napi_value code, message, error, errno_value, syscall_value, reason;
  if (napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, errno_text(err), NAPI_AUTO_LENGTH, &reason) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_error(env, code, message, &error) != napi_ok ||
      napi_create_int32(env, -err, &errno_value) != napi_ok ||
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value) != napi_ok) {
    napi_throw_error(env, NULL, msg);
    return NULL;
  }
  napi_set_named_property(env, error, "errno", errno_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  napi_set_named_property(env, error, "reason", reason);
  napi_throw(env, error);
  return NULL;
}

napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return NULL;
}

void throw_napi_failure(napi_env env, const char *expr) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "hacloud native: %s failed: %s", expr,
           info && info->error_message ? info->error_message : "unknown error");
  napi_throw_error(env, NULL, msg);
}

static int bad_arg(napi_env env, const char *name, const char *want) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be %s", name, want);
  throw_type(env, msg);
  return -1;
}

int arg_int32(napi_env env, napi_value v, const char *name, int32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number ||
      napi_get_value_int32(env, v, out) != napi_ok)
    return bad_arg(env, name, "a number");
  return 0;
}

int arg_uint32(napi_env env, napi_value v, const char *name, uint32_t *out) {
  int32_t n;
  if (arg_int32(env, v, name, &n) != 0) return -1;
  if (n < 0) return bad_arg(env, name, "a non-negative integer");
  *out = (uint32_t)n;
  return 0;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is_typed = false;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return -1;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &offset) != napi_ok) return -1;
  return type == want ? 0 : -1;
}

int arg_bytes(napi_env env, napi_value v, const char *name, uint8_t **data, size_t *len) {
  void *p;
  if (typed(env, v, napi_uint8_array, &p, len) != 0) return bad_arg(env, name, "a Uint8Array");
  *data = p;
  return 0;
}

int arg_u32array(napi_env env, napi_value v, const char *name, uint32_t **data, size_t *len) {
  void *p;
  if (typed(env, v, napi_uint32_array, &p, len) != 0) return bad_arg(env, name, "a Uint32Array");
  *data = p;
  return 0;
}

int arg_f64array(napi_env env, napi_value v, const char *name, double **data, size_t *len) {
  void *p;
  if (typed(env, v, napi_float64_array, &p, len) != 0) return bad_arg(env, name, "a Float64Array");
  *data = p;
  return 0;
}

int arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t cap) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
    return bad_arg(env, name, "a string");
  if (len >= cap) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s is too long (%zu bytes, at most %zu)", name, len, cap - 1);
    throw_range(env, msg);
    return -1;
  }
  napi_get_value_string_utf8(env, v, buf, cap, &len);
  return 0;
}

int get_prop(napi_env env, napi_value obj, const char *key, napi_value *out) {
  return napi_get_named_property(env, obj, key, out) == napi_ok ? 0 : -1;
}

int get_u32(napi_env env, napi_value obj, const char *key, uint32_t *out) {
  napi_value v;
  return get_prop(env, obj, key, &v) || arg_uint32(env, v, key, out);
}

int get_optional_u32(napi_env env, napi_value obj, const char *key, uint32_t fallback, uint32_t *out) {
  napi_value v;
  napi_valuetype t;
  if (get_prop(env, obj, key, &v) || napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_undefined) {
    *out = fallback;
    return 0;
  }
  return arg_uint32(env, v, key, out);
}

static size_t element_bytes(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8; /* float64, bigint64, biguint64 */
  }
}

int typed_span(napi_env env, napi_value v, void **data, size_t *bytes) {
  bool is_typed = false;
  napi_typedarray_type type;
  napi_value ab;
  size_t length, offset;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return -1;
  if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok) return -1;
  *bytes = length * element_bytes(type);
  return 0;
}

napi_status export_constants(napi_env env, napi_value exports, const char *name, const js_constant_t *list,
                             size_t n) {
  napi_value obj, v;
  napi_status st = napi_create_object(env, &obj);
  for (size_t i = 0; i < n && st == napi_ok; i++) {
    st = napi_create_double(env, list[i].value, &v);
    if (st == napi_ok) st = napi_set_named_property(env, obj, list[i].name, v);
  }
  if (st == napi_ok) st = napi_object_freeze(env, obj);
  if (st == napi_ok) st = napi_set_named_property(env, exports, name, obj);
  return st;
}

napi_status define_class(napi_env env, napi_value exports, const char *name, napi_callback ctor,
                         const napi_property_descriptor *methods, size_t n_methods) {
  napi_value cls;
  napi_status st = napi_define_class(env, name, NAPI_AUTO_LENGTH, ctor, NULL, n_methods, methods, &cls);
  if (st != napi_ok) return st;
  return napi_set_named_property(env, exports, name, cls);
}

/* Call a JS callback from a libuv callback with `self` as receiver; an exception thrown by
 * the callback goes to 'uncaughtException' (there is no JS frame to throw into). */
void js_callback(napi_env env, napi_async_context async, napi_ref self, bool *in_callback,
                 napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_value fn, recv;
  if (!fn_ref || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || !fn) return;
  if (napi_get_reference_value(env, self, &recv) != napi_ok || !recv) napi_get_global(env, &recv);
  *in_callback = true;
  napi_status st = napi_make_callback(env, async, recv, fn, argc, argv, NULL);
  *in_callback = false;
  bool pending = false;
  if (st != napi_ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

/* Hand an errno to a JS error callback as (code, -errno, text, fatal). */
void js_report_error(napi_env env, napi_async_context async, napi_ref self, bool *in_callback,
                     napi_ref on_error, int err, bool fatal) {
  napi_value argv[4];
  if (napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &argv[0]) != napi_ok ||
      napi_create_int32(env, -err, &argv[1]) != napi_ok ||
      napi_create_string_utf8(env, errno_text(err), NAPI_AUTO_LENGTH, &argv[2]) != napi_ok ||
      napi_get_boolean(env, fatal, &argv[3]) != napi_ok)
    return;
  js_callback(env, async, self, in_callback, on_error, 4, argv);
}
