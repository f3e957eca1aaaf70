//! LoRA (Hu et al., 2021, <https://arxiv.org/abs/2106.09685>): low-rank adapters on the
//! projection matrices, the only parameters that train. Built on burn's `Module::apply_lora`,
//! which freezes every parameter and makes each targeted weight `W + (alpha / rank)·(a @ b)`
//! (burn's `[in, out]` layout: `a` is `[in, rank]`, `b` is `[rank, out]`), so the model code is
//! unchanged and the effective weight is what a checkpoint saves (merged weights).
//!
//! In peft's terms (`lora_A.weight` `[rank, in]`, `lora_B.weight` `[out, rank]`, output
//! `base(x) + lora_B(lora_A(x))·alpha/rank`), `a = lora_A.weightᵀ` and `b = lora_B.weightᵀ`:
//! [`save_peft`] writes `adapter_config.json` and `adapter_model.safetensors` that `peft` loads,
//! and [`load_peft`] reads them back. Adapter dropout is not supported (the adapters live in the
//! weights, where no input dropout can go); the run spec says so.
//!
//! The frozen reference of an objective needs no second copy of the model: [`without_adapters`]
//! is the same weights on the plain device with every `b` zero, so `W + 0` is the base model.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::{Lora, Module, ModuleMapper, ModuleVisitor, Param, ParamGroup};
use burn::tensor::{Tensor, TensorData};

use crate::EngineError;
use crate::llama::LlamaForCausalLM;
use crate::llama::WeightDtype;
use crate::train::checkpoint::safetensors_bytes;

/// The projections adapters can go on, in HF's names.
pub const TARGETS: [&str; 7] = crate::llama::PROJECTIONS;

/// What to adapt.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraConfig {
    /// Rank of each adapter.
    pub rank: usize,
    /// Scale numerator: the update is `alpha / rank · (a @ b)`.
    pub alpha: f64,
    /// Which of [`TARGETS`].
    pub targets: Vec<String>,
}

impl LoraConfig {
    fn group(&self) -> Result<ParamGroup, EngineError> {
        for target in &self.targets {
            if !TARGETS.contains(&target.as_str()) {
                return Err(EngineError::InvalidConfig {
                    field: "lora.targets".into(),
                    reason: format!("`{target}` is not one of {}", TARGETS.join(", ")),
                });
            }
        }
        let patterns: Vec<String> = self
            .targets
            .iter()
            .map(|t| format!(r"^model\.layers\.\d+\.(self_attn|mlp)\.{t}\.weight$"))
            .collect();
        ParamGroup::from_any_regexes(patterns).map_err(|error| EngineError::InvalidConfig {
            field: "lora.targets".into(),
            reason: format!("{error:?}"),
        })
    }
}

/// `model` with adapters on `config.targets` of every decoder layer; every other parameter is
/// frozen. `a` starts at N(0, 1/(3·hidden)) (the variance of peft's Kaiming-uniform `lora_A`
/// for hidden-wide inputs) and `b` at zero, so the model's output is unchanged.
pub fn apply(
    model: LlamaForCausalLM,
    config: &LoraConfig,
) -> Result<LlamaForCausalLM, EngineError> {
    if config.rank == 0 {
        return Err(EngineError::InvalidConfig {
            field: "lora.rank".into(),
            reason: "at least 1".into(),
        });
    }
    #[expect(clippy::cast_precision_loss, reason = "a width")]
    let std = (1.0 / (3.0 * model.config.hidden_size as f64)).sqrt();
    let mut lora = Lora::new(config.rank, config.alpha).set_param_group(config.group()?);
    lora.init_std = Some(std);
    Ok(model.apply_lora(lora))
}

/// Where a parameter sits, as the visitors walk the module.
#[derive(Default)]
struct Path_(Vec<String>);

impl Path_ {
    /// `model.layers.0.self_attn.q_proj` and `a` when at an adapter factor.
    fn adapter(&self) -> Option<(String, char)> {
        let n = self.0.len();
        if n < 4 || self.0[n - 2] != "lora" || self.0[n - 3] != "weight" {
            return None;
        }
        let factor = match self.0[n - 1].as_str() {
            "a" => 'a',
            "b" => 'b',
            _ => return None,
        };
        Some((self.0[..n - 3].join("."), factor))
    }
}

/// A host matrix: its shape and row-major f32 values.
pub type HostMatrix = (Vec<usize>, Vec<f32>);

/// The two factors of an adapter as they are found, either possibly missing.
type Factors = (Option<HostMatrix>, Option<HostMatrix>);

/// One adapter: `a` `[in, rank]` and `b` `[rank, out]`, row-major, f32.
#[derive(Debug, Clone, PartialEq)]
pub struct Adapter {
    /// `[in, rank]`.
    pub a: HostMatrix,
    /// `[rank, out]`.
    pub b: HostMatrix,
}

struct Collect {
    path: Path_,
    found: BTreeMap<String, Factors>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.0.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.0.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some((module, factor)) = self.path.adapter() {
            let value = param.val();
            let host = (
                value.dims().to_vec(),
                value.into_data().iter::<f32>().collect(),
            );
            let entry = self.found.entry(module).or_default();
            if factor == 'a' {
                entry.0 = Some(host);
            } else {
                entry.1 = Some(host);
            }
        }
    }
}

/// Every adapter of `model`, by module path (`model.layers.0.self_attn.q_proj`).
pub fn adapters(model: &LlamaForCausalLM) -> BTreeMap<String, Adapter> {
    let mut collect = Collect {
        path: Path_::default(),
        found: BTreeMap::new(),
    };
    model.visit(&mut collect);
    collect
        .found
        .into_iter()
        .filter_map(|(path, (a, b))| Some((path, Adapter { a: a?, b: b? })))
        .collect()
}

/// Replaces adapter factors: `replace(path, factor, tensor)` returns the new value or `None`.
struct Replace<'a> {
    path: Path_,
    replace: &'a mut dyn FnMut(&str, char, &Tensor<2>) -> Option<Tensor<2>>,
}

impl ModuleMapper for Replace<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.0.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.0.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some((module, factor)) = self.path.adapter() else {
            return param;
        };
        let replace = &mut self.replace;
        param.map(|value| {
            let dims = value.dims();
            let tracked = value.is_autodiff();
            let matrix: Tensor<2> = value.clone().reshape([dims[0], dims[D - 1]]);
            match replace(&module, factor, &matrix) {
                Some(new) => {
                    let new: Tensor<D> = new.reshape(dims);
                    if tracked {
                        new.autodiff().require_grad()
                    } else {
                        new
                    }
                }
                None => value,
            }
        })
    }
}

/// The same weights on the plain device with every adapter's `b` zero: the base model, for an
/// objective's frozen reference without a second copy of it.
pub fn without_adapters(model: &LlamaForCausalLM) -> LlamaForCausalLM {
    let plain = model.without_autodiff();
    let mut zero =
        |_: &str, factor: char, value: &Tensor<2>| (factor == 'b').then(|| value.zeros_like());
    plain.map(&mut Replace {
        path: Path_::default(),
        replace: &mut zero,
    })
}

/// `model` with its adapters set from `adapters` (paths as [`adapters`] names them); an adapter
/// the model lacks, or one of another shape, is an error naming it.
pub fn set_adapters(
    model: LlamaForCausalLM,
    adapters: &BTreeMap<String, Adapter>,
) -> Result<LlamaForCausalLM, EngineError> {
    let present = self::adapters(&model);
    for (path, adapter) in adapters {
        let Some(ours) = present.get(path) else {
            return Err(EngineError::InvalidConfig {
                field: "lora".into(),
                reason: format!("the model has no adapter at {path}"),
            });
        };
        if ours.a.0 != adapter.a.0 || ours.b.0 != adapter.b.0 {
            return Err(EngineError::InvalidConfig {
                field: "lora".into(),
                reason: format!(
                    "{path}: adapter shapes {:?} × {:?}, the model's are {:?} × {:?}",
                    adapter.a.0, adapter.b.0, ours.a.0, ours.b.0
                ),
            });
        }
    }
    let mut set = |path: &str, factor: char, value: &Tensor<2>| {
        let adapter = adapters.get(path)?;
        let (shape, data) = if factor == 'a' {
            &adapter.a
        } else {
            &adapter.b
        };
        Some(Tensor::from_data(
            TensorData::new(data.clone(), shape.clone()),
            &value.device(),
        ))
    };
    Ok(model.map(&mut Replace {
        path: Path_::default(),
        replace: &mut set,
    }))
}

fn transpose((shape, data): &HostMatrix) -> HostMatrix {
    let (rows, cols) = (shape[0], shape[1]);
    let mut out = vec![0.0; data.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = data[r * cols + c];
        }
    }
    (vec![cols, rows], out)
}

const PEFT_PREFIX: &str = "base_model.model.";

/// Writes `model`'s adapters as a PEFT adapter: `adapter_config.json` (`base_model` names the
/// model they adapt) and `adapter_model.safetensors` (f32).
pub fn save_peft(
    model: &LlamaForCausalLM,
    config: &LoraConfig,
    base_model: &str,
    dir: &Path,
) -> Result<(), EngineError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EngineError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut tensors = BTreeMap::new();
    for (path, adapter) in adapters(model) {
        tensors.insert(
            format!("{PEFT_PREFIX}{path}.lora_A.weight"),
            transpose(&adapter.a),
        );
        tensors.insert(
            format!("{PEFT_PREFIX}{path}.lora_B.weight"),
            transpose(&adapter.b),
        );
    }
    let weights = dir.join("adapter_model.safetensors");
    std::fs::write(&weights, safetensors_bytes(&tensors, WeightDtype::F32))
        .map_err(io(&weights))?;
    let json = serde_json::json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": config.rank,
        "lora_alpha": config.alpha,
        "lora_dropout": 0.0,
        "target_modules": config.targets,
        "bias": "none",
        "fan_in_fan_out": false,
        "inference_mode": true,
        "init_lora_weights": true,
        "use_rslora": false,
        "use_dora": false,
        "modules_to_save": null,
        "layers_to_transform": null,
    });
    let file = dir.join("adapter_config.json");
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    std::fs::write(&file, text).map_err(io(&file))
}

/// Reads a PEFT LoRA adapter directory: its settings and adapters (paths as [`adapters`] names
/// them), for [`apply`] and [`set_adapters`].
pub fn load_peft(dir: &Path) -> Result<(LoraConfig, BTreeMap<String, Adapter>), EngineError> {
    let file = dir.join("adapter_config.json");
    let invalid = |reason: String| EngineError::InvalidFile {
        path: file.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&file).map_err(|source| EngineError::Io {
        path: file.clone(),
        source,
    })?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if json["peft_type"] != "LORA" {
        return Err(invalid(format!(
            "peft_type {} is not LORA",
            json["peft_type"]
        )));
    }
    let rank = json["r"]
        .as_u64()
        .and_then(|r| usize::try_from(r).ok())
        .ok_or_else(|| invalid("no rank `r`".into()))?;
    let alpha = json["lora_alpha"]
        .as_f64()
        .ok_or_else(|| invalid("no `lora_alpha`".into()))?;
    let targets: Vec<String> = match &json["target_modules"] {
        serde_json::Value::Array(list) => list
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        other => return Err(invalid(format!("target_modules {other}: expected a list"))),
    };
    let weights =
        crate::llama::SafetensorsFiles::open_file(&dir.join("adapter_model.safetensors"))?;
    let mut found: BTreeMap<String, Factors> = BTreeMap::new();
    for name in weights.names() {
        let rest = name.strip_prefix(PEFT_PREFIX).unwrap_or(&name);
        let (path, factor) = if let Some(path) = rest.strip_suffix(".lora_A.weight") {
            (path, 'a')
        } else if let Some(path) = rest.strip_suffix(".lora_B.weight") {
            (path, 'b')
        } else {
            continue;
        };
        let tensor = weights.read(&name)?;
        let value = transpose(&(tensor.shape.clone(), tensor.data.clone()));
        let entry = found.entry(path.to_string()).or_default();
        if factor == 'a' {
            entry.0 = Some(value);
        } else {
            entry.1 = Some(value);
        }
    }
    let adapters = found
        .into_iter()
        .map(|(path, (a, b))| match (a, b) {
            (Some(a), Some(b)) => Ok((path, Adapter { a, b })),
            _ => Err(invalid(format!("{path}: needs both lora_A and lora_B"))),
        })
        .collect::<Result<_, _>>()?;
    Ok((
        LoraConfig {
            rank,
            alpha,
            targets,
        },
        adapters,
    ))
}
