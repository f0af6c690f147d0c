// Node-API addon: OpenBLAS matrix products and fused training kernels (attention, RMSNorm, SwiGLU, rope, cross-entropy, AdamW) for tfjs (see
// native-matmul.ts, native-fused.ts). Plain C against node_api.h so it builds with one cc command
// and no node-gyp (which would need Python and a download of the Node headers).
#include <stdio.h>
#include "kernels.h"

static int threads = 1;

int native_threads(void) { return threads; }

/** setThreads(n): OpenBLAS workers and the addon's own loop threads; returns OpenBLAS's count in force. */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  NAPI_CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t n = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) return native_fail(env, "setThreads expects a positive integer");
  openblas_set_num_threads(n);
  threads = n;
  NAPI_CHECK(napi_create_int32(env, openblas_get_num_threads(), &result));
  return result;
}

/** info(): OpenBLAS build configuration and current thread count, for logs and benchmarks. */
static napi_value blas_info(napi_env env, napi_callback_info info) {
  (void)info;
  char text[512];
  snprintf(text, sizeof text, "%s, %d thread(s)", openblas_get_config(), openblas_get_num_threads());
  napi_value result;
  NAPI_CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, native_sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"attentionForward", NULL, native_attention_forward, NULL, NULL, NULL, napi_default, NULL},
      {"attentionBackward", NULL, native_attention_backward, NULL, NULL, NULL, napi_default, NULL},
      {"rmsNormForward", NULL, native_rms_norm_forward, NULL, NULL, NULL, napi_default, NULL},
      {"rmsNormBackward", NULL, native_rms_norm_backward, NULL, NULL, NULL, napi_default, NULL},
      {"swigluForward", NULL, native_swiglu_forward, NULL, NULL, NULL, napi_default, NULL},
      {"swigluBackward", NULL, native_swiglu_backward, NULL, NULL, NULL, napi_default, NULL},
      {"rope", NULL, native_rope, NULL, NULL, NULL, napi_default, NULL},
      {"crossEntropyForward", NULL, native_cross_entropy_forward, NULL, NULL, NULL, napi_default, NULL},
      {"crossEntropyBackward", NULL, native_cross_entropy_backward, NULL, NULL, NULL, napi_default, NULL},
      {"adamw", NULL, native_adamw, NULL, NULL, NULL, napi_default, NULL},
      {"sumOfSquares", NULL, native_sum_of_squares, NULL, NULL, NULL, napi_default, NULL},
      {"binary", NULL, native_binary, NULL, NULL, NULL, napi_default, NULL},
      {"f32ToF16", NULL, native_f32_to_f16, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, blas_info, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(docs2model_kernels, init)
