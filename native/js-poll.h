/*
 * js_poll_t: the lifecycle shared by the native classes that poll an fd on the Node event loop
 * (Poller in poller.c, UdpSocket in udp.c): a uv_poll_t owned by a JS object, the JS callbacks
 * and buffers it keeps alive, the async context its callbacks run in, start/stop/close, and
 * the protocol that frees the object once BOTH its handle is closed and the JS object is
 * finalized (whichever comes last).
 *
 * Embed it as the FIRST member of the class's struct: handle.data, the napi_wrap pointer and
 * the js_poll_t * the helpers take are then all the address of the whole object.
 */
#ifndef HACLOUD_JS_POLL_H
#define HACLOUD_JS_POLL_H

#include "common.h"

#include <uv.h>

#define JS_POLL_MAX_KEEP 3

typedef struct js_poll js_poll_t;

/* What differs between the classes; one static instance per class. */
typedef struct {
  const char *name;          /* JS class name; also "hacloud:<name>", "not a <name>", "<name> setup" */
  const char *on_data;       /* option naming the data callback ("onPackets") */
  const char *callbacks_msg; /* TypeError for a missing callback; NULL: "<option> must be a function" */
  const char *poll_fail_msg; /* uv_poll_init/uv_poll_start failed: "cannot poll the device" */
  const char *closed_msg;    /* start() after close(): "poller is closed" */
  bool owns_fd;              /* close the fd with the handle (else it stays the caller's) */
  uv_poll_cb on_poll;
  void (*free)(js_poll_t *jp); /* frees the whole object */
} js_poll_class_t;

struct js_poll {
  uv_poll_t handle;
  const js_poll_class_t *cls;
  napi_env env;
  napi_ref self; /* weak; made strong while polling */
  napi_ref on_data, on_error;
  napi_ref keep[JS_POLL_MAX_KEEP]; /* the buffers the native side writes into */
  void *keep_data[JS_POLL_MAX_KEEP]; /* ... and their memory and size when checked at init */
  size_t keep_bytes[JS_POLL_MAX_KEEP];
  size_t n_keep;
  napi_async_context async;
  int fd;
  bool handle_open, polling, closing, finalized, in_callback;
};

/*
 * Read the data and error callbacks from opts, keep keep[0..n_keep) referenced, create the
 * async context, start a poll handle on fd and wrap `self`. On failure it throws, closes fd if
 * the class owns it, frees the object (cls->free) and returns -1.
 */
int js_poll_init(js_poll_t *jp, const js_poll_class_t *cls, napi_env env, napi_value self,
                 napi_value opts, int fd, const napi_value *keep, size_t n_keep);

/*
 * Whether the kept typed arrays still have the memory and byte length they had at init. The
 * reference keeps them alive, but JS can still take their memory away: transfer or detach the
 * ArrayBuffer (structuredClone(b, { transfer: [b] })), or shrink a resizable one. Call it (in
 * an open handle scope) before writing into them: a wake-up, a method that writes. False
 * after close() too: the references are gone, so the memory may be.
 */
bool js_poll_buffers_intact(js_poll_t *jp);

/* The wrapped object behind `this`, or NULL after throwing "not a <name>". */
js_poll_t *js_poll_unwrap(napi_env env, napi_callback_info info, const js_poll_class_t *cls,
                          size_t *argc, napi_value *argv);

/* Call the data callback / hand an errno to the error callback (see js_callback). */
void js_poll_call(js_poll_t *jp, size_t argc, napi_value *argv);
void js_poll_report(js_poll_t *jp, int err, bool fatal);

/* Stop polling (the handle stays open) and let GC have the JS object again. */
void js_poll_stop(js_poll_t *jp);
/* libuv stops a poll handle by itself on POLLERR: resume if still wanted, else report. */
void js_poll_resume(js_poll_t *jp);
/* Stop and close the handle (and the fd, if owned); idempotent. */
void js_poll_begin_close(js_poll_t *jp);
/* begin_close, and drop the JS references unless a callback is running (js_poll_leave does). */
void js_poll_close(js_poll_t *jp);
/* Drop the references to the callbacks and buffers, so a closed object can be collected. */
void js_poll_release(js_poll_t *jp);
/* End of a wake-up: release what close() from inside a callback left, close the scope. */
void js_poll_leave(js_poll_t *jp, napi_handle_scope scope);

/* The JS methods start(), stop() and close(); the property's data must be the class. */
napi_value js_poll_start_method(napi_env env, napi_callback_info info);
napi_value js_poll_stop_method(napi_env env, napi_callback_info info);
napi_value js_poll_close_method(napi_env env, napi_callback_info info);

#define JS_POLL_METHOD(name, fn, cls) {(name), NULL, (fn), NULL, NULL, NULL, napi_default, (void *)(cls)}

#endif
