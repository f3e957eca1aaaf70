//! The quantization attack's weights: the tiny Llama fixture quantized to llama.cpp's Q8_0 and
//! Q4_0 blocks, written as a checkpoint and loaded back. Its logits move less at 8 bits than at
//! 4, and only the projection weights change.

use std::path::{Path, PathBuf};

use engine::DeviceSpec;
use engine::llama::{ModelSource, TokenBatch, WeightDtype, load};
use engine::quantize::{is_quantized, quantize_state};
use engine::train::save_state;

fn fixture() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/tiny-llama");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

#[test]
fn eight_bit_weights_move_the_logits_less_than_four_bit_ones() {
    let Some(source) = fixture() else { return };
    let device = DeviceSpec::Cpu.device().unwrap();
    let model = load(&ModelSource::Dir(source), &device, WeightDtype::F32).unwrap();
    let input: Vec<u32> = (1..40).map(|i| (i * 37) % 500 + 3).collect();
    let logits = |m: &engine::llama::LlamaForCausalLM| -> Vec<f32> {
        m.forward(&TokenBatch::single(&input), None)
            .into_data()
            .iter::<f32>()
            .collect()
    };
    let original = logits(&model.model);
    let dir = tempfile::tempdir().unwrap();
    let mut moved = Vec::new();
    for bits in [8, 4] {
        let mut state = model.model.state_dict();
        let before = state.clone();
        let count = quantize_state(&mut state, bits).unwrap();
        assert!(count > 0);
        for (name, (_, values)) in &state {
            let changed = values != &before[name].1;
            assert_eq!(changed, is_quantized(name), "{name} at {bits} bits");
        }
        let out = dir.path().join(format!("q{bits}"));
        save_state(
            &state,
            &model.model,
            &model.tokenizer,
            &out,
            WeightDtype::F32,
        )
        .unwrap();
        let quantized = load(&ModelSource::Dir(out), &device, WeightDtype::F32).unwrap();
        let diff = logits(&quantized.model)
            .iter()
            .zip(&original)
            .fold(0.0_f32, |m, (a, b)| m.max((a - b).abs()));
        moved.push(diff);
    }
    let (eight, four) = (moved[0], moved[1]);
    assert!(eight > 0.0, "8-bit rounding changes something");
    assert!(
        eight < four,
        "max |Δlogit|: 8 bits {eight} should be below 4 bits {four}"
    );
}
