//! The Lethe server: the REST API, the UI's static files, and (in later layers) the job queue that
//! drives the engine on the GPU.
//!
//! It is the one crate that knows both `shared` (the wire) and `engine` (the compute). Entry
//! points: [`app`] builds the whole router as a value (tests call it with `oneshot`),
//! [`config::Cli`] is the `lethe` command line, [`serve`] runs the main job.

pub mod assets;
pub mod cli;
pub mod config;
pub mod error;
pub mod routes;
pub mod state;

use std::net::SocketAddr;

use anyhow::Context as _;
pub use routes::app;
pub use state::AppState;

/// Binds `args.addr`, reports the bound address through `on_listening` (port 0 picks a free
/// port), and serves until Ctrl-C or SIGTERM.
pub async fn serve(
    args: &config::ServeArgs,
    on_listening: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating --data-dir {}", args.data_dir.display()))?;
    let device = args.device;
    let backend = tokio::task::spawn_blocking(move || device.describe())
        .await
        .context("describing the compute device")?
        .with_context(|| format!("opening --device {device}"))?;
    tracing::info!(device = %backend.device, backend = backend.backend, adapter = %backend.adapter, "compute device");
    let state = AppState::new(backend, args.static_dir.clone());
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding --addr {}", args.addr))?;
    on_listening(listener.local_addr().context("reading the bound address")?);
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
