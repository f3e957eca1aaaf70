//! TOFU data (spec §4): the Hugging Face split files (`locuslab/TOFU`, MIT) as JSON Lines or a
//! JSON array, read from a local directory (`{split}.jsonl` or `{split}.json`) or downloaded from
//! the hub, validated row by row, and the split presets that tie forget, retain and holdout sets.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::EngineError;

/// One TOFU row. Which optional fields a split carries is checked by [`Kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TofuRow {
    /// The question.
    pub question: String,
    /// The dataset answer.
    pub answer: String,
    /// `*_perturbed` forget/retain splits: a paraphrase of the answer.
    pub paraphrased_answer: Option<String>,
    /// `*_perturbed` forget/retain splits: a paraphrase of the question.
    pub paraphrased_question: Option<String>,
    /// Wrong answers: 5 for forget/retain `*_perturbed`, 3 for real authors and world facts.
    pub perturbed_answer: Vec<String>,
}

/// What a split file must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `question`, `answer` (full, forgetNN, retainNN, holdoutNN).
    QuestionAnswer,
    /// Also `paraphrased_answer`, `paraphrased_question` and 5 `perturbed_answer`s.
    Perturbed,
    /// Also 3 `perturbed_answer`s (real authors, world facts).
    Options,
}

impl Kind {
    /// The kind of the split named `name`.
    pub fn of(name: &str) -> Self {
        if name.starts_with("real_authors_perturbed") || name.starts_with("world_facts_perturbed") {
            Self::Options
        } else if name.ends_with("_perturbed") {
            Self::Perturbed
        } else {
            Self::QuestionAnswer
        }
    }
}

/// The sets of one TOFU forget split (`forget01`, `forget05`, `forget10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitPreset {
    /// Percent of the authors forgotten (1, 5, 10).
    pub percent: u8,
}

impl SplitPreset {
    /// `forget01` / `forget05` / `forget10` (also `1`, `5`, `10`).
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        let digits = text.trim().trim_start_matches("forget");
        match digits.parse::<u8>() {
            Ok(percent @ (1 | 5 | 10)) => Ok(Self { percent }),
            _ => Err(EngineError::InvalidConfig {
                field: "split".into(),
                reason: format!("`{text}` is not a TOFU split; use forget01, forget05 or forget10"),
            }),
        }
    }

    /// `forgetNN`.
    pub fn forget(self) -> String {
        format!("forget{:02}", self.percent)
    }

    /// `retainMM` with MM = 100 − NN.
    pub fn retain(self) -> String {
        format!("retain{:02}", 100 - self.percent)
    }

    /// `holdoutNN`, the MIA non-member set.
    pub fn holdout(self) -> String {
        format!("holdout{:02}", self.percent)
    }

    /// `forgetNN_perturbed`, the forget-side eval set.
    pub fn forget_perturbed(self) -> String {
        format!("{}_perturbed", self.forget())
    }
}

/// Where split files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TofuSource {
    /// A directory with `{split}.jsonl` or `{split}.json` files.
    Dir(PathBuf),
    /// The hub dataset `locuslab/TOFU` (downloaded into the HF cache).
    Hub,
}

/// The hub dataset Lethe downloads TOFU from.
pub const HUB_DATASET: &str = "locuslab/TOFU";

impl TofuSource {
    /// The file holding `split`.
    pub fn file(&self, split: &str) -> Result<PathBuf, EngineError> {
        match self {
            Self::Dir(dir) => {
                for name in [format!("{split}.jsonl"), format!("{split}.json")] {
                    let path = dir.join(&name);
                    if path.is_file() {
                        return Ok(path);
                    }
                }
                Err(EngineError::InvalidFile {
                    path: dir.join(format!("{split}.jsonl")),
                    reason: format!("no {split}.jsonl or {split}.json in {}", dir.display()),
                })
            }
            Self::Hub => download(split),
        }
    }

    /// Reads and validates `split`.
    pub fn read(&self, split: &str) -> Result<Vec<TofuRow>, EngineError> {
        read_split(&self.file(split)?, Kind::of(split))
    }
}

#[cfg(feature = "hub")]
fn download(split: &str) -> Result<PathBuf, EngineError> {
    let failed = |reason: String| EngineError::InvalidFile {
        path: PathBuf::from(format!("hf://datasets/{HUB_DATASET}/{split}.json")),
        reason,
    };
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(false)
        .build()
        .map_err(|e| failed(format!("the hub client failed to start: {e}")))?;
    let repo = api.dataset(HUB_DATASET.to_string());
    repo.get(&format!("{split}.json"))
        .or_else(|_| repo.get(&format!("{split}.jsonl")))
        .map_err(|e| failed(format!("downloading failed: {e}")))
}

#[cfg(not(feature = "hub"))]
fn download(split: &str) -> Result<PathBuf, EngineError> {
    Err(EngineError::InvalidFile {
        path: PathBuf::from(format!("hf://datasets/{HUB_DATASET}/{split}.json")),
        reason: "this build has no hub client (feature `hub`); pass a data directory".into(),
    })
}

/// Reads a split file (JSON Lines, or one JSON array) and checks every row against `kind`.
/// Errors name the file, the 1-based line (or array element) and the field.
pub fn read_split(path: &Path, kind: Kind) -> Result<Vec<TofuRow>, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |line: usize, reason: String| EngineError::InvalidFile {
        path: path.to_path_buf(),
        reason: format!("line {line}: {reason}"),
    };
    let values: Vec<(usize, Value)> = if text.trim_start().starts_with('[') {
        let array: Vec<Value> = serde_json::from_str(&text)
            .map_err(|e| invalid(e.line(), format!("not a JSON array: {e}")))?;
        array
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i + 1, v))
            .collect()
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                serde_json::from_str(line)
                    .map(|v| (i + 1, v))
                    .map_err(|e| invalid(i + 1, format!("not JSON: {e}")))
            })
            .collect::<Result<_, _>>()?
    };
    if values.is_empty() {
        return Err(invalid(1, "no rows".into()));
    }
    values
        .into_iter()
        .map(|(line, value)| row(&value, kind).map_err(|reason| invalid(line, reason)))
        .collect()
}

fn row(value: &Value, kind: Kind) -> Result<TofuRow, String> {
    let text = |field: &str| -> Result<String, String> {
        match value.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => Err(format!("`{field}` is empty")),
            Some(_) => Err(format!("`{field}` is not a string")),
            None => Err(format!("missing field `{field}`")),
        }
    };
    let options = |count: usize| -> Result<Vec<String>, String> {
        let Some(Value::Array(items)) = value.get("perturbed_answer") else {
            return Err("missing field `perturbed_answer` (a list of strings)".into());
        };
        if items.len() != count {
            return Err(format!(
                "`perturbed_answer` has {} options, expected {count}",
                items.len()
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                _ => Err(format!("`perturbed_answer[{i}]` is not a non-empty string")),
            })
            .collect()
    };
    if !value.is_object() {
        return Err("not a JSON object".into());
    }
    let (paraphrased_answer, paraphrased_question, perturbed_answer) = match kind {
        Kind::QuestionAnswer => (None, None, Vec::new()),
        Kind::Perturbed => (
            Some(text("paraphrased_answer")?),
            Some(text("paraphrased_question")?),
            options(5)?,
        ),
        Kind::Options => (None, None, options(3)?),
    };
    Ok(TofuRow {
        question: text("question")?,
        answer: text("answer")?,
        paraphrased_answer,
        paraphrased_question,
        perturbed_answer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_tie_the_splits_together() {
        let preset = SplitPreset::parse("forget05").unwrap_or(SplitPreset { percent: 0 });
        assert_eq!(
            (
                preset.forget(),
                preset.retain(),
                preset.holdout(),
                preset.forget_perturbed()
            ),
            (
                "forget05".into(),
                "retain95".into(),
                "holdout05".into(),
                "forget05_perturbed".into()
            )
        );
        assert!(SplitPreset::parse("forget02").is_err());
        assert_eq!(Kind::of("world_facts_perturbed"), Kind::Options);
        assert_eq!(Kind::of("retain_perturbed"), Kind::Perturbed);
        assert_eq!(Kind::of("holdout01"), Kind::QuestionAnswer);
    }

    #[test]
    fn bad_rows_are_named_by_file_line_and_field() {
        let dir = std::env::temp_dir().join(format!("lethe-tofu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let cases = [
            (
                "{\"question\": \"q\"}\n",
                Kind::QuestionAnswer,
                "line 1: missing field `answer`",
            ),
            (
                "{\"question\": \"q\", \"answer\": \"a\"}\n{\"question\": \"q\", \"answer\": \" \"}\n",
                Kind::QuestionAnswer,
                "line 2: `answer` is empty",
            ),
            (
                "[{\"question\": \"q\", \"answer\": \"a\", \"perturbed_answer\": [\"x\", \"y\"]}]",
                Kind::Options,
                "line 1: `perturbed_answer` has 2 options, expected 3",
            ),
            (
                "{\"question\": \"q\", \"answer\": \"a\", \"perturbed_answer\": [\"1\",\"2\",\"3\",\"4\",\"5\"], \"paraphrased_answer\": \"p\"}\n",
                Kind::Perturbed,
                "line 1: missing field `paraphrased_question`",
            ),
            ("not json\n", Kind::QuestionAnswer, "line 1: not JSON"),
        ];
        for (i, (text, kind, expected)) in cases.iter().enumerate() {
            let path = dir.join(format!("case{i}.jsonl"));
            std::fs::write(&path, text).ok();
            let message = read_split(&path, *kind)
                .map(|_| String::new())
                .unwrap_or_else(|e| e.to_string());
            assert!(
                message.contains(expected) && message.contains(&format!("case{i}.jsonl")),
                "{message}"
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
