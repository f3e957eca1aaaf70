//! `--optimizer-offload`: AdamW with its moments and master weights in host memory, updated on
//! the CPU, trains to the on-device AdamW's weights (largest difference per parameter relative to
//! its largest magnitude ≤ 1e-7) over three NPO steps of the memorized tiny fixture, with f32
//! weights and with bf16 weights plus f32 master weights; and the state it holds is 8 bytes per
//! parameter (12 with master weights).

#[path = "support/training.rs"]
mod support;

use std::sync::atomic::AtomicBool;

use engine::DeviceSpec;
use engine::llama::{ModelSource, WeightDtype, load};
use engine::objectives::{Method, ObjectiveConfig, RetainLoss, Wrapper};
use engine::train::{
    AdamW, AdamWConfig, GradStore, TrainConfig, UnlearnConfig, UnlearnData, unlearn,
};
use support::{encode, largest_relative_difference, shared, weights};

#[test]
fn offloaded_adamw_trains_to_the_on_device_weights() {
    let Some(shared) = shared() else { return };
    let source = ModelSource::Dir(shared.join("goldens/memorized-tiny-llama"));
    let plain = DeviceSpec::Cpu.device().unwrap();
    let cancel = AtomicBool::new(false);
    for dtype in [WeightDtype::F32, WeightDtype::Bf16] {
        let reference = load(&source, &plain, dtype).unwrap();
        let data = UnlearnData {
            forget: encode(&reference, &shared.join("data/tofu/forget01.jsonl"), 4),
            retain: encode(&reference, &shared.join("data/tofu/retain99.jsonl"), 4),
            idk: None,
        };
        let train = |offload: bool, tensor_update: bool| {
            let policy = load(&source, &plain.clone().autodiff(), dtype).unwrap();
            let config = UnlearnConfig {
                objective: ObjectiveConfig {
                    method: Method::Npo { beta: 0.1 },
                    gamma: 1.0,
                    alpha: 1.0,
                    retain: RetainLoss::Nll,
                    wrapper: Wrapper::None,
                },
                train: TrainConfig {
                    lr: 1e-3,
                    batch_size: 2,
                    grad_accum: 1,
                    epochs: 1.5,
                    warmup_epochs: 0.0,
                    adamw: AdamWConfig {
                        offload,
                        tensor_update,
                        ..AdamWConfig::default()
                    },
                    ..TrainConfig::default()
                },
            };
            let trained = unlearn(
                policy.model,
                Some(&reference.model),
                &data,
                &config,
                0,
                &mut |_| {},
                &cancel,
            )
            .unwrap();
            weights(&trained)
        };
        // burn tensor ops (what a GPU runs), the fused loop the CPU device defaults to, and
        // the offload.
        let on_device = train(false, true);
        let fused = train(false, false);
        let offloaded = train(true, false);
        let moved = largest_relative_difference(&on_device, &weights(&reference.model));
        let diff = largest_relative_difference(&offloaded, &on_device);
        eprintln!("{dtype:?}: weights moved {moved:.1e}; offloaded vs on device {diff:.1e}");
        assert!(moved > 1e-4, "{dtype:?}: the run trained");
        assert!(diff <= 1e-7, "{dtype:?}: offloaded vs on device {diff:.2e}");
        let diff = largest_relative_difference(&fused, &on_device);
        assert!(
            diff <= 1e-7,
            "{dtype:?}: fused CPU loop vs tensor ops {diff:.2e}"
        );
    }
}

#[test]
fn offloaded_state_lives_in_host_memory() {
    let Some(shared) = shared() else { return };
    let source = ModelSource::Dir(shared.join("fixtures/tiny-llama"));
    let device = DeviceSpec::Cpu.device().unwrap().autodiff();
    for (dtype, per_parameter) in [(WeightDtype::F32, 8), (WeightDtype::Bf16, 12)] {
        let model = load(&source, &device, dtype).unwrap().model;
        let parameters = model.parameter_count();
        let ids: Vec<Vec<u32>> = vec![vec![1, 2, 3, 4]];
        let labels: Vec<Vec<i64>> = vec![vec![-100, 2, 3, 4]];
        let nll = engine::objectives::token_nll_of(&model, &ids, &labels, 0);
        let grads = nll.token_mean().backward();
        let mut store = GradStore::default();
        store.accumulate(&model, &grads, 1.0);
        let mut optimizer = AdamW::new(AdamWConfig {
            offload: true,
            ..AdamWConfig::default()
        });
        let _ = optimizer.step_accumulated(model, &store, 1e-3);
        assert_eq!(
            optimizer.host_bytes(),
            parameters * per_parameter,
            "{dtype:?}: m and v (and the f32 master) of {parameters} parameters"
        );
    }
}
