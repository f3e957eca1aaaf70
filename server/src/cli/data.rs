//! `lethe data generate` and `lethe data validate`.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use engine::data::generate::{self, GenerateConfig};

/// Generates the dataset into `out` and prints one line per file.
pub fn generate(config: &GenerateConfig, out: &Path, w: &mut impl Write) -> anyhow::Result<()> {
    let splits = generate::generate(config)?;
    generate::write(&splits, out)?;
    for split in &splits {
        writeln!(
            w,
            "{}/{}.jsonl\t{} rows",
            out.display(),
            split.name,
            split.rows.len()
        )?;
    }
    Ok(())
}

/// Validates every split file in `dir`; the error names file, line and field.
pub fn validate(dir: &Path, w: &mut impl Write) -> anyhow::Result<()> {
    let checked = generate::validate(dir)
        .with_context(|| format!("{} is not a valid TOFU directory", dir.display()))?;
    for (split, rows) in &checked {
        writeln!(w, "{split}\t{rows} rows\tok")?;
    }
    writeln!(w, "{} files valid", checked.len())?;
    Ok(())
}
