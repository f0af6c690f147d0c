// The optimizer's passes over every trainable value: AdamW in one pass (tfjs needs ~14 kernels, each a
// full pass over the parameters) and the sum of squares behind global-norm clipping.
#include <math.h>
#include "kernels.h"

#define CHUNK 16384

/** One chunk of AdamW, in the same float operations as optimizer.ts's tfjs version. */
VECTOR_CLONES
static void adamw_chunk(const float *p, const float *g, const float *m, const float *v, float *po, float *mo, float *vo, size_t n,
                        float lr, float b1, float c1, float b2, float c2, float eps, float bc1, float bc2, float decay, float scale) {
  for (size_t i = 0; i < n; i++) {
    const float gi = g[i] * scale;
    const float mi = m[i] * b1 + gi * c1;
    const float vi = v[i] * b2 + gi * gi * c2;
    const float update = (mi / bc1) / (sqrtf(vi / bc2) + eps);
    po[i] = p[i] - update * lr - p[i] * (lr * decay);
    mo[i] = mi;
    vo[i] = vi;
  }
}

/** adamw(param, grad, m, v, paramOut, mOut, vOut, lr, beta1, beta2, eps, bc1, bc2, decay, gradScale) */
napi_value native_adamw(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  NAPI_CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *a[7];
  size_t n[7];
  double h[8];
  if (argc != 15) return native_fail(env, "adamw: wrong number of arguments");
  for (int i = 0; i < 7; i++) if (!get_f32(env, argv[i], &a[i], &n[i]) || n[i] != n[0]) return native_fail(env, "adamw: seven Float32Arrays of one size");
  for (int i = 0; i < 8; i++) if (napi_get_value_double(env, argv[7 + i], &h[i]) != napi_ok) return native_fail(env, "adamw: hyper-parameters must be numbers");
  const size_t count = n[0];
#pragma omp parallel for num_threads(count >= 4 * CHUNK ? native_threads() : 1) schedule(static)
  for (size_t c = 0; c < count; c += CHUNK) {
    const size_t len = count - c < CHUNK ? count - c : CHUNK;
    // 1 - beta in double, then rounded once (as tfjs rounds the JS number): 1 - 0.999f is 1.3e-5 off.
    adamw_chunk(a[0] + c, a[1] + c, a[2] + c, a[3] + c, a[4] + c, a[5] + c, a[6] + c, len, (float)h[0], (float)h[1], (float)(1.0 - h[1]),
                (float)h[2], (float)(1.0 - h[2]), (float)h[3], (float)h[4], (float)h[5], (float)h[6], (float)h[7]);
  }
  return NULL;
}

VECTOR_CLONES
static double sum_squares_chunk(const float *x, size_t n) {
  float s = 0.0f;
  for (size_t i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}

/** sumOfSquares(x) → Σ x² (float within chunks, double across them). */
napi_value native_sum_of_squares(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  NAPI_CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *x;
  size_t count;
  if (argc != 1 || !get_f32(env, argv[0], &x, &count)) return native_fail(env, "sumOfSquares(x): a Float32Array");
  double total = 0.0;
#pragma omp parallel for num_threads(count >= 4 * CHUNK ? native_threads() : 1) schedule(static) reduction(+ : total)
  for (size_t c = 0; c < count; c += CHUNK) total += sum_squares_chunk(x + c, count - c < CHUNK ? count - c : CHUNK);
  NAPI_CHECK(napi_create_double(env, total, &result));
  return result;
}
