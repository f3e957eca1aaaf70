//! Error policy: the engine returns one `thiserror` enum, [`EngineError`], from every fallible
//! public function. No `anyhow`, no `String` errors; each variant names what the user supplied.

/// Every way an engine operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A configuration value is invalid; `field` names it.
    #[error("invalid {field}: {reason}")]
    InvalidConfig {
        /// The offending field or flag, as the user wrote it.
        field: String,
        /// Why it is rejected.
        reason: String,
    },
    /// The requested backend is not compiled into this binary.
    #[error("device `{device}` needs the `{feature}` feature; rebuild with `--features {feature}`")]
    BackendNotCompiled {
        /// The device the user asked for.
        device: String,
        /// The cargo feature that provides it.
        feature: &'static str,
    },
    /// A checkpoint, tokenizer or data file is malformed or does not fit the model.
    #[error("{path}: {reason}")]
    InvalidFile {
        /// The file (or model directory) at fault.
        path: std::path::PathBuf,
        /// What is wrong with it, naming keys, fields or offsets.
        reason: String,
    },
    /// A loss or gradient became NaN or infinite; the run stops before applying it.
    #[error("the {what} is not finite ({value}); lower the learning rate or check the data")]
    NonFinite {
        /// What went non-finite, and where (`loss at optimizer step 3`).
        what: String,
        /// The value.
        value: f64,
    },
    /// A run was cancelled between steps; nothing after the last completed step was applied.
    #[error("cancelled")]
    Cancelled,
    /// A filesystem operation failed on `path`.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
