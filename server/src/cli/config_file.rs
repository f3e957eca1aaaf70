//! `--config FILE`: a run described in a file. A RunSpec (a run's `spec.json`, what `lethe run`
//! and the API take) becomes `--spec FILE`, the spec `lethe unlearn` starts from, so
//! `lethe unlearn --config spec.json --out again` and `lethe run spec.json` are the same run.
//! Any other TOML or JSON table holds flags by their long names (`batch_size` or `batch-size`),
//! which take the place of `--config FILE` on the command line. A `run.json` written by
//! `lethe finetune` has its flags under `args` and is read the same way. Either way, flags
//! written after `--config` override the file.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context as _, bail};

/// The command line with every `--config FILE` (or `--config=FILE`) replaced by its flags.
pub fn expand(args: Vec<OsString>) -> anyhow::Result<Vec<OsString>> {
    let mut out = Vec::with_capacity(args.len());
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let path = match arg.to_str() {
            Some("--config") => Some(
                args.next()
                    .context("--config needs a file (TOML or JSON)")?,
            ),
            Some(text) => text.strip_prefix("--config=").map(OsString::from),
            None => None,
        };
        match path {
            Some(path) if is_run_spec(Path::new(&path)) => {
                out.push("--spec".into());
                out.push(path);
            }
            Some(path) => out.extend(flags(Path::new(&path))?),
            None => out.push(arg),
        }
    }
    Ok(out)
}

/// Whether `path` is a RunSpec: JSON whose `objective` is an object (in a flag table it is the
/// objective's name).
fn is_run_spec(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|value| {
            value
                .get("objective")
                .is_some_and(serde_json::Value::is_object)
        })
}

/// The flags one config file holds.
pub fn flags(path: &Path) -> anyhow::Result<Vec<OsString>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--config {}", path.display()))?;
    let value: serde_json::Value = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).with_context(|| format!("--config {}", path.display()))?
    } else {
        serde_json::from_str(&text).with_context(|| format!("--config {}", path.display()))?
    };
    let table = match value.get("args") {
        Some(args) => args,
        None => &value,
    };
    let Some(table) = table.as_object() else {
        bail!(
            "--config {}: expected a table of flags (`lr = 1e-5`, `objective = \"npo\"`)",
            path.display()
        );
    };
    let mut out = Vec::new();
    for (key, value) in table {
        let flag = format!("--{}", key.replace('_', "-"));
        let scalar = |value: &serde_json::Value| -> anyhow::Result<Option<String>> {
            Ok(match value {
                serde_json::Value::Null | serde_json::Value::Bool(false) => None,
                serde_json::Value::Bool(true) => Some(String::new()),
                serde_json::Value::String(text) => Some(text.clone()),
                serde_json::Value::Number(number) => Some(number.to_string()),
                _ => bail!(
                    "--config {}: `{key}` must be a string, number, boolean or list of them",
                    path.display()
                ),
            })
        };
        let values = match value {
            serde_json::Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for value in values {
            match scalar(value)? {
                None => {}
                Some(text) if text.is_empty() && value.is_boolean() => {
                    out.push(flag.clone().into())
                }
                Some(text) => {
                    out.push(flag.clone().into());
                    out.push(text.into());
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_flags_take_the_place_of_the_option() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("run.toml");
        std::fs::write(
            &toml_path,
            "objective = \"npo\"\nbatch_size = 2\nlr = 1e-5\nset = [\"beta=0.2\", \"alpha=1\"]\ngradient_checkpointing = true\nno_master_weights = false\n",
        )
        .unwrap();
        let args = ["lethe", "unlearn", "--config"]
            .into_iter()
            .map(OsString::from)
            .chain([
                toml_path.clone().into_os_string(),
                "--lr".into(),
                "2e-5".into(),
            ])
            .collect();
        let expanded: Vec<String> = expand(args)
            .unwrap()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            expanded,
            [
                "lethe",
                "unlearn",
                "--batch-size",
                "2",
                "--gradient-checkpointing",
                "--lr",
                "0.00001",
                "--objective",
                "npo",
                "--set",
                "beta=0.2",
                "--set",
                "alpha=1",
                "--lr",
                "2e-5"
            ]
        );
        let json_path = dir.path().join("run.json");
        std::fs::write(
            &json_path,
            r#"{"command": "unlearn", "args": {"epochs": 2}}"#,
        )
        .unwrap();
        assert_eq!(flags(&json_path).unwrap(), ["--epochs", "2"]);
        std::fs::write(&json_path, r#"{"args": {"epochs": {"a": 1}}}"#).unwrap();
        let error = flags(&json_path).unwrap_err().to_string();
        assert!(error.contains("`epochs`"), "{error}");
    }
}
