//! What the page tests share: servers with the fake executor, waiting for a run to finish, and
//! the new-run form's selectors.
#![expect(clippy::unwrap_used, reason = "test setup")]

use std::path::Path;
use std::time::Duration;

use shared::run::RunDetail;

use crate::browser::Browser;
use crate::http;
use crate::server::LetheServer;

/// The namespace of SVG elements.
pub const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// A model root with one model, `tiny`, for the fake executor.
pub fn models_dir() -> tempfile::TempDir {
    let models = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(models.path().join("tiny")).unwrap();
    std::fs::write(models.path().join("tiny/config.json"), "{}").unwrap();
    models
}

/// `lethe serve --fake-executor` over the models in `models`, with `extra` flags.
pub async fn fake_server(models: &Path, extra: &[&str]) -> anyhow::Result<LetheServer> {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--fake-executor".as_ref(),
        "--model-root".as_ref(),
        models.as_os_str(),
    ];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    LetheServer::start_with(&args).await
}

/// `POST /api/runs` with `spec` (JSON text), which must be created (201); the new run's id.
pub async fn submit(server: &LetheServer, spec: &str) -> anyhow::Result<i64> {
    let response = http::post_json(server.authority(), "/api/runs", spec).await?;
    anyhow::ensure!(
        response.status == 201,
        "submitting {spec}: {} {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    let created: shared::run::Created = serde_json::from_slice(&response.body)?;
    created
        .ids
        .first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("no run was created"))
}

/// Polls `GET /api/runs/{id}` until the run is in a terminal state.
pub async fn finished(
    server: &LetheServer,
    id: i64,
    token: Option<&str>,
) -> anyhow::Result<RunDetail> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    for _ in 0..600 {
        let response = http::get(server.authority(), &format!("/api/runs/{id}"), &headers).await?;
        let run: RunDetail = serde_json::from_slice(&response.body)?;
        if run.summary.state.is_terminal() {
            return Ok(run);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("run {id} did not finish within a minute")
}

/// Opens the new-run form and waits until the registry's `model` is offered.
pub async fn open_form(browser: &Browser, server: &LetheServer, model: &str) -> anyhow::Result<()> {
    browser.open(&server.base_url, "/runs/new").await?;
    browser
        .wait_for_text(&field("model"), |t| t.contains(model))
        .await?;
    Ok(())
}

/// The selector of the new-run form's input for spec field `name`.
pub fn field(name: &str) -> String {
    format!(r#"[data-testid="field-{name}"]"#)
}

/// The selector of the messages under spec field `name`.
pub fn error(name: &str) -> String {
    format!(r#"[data-testid="error-{name}"]"#)
}
