//! `lethe`: the Lethe command line. `lethe serve` runs the server with the UI.
#![expect(clippy::print_stdout, reason = "CLI output")]

use std::io::Write as _;

use clap::Parser as _;
use server::config::{
    BenchCommand, Cli, Command, DataCommand, DemoCommand, ModelCommand, StudyCommand, TofuCommand,
};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lethe_alloc::install();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,server=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = server::cli::config_file::expand(std::env::args_os().collect())?;
    match Cli::parse_from(args).command {
        Command::Serve(args) => {
            server::serve(&args, |addr| {
                println!("Lethe is listening on http://{addr}/");
            })
            .await
        }
        Command::Run(args) => server::cli::run::run(args, &mut std::io::stdout()).await,
        Command::Token { command } => {
            server::cli::token::run(&command, &mut std::io::stdout().lock())
        }
        Command::Unlearn(args) => server::cli::unlearn::run(&args),
        Command::Worker(args) => server::cli::worker::run(args).await,
        Command::Finetune(args) => server::cli::finetune::run(&args),
        Command::Loss(args) => server::cli::loss::run(&args, &mut std::io::stdout().lock()),
        Command::Eval(args) => server::cli::eval::run(&args, &mut std::io::stdout().lock()),
        Command::Attack { command } => {
            server::cli::attack::run(command, &mut std::io::stdout().lock())
        }
        Command::Tofu { command } => {
            let mut stdout = std::io::stdout().lock();
            match command {
                TofuCommand::Summarize {
                    log,
                    retain_ref,
                    json,
                } => server::cli::tofu::summarize(&log, retain_ref.as_deref(), json, &mut stdout),
                TofuCommand::Rescore { log, json } => {
                    server::cli::tofu::rescore(&log, json, &mut stdout)
                }
            }
        }
        Command::Data { command } => {
            let mut stdout = std::io::stdout().lock();
            match command {
                DataCommand::Generate {
                    out,
                    seed,
                    authors,
                    questions,
                } => server::cli::data::generate(
                    &engine::data::generate::GenerateConfig {
                        seed,
                        authors,
                        questions,
                    },
                    &out,
                    &mut stdout,
                ),
                DataCommand::Validate { dir } => server::cli::data::validate(&dir, &mut stdout),
            }
        }
        Command::Demo {
            command: DemoCommand::Build(args),
        } => server::cli::demo::build(
            &server::cli::demo::DemoSettings {
                data_dir: args.data_dir,
                seed: args.seed,
                authors: args.authors,
                questions: args.questions,
                epochs: args.epochs,
                lr: args.lr,
                unlearn_lr: args.unlearn_lr,
                splits: args.splits,
                device: args.device,
                tofu_dir: args.tofu_dir,
                name: args.name,
            },
            &mut std::io::stdout().lock(),
        )
        .map(drop),
        Command::Study { command } => {
            let mut stdout = std::io::stdout().lock();
            match command {
                StudyCommand::Spec {
                    models,
                    lr,
                    attacks,
                } => {
                    let sweep = server::cli::study::spec(&models, lr, attacks)?;
                    writeln!(stdout, "{}", serde_json::to_string_pretty(&sweep)?)?;
                    Ok(())
                }
                StudyCommand::Report {
                    sweep,
                    data_dir,
                    out,
                } => server::cli::study::report(&data_dir, sweep, out.as_deref(), &mut stdout),
            }
        }
        Command::Plan(args) => server::cli::plan::run(&args, &mut std::io::stdout().lock()),
        Command::Bench { command } => {
            let mut stdout = std::io::stdout().lock();
            match command {
                BenchCommand::Parity(args) => server::cli::bench::parity(&args, &mut stdout),
                BenchCommand::NpoStep(args) => server::cli::bench::npo_step(&args, &mut stdout),
            }
        }
        Command::Model { command } => {
            let mut stdout = std::io::stdout().lock();
            match command {
                ModelCommand::Inspect { model } => server::cli::model::inspect(&model, &mut stdout),
                ModelCommand::Score(args) => server::cli::model::score(&args, &mut stdout),
            }
        }
    }
}
