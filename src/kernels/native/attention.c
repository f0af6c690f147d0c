// Fused causal grouped-query attention, forward and backward, on the row layout the model uses:
// q [B*T, H*hd], k and v [B*T, KV*hd], out [B*T, H*hd]. Per (batch, head) and block of BLOCK query
// rows it runs BLAS on strided views (no head-layout transposes), computes only the key columns a
// block can see (about half of T×T when causal), and keeps no probabilities: the forward pass saves
// each row's log-sum-exp and the backward pass recomputes P from it (flash-attention style).
// A row i sees keys j with i - positions[i] <= j <= i (positions restart at each packed example;
// without positions, every earlier key). Query head h reads kv head h / (H / KV).
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#include "vector-math.h"

// Query rows per block: measured 32 best here (vs 16, 64, 128) — smaller blocks skip more of the
// causal upper triangle, larger ones make each BLAS call more efficient (bench/train/native-attention.ts).
#define BLOCK 32

typedef struct {
  float *q, *k, *v, *out, *lse, *dout, *dq, *dk, *dv;
  const int32_t *positions;
  int batch, seq, heads, kv_heads, head_dim;
  float scale;
} attention_args;

/** First key row i may see. */
static inline int first_key(const attention_args *a, int b, int i) {
  return a->positions ? i - a->positions[(size_t)b * a->seq + i] : 0;
}

/** Probabilities of one row in place: s[lo..hi] (scores) → softmax(s * scale); 0 elsewhere in [0, n). */
VECTOR_CLONES
static float softmax_row(float *s, int n, int lo, int hi, float scale) {
  float m = -INFINITY;
  for (int j = lo; j <= hi; j++) { const float x = s[j] * scale; m = x > m ? x : m; }
  float sum = 0.0f;
  for (int j = lo; j <= hi; j++) { float p = exp_approx(s[j] * scale - m); s[j] = p; sum += p; }
  const float inv = 1.0f / sum;
  for (int j = lo; j <= hi; j++) s[j] *= inv;
  if (lo > 0) memset(s, 0, sizeof(float) * (size_t)lo);
  if (hi + 1 < n) memset(s + hi + 1, 0, sizeof(float) * (size_t)(n - hi - 1));
  return m + logf(sum);
}

/** P from scores and the saved log-sum-exp; 0 outside [lo, hi]. */
VECTOR_CLONES
static void probs_row(float *s, int n, int lo, int hi, float scale, float lse) {
  for (int j = lo; j <= hi; j++) s[j] = exp_approx(s[j] * scale - lse);
  if (lo > 0) memset(s, 0, sizeof(float) * (size_t)lo);
  if (hi + 1 < n) memset(s + hi + 1, 0, sizeof(float) * (size_t)(n - hi - 1));
}

/** dS = P * (dP - D) * scale, in place in dp. */
VECTOR_CLONES
static void dscores_row(const float *p, float *dp, int n, float d, float scale) {
  for (int j = 0; j < n; j++) dp[j] = p[j] * (dp[j] - d) * scale;
}

VECTOR_CLONES
static float dot(const float *x, const float *y, int n) {
  float s = 0.0f;
  for (int j = 0; j < n; j++) s += x[j] * y[j];
  return s;
}

/** The key columns [*k0, r1) a block of query rows [r0, r1) of batch row b can see. */
static int key_range(const attention_args *a, int b, int r0, int r1, int *k0) {
  int lo = r0;
  for (int i = r0; i < r1; i++) { int f = first_key(a, b, i); if (f < lo) lo = f; }
  *k0 = lo;
  return r1 - lo;
}

static void forward_task(const attention_args *a, int b, int h, float *scores) {
  const int T = a->seq, hd = a->head_dim, qStride = a->heads * hd, kvStride = a->kv_heads * hd;
  const int kvh = h / (a->heads / a->kv_heads);
  const float *q = a->q + (size_t)b * T * qStride + (size_t)h * hd;
  const float *k = a->k + (size_t)b * T * kvStride + (size_t)kvh * hd;
  const float *v = a->v + (size_t)b * T * kvStride + (size_t)kvh * hd;
  float *out = a->out + (size_t)b * T * qStride + (size_t)h * hd;
  float *lse = a->lse + ((size_t)b * a->heads + h) * T;
  for (int r0 = 0; r0 < T; r0 += BLOCK) {
    const int r1 = r0 + BLOCK < T ? r0 + BLOCK : T, m = r1 - r0;
    int k0;
    const int n = key_range(a, b, r0, r1, &k0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, hd, 1.0f, q + (size_t)r0 * qStride, qStride,
                k + (size_t)k0 * kvStride, kvStride, 0.0f, scores, n);
    for (int i = r0; i < r1; i++) lse[i] = softmax_row(scores + (size_t)(i - r0) * n, n, first_key(a, b, i) - k0, i - k0, a->scale);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hd, n, 1.0f, scores, n, v + (size_t)k0 * kvStride, kvStride,
                0.0f, out + (size_t)r0 * qStride, qStride);
  }
}

/** One (batch, kv head): dk and dv rows of that head are written by this task only. */
static void backward_task(const attention_args *a, int b, int kvh, float *p, float *dp) {
  const int T = a->seq, hd = a->head_dim, qStride = a->heads * hd, kvStride = a->kv_heads * hd;
  const int group = a->heads / a->kv_heads;
  const size_t kvOff = (size_t)b * T * kvStride + (size_t)kvh * hd;
  const float *k = a->k + kvOff, *v = a->v + kvOff;
  float *dk = a->dk + kvOff, *dv = a->dv + kvOff;
  for (int t = 0; t < T; t++) { memset(dk + (size_t)t * kvStride, 0, sizeof(float) * hd); memset(dv + (size_t)t * kvStride, 0, sizeof(float) * hd); }
  for (int h = kvh * group; h < (kvh + 1) * group; h++) {
    const size_t qOff = (size_t)b * T * qStride + (size_t)h * hd;
    const float *q = a->q + qOff, *o = a->out + qOff, *dO = a->dout + qOff;
    float *dq = a->dq + qOff;
    const float *lse = a->lse + ((size_t)b * a->heads + h) * T;
    for (int r0 = 0; r0 < T; r0 += BLOCK) {
      const int r1 = r0 + BLOCK < T ? r0 + BLOCK : T, m = r1 - r0;
      int k0;
      const int n = key_range(a, b, r0, r1, &k0);
      const float *qb = q + (size_t)r0 * qStride, *dOb = dO + (size_t)r0 * qStride;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, hd, 1.0f, qb, qStride, k + (size_t)k0 * kvStride, kvStride, 0.0f, p, n);
      for (int i = r0; i < r1; i++) probs_row(p + (size_t)(i - r0) * n, n, first_key(a, b, i) - k0, i - k0, a->scale, lse[i]);
      // dV[k0..] += Pᵀ dO
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, hd, m, 1.0f, p, n, dOb, qStride, 1.0f, dv + (size_t)k0 * kvStride, kvStride);
      // dP = dO Vᵀ, then dS = P (dP - rowsum(dO * O)) * scale
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, hd, 1.0f, dOb, qStride, v + (size_t)k0 * kvStride, kvStride, 0.0f, dp, n);
      for (int i = r0; i < r1; i++) {
        const float d = dot(dO + (size_t)i * qStride, o + (size_t)i * qStride, hd);
        dscores_row(p + (size_t)(i - r0) * n, dp + (size_t)(i - r0) * n, n, d, a->scale);
      }
      // dQ = dS K; dK[k0..] += dSᵀ Q
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hd, n, 1.0f, dp, n, k + (size_t)k0 * kvStride, kvStride, 0.0f, dq + (size_t)r0 * qStride, qStride);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, hd, m, 1.0f, dp, n, qb, qStride, 1.0f, dk + (size_t)k0 * kvStride, kvStride);
    }
  }
}

/**
 * Runs tasks [0, count) on the addon's threads, each task calling single-threaded BLAS (OpenBLAS's
 * own threads would fight ours for the same cores). Returns 0 if scratch memory ran out.
 */
static int run_parallel(const attention_args *a, int count, int backward) {
  const size_t scratch = (size_t)BLOCK * a->seq;
  const int blas = openblas_get_num_threads();
  int failed = 0;
  openblas_set_num_threads(1);
#pragma omp parallel num_threads(native_threads())
  {
    float *s1 = malloc(sizeof(float) * scratch), *s2 = backward ? malloc(sizeof(float) * scratch) : NULL;
    if (!s1 || (backward && !s2)) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(dynamic)
    for (int t = 0; t < count; t++) {
      int stop;
#pragma omp atomic read
      stop = failed;
      if (stop) continue;
      if (backward) backward_task(a, t / a->kv_heads, t % a->kv_heads, s1, s2);
      else forward_task(a, t / a->heads, t % a->heads, s1);
    }
    free(s1);
    free(s2);
  }
  openblas_set_num_threads(blas);
  return !failed;
}

/** Reads and checks the dims, positions and scale shared by forward and backward. */
static int read_dims(napi_env env, napi_value *argv, attention_args *a) {
  int32_t d[5];
  double scale;
  for (int i = 0; i < 5; i++) if (napi_get_value_int32(env, argv[i], &d[i]) != napi_ok || d[i] < 1) return 0;
  if (napi_get_value_double(env, argv[6], &scale) != napi_ok) return 0;
  a->batch = d[0]; a->seq = d[1]; a->heads = d[2]; a->kv_heads = d[3]; a->head_dim = d[4];
  a->scale = (float)scale;
  if (a->heads % a->kv_heads != 0) return 0;
  a->positions = NULL;
  if (!is_nullish(env, argv[5])) {
    int32_t *pos;
    size_t len;
    if (!get_i32(env, argv[5], &pos, &len) || len != (size_t)a->batch * a->seq) return 0;
    for (int b = 0; b < a->batch; b++)
      for (int i = 0; i < a->seq; i++) { int32_t p = pos[(size_t)b * a->seq + i]; if (p < 0 || p > i) return 0; }
    a->positions = pos;
  }
  return 1;
}

/**
 * Reads forward's arrays (q k v out lse) or backward's (the same, then dOut dq dk dv), then the dims.
 * Returns 0 when all is well, 1 for bad dims or positions, 2 for arrays of the wrong type or size.
 */
static int read_attention_args(napi_env env, napi_callback_info info, int backward, attention_args *a) {
  const size_t arrays = backward ? 9 : 5;
  size_t argc = 16;
  napi_value argv[16];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != arrays + 7 || !read_dims(env, argv + arrays, a)) return 1;
  const size_t rows = (size_t)a->batch * a->seq, qs = rows * a->heads * a->head_dim, kvs = rows * a->kv_heads * a->head_dim;
  float **slots[9] = {&a->q, &a->k, &a->v, &a->out, &a->lse, &a->dout, &a->dq, &a->dk, &a->dv};
  const size_t sizes[9] = {qs, kvs, kvs, qs, rows * a->heads, qs, qs, kvs, kvs};
  for (size_t i = 0; i < arrays; i++) {
    size_t len;
    if (!get_f32(env, argv[i], slots[i], &len) || len != sizes[i]) return 2;
  }
  return 0;
}

static napi_value attention_entry(napi_env env, napi_callback_info info, int backward) {
  const char *name = backward ? "attentionBackward" : "attentionForward";
  char message[160];
  attention_args a;
  const int bad = read_attention_args(env, info, backward, &a);
  if (bad) {
    snprintf(message, sizeof message, bad == 1 ? "%s: bad dims or positions (0 <= positions[i] <= i)" : "%s: tensors must be Float32Arrays of the sizes the dims give", name);
    return native_fail(env, message);
  }
  if (!run_parallel(&a, backward ? a.batch * a.kv_heads : a.batch * a.heads, backward)) {
    snprintf(message, sizeof message, "%s: out of memory", name);
    return native_fail(env, message);
  }
  return NULL;
}

/** attentionForward(q, k, v, out, lse, batch, seq, heads, kvHeads, headDim, positions | null, scale) */
napi_value native_attention_forward(napi_env env, napi_callback_info info) { return attention_entry(env, info, 0); }

/** attentionBackward(q, k, v, out, lse, dOut, dq, dk, dv, batch, seq, heads, kvHeads, headDim, positions | null, scale) */
napi_value native_attention_backward(napi_env env, napi_callback_info info) { return attention_entry(env, info, 1); }
