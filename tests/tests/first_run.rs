//! A first run as a new user makes it, against the real engine: a reduced `demo` model built
//! by `lethe demo build`, served from a data directory other than the one it was built in (the
//! same bytes, as `lethe serve` regenerates them). The form starts on `demo` at its
//! recommended learning rate, not on the first model by name; *Start run* trains it, and the
//! result has forget quality from the demo's own retain reference. The page shows the run's log
//! (also after the fact), the retain loss on its own chart, and the per-sample grid by data
//! epoch with its note; a run on a split the demo has no reference for says so and what to do.
#![expect(clippy::unwrap_used, reason = "test setup")]

use std::path::Path;
use std::time::Duration;

use lethe_e2e::browser::Browser;
use lethe_e2e::pages::{field, submit};
use lethe_e2e::server::{LetheServer, lethe};

/// The longest a real (tiny) run may take here.
const RUN_LIMIT: Duration = Duration::from_secs(600);

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

async fn wait_for_state(browser: &Browser) -> anyhow::Result<String> {
    browser
        .wait_for_text_within(
            "[data-testid=run-state]",
            |t| t == "succeeded" || t == "failed",
            RUN_LIMIT,
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_run_starts_on_the_demo_and_gets_forget_quality() -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let built = work.path().join("built");
    lethe(&[
        &"demo",
        &"build",
        &"--authors",
        &"20",
        &"--questions",
        &"4",
        &"--epochs",
        &"2",
        &"--splits",
        &"forget01",
        &"--data-dir",
        &built,
    ])
    .await?;
    // The data moves; the model still recognises it by content.
    let data = work.path().join("moved-data");
    copy_dir(&built.join("tofu-generated-20x4"), &data);
    std::fs::remove_dir_all(built.join("tofu-generated-20x4"))?;
    // A model whose name sorts before `demo`: the form must not simply take the first.
    let other = work.path().join("other-models");
    std::fs::create_dir_all(other.join("Aardvark-135M"))?;
    std::fs::write(other.join("Aardvark-135M/config.json"), "{}")?;
    let server = LetheServer::start_with(&[
        "--model-root".as_ref(),
        other.as_os_str(),
        "--model-root".as_ref(),
        built.join("models").as_os_str(),
        "--tofu-dir".as_ref(),
        data.as_os_str(),
    ])
    .await?;

    let browser = Browser::start().await?;
    browser.open(&server.base_url, "/runs/new").await?;
    browser
        .wait_for_text("[data-testid=model-note]", |t| t.contains("demo"))
        .await?;
    let model = browser.find(&field("model")).await?;
    assert_eq!(model.prop("value").await?.as_deref(), Some("demo"));
    let note = browser.text("[data-testid=model-note]").await?;
    assert!(
        note.contains("recommends lr 2e-4") && note.contains("forget01"),
        "{note}"
    );
    let lr = browser.find(&field("trainer.lr")).await?;
    assert_eq!(lr.prop("value").await?.as_deref(), Some("2e-4"));
    // The presets keep the model's learning rate.
    browser.click("[data-testid=preset-baldro-dv-npo]").await?;
    browser.find(&field("wrapper.tau")).await?;
    assert_eq!(
        browser
            .find(&field("trainer.lr"))
            .await?
            .prop("value")
            .await?
            .as_deref(),
        Some("2e-4")
    );
    browser.click("[data-testid=preset-npo]").await?;
    browser.screenshot("first-run-form").await?;
    browser.click("[data-testid=submit-run]").await?;
    let path = browser
        .wait_for_path(|p| p.starts_with("/runs/") && p != "/runs/new")
        .await?;
    let state = wait_for_state(&browser).await?;
    assert_eq!(state, "succeeded");
    let fq = browser
        .wait_for_text("[data-testid=forget-quality]", |t| t != "–")
        .await?;
    assert!(fq.parse::<f64>().is_ok(), "forget quality: {fq}");
    assert_eq!(browser.count("[data-testid=no-retain-ref]").await?, 0);
    browser
        .wait_for_text("[data-testid=log-tail]", |t| t.ends_with("succeeded"))
        .await?;
    // The retain term has its own chart; the loss chart holds total and forget only.
    assert_eq!(browser.count("[data-testid=chart-loss] polyline").await?, 2);
    assert_eq!(
        browser
            .count("[data-testid=chart-retain-loss] polyline")
            .await?,
        1
    );
    let grid_note = browser.text("[data-testid=per-sample-note]").await?;
    assert!(
        grid_note.contains("pass over the forget set"),
        "{grid_note}"
    );
    browser.screenshot("first-run-result").await?;

    // After the fact, a fresh page shows the run's own log from the server.
    browser.open(&server.base_url, &path).await?;
    let log = browser
        .wait_for_text("[data-testid=log-tail]", |t| t.ends_with("succeeded"))
        .await?;
    assert!(
        log.contains("unlearning demo with NPO")
            && log.contains("forget quality against the demo model's retain reference"),
        "{log}"
    );
    browser
        .screenshot_at("[data-testid=log-tail]", "first-run-log")
        .await?;

    // A split the demo has no reference for: no forget quality, and the page says why.
    let spec = r#"{"model": "demo", "objective": {"method": "npo"}, "data": {"split": "forget05"},
        "trainer": {"lr": 2e-4, "epochs": 1}, "eval": {"max_new_tokens": 16}}"#;
    let id = submit(&server, spec).await?;
    browser
        .open(&server.base_url, &format!("/runs/{id}"))
        .await?;
    assert_eq!(wait_for_state(&browser).await?, "succeeded");
    let notice = browser.text("[data-testid=no-retain-ref]").await?;
    assert!(
        notice.contains("no retain reference") && notice.contains("eval.retain_ref"),
        "{notice}"
    );
    let log = browser
        .wait_for_text("[data-testid=log-tail]", |t| t.ends_with("succeeded"))
        .await?;
    assert!(log.contains("--splits forget05"), "{log}");
    // Both are on screen, not only in the DOM.
    for css in ["[data-testid=no-retain-ref]", "[data-testid=log-tail]"] {
        let painted = browser.painted(css).await?;
        assert!(
            painted.len() == 1 && painted[0].visible(),
            "{css}: {painted:?}"
        );
    }
    browser
        .screenshot_at("[data-testid=no-retain-ref]", "no-retain-ref")
        .await?;
    browser.close().await
}
