//! The padding-free passes that losses and metrics use (`forward_hidden_real`, `target_nll`,
//! `token_nll_of`) against the padded pass on a batch of uneven rows: the same hidden states at
//! every real position, the same token NLLs and the same gradient of every parameter.

#[path = "support/gradients.rs"]
mod gradients;

use std::path::Path;

use burn::tensor::Tensor;
use engine::DeviceSpec;
use engine::llama::{
    Checkpoint, LlamaConfig, LlamaForCausalLM, Padding, SafetensorsFiles, TokenBatch, WeightDtype,
};
use engine::objectives::{forward_stats, token_nll_of};
use gradients::{all_gradients, relative_l2};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

#[test]
fn skipping_padding_changes_no_real_position_and_no_gradient() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/tiny-llama");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let device = DeviceSpec::Cpu.device().unwrap().autodiff();
    let config = LlamaConfig::from_model_dir(&dir).unwrap();
    let mut checkpoint = Checkpoint::Safetensors(
        SafetensorsFiles::open_file(&dir.join("model.safetensors")).unwrap(),
    );
    let model =
        LlamaForCausalLM::load(&config, &mut checkpoint, &device, WeightDtype::F32).unwrap();
    // Uneven rows (a quarter of the padded batch is padding); answers start mid-row.
    let ids: Vec<Vec<u32>> = vec![
        (1..=12).collect(),
        (20..27).collect(),
        (40..49).collect(),
        (60..64).collect(),
    ];
    let labels: Vec<Vec<i64>> = ids
        .iter()
        .map(|row| {
            let answer = row.len() / 2;
            row.iter()
                .enumerate()
                .map(|(t, id)| if t < answer { -100 } else { i64::from(*id) })
                .collect()
        })
        .collect();
    let batch = TokenBatch::padded(&ids, 0, Padding::Right);
    let padded = values(model.forward_hidden(&batch, None));
    let real = values(model.forward_hidden_real(&batch));
    let width = config.hidden_size;
    let mut compared = 0;
    for (flat, is_real) in batch.mask.iter().enumerate() {
        if *is_real {
            let span = flat * width..(flat + 1) * width;
            let diff = relative_l2(&real[span.clone()], &padded[span]);
            assert!(diff < 1e-5, "position {flat}: relative difference {diff}");
            compared += 1;
        }
    }
    assert_eq!(compared, ids.iter().map(Vec::len).sum::<usize>());

    let (full, full_logits) = forward_stats(&model, &ids, &labels, 0);
    drop(full_logits);
    let targeted = token_nll_of(&model, &ids, &labels, 0);
    assert_eq!(targeted.nll.dims(), full.nll.dims());
    assert_eq!(targeted.counts, full.counts);
    assert_eq!(values(targeted.mask.clone()), values(full.mask.clone()));
    let diff = relative_l2(&values(targeted.nll.clone()), &values(full.nll.clone()));
    assert!(diff < 1e-6, "token NLLs differ by {diff}");

    let grads_full = all_gradients(&model, &full.nll.sum().backward());
    let grads_targeted = all_gradients(&model, &targeted.nll.sum().backward());
    assert_eq!(grads_full.len(), grads_targeted.len());
    let diff = relative_l2(&grads_targeted, &grads_full);
    assert!(diff < 1e-5, "gradients differ by {diff}");
}
