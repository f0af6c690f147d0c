// Fused row-wise training kernels: RMSNorm, SwiGLU, rotary embedding and masked cross-entropy, each
// forward and backward in one pass over memory (tfjs needs 4-12 separate kernels for each, most of
// them single-threaded on wasm). Rows are split across the addon's threads; the per-row loops are
// VECTOR_CLONES functions (AVX2 or baseline, picked at load) called from the OpenMP loops.
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#else
static inline int omp_get_thread_num(void) { return 0; } // built without OpenMP: one thread
#endif
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#include "vector-math.h"

/** Below this many elements a second thread costs more than it saves. */
#define PARALLEL_MIN 32768
#define THREADS(n) num_threads((n) >= PARALLEL_MIN ? native_threads() : 1)

/** Reads `count` arguments from argv: Float32Arrays where kinds[i] is 'f', Int32Arrays for 'i', 'F' an optional Float32Array. */
static int read_arrays(napi_env env, napi_value *argv, const char *kinds, void **ptrs, size_t *lens) {
  for (int i = 0; kinds[i]; i++) {
    if (kinds[i] == 'F' && is_nullish(env, argv[i])) { ptrs[i] = NULL; lens[i] = 0; continue; }
    napi_typedarray_type want = kinds[i] == 'i' ? napi_int32_array : napi_float32_array;
    if (!typed_array(env, argv[i], want, &ptrs[i], &lens[i])) return 0;
  }
  return 1;
}

static int read_ints(napi_env env, napi_value *argv, int count, int32_t *out) {
  for (int i = 0; i < count; i++) if (napi_get_value_int32(env, argv[i], &out[i]) != napi_ok || out[i] < 0) return 0;
  return 1;
}

#define GET_ARGS(n)                                                 \
  size_t argc = n;                                                  \
  napi_value argv[n];                                               \
  NAPI_CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL)); \
  if (argc != n) return native_fail(env, "native kernel: wrong number of arguments");

// ---- RMSNorm: y = x * r * w with r = 1 / sqrt(mean(x²) + eps) ----

VECTOR_CLONES
static float rms_norm_row(const float *x, const float *w, float *y, int dim, float eps) {
  float ss = 0.0f;
  for (int j = 0; j < dim; j++) ss += x[j] * x[j];
  const float r = 1.0f / sqrtf(ss / dim + eps);
  for (int j = 0; j < dim; j++) y[j] = x[j] * r * w[j];
  return r;
}

static void rms_norm_rows(const float *x, const float *w, float *y, float *rinv, int rows, int dim, float eps) {
#pragma omp parallel for THREADS((size_t)rows * dim) schedule(static)
  for (int i = 0; i < rows; i++) rinv[i] = rms_norm_row(x + (size_t)i * dim, w, y + (size_t)i * dim, dim, eps);
}

/** One row of dx = r (g - x r² mean(g x)) with g = dy w; acc (if any) += dy x r. */
VECTOR_CLONES
static void rms_norm_backward_row(const float *x, const float *w, float r, const float *dy, float *dx, float *acc, int dim) {
  float gx = 0.0f;
  for (int j = 0; j < dim; j++) gx += dy[j] * w[j] * x[j];
  const float c = r * r * gx / dim;
  for (int j = 0; j < dim; j++) dx[j] = r * (dy[j] * w[j] - x[j] * c);
  if (acc) for (int j = 0; j < dim; j++) acc[j] += dy[j] * x[j] * r;
}

/** dw = Σ_rows dy x r through per-thread partial sums, added at the end. */
static int rms_norm_backward_rows(const float *x, const float *w, const float *rinv, const float *dy, float *dx, float *dw, int rows, int dim) {
  const int threads = (size_t)rows * dim >= PARALLEL_MIN ? native_threads() : 1;
  float *partial = dw ? calloc((size_t)threads * dim, sizeof(float)) : NULL;
  if (dw && !partial) return 0;
#pragma omp parallel num_threads(threads)
  {
    float *acc = partial ? partial + (size_t)omp_get_thread_num() * dim : NULL;
#pragma omp for schedule(static)
    for (int i = 0; i < rows; i++) {
      const size_t o = (size_t)i * dim;
      rms_norm_backward_row(x + o, w, rinv[i], dy + o, dx + o, acc, dim);
    }
  }
  if (dw) {
    memset(dw, 0, sizeof(float) * dim);
    for (int t = 0; t < threads; t++) for (int j = 0; j < dim; j++) dw[j] += partial[(size_t)t * dim + j];
    free(partial);
  }
  return 1;
}

/** rmsNormForward(x, w, y, rinv, rows, dim, eps) */
napi_value native_rms_norm_forward(napi_env env, napi_callback_info info) {
  GET_ARGS(7);
  void *p[4]; size_t n[4]; int32_t d[2]; double eps;
  if (!read_arrays(env, argv, "ffff", p, n) || !read_ints(env, argv + 4, 2, d) || napi_get_value_double(env, argv[6], &eps) != napi_ok)
    return native_fail(env, "rmsNormForward(x, w, y, rinv, rows, dim, eps): bad arguments");
  const size_t size = (size_t)d[0] * d[1];
  if (n[0] != size || n[1] != (size_t)d[1] || n[2] != size || n[3] != (size_t)d[0]) return native_fail(env, "rmsNormForward: array sizes do not match rows and dim");
  rms_norm_rows(p[0], p[1], p[2], p[3], d[0], d[1], (float)eps);
  return NULL;
}

/** rmsNormBackward(x, w, rinv, dy, dx, dw | null, rows, dim) */
napi_value native_rms_norm_backward(napi_env env, napi_callback_info info) {
  GET_ARGS(8);
  void *p[6]; size_t n[6]; int32_t d[2];
  if (!read_arrays(env, argv, "fffffF", p, n) || !read_ints(env, argv + 6, 2, d)) return native_fail(env, "rmsNormBackward(x, w, rinv, dy, dx, dw, rows, dim): bad arguments");
  const size_t size = (size_t)d[0] * d[1];
  if (n[0] != size || n[1] != (size_t)d[1] || n[2] != (size_t)d[0] || n[3] != size || n[4] != size || (p[5] && n[5] != (size_t)d[1]))
    return native_fail(env, "rmsNormBackward: array sizes do not match rows and dim");
  if (!rms_norm_backward_rows(p[0], p[1], p[2], p[3], p[4], p[5], d[0], d[1])) return native_fail(env, "rmsNormBackward: out of memory");
  return NULL;
}

// ---- SwiGLU: y = silu(gate) * up ----

/** Flat element ranges are cut into chunks of this many for the threads. */
#define CHUNK 8192

VECTOR_CLONES
static void swiglu_forward_chunk(const float *g, const float *u, float *y, size_t count) {
  for (size_t i = 0; i < count; i++) y[i] = g[i] * sigmoid_approx(g[i]) * u[i];
}

VECTOR_CLONES
static void swiglu_backward_chunk(const float *g, const float *u, const float *dy, float *dg, float *du, size_t count) {
  for (size_t i = 0; i < count; i++) {
    const float s = sigmoid_approx(g[i]), silu = g[i] * s;
    dg[i] = dy[i] * u[i] * (s + silu * (1.0f - s));
    du[i] = dy[i] * silu;
  }
}

static void swiglu_forward(const float *g, const float *u, float *y, size_t count) {
#pragma omp parallel for THREADS(count) schedule(static)
  for (size_t c = 0; c < count; c += CHUNK) swiglu_forward_chunk(g + c, u + c, y + c, count - c < CHUNK ? count - c : CHUNK);
}

static void swiglu_backward(const float *g, const float *u, const float *dy, float *dg, float *du, size_t count) {
#pragma omp parallel for THREADS(count) schedule(static)
  for (size_t c = 0; c < count; c += CHUNK) swiglu_backward_chunk(g + c, u + c, dy + c, dg + c, du + c, count - c < CHUNK ? count - c : CHUNK);
}

/** swigluForward(gate, up, y) */
napi_value native_swiglu_forward(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  void *p[3]; size_t n[3];
  if (!read_arrays(env, argv, "fff", p, n) || n[0] != n[1] || n[0] != n[2]) return native_fail(env, "swigluForward(gate, up, y): Float32Arrays of one size");
  swiglu_forward(p[0], p[1], p[2], n[0]);
  return NULL;
}

/** swigluBackward(gate, up, dy, dgate, dup) */
napi_value native_swiglu_backward(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  void *p[5]; size_t n[5];
  if (!read_arrays(env, argv, "fffff", p, n) || n[1] != n[0] || n[2] != n[0] || n[3] != n[0] || n[4] != n[0])
    return native_fail(env, "swigluBackward(gate, up, dy, dgate, dup): Float32Arrays of one size");
  swiglu_backward(p[0], p[1], p[2], p[3], p[4], n[0]);
  return NULL;
}

// ---- Rotary embedding (llama.cpp's NORM: pairs (2i, 2i+1); NEOX: pairs (i, i + hd/2)) ----

/** One row of `heads` heads rotated by one position's angles c, s (sign -1: the inverse rotation). */
VECTOR_CLONES
static void rope_row(const float *x, float *y, const float *c, const float *s, int heads, int hd, int neox, float sign) {
  const int half = hd / 2;
  for (int h = 0; h < heads; h++) {
    const float *xh = x + (size_t)h * hd;
    float *yh = y + (size_t)h * hd;
    if (neox) {
        for (int i = 0; i < half; i++) {
          const float a = xh[i], b = xh[i + half], si = sign * s[i];
          yh[i] = a * c[i] - b * si;
          yh[i + half] = b * c[i] + a * si;
        }
      } else {
        for (int i = 0; i < half; i++) {
          const float a = xh[2 * i], b = xh[2 * i + 1], si = sign * s[i];
          yh[2 * i] = a * c[i] - b * si;
          yh[2 * i + 1] = b * c[i] + a * si;
        }
      }
  }
}

static void rope_rows(const float *x, float *y, const int32_t *pos, const float *cosT, const float *sinT, int rows, int heads, int hd, int neox, float sign) {
  const int half = hd / 2, width = heads * hd;
#pragma omp parallel for THREADS((size_t)rows * width) schedule(static)
  for (int r = 0; r < rows; r++)
    rope_row(x + (size_t)r * width, y + (size_t)r * width, cosT + (size_t)pos[r] * half, sinT + (size_t)pos[r] * half, heads, hd, neox, sign);
}

/**
 * rope(x, y, positions, cos, sin, heads, headDim, neox, inverse): rotates every head of every row by
 * its position's angles (cos/sin tables [positions, headDim / 2]); inverse rotates back (the gradient).
 */
napi_value native_rope(napi_env env, napi_callback_info info) {
  GET_ARGS(9);
  void *p[5]; size_t n[5]; int32_t d[2]; bool neox, inverse;
  if (!read_arrays(env, argv, "ffiff", p, n) || !read_ints(env, argv + 5, 2, d) || napi_get_value_bool(env, argv[7], &neox) != napi_ok ||
      napi_get_value_bool(env, argv[8], &inverse) != napi_ok || d[1] < 2 || d[1] % 2 != 0)
    return native_fail(env, "rope(x, y, positions, cos, sin, heads, headDim, neox, inverse): bad arguments");
  const size_t rows = n[2], width = (size_t)d[0] * d[1], half = d[1] / 2;
  if (n[0] != rows * width || n[1] != n[0] || n[3] != n[4] || n[3] % half != 0) return native_fail(env, "rope: array sizes do not match heads and headDim");
  const int32_t *pos = p[2];
  const size_t table = n[3] / half;
  for (size_t r = 0; r < rows; r++) if (pos[r] < 0 || (size_t)pos[r] >= table) return native_fail(env, "rope: a position is outside the angle table");
  rope_rows(p[0], p[1], pos, p[3], p[4], (int)rows, d[0], d[1], neox, inverse ? -1.0f : 1.0f);
  return NULL;
}

// ---- Masked cross-entropy over logits [rows, vocab] ----

/** log Σ exp(l) of one row. */
VECTOR_CLONES
static float log_sum_exp_row(const float *l, int vocab) {
  float m = -INFINITY;
  for (int j = 0; j < vocab; j++) m = l[j] > m ? l[j] : m;
  float sum = 0.0f;
  for (int j = 0; j < vocab; j++) sum += exp_approx(l[j] - m);
  return m + logf(sum);
}

/** d = exp(l - lse) * w: the softmax of one row, scaled. */
VECTOR_CLONES
static void softmax_scaled_row(const float *l, float lse, float w, float *d, int vocab) {
  for (int j = 0; j < vocab; j++) d[j] = exp_approx(l[j] - lse) * w;
}

static double cross_entropy_rows(const float *logits, const int32_t *targets, const float *weights, float *lse, int rows, int vocab) {
  double total = 0.0;
#pragma omp parallel for THREADS((size_t)rows * vocab) schedule(static) reduction(+ : total)
  for (int i = 0; i < rows; i++) {
    const float *l = logits + (size_t)i * vocab;
    lse[i] = log_sum_exp_row(l, vocab);
    if (weights[i] != 0.0f) total += (double)weights[i] * (lse[i] - l[targets[i]]);
  }
  return total;
}

static void cross_entropy_backward_rows(const float *logits, const float *lse, const int32_t *targets, const float *weights, float scale, float *dl, int rows, int vocab) {
#pragma omp parallel for THREADS((size_t)rows * vocab) schedule(static)
  for (int i = 0; i < rows; i++) {
    float *d = dl + (size_t)i * vocab;
    const float w = weights[i] * scale;
    if (w == 0.0f) { memset(d, 0, sizeof(float) * vocab); continue; }
    softmax_scaled_row(logits + (size_t)i * vocab, lse[i], w, d, vocab);
    d[targets[i]] -= w;
  }
}

static int targets_in_range(const int32_t *t, size_t rows, int vocab) {
  for (size_t i = 0; i < rows; i++) if (t[i] < 0 || t[i] >= vocab) return 0;
  return 1;
}

/** crossEntropyForward(logits, targets, weights, lse, vocab) → Σ weights[i] * (lse[i] - logits[i, targets[i]]) */
napi_value native_cross_entropy_forward(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  void *p[4]; size_t n[4]; int32_t vocab;
  if (!read_arrays(env, argv, "fiff", p, n) || !read_ints(env, argv + 4, 1, &vocab) || vocab < 1) return native_fail(env, "crossEntropyForward(logits, targets, weights, lse, vocab): bad arguments");
  const size_t rows = n[1];
  if (n[0] != rows * vocab || n[2] != rows || n[3] != rows) return native_fail(env, "crossEntropyForward: array sizes do not match rows and vocab");
  if (!targets_in_range(p[1], rows, vocab)) return native_fail(env, "crossEntropyForward: a target is outside the vocabulary");
  napi_value result;
  NAPI_CHECK(napi_create_double(env, cross_entropy_rows(p[0], p[1], p[2], p[3], (int)rows, vocab), &result));
  return result;
}

/** crossEntropyBackward(logits, lse, targets, weights, scale, dlogits, vocab): (softmax - onehot) * weights[i] * scale */
napi_value native_cross_entropy_backward(napi_env env, napi_callback_info info) {
  GET_ARGS(7);
  void *p[4]; size_t n[4]; void *dl; size_t dn; int32_t vocab; double scale;
  if (!read_arrays(env, argv, "ffif", p, n) || napi_get_value_double(env, argv[4], &scale) != napi_ok ||
      !typed_array(env, argv[5], napi_float32_array, &dl, &dn) || !read_ints(env, argv + 6, 1, &vocab) || vocab < 1)
    return native_fail(env, "crossEntropyBackward(logits, lse, targets, weights, scale, dlogits, vocab): bad arguments");
  const size_t rows = n[2];
  if (n[0] != rows * vocab || n[1] != rows || n[3] != rows || dn != n[0]) return native_fail(env, "crossEntropyBackward: array sizes do not match rows and vocab");
  if (!targets_in_range(p[2], rows, vocab)) return native_fail(env, "crossEntropyBackward: a target is outside the vocabulary");
  cross_entropy_backward_rows(p[0], p[1], p[2], p[3], (float)scale, dl, (int)rows, vocab);
  return NULL;
}
