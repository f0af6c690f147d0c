// float32 → IEEE half (round to nearest even) for GGUF F16 writing: F16C instructions where the CPU has
// them (what ggml itself uses), else the same rounding in plain C. JavaScript managed ≈ 0.34× a file copy.
#include <string.h>
#include "kernels.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_F16C_PATH 1
#endif

#define CHUNK 65536

/** The portable conversion, bit-equal to F16C for every non-NaN input (NaN → a quiet NaN). */
static uint16_t half_from_bits(uint32_t b) {
  const uint32_t sign = (b >> 16) & 0x8000, exp = (b >> 23) & 0xff;
  uint32_t mant = b & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
  const int e = (int)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    mant |= 0x800000;
    const int shift = 14 - e;
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = ((uint32_t)e << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
  return (uint16_t)(sign | half);
}

static void to_half_portable(const float *x, uint16_t *h, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t b;
    memcpy(&b, x + i, 4);
    h[i] = half_from_bits(b);
  }
}

#ifdef HAVE_F16C_PATH
__attribute__((target("avx,f16c"))) static void to_half_f16c(const float *x, uint16_t *h, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  to_half_portable(x + i, h + i, n - i);
}
#endif

/** f32ToF16(src: Float32Array, dst: Uint16Array) */
napi_value native_f32_to_f16(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *src, *dst;
  size_t n, m;
  if (argc != 2 || !typed_array(env, argv[0], napi_float32_array, &src, &n) || !typed_array(env, argv[1], napi_uint16_array, &dst, &m) || m != n)
    return native_fail(env, "f32ToF16(src: Float32Array, dst: Uint16Array of the same length)");
#ifdef HAVE_F16C_PATH
  const int f16c = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
#else
  const int f16c = 0;
#endif
#pragma omp parallel for num_threads(n >= 4 * CHUNK ? native_threads() : 1) schedule(static)
  for (size_t c = 0; c < n; c += CHUNK) {
    const size_t len = n - c < CHUNK ? n - c : CHUNK;
#ifdef HAVE_F16C_PATH
    if (f16c) { to_half_f16c((const float *)src + c, (uint16_t *)dst + c, len); continue; }
#endif
    to_half_portable((const float *)src + c, (uint16_t *)dst + c, len);
  }
  (void)f16c;
  return NULL;
}
