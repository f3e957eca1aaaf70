//! A LoRA run end to end on a reduced `demo` through `lethe run spec.json`: NPO with adapters of
//! rank 4 on every projection, the frozen base as the reference. Only the adapters trained: the
//! merged checkpoint differs from the base model by exactly `alpha/rank · B A` on the targeted
//! weights and not at all elsewhere; the adapters are also saved in PEFT's format, and the memory
//! plan counts optimizer state for the adapters only.

use engine::llama::SafetensorsFiles;
use serde_json::json;

#[path = "support/demo.rs"]
mod demo;
use demo::{json_file, setup};

#[test]
fn only_the_adapters_train_and_the_checkpoint_is_their_merge() {
    let setup = setup();
    let spec = json!({
        "model": "demo",
        "objective": {"method": "npo"},
        "trainer": {"batch_size": 2, "grad_accum": 1, "epochs": 2, "lr": 1e-2,
            "warmup_epochs": 0, "lora": {"rank": 4, "alpha": 8}},
        "eval": {"batch_size": 8, "max_new_tokens": 16}
    });
    let run = setup.run("lora", &spec);
    let base = SafetensorsFiles::open_file(&setup.models.join("demo/model.safetensors")).unwrap();
    let merged = SafetensorsFiles::open_file(&run.join("checkpoint/model.safetensors")).unwrap();
    let adapter =
        SafetensorsFiles::open_file(&run.join("adapter/adapter_model.safetensors")).unwrap();
    let config = json_file(&run.join("adapter/adapter_config.json"));
    assert_eq!(
        (config["r"].as_u64(), config["lora_alpha"].as_f64()),
        (Some(4), Some(8.0))
    );
    assert_eq!(config["peft_type"], "LORA");
    let scale = 8.0 / 4.0;
    let mut targeted = 0;
    for name in base.names() {
        let (before, after) = (base.read(&name).unwrap(), merged.read(&name).unwrap());
        let module = name.strip_suffix(".weight").unwrap_or(&name);
        let a_name = format!("base_model.model.{module}.lora_A.weight");
        if !adapter.names().contains(&a_name) {
            assert_eq!(before.data, after.data, "{name} is frozen");
            continue;
        }
        targeted += 1;
        // HF layout [out, in]: W' = W + s · B [out, r] · A [r, in].
        let a = adapter.read(&a_name).unwrap();
        let b = adapter
            .read(&format!("base_model.model.{module}.lora_B.weight"))
            .unwrap();
        let (out, rank, input) = (b.shape[0], b.shape[1], a.shape[1]);
        assert_eq!(before.shape, [out, input], "{name}");
        let mut moved = 0.0_f32;
        for o in 0..out {
            for i in 0..input {
                let delta: f32 = (0..rank)
                    .map(|r| b.data[o * rank + r] * a.data[r * input + i])
                    .sum::<f32>()
                    * scale;
                let expected = before.data[o * input + i] + delta;
                let got = after.data[o * input + i];
                assert!(
                    (expected - got).abs() <= 1e-5 * expected.abs().max(1.0),
                    "{name}[{o},{i}]: {got} vs {expected}"
                );
                moved = moved.max(delta.abs());
            }
        }
        assert!(moved > 0.0, "{name}: the adapter trained");
    }
    assert_eq!(targeted, 4 * 7, "4 layers × 7 projections");

    let plan = json_file(&run.join("plan.json"));
    let parts = &plan["parts"]["device"];
    let optimizer = parts["optimizer_state"].as_u64().unwrap();
    let weights = parts["weights"].as_u64().unwrap();
    assert!(
        optimizer * 10 < weights,
        "AdamW state for the adapters only: {plan}"
    );
    assert_eq!(
        parts["reference"].as_u64(),
        Some(0),
        "the base is the reference: {plan}"
    );
    let metrics = json_file(&run.join("metrics.json"));
    assert!(metrics["model_utility"].is_number());
}
