//! The Host view and where a run ran, in headless Chromium against the real `lethe serve` with
//! a pool of two devices and the fake executor (a run of 15 s, so it is watched while it runs):
//! the view paints each device with the run on it,
//! and the run page says which devices it holds. With the SLURM executor, the run page paints
//! its job.

use lethe_e2e::browser::Browser;
use lethe_e2e::pages::{fake_server, finished, models_dir, submit};
use shared::run::RunState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_view_paints_each_device_with_its_run_and_the_run_says_where_it_ran()
-> anyhow::Result<()> {
    let models = models_dir();
    let server = fake_server(
        models.path(),
        &["--devices", "wgpu:0,wgpu:1", "--fake-steps", "150"],
    )
    .await?;
    let browser = Browser::start().await?;
    browser.open(&server.base_url, "/host").await?;
    browser
        .wait_for_text("[data-testid=host-summary]", |t| {
            t.starts_with("0 of 2 devices busy")
        })
        .await?;

    // A run split over both devices: the view shows it on each, linked.
    let spec = r#"{"model": "tiny", "objective": {"method": "npo"}, "trainer": {"devices": 2}}"#;
    let id = submit(&server, spec).await?;
    browser
        .wait_for_text("[data-testid=host-summary]", |t| {
            t.starts_with("2 of 2 devices busy")
        })
        .await?;
    let names = browser.text("[data-testid=host-devices] tbody").await?;
    assert!(
        names.contains("wgpu:0") && names.contains("wgpu:1"),
        "{names}"
    );
    let links = browser.painted("[data-testid=host-run]").await?;
    assert!(
        links.len() == 2 && links.iter().all(|l| l.visible()),
        "each device paints its run's link: {links:?}"
    );
    browser.screenshot("host-two-devices-busy").await?;
    browser.click("[data-testid=host-run]").await?;
    browser
        .wait_for_path(|path| path == format!("/runs/{id}"))
        .await?;
    let placement = browser
        .wait_for_text("[data-testid=run-placement]", |t| !t.is_empty())
        .await?;
    assert!(
        placement.ends_with("on wgpu:0 and wgpu:1 of this host"),
        "{placement}"
    );
    let painted = browser.painted("[data-testid=run-placement]").await?;
    assert!(painted.len() == 1 && painted[0].visible(), "{painted:?}");

    let run = finished(&server, id, None).await?;
    assert_eq!(run.summary.state, RunState::Succeeded);
    browser.open(&server.base_url, "/host").await?;
    browser
        .wait_for_text("[data-testid=host-summary]", |t| {
            t.starts_with("0 of 2 devices busy")
        })
        .await?;
    assert_eq!(browser.count("[data-testid=host-run]").await?, 0);
    browser.close().await
}

/// With `--executor slurm` (the one-node cluster of `scripts/slurm-dev.sh`), the Host view says
/// that a cluster places the runs, and the run page paints the SLURM job a run is, live while
/// it runs and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slurm_run_page_paints_its_job() -> anyhow::Result<()> {
    let up = std::process::Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|out| out.status.success());
    if !up {
        eprintln!("skipped: no SLURM cluster answers (scripts/slurm-dev.sh start)");
        return Ok(());
    }
    let models = models_dir();
    let server = fake_server(
        models.path(),
        &[
            "--executor",
            "slurm",
            "--slurm-gres",
            "none",
            "--slurm-poll",
            "0.2",
            "--fake-steps",
            "100",
        ],
    )
    .await?;
    let browser = Browser::start().await?;
    browser.open(&server.base_url, "/host").await?;
    let summary = browser
        .wait_for_text("[data-testid=host-summary]", |t| !t.is_empty())
        .await?;
    assert!(
        summary.starts_with("Runs go to a SLURM cluster"),
        "{summary}"
    );

    let id = submit(
        &server,
        r#"{"model": "tiny", "objective": {"method": "npo"}}"#,
    )
    .await?;
    browser
        .open(&server.base_url, &format!("/runs/{id}"))
        .await?;
    let running = browser
        .wait_for_text("[data-testid=run-placement]", |t| t.ends_with("(RUNNING)"))
        .await?;
    assert!(running.starts_with("Running as SLURM job "), "{running}");
    let painted = browser.painted("[data-testid=run-placement]").await?;
    assert!(painted.len() == 1 && painted[0].visible(), "{painted:?}");
    browser.screenshot("run-slurm-job-running").await?;
    let run = finished(&server, id, None).await?;
    assert_eq!(run.summary.state, RunState::Succeeded);
    let job = run.placement.and_then(|p| p.job_id).unwrap_or_default();
    browser
        .wait_for_text("[data-testid=run-placement]", |t| {
            t == format!("Ran as SLURM job {job} (COMPLETED)")
        })
        .await?;
    browser.close().await
}
