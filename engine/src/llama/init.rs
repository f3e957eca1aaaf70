//! A freshly initialised checkpoint in Hugging Face layout: the config given, every weight the
//! config implies (HF's Llama initialisation: normal(0, `initializer_range`) for matrices, ones for
//! RMSNorm), and the tokenizer. It loads through the same path as any downloaded model; Lethe's
//! demo model starts here and is then fine-tuned (TOFU step 1).

use std::collections::BTreeMap;
use std::path::Path;

use crate::EngineError;
use crate::llama::WeightDtype;
use crate::llama::config::{HfLlamaConfig, LlamaConfig};
use crate::llama::model::expected_tensors;
use crate::tokenizer::Tokenizer;
use crate::train::checkpoint::safetensors_bytes;

/// splitmix64 then Box–Muller: normal samples, the same on every platform.
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits in (0, 1].
        #[expect(
            clippy::cast_precision_loss,
            reason = "53-bit mantissa by construction"
        )]
        let u = ((z >> 11) + 1) as f64 / (1_u64 << 53) as f64;
        u
    }

    fn sample(&mut self, std: f64) -> f32 {
        let (u1, u2) = (self.uniform(), self.uniform());
        #[expect(clippy::cast_possible_truncation, reason = "weights are f32")]
        let v = (std * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32;
        v
    }
}

/// Writes `config` (HF `config.json` fields), random weights drawn from `seed`, and `tokenizer`
/// into `dir`, and returns the resolved config.
pub fn write_random_checkpoint(
    config: &serde_json::Value,
    tokenizer: &Tokenizer,
    seed: u64,
    dir: &Path,
) -> Result<LlamaConfig, EngineError> {
    let io = |path: &Path, source: std::io::Error| EngineError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let config_path = dir.join("config.json");
    std::fs::write(
        &config_path,
        serde_json::to_string_pretty(config).unwrap_or_default(),
    )
    .map_err(|e| io(&config_path, e))?;
    let hf = HfLlamaConfig::from_file(&config_path)?;
    let resolved = LlamaConfig::try_from(&hf)?;
    let std = config
        .get("initializer_range")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(0.02);
    let mut normal = Normal(seed);
    let tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)> = expected_tensors(&resolved)
        .into_iter()
        .map(|(name, shape)| {
            let count: usize = shape.iter().product();
            let data = if name.ends_with("norm.weight") {
                vec![1.0; count]
            } else if name.ends_with(".bias") {
                vec![0.0; count]
            } else {
                (0..count).map(|_| normal.sample(std)).collect()
            };
            (name, (shape, data))
        })
        .collect();
    let weights = dir.join("model.safetensors");
    std::fs::write(&weights, safetensors_bytes(&tensors, WeightDtype::F32))
        .map_err(|e| io(&weights, e))?;
    tokenizer.save(dir)?;
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_have_the_asked_spread_and_repeat_per_seed() {
        let mut a = Normal(3);
        let values: Vec<f64> = (0..20_000).map(|_| f64::from(a.sample(0.02))).collect();
        #[expect(clippy::cast_precision_loss, reason = "a count")]
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 1e-3, "{mean}");
        assert!((var.sqrt() - 0.02).abs() < 1e-3, "{}", var.sqrt());
        assert_eq!(Normal(3).sample(1.0), Normal(3).sample(1.0));
    }
}
