//! One model over several devices of a host: which decoder layers go where.
//!
//! Like `accelerate`'s `device_map="balanced"`: the layers are cut into contiguous runs, one per
//! device, in order. The embedding lives with the first run; the final norm and the output
//! projection with the last (a tied projection is the embedding, so its logits come out on the
//! first device). The cut minimises the largest device's parameter count, so the plan's
//! per-device numbers are the largest device's, and every device gets at least one layer.

use super::LlamaConfig;
use super::model::expected_tensors;
use crate::EngineError;

/// Where the parts of a model go over `devices` devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSplit {
    /// The device index of each decoder layer, non-decreasing, covering `0..devices`.
    pub layer_device: Vec<usize>,
    /// Parameters held by each device (the embedding and output parts included).
    pub parameters: Vec<u64>,
}

impl LayerSplit {
    /// How many devices the split uses.
    pub fn devices(&self) -> usize {
        self.parameters.len()
    }

    /// The largest device's parameter count.
    pub fn max_parameters(&self) -> u64 {
        self.parameters.iter().copied().max().unwrap_or(0)
    }

    /// The most decoder layers any one device holds.
    pub fn max_layers(&self) -> usize {
        (0..self.devices())
            .map(|device| self.layer_device.iter().filter(|d| **d == device).count())
            .max()
            .unwrap_or(0)
    }
}

/// Parameters of the embedding, of each decoder layer, and of the output parts (final norm and,
/// when untied, `lm_head`).
fn part_sizes(config: &LlamaConfig) -> (u64, Vec<u64>, u64) {
    let (mut first, mut last) = (0, 0);
    let mut layers = vec![0; config.num_hidden_layers];
    for (name, shape) in expected_tensors(config) {
        let count = shape.iter().product::<usize>() as u64;
        let layer = name
            .strip_prefix("model.layers.")
            .and_then(|rest| rest.split('.').next())
            .and_then(|index| index.parse::<usize>().ok());
        match layer {
            Some(index) => layers[index] += count,
            None if name.starts_with("model.embed_tokens") => first += count,
            None => last += count,
        }
    }
    (first, layers, last)
}

/// The balanced split of `config`'s decoder layers over `devices` devices.
pub fn layer_split(config: &LlamaConfig, devices: usize) -> Result<LayerSplit, EngineError> {
    let (first, layers, last) = part_sizes(config);
    let n = devices.max(1);
    let count = layers.len();
    if count < n {
        return Err(EngineError::InvalidConfig {
            field: "devices".into(),
            reason: format!(
                "the model has {count} decoder layers, too few to split over {n} devices"
            ),
        });
    }
    // prefix[i]: parameters of layers 0..i.
    let prefix: Vec<u64> = std::iter::once(0)
        .chain(layers.iter().scan(0, |sum, layer| {
            *sum += layer;
            Some(*sum)
        }))
        .collect();
    let load = |device: usize, from: usize, to: usize| {
        prefix[to] - prefix[from]
            + if device == 0 { first } else { 0 }
            + if device == n - 1 { last } else { 0 }
    };
    // best[d][i]: the smallest largest load placing layers 0..i on devices 0..=d, each
    // non-empty; cut[d][i]: where device d's run starts in that placement.
    let mut best = vec![vec![u64::MAX; count + 1]; n];
    let mut cut = vec![vec![0; count + 1]; n];
    for (i, slot) in best[0].iter_mut().enumerate().skip(1) {
        *slot = load(0, 0, i);
    }
    for d in 1..n {
        for i in d + 1..=count {
            for j in d..i {
                let candidate = best[d - 1][j].max(load(d, j, i));
                if candidate < best[d][i] {
                    best[d][i] = candidate;
                    cut[d][i] = j;
                }
            }
        }
    }
    let mut layer_device = vec![0; count];
    let mut parameters = vec![0; n];
    let mut end = count;
    for d in (0..n).rev() {
        let start = if d == 0 { 0 } else { cut[d][end] };
        layer_device[start..end].fill(d);
        parameters[d] = load(d, start, end);
        end = start;
    }
    Ok(LayerSplit {
        layer_device,
        parameters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(layers: usize, tied: bool) -> LlamaConfig {
        let hf: super::super::HfLlamaConfig = serde_json::from_value(serde_json::json!({
            "model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
            "num_key_value_heads": 2, "num_hidden_layers": layers, "vocab_size": 1000,
            "rms_norm_eps": 1e-5, "tie_word_embeddings": tied
        }))
        .unwrap();
        LlamaConfig::try_from(&hf).unwrap()
    }

    #[test]
    fn one_device_holds_everything() {
        let config = config(4, false);
        let split = layer_split(&config, 1).unwrap();
        assert_eq!(split.layer_device, vec![0; 4]);
        let total: u64 = expected_tensors(&config)
            .iter()
            .map(|(_, shape)| shape.iter().product::<usize>() as u64)
            .sum();
        assert_eq!(split.parameters, vec![total]);
    }

    #[test]
    fn the_split_is_contiguous_covers_every_device_and_balances_the_largest() {
        for tied in [false, true] {
            let config = config(10, tied);
            let one = layer_split(&config, 1).unwrap().max_parameters();
            for devices in 2..=4 {
                let split = layer_split(&config, devices).unwrap();
                assert!(
                    split.layer_device.windows(2).all(|w| w[0] <= w[1]),
                    "{split:?}"
                );
                assert_eq!(split.layer_device.first(), Some(&0));
                assert_eq!(split.layer_device.last(), Some(&(devices - 1)));
                assert_eq!(split.parameters.iter().sum::<u64>(), one, "{split:?}");
                // No contiguous cut does better: moving any boundary by one layer never lowers
                // the largest device (checked against an exhaustive search for two devices).
                if devices == 2 {
                    let (first, layers, last) = part_sizes(&config);
                    let best = (1..10)
                        .map(|k| {
                            let head: u64 = layers[..k].iter().sum::<u64>() + first;
                            let tail: u64 = layers[k..].iter().sum::<u64>() + last;
                            head.max(tail)
                        })
                        .min()
                        .unwrap();
                    assert_eq!(split.max_parameters(), best);
                }
            }
        }
    }

    #[test]
    fn too_few_layers_are_refused_naming_devices() {
        let message = layer_split(&config(2, true), 3).unwrap_err().to_string();
        assert!(message.contains("devices"), "{message}");
        assert!(message.contains("2 decoder layers"), "{message}");
    }
}
