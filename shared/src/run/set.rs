//! `KEY=VALUE`: the command line's spelling of objective parameters (`lethe unlearn --set
//! beta=0.2`), parsed into a [`RunSpec`] once. A key is a parameter of the method (`beta`,
//! `gamma`, ...), the retain term (`retain_loss_type`), a BalDRO setting (`tau`, `direction`,
//! `ratio`) or the seed. Values land in the spec's own fields, so [`RunSpec::validate`] then
//! checks them with the same rules and field names as a submission to the API.

use super::{Direction, RetainLoss, RunSpec, Wrapper};
use crate::error::FieldError;

fn problem(field: &str, message: String) -> FieldError {
    FieldError {
        field: field.to_string(),
        message,
    }
}

fn number(field: &str, key: &str, text: &str) -> Result<f64, FieldError> {
    text.trim()
        .parse()
        .map_err(|_| problem(field, format!("{key}={text}: `{text}` is not a number")))
}

impl RunSpec {
    /// Applies one `KEY=VALUE` pair; the error names the spec field it would have set.
    pub fn set(&mut self, pair: &str) -> Result<(), FieldError> {
        let Some((key, text)) = pair.split_once('=') else {
            return Err(problem(
                "objective.params",
                format!("{pair}: expected KEY=VALUE"),
            ));
        };
        let key = key.trim();
        match key {
            "retain_loss_type" => {
                let name = text.trim().to_ascii_lowercase();
                let retain = RetainLoss::ALL
                    .into_iter()
                    .find(|r| r.as_str() == name)
                    .ok_or_else(|| {
                        problem(
                            "objective.retain_loss",
                            format!("{pair}: expected none, nll, summed_nll or kl"),
                        )
                    })?;
                self.objective.retain_loss = Some(retain);
            }
            "tau" => {
                let value = number("wrapper.tau", key, text)?;
                match &mut self.wrapper {
                    Wrapper::Dv { tau, .. } => *tau = value,
                    _ => return Err(not_wrapped("wrapper.tau", pair, "dv")),
                }
            }
            "direction" => {
                let value = match text.trim() {
                    "soft_min" | "softmin" => Direction::SoftMin,
                    "soft_max" | "softmax" => Direction::SoftMax,
                    _ => {
                        return Err(problem(
                            "wrapper.direction",
                            format!("{pair}: expected soft_min or soft_max"),
                        ));
                    }
                };
                match &mut self.wrapper {
                    Wrapper::Dv { direction, .. } => *direction = value,
                    _ => return Err(not_wrapped("wrapper.direction", pair, "dv")),
                }
            }
            "ratio" => {
                let value = number("wrapper.ratio", key, text)?;
                match &mut self.wrapper {
                    Wrapper::G { ratio } => *ratio = value,
                    _ => return Err(not_wrapped("wrapper.ratio", pair, "g")),
                }
            }
            "seed" => {
                self.trainer.seed = text.trim().parse().map_err(|_| {
                    problem(
                        "trainer.seed",
                        format!("{pair}: expected a non-negative integer"),
                    )
                })?;
            }
            _ => {
                let field = format!("objective.params.{key}");
                let value = number(&field, key, text)?;
                self.objective.params.insert(key.to_string(), value);
            }
        }
        Ok(())
    }

    /// Applies every pair, then validates the spec: every problem, each naming its field.
    pub fn set_all<'a>(&mut self, pairs: impl IntoIterator<Item = &'a str>) -> Vec<FieldError> {
        let mut errors: Vec<FieldError> = pairs
            .into_iter()
            .filter_map(|pair| self.set(pair).err())
            .collect();
        errors.extend(self.validate());
        errors
    }
}

fn not_wrapped(field: &str, pair: &str, wrapper: &str) -> FieldError {
    problem(
        field,
        format!(
            "{pair} sets a BalDRO-{} setting; choose that wrapper (--wrapper {wrapper})",
            wrapper.to_uppercase()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::Method;

    #[test]
    fn pairs_land_in_the_spec_fields() {
        let mut spec = RunSpec::new("m", Method::Npo);
        spec.wrapper = Wrapper::Dv {
            tau: 1.0,
            direction: Direction::SoftMin,
        };
        let errors = spec.set_all([
            "beta=0.2",
            "tau=0.5",
            "direction=soft_max",
            "retain_loss_type=KL",
            "seed=3",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(spec.objective.param("beta"), Some(0.2));
        assert_eq!(
            spec.wrapper,
            Wrapper::Dv {
                tau: 0.5,
                direction: Direction::SoftMax
            }
        );
        assert_eq!(spec.objective.retain(), RetainLoss::Kl);
        assert_eq!(spec.trainer.seed, 3);
    }

    #[test]
    fn problems_name_the_field_the_api_names() {
        let mut spec = RunSpec::new("m", Method::Npo);
        let fields: Vec<String> = spec
            .set_all(["bogus=1", "beta=abc", "ratio=0.5", "gamma=-1", "nokey"])
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        assert_eq!(fields.len(), 5, "{fields:?}");
        assert!(
            fields[0].starts_with("objective.params.beta: beta=abc"),
            "{fields:?}"
        );
        assert!(
            fields[1].starts_with("wrapper.ratio: ratio=0.5 sets a BalDRO-G"),
            "{fields:?}"
        );
        assert!(
            fields[2].starts_with("objective.params: nokey"),
            "{fields:?}"
        );
        // The rest come from RunSpec::validate, exactly as the API reports them.
        assert!(
            fields[3].starts_with("objective.params.bogus: NPO has no parameter `bogus`"),
            "{fields:?}"
        );
        assert!(
            fields[4].starts_with("objective.params.gamma: must be ≥ 0"),
            "{fields:?}"
        );
    }
}
