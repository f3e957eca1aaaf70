//! The `lethe` command line: one clap struct, flags with environment fallbacks. Nothing else in
//! the server reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use engine::DeviceSpec;

/// Lethe: a workbench for LLM unlearning research.
#[derive(Debug, clap::Parser)]
#[command(name = "lethe", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `lethe`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the server: REST API, live progress and the web UI.
    Serve(ServeArgs),
}

/// Flags of `lethe serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "LETHE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory for the database, checkpoints and results; created if missing.
    #[arg(long, env = "LETHE_DATA_DIR", default_value = "lethe-data")]
    pub data_dir: PathBuf,
    /// Directory of the UI's static files (index.html, style.css and the built `pkg/` bundle).
    #[arg(long, env = "LETHE_STATIC_DIR", default_value = "public")]
    pub static_dir: PathBuf,
    /// Compute device for runs: cpu, wgpu (Vulkan/Metal/DX12) or cuda:N.
    #[arg(long, env = "LETHE_DEVICE", default_value = "cpu")]
    pub device: DeviceSpec,
}
