//! The fastest settings that fit: `lethe plan --auto`.

use super::{MemoryPlan, PlanSettings, ReferenceUse, plan};
use crate::llama::{LlamaConfig, WeightDtype};

/// The order `auto` gives things up in, fastest settings first: each step costs speed (or, for
/// bf16, precision) and saves memory. Checkpointing first (recomputes cheap element-wise ops),
/// then the reference cache (one pre-pass), bf16 with master weights (GPUs only), dropping the
/// master weights, offloading the optimizer (a copy each step), and finally more devices.
pub const AUTO_ORDER: [&str; 6] = [
    "gradient_checkpointing",
    "reference_mode=cached",
    "dtype=bf16",
    "no_master_weights",
    "optimizer_offload",
    "devices",
];

/// The fastest settings, from `start`, that fit `device_memory` bytes: the first of the
/// cumulative steps of [`AUTO_ORDER`] that fits, with up to `max_devices` devices at the end.
/// `half_ok` says whether the device trains in bf16. Returns the settings and their plan (which
/// may still not fit, when nothing does).
pub fn auto(
    config: &LlamaConfig,
    start: PlanSettings,
    device_memory: u64,
    half_ok: bool,
    max_devices: usize,
) -> (PlanSettings, MemoryPlan) {
    let mut settings = start;
    let mut current = plan(config, &settings);
    if current.fits(device_memory) {
        return (settings, current);
    }
    let steps: [fn(&mut PlanSettings, bool) -> bool; 5] = [
        |s, _| !std::mem::replace(&mut s.gradient_checkpointing, true),
        |s, _| {
            s.reference == ReferenceUse::LogProbs
                && !std::mem::replace(&mut s.reference_cached, true)
        },
        |s, half_ok| {
            half_ok && s.dtype == WeightDtype::F32 && {
                s.dtype = WeightDtype::Bf16;
                true
            }
        },
        |s, _| s.dtype != WeightDtype::F32 && std::mem::replace(&mut s.master_weights, false),
        |s, _| !std::mem::replace(&mut s.optimizer_offload, true),
    ];
    for step in steps {
        if step(&mut settings, half_ok) {
            current = plan(config, &settings);
            if current.fits(device_memory) {
                return (settings, current);
            }
        }
    }
    while settings.devices < max_devices {
        settings.devices += 1;
        current = plan(config, &settings);
        if current.fits(device_memory) {
            break;
        }
    }
    (settings, current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::parse_bytes;
    use crate::plan::tests::llama_31_8b;

    #[test]
    fn auto_gives_things_up_in_order_until_the_run_fits() {
        let config = llama_31_8b();
        let roomy = auto(&config, PlanSettings::default(), u64::MAX, true, 1);
        assert_eq!(roomy.0, PlanSettings::default(), "nothing to give up");
        let gpu = parse_bytes("141GiB").expect("a size");
        let (chosen, chosen_plan) = auto(&config, PlanSettings::default(), gpu, true, 1);
        assert!(
            chosen_plan.fits(gpu),
            "{chosen:?}: {}",
            chosen_plan.peak_bytes
        );
        assert!(chosen.gradient_checkpointing);
        let (f32_only, _) = auto(&config, PlanSettings::default(), gpu, false, 1);
        assert_eq!(
            f32_only.dtype,
            WeightDtype::F32,
            "no bf16 where the device lacks it"
        );
        let (split, split_plan) = auto(&config, PlanSettings::default(), gpu / 4, true, 4);
        assert!(split.devices > 1 && split_plan.fits(gpu / 4), "{split:?}");
    }
}
