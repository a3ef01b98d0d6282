/* The shared lifecycle of the native polled objects; see js-poll.h. */
#include "js-poll.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static void delete_ref(napi_env env, napi_ref *ref) {
  if (*ref) napi_delete_reference(env, *ref);
  *ref = NULL;
}

void js_poll_release(js_poll_t *jp) {
  delete_ref(jp->env, &jp->on_data);
  delete_ref(jp->env, &jp->on_error);
  for (size_t i = 0; i < JS_POLL_MAX_KEEP; i++) delete_ref(jp->env, &jp->keep[i]);
  if (jp->async) napi_async_destroy(jp->env, jp->async);
  jp->async = NULL;
}

/* The object is freed here or in finalize, whichever of the two comes last. */
static void on_handle_closed(uv_handle_t *h) {
  js_poll_t *jp = h->data;
  jp->handle_open = false;
  if (jp->cls->owns_fd && jp->fd >= 0) close(jp->fd);
  if (jp->cls->owns_fd) jp->fd = -1;
  if (jp->finalized) jp->cls->free(jp);
}

static void set_polling(js_poll_t *jp, bool on) {
  if (jp->polling == on) return;
  jp->polling = on;
  uint32_t count;
  if (!jp->self) return; /* finalized */
  if (on) napi_reference_ref(jp->env, jp->self, &count);
  else napi_reference_unref(jp->env, jp->self, &count);
}

void js_poll_stop(js_poll_t *jp) {
  if (jp->handle_open && !jp->closing) uv_poll_stop(&jp->handle);
  set_polling(jp, false);
}

void js_poll_begin_close(js_poll_t *jp) {
  if (jp->closing) return;
  js_poll_stop(jp);
  jp->closing = true;
  uv_close((uv_handle_t *)&jp->handle, on_handle_closed);
}

void js_poll_close(js_poll_t *jp) {
  js_poll_begin_close(jp);
  if (!jp->in_callback) js_poll_release(jp); /* else js_poll_leave, after the callback returns */
}

static void finalize(napi_env env, void *data, void *hint) {
  js_poll_t *jp = data;
  jp->finalized = true;
  js_poll_release(jp);
  delete_ref(env, &jp->self);
  if (!jp->handle_open) jp->cls->free(jp);
  else js_poll_begin_close(jp); /* on_handle_closed frees */
}

void js_poll_call(js_poll_t *jp, size_t argc, napi_value *argv) {
  js_callback(jp->env, jp->async, jp->self, &jp->in_callback, jp->on_data, argc, argv);
}

void js_poll_report(js_poll_t *jp, int err, bool fatal) {
  js_report_error(jp->env, jp->async, jp->self, &jp->in_callback, jp->on_error, err, fatal);
}

void js_poll_resume(js_poll_t *jp) {
  if (!jp->polling || jp->closing) return;
  int rc = uv_poll_start(&jp->handle, UV_READABLE, jp->cls->on_poll);
  if (rc < 0) {
    js_poll_stop(jp);
    js_poll_report(jp, -rc, true);
  }
}

void js_poll_leave(js_poll_t *jp, napi_handle_scope scope) {
  if (jp->closing && !jp->in_callback) js_poll_release(jp);
  napi_close_handle_scope(jp->env, scope);
}

static int get_fn(napi_env env, napi_value opts, const char *key, const char *msg, napi_ref *out) {
  napi_value v;
  napi_valuetype t;
  if (get_prop(env, opts, key, &v) || napi_typeof(env, v, &t) != napi_ok || t != napi_function) {
    char own[64];
    snprintf(own, sizeof own, "%s must be a function", key);
    throw_type(env, msg ? msg : own);
    return -1;
  }
  return napi_create_reference(env, v, 1, out) == napi_ok ? 0 : -1;
}

/* Undo a failed js_poll_init before the handle exists. */
static int init_failed(js_poll_t *jp) {
  js_poll_release(jp);
  if (jp->cls->owns_fd) close(jp->fd);
  jp->cls->free(jp);
  return -1;
}

int js_poll_init(js_poll_t *jp, const js_poll_class_t *cls, napi_env env, napi_value self,
                 napi_value opts, int fd, const napi_value *keep, size_t n_keep) {
  jp->cls = cls;
  jp->env = env;
  jp->fd = fd;
  jp->handle.data = jp;

  char resource[64];
  snprintf(resource, sizeof resource, "hacloud:%s", cls->name);
  napi_value name;
  int failed = get_fn(env, opts, cls->on_data, cls->callbacks_msg, &jp->on_data) ||
               get_fn(env, opts, "onError", cls->callbacks_msg, &jp->on_error);
  jp->n_keep = n_keep < JS_POLL_MAX_KEEP ? n_keep : JS_POLL_MAX_KEEP;
  for (size_t i = 0; i < jp->n_keep && !failed; i++)
    failed = typed_span(env, keep[i], &jp->keep_data[i], &jp->keep_bytes[i]) ||
             napi_create_reference(env, keep[i], 1, &jp->keep[i]) != napi_ok;
  if (failed || napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &jp->async) != napi_ok) {
    char what[64];
    snprintf(what, sizeof what, "%s setup", cls->name);
    init_failed(jp);
    throw_napi_failure(env, what);
    return -1;
  }

  uv_loop_t *loop;
  int rc = napi_get_uv_event_loop(env, &loop) == napi_ok ? uv_poll_init(loop, &jp->handle, fd) : UV_EINVAL;
  if (rc < 0) {
    init_failed(jp);
    throw_errno(env, -rc, "uv_poll_init", cls->poll_fail_msg);
    return -1;
  }
  jp->handle_open = true;
  if (napi_wrap(env, self, jp, finalize, NULL, &jp->self) != napi_ok) {
    js_poll_release(jp);
    jp->finalized = true;
    js_poll_begin_close(jp); /* on_handle_closed frees */
    throw_napi_failure(env, "napi_wrap");
    return -1;
  }
  return 0;
}

bool js_poll_buffers_intact(js_poll_t *jp) {
  for (size_t i = 0; i < jp->n_keep; i++) {
    napi_value v;
    void *data;
    size_t bytes;
    if (!jp->keep[i] || napi_get_reference_value(jp->env, jp->keep[i], &v) != napi_ok || !v ||
        typed_span(jp->env, v, &data, &bytes) || data != jp->keep_data[i] || bytes < jp->keep_bytes[i])
      return false;
  }
  return true;
}

static js_poll_t *unwrap_as(napi_env env, napi_value self, const js_poll_class_t *cls) {
  void *data = NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || !data) {
    char msg[64];
    snprintf(msg, sizeof msg, "not a %s", cls->name);
    throw_type(env, msg);
    return NULL;
  }
  return data;
}

js_poll_t *js_poll_unwrap(napi_env env, napi_callback_info info, const js_poll_class_t *cls,
                          size_t *argc, napi_value *argv) {
  napi_value self;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) self = NULL;
  return unwrap_as(env, self, cls);
}

/* The object behind `this` in start/stop/close, whose property data is the class. */
static js_poll_t *method_this(napi_env env, napi_callback_info info) {
  napi_value self;
  void *cls = NULL;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, &cls) != napi_ok || !cls) {
    throw_type(env, "not a polled object");
    return NULL;
  }
  return unwrap_as(env, self, cls);
}

napi_value js_poll_start_method(napi_env env, napi_callback_info info) {
  js_poll_t *jp = method_this(env, info);
  if (!jp) return NULL;
  if (jp->closing) return throw_errno(env, EBADF, "uv_poll_start", jp->cls->closed_msg);
  int rc = uv_poll_start(&jp->handle, UV_READABLE, jp->cls->on_poll);
  if (rc < 0) return throw_errno(env, -rc, "uv_poll_start", jp->cls->poll_fail_msg);
  set_polling(jp, true);
  return NULL;
}

napi_value js_poll_stop_method(napi_env env, napi_callback_info info) {
  js_poll_t *jp = method_this(env, info);
  if (jp) js_poll_stop(jp);
  return NULL;
}

napi_value js_poll_close_method(napi_env env, napi_callback_info info) {
  js_poll_t *jp = method_this(env, info);
  if (jp && !jp->closing) js_poll_close(jp);
  return NULL;
}
