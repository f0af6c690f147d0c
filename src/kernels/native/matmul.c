// Float32 batched matrix multiply through OpenBLAS's cblas_sgemm, for the tfjs BatchMatMul kernel
// (see native-matmul.ts).
#include <cblas.h>
#include "kernels.h"

/**
 * sgemm(a, b, c, m, n, k, transposeA, transposeB, aOffsets, bOffsets)
 * For each batch item i: c[i*m*n ..] = op(a[aOffsets[i] ..]) @ op(b[bOffsets[i] ..]), row-major,
 * where op(a) is [m, k] (stored [k, m] when transposeA) and op(b) is [k, n] (stored [n, k] when
 * transposeB). Offsets are in elements; every access is bounds-checked before BLAS runs.
 */
napi_value native_sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  NAPI_CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 10) return native_fail(env, "sgemm expects 10 arguments");
  float *a, *b, *c;
  size_t aLen, bLen, cLen, aoLen, boLen;
  uint32_t *aOff, *bOff;
  if (!get_f32(env, argv[0], &a, &aLen) || !get_f32(env, argv[1], &b, &bLen) || !get_f32(env, argv[2], &c, &cLen))
    return native_fail(env, "a, b and c must be Float32Arrays");
  uint32_t m, n, k;
  bool ta, tb;
  NAPI_CHECK(napi_get_value_uint32(env, argv[3], &m));
  NAPI_CHECK(napi_get_value_uint32(env, argv[4], &n));
  NAPI_CHECK(napi_get_value_uint32(env, argv[5], &k));
  NAPI_CHECK(napi_get_value_bool(env, argv[6], &ta));
  NAPI_CHECK(napi_get_value_bool(env, argv[7], &tb));
  if (!get_u32(env, argv[8], &aOff, &aoLen) || !get_u32(env, argv[9], &bOff, &boLen))
    return native_fail(env, "aOffsets and bOffsets must be Uint32Arrays");
  if (aoLen != boLen) return native_fail(env, "aOffsets and bOffsets must have the same length");
  const size_t batch = aoLen;
  const size_t aSize = (size_t)m * k, bSize = (size_t)k * n, cSize = (size_t)m * n;
  if (batch * cSize > cLen) return native_fail(env, "c is too small for batch * m * n");
  for (size_t i = 0; i < batch; i++) {
    if ((size_t)aOff[i] + aSize > aLen || (size_t)bOff[i] + bSize > bLen) return native_fail(env, "an offset runs past the end of a or b");
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
