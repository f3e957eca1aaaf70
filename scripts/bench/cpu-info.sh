#!/usr/bin/env bash
# Prints what the side-by-side benchmarks ran on: the CPU model, its cores and the SIMD/matrix
# flags that decide which kernels run (gemm picks AVX-512 or AVX2+FMA at run time; PyTorch's
# oneDNN/MKL likewise).
set -euo pipefail
model=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
flags=$(grep -m1 "^flags" /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512bw|avx512_bf16|avx512_fp16|amx_tile|amx_bf16)$' | tr '\n' ' ')
echo "cpu: $model; $(nproc) logical cores visible; flags: ${flags:-none of avx2/fma/avx512/amx}"
