//! The Lethe server: the REST API, the UI's static files, and (in later layers) the job queue that
//! drives the engine on the GPU.
//!
//! It is the one crate that knows both `shared` (the wire) and `engine` (the compute). Entry
//! points: [`app`] builds the whole router as a value (tests call it with `oneshot`),
//! [`config::Cli`] is the `lethe` command line, [`serve`] runs the main job.

pub mod assets;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod executor;
pub mod jobs;
pub mod live;
pub mod models;
pub mod routes;
pub mod runner;
pub mod slurm;
pub mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
pub use routes::app;
pub use state::AppState;

use crate::auth::AuthMode;
use crate::db::Db;
use crate::executor::EngineExecutor;
use crate::jobs::{Executor, Queue};
use crate::live::LiveHub;
use crate::models::ModelRegistry;
use crate::runner::Places;

/// How long running jobs get to stop and record `interrupted` at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// The pieces of a server, before it listens.
#[derive(Debug, Clone)]
pub struct Parts {
    /// Database, checkpoints and results.
    pub data_dir: PathBuf,
    /// The UI's static files.
    pub static_dir: PathBuf,
    /// The host's device pool, in order: what each device is (the first is `/api/health`'s
    /// backend).
    pub devices: Vec<engine::DeviceInfo>,
    /// Models offered.
    pub registry: ModelRegistry,
    /// Token mode.
    pub auth: AuthMode,
    /// Runs at once on each device.
    pub concurrency: usize,
    /// Requeue runs left running by a previous process.
    pub requeue_interrupted: bool,
    /// Where `data.source.path` and `eval.retain_ref` may point (checked on submit).
    pub data_roots: Vec<PathBuf>,
    /// Each device's memory in bytes, which submitted runs are planned against (`None`: what
    /// the device reports, or unknown and not checked).
    pub device_memory: Option<u64>,
}

/// Opens the database (recovering runs a previous process left running), starts the queue's
/// dispatcher with `executor`, and returns the router state.
pub async fn start(parts: Parts, executor: Arc<dyn Executor>) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(parts.data_dir.join("runs"))
        .with_context(|| format!("creating --data-dir {}", parts.data_dir.display()))?;
    let db = Db::open(&parts.data_dir.join("lethe.db"))?;
    let requeue = parts.requeue_interrupted;
    // A cluster's jobs go on without the server: the queue follows them again.
    let keep = (executor.reach() == jobs::Reach::Cluster).then(|| executor.name());
    let recovered = db
        .call(move |conn| db::recover(conn, requeue, keep))
        .await?;
    if !recovered.is_empty() {
        tracing::warn!(runs = ?recovered, requeued = requeue, "runs were running when the server last stopped");
    }
    let hub = Arc::new(LiveHub::new(live::DEFAULT_CAPACITY));
    let queued = db
        .call(|conn| db::runs_in_state(conn, shared::run::RunState::Queued))
        .await?;
    for run in queued {
        hub.open(run);
    }
    let specs = parts
        .devices
        .iter()
        .map(|info| info.device.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let pool_devices: engine::Devices = specs
        .parse()
        .with_context(|| format!("the device pool `{specs}`"))?;
    let cluster = executor.reach() == jobs::Reach::Cluster;
    let memory: Vec<Option<u64>> = pool_devices
        .specs()
        .iter()
        .map(|spec| {
            // A cluster node's memory is not this host's.
            parts.device_memory.or_else(|| {
                (!cluster)
                    .then(|| runner::plan::device_memory(*spec))
                    .flatten()
            })
        })
        .collect();
    let executor_name = executor.name();
    let queue = Queue::new(
        db.clone(),
        Arc::clone(&hub),
        executor,
        parts.data_dir.clone(),
        jobs::pool::DevicePool::new(&pool_devices, &memory, parts.concurrency),
    );
    queue.start();
    let first = parts
        .devices
        .into_iter()
        .next()
        .context("the device pool is empty")?;
    Ok(AppState {
        health: Arc::new(state::health(first, executor_name)),
        static_dir: Arc::new(parts.static_dir),
        db,
        queue,
        hub,
        places: Arc::new(Places {
            registry: parts.registry,
            tofu_dir: None,
            data_roots: parts.data_roots,
            confined: true,
        }),
        auth: parts.auth,
        data_dir: Arc::new(parts.data_dir),
        device_memory: memory.first().copied().flatten(),
    })
}

/// Where a server's (or worker's) runs find models and data: the model roots plus the data
/// dir's `models/` (the demo model, SmolLM2 from setup), the default TOFU data (`--tofu-dir DIR`,
/// `--tofu-dir hub` for locuslab/TOFU, or Lethe's generated dataset in the data dir, written
/// here when missing unless `fake`), and the data roots (the TOFU directory is one). Blocking.
pub fn places(args: &config::PlaceArgs, fake: bool) -> anyhow::Result<Places> {
    let mut model_roots = args.model_roots.clone();
    model_roots.push(args.data_dir.join("models"));
    let mut registry = ModelRegistry::new(model_roots, true);
    let tofu_dir = match &args.tofu_dir {
        Some(dir) if dir.as_os_str() == "hub" => None,
        Some(dir) => Some(dir.clone()),
        None if fake => None,
        None => Some(
            cli::demo::ensure_default_data(&args.data_dir, 0)
                .context("generating the default data")?,
        ),
    };
    registry.default_data.clone_from(&tofu_dir);
    let mut data_roots = args.data_roots.clone();
    if let Some(tofu) = &tofu_dir {
        data_roots.push(tofu.clone());
    }
    Ok(Places {
        registry,
        tofu_dir,
        data_roots,
        confined: true,
    })
}

/// The engine executor and server parts `args` describe (devices opened off the runtime; not
/// opened at all for the fake executor, which only names them).
pub async fn engine_parts(args: &config::ServeArgs) -> anyhow::Result<(Parts, Arc<dyn Executor>)> {
    let devices = args.devices.clone();
    let fake = args.fake_executor;
    let slurm = args.executor.executor == config::ExecutorKind::Slurm;
    let infos = tokio::task::spawn_blocking(move || {
        devices
            .specs()
            .iter()
            .map(|&device| {
                if fake || slurm {
                    return Ok(engine::DeviceInfo {
                        device: device.to_string(),
                        backend: device.backend(),
                        adapter: if slurm {
                            "on the SLURM cluster's nodes".into()
                        } else {
                            "fake executor".into()
                        },
                    });
                }
                device
                    .describe()
                    .with_context(|| format!("opening --devices {device}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .await
    .context("describing the compute devices")??;
    for info in &infos {
        tracing::info!(device = %info.device, backend = info.backend, adapter = %info.adapter, "compute device");
    }
    let place_args = args.places.clone();
    let places = tokio::task::spawn_blocking(move || places(&place_args, fake))
        .await
        .context("finding models and data")??;
    let auth = args.auth.unwrap_or(if args.addr.ip().is_loopback() {
        AuthMode::Off
    } else {
        AuthMode::Tokens
    });
    let executor: Arc<dyn Executor> = if slurm {
        std::fs::create_dir_all(&args.places.data_dir)
            .with_context(|| format!("creating --data-dir {}", args.places.data_dir.display()))?;
        let settings = slurm::script::JobSettings::from_args(args, &places)?;
        Arc::new(slurm::SlurmExecutor::new(
            settings,
            args.devices.first(),
            &args.places.data_dir,
            Duration::from_secs(args.executor.slurm_probe_timeout),
            Duration::from_secs_f64(args.executor.slurm_poll.max(0.05)),
        ))
    } else if fake {
        Arc::new(jobs::fake::FakeExecutor {
            steps: args.fake_steps,
            step_delay: Duration::from_millis(100),
            ..jobs::fake::FakeExecutor::default()
        })
    } else {
        Arc::new(EngineExecutor {
            places: places.clone(),
            device_info: infos.clone(),
        })
    };
    Ok((
        Parts {
            data_dir: args.places.data_dir.clone(),
            static_dir: args.static_dir.clone(),
            devices: infos,
            registry: places.registry,
            auth,
            concurrency: args.concurrency,
            requeue_interrupted: args.requeue_interrupted,
            data_roots: places.data_roots,
            device_memory: args.device_memory,
        },
        executor,
    ))
}

/// Binds `args.addr`, reports the bound address through `on_listening` (port 0 picks a free
/// port), and serves until Ctrl-C or SIGTERM; then stops the queue, letting running jobs record
/// `interrupted`.
pub async fn serve(
    args: &config::ServeArgs,
    on_listening: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let (parts, executor) = engine_parts(args).await?;
    let auth = parts.auth;
    let state = start(parts, executor).await?;
    if auth == AuthMode::Tokens {
        let db = state.db.clone();
        if !db.call(|conn| db::has_tokens(conn)).await? {
            tracing::warn!(
                "auth is on but no tokens exist: create one with `lethe token create --name <you>`"
            );
        }
    }
    let queue = Arc::clone(&state.queue);
    let hub = Arc::clone(&state.hub);
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding --addr {}", args.addr))?;
    on_listening(listener.local_addr().context("reading the bound address")?);
    tracing::info!(auth = ?auth, "serving");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Running jobs record `interrupted` (their viewers get that state), then every
            // other socket closes, then in-flight requests finish.
            queue.shutdown(SHUTDOWN_GRACE).await;
            hub.shutdown();
        })
        .await
        .context("serving HTTP")
}

pub(crate) async fn shutdown_signal() {
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
