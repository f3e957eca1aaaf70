//! Which data a run reads and how its prompts are built.

use serde::{Deserialize, Serialize};

/// Where the TOFU-format data comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSource {
    /// The server's configured TOFU directory, or the hub dataset `locuslab/TOFU`.
    #[default]
    Default,
    /// A directory of split files on the server, under a configured data root.
    Dir {
        /// Path as the server sees it.
        path: String,
    },
    /// Explicit forget and retain files (`lethe unlearn --forget F --retain R`): training rows
    /// only, so no TOFU evaluation.
    Files {
        /// Forget rows (JSONL with `question`, `answer`).
        forget: String,
        /// Retain rows.
        retain: String,
    },
}

/// TOFU forget split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// 1 % (2 authors).
    #[default]
    Forget01,
    /// 5 %.
    Forget05,
    /// 10 %.
    Forget10,
}

impl Split {
    /// Every split.
    pub const ALL: [Self; 3] = [Self::Forget01, Self::Forget05, Self::Forget10];

    /// The split named `text` (`forget05`).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forget01 => "forget01",
            Self::Forget05 => "forget05",
            Self::Forget10 => "forget10",
        }
    }

    /// The matching retain split.
    pub fn retain(self) -> &'static str {
        match self {
            Self::Forget01 => "retain99",
            Self::Forget05 => "retain95",
            Self::Forget10 => "retain90",
        }
    }
}

/// Data of a run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Where the split files are.
    #[serde(default)]
    pub source: DataSource,
    /// Forget split (the retain split follows).
    #[serde(default)]
    pub split: Split,
    /// I-don't-know answers for IdkDPO, one per line; default: the data's `idk.jsonl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idk: Option<String>,
}

/// How prompts are built (spec §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptFormat {
    /// `Question: {q}\nAnswer: ` (the string path).
    #[default]
    Plain,
    /// The model family's chat template.
    Chat,
}
