// Branch-free float math that GCC vectorizes inside the kernels' row loops.
#ifndef DOCS2MODEL_VECTOR_MATH_H
#define DOCS2MODEL_VECTOR_MATH_H
#include <stdint.h>

/** Cephes-style expf (relative error ~1e-7). fminf/fmaxf would be library calls and stop vectorizing. */
static inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : x > 88.3f ? 88.3f : x;
  float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  x = x - n * 0.693359375f + n * 2.12194440e-4f;
  float y = ((((1.9875691500e-4f * x + 1.3981999507e-3f) * x + 8.3334519073e-3f) * x + 4.1665795894e-2f) * x + 1.6666665459e-1f) * x + 5.0000001201e-1f;
  y = y * x * x + x + 1.0f;
  union { int32_t i; float f; } bits = {.i = ((int32_t)n + 127) << 23};
  return y * bits.f;
}

static inline float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

#endif
