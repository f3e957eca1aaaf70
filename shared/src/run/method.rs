//! The unlearning methods (spec §2) and their hyperparameters with the spec's defaults.

use serde::{Deserialize, Serialize};

use super::RetainLoss;

/// An unlearning method (spec §2). Wire names are the CLI's (`npo`, `tnpo_fork`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Gradient ascent on the forget set.
    GradAscent,
    /// Gradient ascent plus retain NLL.
    GradDiff,
    /// Negative preference optimisation.
    Npo,
    /// Reference-free NPO with length normalisation.
    #[serde(rename = "simnpo")]
    SimNpo,
    /// Weighted gradient ascent.
    Wga,
    /// Token-wise NPO (G-effect form).
    Tnpo,
    /// Token-wise NPO as the BalDRO fork codes it.
    TnpoFork,
    /// Saturation-importance weighting.
    #[serde(rename = "satimp")]
    SatImp,
    /// DPO towards "I don't know" answers.
    IdkDpo,
}

/// One hyperparameter of a method: its name on the wire and its default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamInfo {
    /// Key in [`ObjectiveSpec::params`](super::ObjectiveSpec::params).
    pub name: &'static str,
    /// Spec default.
    pub default: f64,
    /// One line for a form.
    pub help: &'static str,
}

const fn param(name: &'static str, default: f64, help: &'static str) -> ParamInfo {
    ParamInfo {
        name,
        default,
        help,
    }
}

impl Method {
    /// Every method, in the order a form lists them.
    pub const ALL: [Self; 9] = [
        Self::Npo,
        Self::Wga,
        Self::Tnpo,
        Self::SimNpo,
        Self::GradAscent,
        Self::GradDiff,
        Self::TnpoFork,
        Self::SatImp,
        Self::IdkDpo,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GradAscent => "grad_ascent",
            Self::GradDiff => "grad_diff",
            Self::Npo => "npo",
            Self::SimNpo => "simnpo",
            Self::Wga => "wga",
            Self::Tnpo => "tnpo",
            Self::TnpoFork => "tnpo_fork",
            Self::SatImp => "satimp",
            Self::IdkDpo => "idk_dpo",
        }
    }

    /// Name as papers write it.
    pub fn label(self) -> &'static str {
        match self {
            Self::GradAscent => "GradAscent",
            Self::GradDiff => "GradDiff",
            Self::Npo => "NPO",
            Self::SimNpo => "SimNPO",
            Self::Wga => "WGA",
            Self::Tnpo => "TNPO",
            Self::TnpoFork => "TNPO (fork)",
            Self::SatImp => "SatImp",
            Self::IdkDpo => "IdkDPO",
        }
    }

    /// The method from its wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// Hyperparameters with spec defaults: the method's own, then `gamma` (forget weight) and
    /// `alpha` (retain weight).
    pub fn params(self) -> Vec<ParamInfo> {
        let mut own = match self {
            Self::GradAscent | Self::GradDiff => vec![],
            Self::Npo => vec![param("beta", 0.1, "inverse temperature β")],
            Self::SimNpo => vec![
                param("beta", 4.5, "inverse temperature β"),
                param("delta", 0.0, "reward margin δ"),
            ],
            Self::Wga => vec![param("beta", 1.0, "weight exponent β")],
            Self::Tnpo => vec![param("beta", 4.0, "inverse temperature β (token level)")],
            Self::TnpoFork => vec![param("beta", 0.1, "inverse temperature β (sequence level)")],
            Self::SatImp => vec![
                param("beta1", 5.0, "saturation exponent β₁"),
                param("beta2", 1.0, "importance exponent β₂"),
            ],
            Self::IdkDpo => vec![param("beta", 0.1, "DPO inverse temperature β")],
        };
        let gamma = match self {
            Self::SimNpo => 0.125,
            Self::SatImp => 0.1,
            _ => 1.0,
        };
        let alpha = if self == Self::GradAscent { 0.0 } else { 1.0 };
        own.push(param("gamma", gamma, "forget-term weight γ"));
        own.push(param("alpha", alpha, "retain-term weight α"));
        own
    }

    /// The retain term the method uses unless the spec overrides it (spec §2.2): none for
    /// GradAscent and TNPO, token-mean NLL for the rest.
    pub fn default_retain_loss(self) -> RetainLoss {
        match self {
            Self::GradAscent | Self::Tnpo => RetainLoss::None,
            _ => RetainLoss::Nll,
        }
    }

    /// The default of `name` for this method, if it has that parameter.
    pub fn default_of(self, name: &str) -> Option<f64> {
        self.params()
            .into_iter()
            .find(|p| p.name == name)
            .map(|p| p.default)
    }
}
