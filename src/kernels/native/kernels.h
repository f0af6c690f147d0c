// The addon's entry points (one C file each) and the thread count they share.
#ifndef DOCS2MODEL_KERNELS_H
#define DOCS2MODEL_KERNELS_H
#include "napi-args.h"

napi_value native_sgemm(napi_env env, napi_callback_info info);
napi_value native_attention_forward(napi_env env, napi_callback_info info);
napi_value native_attention_backward(napi_env env, napi_callback_info info);
napi_value native_rms_norm_forward(napi_env env, napi_callback_info info);
napi_value native_rms_norm_backward(napi_env env, napi_callback_info info);
napi_value native_swiglu_forward(napi_env env, napi_callback_info info);
napi_value native_swiglu_backward(napi_env env, napi_callback_info info);
napi_value native_rope(napi_env env, napi_callback_info info);
napi_value native_cross_entropy_forward(napi_env env, napi_callback_info info);
napi_value native_cross_entropy_backward(napi_env env, napi_callback_info info);
napi_value native_adamw(napi_env env, napi_callback_info info);
napi_value native_sum_of_squares(napi_env env, napi_callback_info info);
napi_value native_binary(napi_env env, napi_callback_info info);
napi_value native_f32_to_f16(napi_env env, napi_callback_info info);

/** Threads for the addon's own parallel loops (set with OpenBLAS's by setThreads). */
int native_threads(void);

// OpenBLAS's own thread control (declared in its cblas.h; repeated so other CBLAS headers link too).
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);

#endif
