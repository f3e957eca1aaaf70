//! The new-run form's logic (tested natively): number parsing with per-field messages, presets,
//! the sweep builder's grid, and matching validation errors to the fields that show them. The
//! rules themselves are `shared`'s ([`RunSpec::validate`], [`SweepSpec::validate`]): the form runs
//! them as the user types, the server runs them again on submit.

use shared::error::FieldError;
use shared::run::{Direction, Method, ObjectiveSpec, RunSpec, Split, Wrapper};
use shared::sweep::{Grid, SweepSpec};

/// A number typed into a field.
pub fn parse_number(text: &str) -> Result<f64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("enter a number".into());
    }
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{text}` is not a number"))
}

/// A whole number typed into a field.
pub fn parse_count(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("enter a whole number".into());
    }
    text.parse::<u64>()
        .map_err(|_| format!("`{text}` is not a whole number ≥ 0"))
}

/// A comma- or space-separated list (`1e-5, 2e-5`); empty text is an empty list.
pub fn parse_list<T>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(parse)
        .collect()
}

/// How a number is written back into its field: `1e-5` rather than `0.00001`.
pub fn show_number(value: f64) -> String {
    if value != 0.0 && value.abs() < 1e-3 {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// The messages for `field`, including a sweep's `runs.<i>.<field>` errors.
pub fn messages_for(errors: &[FieldError], field: &str) -> Vec<String> {
    errors
        .iter()
        .filter(|e| {
            e.field == field
                || e.field
                    .strip_prefix("runs.")
                    .and_then(|rest| rest.split_once('.'))
                    .is_some_and(|(_, inner)| inner == field)
        })
        .map(|e| e.message.clone())
        .collect()
}

/// The named starting points of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// NPO with open-unlearning's TOFU defaults (β 0.1, α 1, lr 1e-5, 10 epochs, 8 × GA 4).
    NpoOu,
    /// The same run wrapped in BalDRO-DV (τ 1, soft-min as the published code).
    BaldroDvNpo,
    /// The study grid: NPO, WGA, TNPO × plain, DV, G × three splits.
    SeedStudy,
}

impl Preset {
    /// Every preset, in button order.
    pub const ALL: [Self; 3] = [Self::NpoOu, Self::BaldroDvNpo, Self::SeedStudy];

    /// Button label.
    pub fn label(self) -> &'static str {
        match self {
            Self::NpoOu => "NPO (open-unlearning defaults)",
            Self::BaldroDvNpo => "BalDRO-DV + NPO",
            Self::SeedStudy => "The seed study grid",
        }
    }

    /// `data-testid` of the button.
    pub fn test_id(self) -> &'static str {
        match self {
            Self::NpoOu => "preset-npo",
            Self::BaldroDvNpo => "preset-baldro-dv-npo",
            Self::SeedStudy => "preset-seed-study",
        }
    }

    /// The base spec on `model`, and the sweep the preset turns on (if any). A model that
    /// recommends a learning rate gets it instead of the spec's.
    pub fn apply(self, model: &str, recommended_lr: Option<f64>) -> (RunSpec, Option<SweepForm>) {
        let (mut spec, sweep) = self.base(model);
        if let Some(lr) = recommended_lr {
            spec.trainer.lr = lr;
        }
        (spec, sweep)
    }

    fn base(self, model: &str) -> (RunSpec, Option<SweepForm>) {
        match self {
            Self::NpoOu => (RunSpec::new(model, Method::Npo), None),
            Self::BaldroDvNpo => {
                let mut spec = RunSpec::new(model, Method::Npo);
                spec.wrapper = Wrapper::Dv {
                    tau: 1.0,
                    direction: Direction::SoftMin,
                };
                (spec, None)
            }
            Self::SeedStudy => {
                let study = SweepSpec::seed_study(model);
                (study.base.clone(), Some(SweepForm::from_grid(&study)))
            }
        }
    }
}

/// The wrapper kinds a sweep can vary over.
pub const WRAPPER_KINDS: [&str; 3] = ["none", "dv", "g"];

/// The sweep builder's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepForm {
    /// Sweep name (also each run's tag).
    pub name: String,
    /// Models (empty: the base model).
    pub models: Vec<String>,
    /// Methods; each takes the base objective's values for the parameters it shares.
    pub methods: Vec<Method>,
    /// Wrapper kinds (`none`, `dv`, `g`), with the base wrapper's τ, direction and ratio.
    pub wrappers: Vec<&'static str>,
    /// Splits.
    pub splits: Vec<Split>,
    /// Learning rates as typed.
    pub lrs: String,
    /// Seeds as typed.
    pub seeds: String,
}

impl Default for SweepForm {
    fn default() -> Self {
        Self {
            name: "sweep".into(),
            models: Vec::new(),
            methods: Vec::new(),
            wrappers: Vec::new(),
            splits: Vec::new(),
            lrs: String::new(),
            seeds: String::new(),
        }
    }
}

/// `values` with `value` added or removed.
pub fn toggle<T: PartialEq + Clone>(values: &[T], value: &T, on: bool) -> Vec<T> {
    let mut out: Vec<T> = values.iter().filter(|v| *v != value).cloned().collect();
    if on {
        out.push(value.clone());
    }
    out
}

impl SweepForm {
    /// The form for an existing grid (numbers written back as text).
    pub fn from_grid(sweep: &SweepSpec) -> Self {
        let g = &sweep.grid;
        Self {
            name: sweep.name.clone(),
            models: g.models.clone(),
            methods: g.objectives.iter().map(|o| o.method).collect(),
            wrappers: g.wrappers.iter().map(Wrapper::as_str).collect(),
            splits: g.splits.clone(),
            lrs: g
                .lrs
                .iter()
                .map(|v| show_number(*v))
                .collect::<Vec<_>>()
                .join(", "),
            seeds: g
                .seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The sweep over `base`; list fields that do not parse come back as field errors
    /// (`grid.lrs`, `grid.seeds`).
    pub fn to_spec(&self, base: &RunSpec) -> Result<SweepSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut field = |name: &str, message: String| {
            errors.push(FieldError {
                field: name.into(),
                message,
            });
        };
        let lrs = parse_list(&self.lrs, parse_number).unwrap_or_else(|m| {
            field("grid.lrs", m);
            Vec::new()
        });
        let seeds = parse_list(&self.seeds, parse_count).unwrap_or_else(|m| {
            field("grid.seeds", m);
            Vec::new()
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        let objectives = self
            .methods
            .iter()
            .map(|method| {
                let mut objective = ObjectiveSpec::new(*method);
                for (name, value) in &base.objective.params {
                    if method.default_of(name).is_some() {
                        objective.params.insert(name.clone(), *value);
                    }
                }
                objective
            })
            .collect();
        let (tau, direction, ratio) = match base.wrapper {
            Wrapper::Dv { tau, direction } => (tau, direction, 0.5),
            Wrapper::G { ratio } => (1.0, Direction::SoftMin, ratio),
            Wrapper::None => (1.0, Direction::SoftMin, 0.5),
        };
        let wrappers = WRAPPER_KINDS
            .iter()
            .filter(|kind| self.wrappers.contains(kind))
            .map(|kind| match *kind {
                "dv" => Wrapper::Dv { tau, direction },
                "g" => Wrapper::G { ratio },
                _ => Wrapper::None,
            })
            .collect();
        Ok(SweepSpec {
            name: self.name.clone(),
            base: base.clone(),
            grid: Grid {
                models: self.models.clone(),
                splits: Split::ALL
                    .into_iter()
                    .filter(|s| self.splits.contains(s))
                    .collect(),
                objectives,
                wrappers,
                lrs,
                seeds,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_with_messages_that_quote_the_input() {
        assert_eq!(parse_number(" 1e-5 "), Ok(1e-5));
        assert_eq!(parse_number("abc"), Err("`abc` is not a number".into()));
        assert_eq!(parse_number(""), Err("enter a number".into()));
        assert!(parse_number("inf").is_err());
        assert_eq!(parse_count("32"), Ok(32));
        assert!(parse_count("-1").is_err());
        assert_eq!(
            parse_list("1e-5, 2e-5 5e-5", parse_number),
            Ok(vec![1e-5, 2e-5, 5e-5])
        );
        assert_eq!(parse_list("", parse_count), Ok(vec![]));
        assert_eq!(show_number(1e-5), "1e-5");
        assert_eq!(show_number(0.1), "0.1");
        assert_eq!(show_number(10.0), "10");
    }

    #[test]
    fn field_messages_include_the_sweeps_run_errors() {
        let errors = vec![
            FieldError {
                field: "trainer.lr".into(),
                message: "must be ≤ 1".into(),
            },
            FieldError {
                field: "runs.3.trainer.lr".into(),
                message: "must be a number > 0 (got -1)".into(),
            },
            FieldError {
                field: "trainer.lr_extra".into(),
                message: "unrelated".into(),
            },
        ];
        assert_eq!(messages_for(&errors, "trainer.lr").len(), 2);
        assert!(messages_for(&errors, "trainer").is_empty());
    }

    #[test]
    fn presets_match_the_spec_defaults_and_the_study() {
        let (npo, sweep) = Preset::NpoOu.apply("tiny", None);
        assert!(sweep.is_none());
        assert_eq!(npo.objective.param("beta"), Some(0.1));
        assert_eq!((npo.trainer.batch_size, npo.trainer.grad_accum), (8, 4));
        let (dv, _) = Preset::BaldroDvNpo.apply("tiny", None);
        assert!(
            matches!(dv.wrapper, Wrapper::Dv { tau, direction: Direction::SoftMin } if tau == 1.0)
        );
        let (base, form) = Preset::SeedStudy.apply("tiny", Some(1e-4));
        assert_eq!(base.trainer.lr, 1e-4, "the model's recommended lr");
        let study = form.unwrap().to_spec(&base).unwrap();
        let mut expected = SweepSpec::seed_study("tiny");
        expected.base.trainer.lr = 1e-4;
        assert_eq!(study, expected);
        assert_eq!(study.count(), 27);
    }

    #[test]
    fn the_sweep_grid_carries_the_base_values_and_reports_bad_lists() {
        let mut base = RunSpec::new("tiny", Method::Npo);
        base.objective.params.insert("beta".into(), 0.3);
        base.objective.params.insert("alpha".into(), 2.0);
        base.wrapper = Wrapper::G { ratio: 0.25 };
        let form = SweepForm {
            methods: vec![Method::Npo, Method::GradAscent],
            wrappers: vec!["g", "none"],
            lrs: "1e-5, 2e-5".into(),
            seeds: "0 1 2".into(),
            ..SweepForm::default()
        };
        let sweep = form.to_spec(&base).unwrap();
        assert_eq!(sweep.count(), 2 * 2 * 2 * 3);
        assert_eq!(sweep.grid.objectives[0].params["beta"], 0.3);
        assert_eq!(
            sweep.grid.objectives[1].params.get("beta"),
            None,
            "GA has no β"
        );
        assert_eq!(sweep.grid.objectives[1].params["alpha"], 2.0);
        assert_eq!(
            sweep.grid.wrappers,
            [Wrapper::None, Wrapper::G { ratio: 0.25 }]
        );
        let bad = SweepForm {
            lrs: "1e-5, fast".into(),
            ..form
        };
        let errors = bad.to_spec(&base).unwrap_err();
        assert_eq!(errors[0].field, "grid.lrs");
        assert!(errors[0].message.contains("fast"));
        assert_eq!(toggle(&[1, 2], &2, false), [1]);
        assert_eq!(toggle(&[1], &2, true), [1, 2]);
    }
}
