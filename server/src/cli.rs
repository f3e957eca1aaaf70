//! Command-line subcommands other than `serve`: thin layers that parse files and flags, call the
//! runner or the engine and print. Each writes to the `Write` it is given, so tests capture the
//! output. Commands that run something describe it as a [`shared::run::RunSpec`]
//! ([`spec_args`]) and hand it to the [runner](mod@crate::runner).

pub mod attack;
pub mod bench;
pub mod config_file;
pub mod data;
pub mod demo;
pub mod eval;
pub mod finetune;
pub mod loss;
pub mod model;
pub mod plan;
pub mod progress;
pub mod run;
pub mod spec_args;
pub mod study;
pub mod tofu;
pub mod token;
pub mod unlearn;
pub mod worker;
