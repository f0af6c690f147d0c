// Element-wise Add, Sub and Mul on float32 for the cpu backend, whose JavaScript versions walk every
// element through generic broadcasting code (≈ 12 ms for 2048×256 here, ~20× a native pass). The
// smaller operand repeats along the larger one (same shape, a scalar, or a trailing row such as a bias).
#include "kernels.h"

#define CHUNK 16384

enum { OP_ADD = 0, OP_SUB = 1, OP_MUL = 2 };

#define LOOP(expr) for (size_t i = 0; i < n; i++) out[i] = (expr)

/** out[i] = a[i] op b[i] (or b[i] op a[i] when swapped); with `scalar`, b[0] for every i. */
VECTOR_CLONES
static void binary_span(int op, int swap, int scalar, const float *a, const float *b, float *out, size_t n) {
  const float s = b[0];
  switch (op * 4 + swap * 2 + scalar) {
    case OP_ADD * 4 + 0: case OP_ADD * 4 + 2: LOOP(a[i] + b[i]); break;
    case OP_ADD * 4 + 1: case OP_ADD * 4 + 3: LOOP(a[i] + s); break;
    case OP_SUB * 4 + 0: LOOP(a[i] - b[i]); break;
    case OP_SUB * 4 + 1: LOOP(a[i] - s); break;
    case OP_SUB * 4 + 2: LOOP(b[i] - a[i]); break;
    case OP_SUB * 4 + 3: LOOP(s - a[i]); break;
    case OP_MUL * 4 + 0: case OP_MUL * 4 + 2: LOOP(a[i] * b[i]); break;
    default: LOOP(a[i] * s); break;
  }
}

/** binary(op, big, small, out, swap): op 0 add, 1 sub, 2 mul; small.length divides big.length. */
napi_value native_binary(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *a, *b, *out;
  size_t na, nb, no;
  int32_t op;
  bool swap;
  if (argc != 5 || napi_get_value_int32(env, argv[0], &op) != napi_ok || op < 0 || op > 2 || !get_f32(env, argv[1], &a, &na) ||
      !get_f32(env, argv[2], &b, &nb) || !get_f32(env, argv[3], &out, &no) || napi_get_value_bool(env, argv[4], &swap) != napi_ok)
    return native_fail(env, "binary(op, big, small, out, swap): bad arguments");
  if (nb == 0 || na % nb != 0 || no != na) return native_fail(env, "binary: the small operand must tile the big one and out match it");
  const int threads = na >= 4 * CHUNK ? native_threads() : 1;
  if (nb == na || nb == 1) {
    const int scalar = nb == 1 && na != 1;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t c = 0; c < na; c += CHUNK) binary_span(op, swap, scalar, a + c, scalar ? b : b + c, out + c, na - c < CHUNK ? na - c : CHUNK);
  } else {
    // b is a row repeated along a (a bias, a norm weight): one span per row.
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t r = 0; r < na / nb; r++) binary_span(op, swap, 0, a + r * nb, b, out + r * nb, nb);
  }
  return NULL;
}
