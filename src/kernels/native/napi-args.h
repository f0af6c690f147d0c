// Argument helpers shared by the addon's C files: typed arrays (over an ArrayBuffer or a
// SharedArrayBuffer such as the wasm heap) and integers, each failing with a JS RangeError.
#ifndef DOCS2MODEL_NAPI_ARGS_H
#define DOCS2MODEL_NAPI_ARGS_H
#include <node_api.h>
#include <stdint.h>
#include <stddef.h>

#define NAPI_CHECK(call)                                                                     \
  do {                                                                                       \
    if ((call) != napi_ok) {                                                                 \
      napi_throw_error(env, "E_NATIVE", "native kernel: N-API call failed: " #call);         \
      return NULL;                                                                           \
    }                                                                                        \
  } while (0)

static inline napi_value native_fail(napi_env env, const char *message) {
  napi_throw_range_error(env, "E_NATIVE", message);
  return NULL;
}

static inline int typed_array(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok) return 0;
  return type == want;
}

static inline int get_f32(napi_env env, napi_value value, float **data, size_t *length) {
  return typed_array(env, value, napi_float32_array, (void **)data, length);
}

static inline int get_u32(napi_env env, napi_value value, uint32_t **data, size_t *length) {
  return typed_array(env, value, napi_uint32_array, (void **)data, length);
}

static inline int get_i32(napi_env env, napi_value value, int32_t **data, size_t *length) {
  return typed_array(env, value, napi_int32_array, (void **)data, length);
}

static inline int is_nullish(napi_env env, napi_value value) {
  napi_valuetype t;
  return napi_typeof(env, value, &t) == napi_ok && (t == napi_undefined || t == napi_null);
}

/** Hot loops compiled twice (AVX2+FMA and baseline) and picked at load time: portable and fast. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VECTOR_CLONES
#endif

#endif
