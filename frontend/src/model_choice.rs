//! Which model and learning rate the new-run form starts with (tested natively). A model can
//! bring its own retain reference for the server's default data (the embedded default's `demo`)
//! and recommend a learning rate (the demo's manifest): a first run on it then gets forget
//! quality and actually forgets.

use shared::run::{ModelEntry, RunSpec};

/// The model a new form starts on: the first that brings its own retain reference for the
/// server's default data (the embedded default's `demo`, so a first run gets forget quality),
/// else the first.
pub fn default_model(models: &[ModelEntry]) -> Option<&ModelEntry> {
    models
        .iter()
        .find(|m| !m.retain_refs.is_empty())
        .or_else(|| models.first())
}

/// The learning rate model `id` recommends for unlearning it, if any.
pub fn recommended_lr(models: &[ModelEntry], id: &str) -> Option<f64> {
    models
        .iter()
        .find(|m| m.id == id)
        .and_then(|m| m.recommended_lr)
}

/// The learning rate a run of model `id` starts with: the model's recommendation, else the
/// spec's default.
pub fn lr_for(models: &[ModelEntry], id: &str) -> f64 {
    recommended_lr(models, id).unwrap_or_else(|| shared::run::TrainerSpec::default().lr)
}

/// The spec after switching its model to `to`: the learning rate follows the new
/// model's recommendation unless the user changed it from the old model's.
pub fn switch_model(spec: &mut RunSpec, models: &[ModelEntry], to: &str) {
    let untouched = spec.trainer.lr == lr_for(models, &spec.model);
    spec.model = to.to_string();
    if untouched {
        spec.trainer.lr = lr_for(models, to);
    }
}

/// What the form says under the model it chose: its recommended learning rate and the splits
/// it has a retain reference for.
pub fn model_note(model: &ModelEntry) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(lr) = model.recommended_lr {
        parts.push(format!("recommends lr {}", crate::form::show_number(lr)));
    }
    if !model.retain_refs.is_empty() {
        let splits: Vec<&str> = model.retain_refs.iter().map(|s| s.as_str()).collect();
        parts.push(format!(
            "brings its own retain reference for {} on this server's data (forget quality without setting one)",
            splits.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| format!("{}: {}", model.id, parts.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::run::{Method, Split};

    fn model(id: &str, lr: Option<f64>, refs: Vec<Split>) -> ModelEntry {
        ModelEntry {
            id: id.into(),
            family: "llama".into(),
            parameters: None,
            source: "root".into(),
            recommended_lr: lr,
            retain_refs: refs,
        }
    }

    #[test]
    fn the_demo_with_a_reference_is_chosen_over_the_first_name() {
        let models = vec![
            model("SmolLM2-135M-Instruct.Q4_1.gguf", None, vec![]),
            model("demo", Some(1e-4), vec![Split::Forget01]),
        ];
        assert_eq!(default_model(&models).map(|m| m.id.as_str()), Some("demo"));
        assert_eq!(
            default_model(&models[..1]).map(|m| m.id.as_str()),
            Some("SmolLM2-135M-Instruct.Q4_1.gguf"),
            "without a reference, the first"
        );
        assert_eq!(default_model(&[]), None);
        let note = model_note(&models[1]).unwrap_or_default();
        assert!(
            note.contains("recommends lr 1e-4") && note.contains("forget01"),
            "{note}"
        );
        assert_eq!(model_note(&models[0]), None);
    }

    #[test]
    fn the_lr_follows_the_model_unless_the_user_set_it() {
        let models = vec![
            model("demo", Some(1e-4), vec![Split::Forget01]),
            model("llama", None, vec![]),
        ];
        let mut spec = RunSpec::new("demo", Method::Npo);
        spec.trainer.lr = lr_for(&models, "demo");
        assert_eq!(spec.trainer.lr, 1e-4);
        switch_model(&mut spec, &models, "llama");
        assert_eq!(spec.trainer.lr, 1e-5, "the spec's default");
        switch_model(&mut spec, &models, "demo");
        assert_eq!(spec.trainer.lr, 1e-4);
        spec.trainer.lr = 3e-4;
        switch_model(&mut spec, &models, "llama");
        assert_eq!(
            (spec.model.as_str(), spec.trainer.lr),
            ("llama", 3e-4),
            "typed lr stays"
        );
    }
}
