// Node-API addon: float32 batched matrix multiply through OpenBLAS's cblas_sgemm, for the tfjs
// BatchMatMul kernel (see native-matmul.ts). Plain C against node_api.h so it builds with one cc
// command and no node-gyp (which would need Python and a download of the Node headers).
#include <node_api.h>
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>

// OpenBLAS's own thread control (declared in its cblas.h; repeated so other CBLAS headers link too).
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);

#define CHECK(call)                                                                   \
  do {                                                                                \
    if ((call) != napi_ok) {                                                          \
      napi_throw_error(env, "E_NATIVE_MATMUL", "native matmul: N-API call failed: " #call); \
      return NULL;                                                                    \
    }                                                                                 \
  } while (0)

static napi_value fail(napi_env env, const char *message) {
  napi_throw_range_error(env, "E_NATIVE_MATMUL", message);
  return NULL;
}

// A Float32Array (over an ArrayBuffer or a SharedArrayBuffer such as the wasm heap).
static int get_f32(napi_env env, napi_value value, float **data, size_t *length) {
  napi_typedarray_type type;
  void *ptr;
  if (napi_get_typedarray_info(env, value, &type, length, &ptr, NULL, NULL) != napi_ok) return 0;
  if (type != napi_float32_array) return 0;
  *data = (float *)ptr;
  return 1;
}

static int get_u32(napi_env env, napi_value value, uint32_t **data, size_t *length) {
  napi_typedarray_type type;
  void *ptr;
  if (napi_get_typedarray_info(env, value, &type, length, &ptr, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint32_array) return 0;
  *data = (uint32_t *)ptr;
  return 1;
}

/**
 * sgemm(a, b, c, m, n, k, transposeA, transposeB, aOffsets, bOffsets)
 * For each batch item i: c[i*m*n ..] = op(a[aOffsets[i] ..]) @ op(b[bOffsets[i] ..]), row-major,
 * where op(a) is [m, k] (stored [k, m] when transposeA) and op(b) is [k, n] (stored [n, k] when
 * transposeB). Offsets are in elements; every access is bounds-checked before BLAS runs.
 */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 10) return fail(env, "sgemm expects 10 arguments");
  float *a, *b, *c;
  size_t aLen, bLen, cLen, aoLen, boLen;
  uint32_t *aOff, *bOff;
  if (!get_f32(env, argv[0], &a, &aLen) || !get_f32(env, argv[1], &b, &bLen) || !get_f32(env, argv[2], &c, &cLen))
    return fail(env, "a, b and c must be Float32Arrays");
  uint32_t m, n, k;
  bool ta, tb;
  CHECK(napi_get_value_uint32(env, argv[3], &m));
  CHECK(napi_get_value_uint32(env, argv[4], &n));
  CHECK(napi_get_value_uint32(env, argv[5], &k));
  CHECK(napi_get_value_bool(env, argv[6], &ta));
  CHECK(napi_get_value_bool(env, argv[7], &tb));
  if (!get_u32(env, argv[8], &aOff, &aoLen) || !get_u32(env, argv[9], &bOff, &boLen))
    return fail(env, "aOffsets and bOffsets must be Uint32Arrays");
  if (aoLen != boLen) return fail(env, "aOffsets and bOffsets must have the same length");
  const size_t batch = aoLen;
  const size_t aSize = (size_t)m * k, bSize = (size_t)k * n, cSize = (size_t)m * n;
  if (batch * cSize > cLen) return fail(env, "c is too small for batch * m * n");
  for (size_t i = 0; i < batch; i++) {
    if ((size_t)aOff[i] + aSize > aLen || (size_t)bOff[i] + bSize > bLen) return fail(env, "an offset runs past the end of a or b");
  }
  if (m == 0 || n == 0) return NULL;
  const int lda = ta ? (int)m : (int)k, ldb = tb ? (int)k : (int)n;
  for (size_t i = 0; i < batch; i++) {
    float *ci = c + i * cSize;
    if (k == 0) {
      for (size_t j = 0; j < cSize; j++) ci[j] = 0.0f;
      continue;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
                1.0f, a + aOff[i], lda, b + bOff[i], ldb, 0.0f, ci, (int)n);
  }
  return NULL;
}

/** setThreads(n): OpenBLAS worker count for later calls; returns the count now in force. */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t threads = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &threads) != napi_ok || threads < 1) return fail(env, "setThreads expects a positive integer");
  openblas_set_num_threads(threads);
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &result));
  return result;
}

/** info(): OpenBLAS build configuration and current thread count, for logs and benchmarks. */
static napi_value blas_info(napi_env env, napi_callback_info info) {
  (void)info;
  char text[512];
  snprintf(text, sizeof text, "%s, %d thread(s)", openblas_get_config(), openblas_get_num_threads());
  napi_value result;
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, blas_info, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(native_matmul, init)
