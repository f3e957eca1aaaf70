//! The few-rows CPU kernel (`engine::device::few_rows`) against burn's matmul (gemm) at the
//! shapes one decoding step of SmolLM2-135M multiplies: `rows` new tokens by each projection
//! (`[k, n]` weights) and by the tied embedding (`[n, k]`, the head). Throughput is in
//! multiply-adds with the weights hot in cache, and in bytes of weight per second for `streaming`,
//! where a step's distinct weights (more than any cache holds) are each read once, as in real
//! decoding; docs/PERFORMANCE.md reports it. `cargo bench -p engine --bench few_rows`.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::device::few_rows;

fn random(shape: [usize; 2]) -> Tensor<2> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Device::flex())
}

fn benches(c: &mut Criterion) {
    eprintln!("lethe threads: {}", rayon::current_num_threads());
    for rows in [1, 4, 8, 16] {
        let mut group = c.benchmark_group(format!("few-rows/rows{rows}"));
        for (name, k, n) in [
            ("q-proj", 576, 576),
            ("kv-proj", 576, 192),
            ("up-proj", 576, 1536),
            ("down-proj", 1536, 576),
        ] {
            group.throughput(Throughput::Elements((rows * k * n) as u64));
            let x = random([rows, k]);
            let layer = Linear {
                weight: Param::from_tensor(random([k, n])),
                bias: None,
            };
            group.bench_function(format!("{name}/gemm"), |b| {
                b.iter(|| layer.forward(x.clone().reshape([rows, 1, k])).into_data())
            });
            group.bench_function(format!("{name}/kernel"), |b| {
                b.iter(|| few_rows::linear(&layer, x.clone().reshape([rows, 1, k])).into_data())
            });
        }
        let (k, n) = (576, 49_152);
        group.throughput(Throughput::Elements((rows * k * n) as u64));
        let x = random([rows, k]);
        let embed = random([n, k]);
        group.bench_function("tied-head/gemm", |b| {
            b.iter(|| x.clone().matmul(embed.clone().transpose()).into_data())
        });
        group.bench_function("tied-head/kernel", |b| {
            b.iter(|| few_rows::matmul_transposed(x.clone(), embed.clone()).into_data())
        });
        group.finish();
    }
    streaming(c);
}

/// One decoding step's worth of distinct weights (more than any cache holds), each read once per
/// iteration, as in a real step: the rate at which each path streams weights from memory.
fn streaming(c: &mut Criterion) {
    let mut group = c.benchmark_group("few-rows/streaming");
    let (k, n, layers) = (576, 1536, 48);
    let weights: Vec<Linear> = (0..layers)
        .map(|_| Linear {
            weight: Param::from_tensor(random([k, n])),
            bias: None,
        })
        .collect();
    let embed: Vec<Tensor<2>> = (0..2).map(|_| random([49_152, k])).collect();
    for rows in [1, 8, 16, 32] {
        let x = random([rows, k]);
        group.throughput(Throughput::Bytes((layers * k * n * 4) as u64));
        group.bench_function(format!("rows{rows}/up-proj/gemm"), |b| {
            b.iter(|| {
                for layer in &weights {
                    layer.forward(x.clone().reshape([rows, 1, k])).into_data();
                }
            })
        });
        group.bench_function(format!("rows{rows}/up-proj/kernel"), |b| {
            b.iter(|| {
                for layer in &weights {
                    few_rows::linear(layer, x.clone().reshape([rows, 1, k])).into_data();
                }
            })
        });
        group.throughput(Throughput::Bytes((2 * 49_152 * k * 4) as u64));
        group.bench_function(format!("rows{rows}/tied-head/gemm"), |b| {
            b.iter(|| {
                for embed in &embed {
                    x.clone().matmul(embed.clone().transpose()).into_data();
                }
            })
        });
        group.bench_function(format!("rows{rows}/tied-head/kernel"), |b| {
            b.iter(|| {
                for embed in &embed {
                    few_rows::matmul_transposed(x.clone(), embed.clone()).into_data();
                }
            })
        });
    }
    group.finish();
}

criterion_group!(few_rows_group, benches);
criterion_main!(few_rows_group);
