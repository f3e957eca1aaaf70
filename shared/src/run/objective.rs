//! What a run optimises: the method and its parameters, the retain term, the BalDRO wrapper.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Method;

/// The retain term (spec §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetainLoss {
    /// No retain term.
    None,
    /// Token-mean NLL on the retain batch.
    Nll,
    /// DrNPO's summed-NLL-per-sequence quirk.
    SummedNll,
    /// KL to the reference on the retain batch.
    Kl,
}

impl RetainLoss {
    /// Every retain term.
    pub const ALL: [Self; 4] = [Self::None, Self::Nll, Self::SummedNll, Self::Kl];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Nll => "nll",
            Self::SummedNll => "summed_nll",
            Self::Kl => "kl",
        }
    }
}

/// Method, hyperparameters and retain term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveSpec {
    /// Which method.
    pub method: Method,
    /// Overrides of [`Method::params`] defaults; absent keys take the default.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, f64>,
    /// Override of the method's retain term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_loss: Option<RetainLoss>,
}

impl ObjectiveSpec {
    /// `method` with every default.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            params: BTreeMap::new(),
            retain_loss: None,
        }
    }

    /// The effective retain term (override or the method's default).
    pub fn retain(&self) -> RetainLoss {
        self.retain_loss
            .unwrap_or_else(|| self.method.default_retain_loss())
    }

    /// The effective value of `name` (override or default).
    pub fn param(&self, name: &str) -> Option<f64> {
        self.params
            .get(name)
            .copied()
            .or_else(|| self.method.default_of(name))
    }
}

/// BalDRO-DV's weighting direction (spec §3.3, §8 Q1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// As the published code does it (the default).
    #[default]
    SoftMin,
    /// As the paper writes it.
    SoftMax,
}

impl Direction {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SoftMin => "soft_min",
            Self::SoftMax => "soft_max",
        }
    }
}

/// The BalDRO wrapper around the objective.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Wrapper {
    /// The plain objective.
    #[default]
    None,
    /// BalDRO-DV: Donsker-Varadhan soft weighting with temperature `tau`.
    Dv {
        /// Temperature τ > 0.
        #[serde(default = "one")]
        tau: f64,
        /// Soft-min (code) or soft-max (paper).
        #[serde(default)]
        direction: Direction,
    },
    /// BalDRO-G: keep the `ratio` least-forgotten samples of each micro-batch.
    G {
        /// Fraction kept, in (0, 1].
        #[serde(default = "half")]
        ratio: f64,
    },
}

fn one() -> f64 {
    1.0
}

fn half() -> f64 {
    0.5
}

impl Wrapper {
    /// Short name (`none`, `dv`, `g`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Dv { .. } => "dv",
            Self::G { .. } => "g",
        }
    }

    /// Name as papers write it.
    pub fn label(&self) -> &'static str {
        match self {
            Self::None => "plain",
            Self::Dv { .. } => "BalDRO-DV",
            Self::G { .. } => "BalDRO-G",
        }
    }
}
