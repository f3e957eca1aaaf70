//! The run pages in headless Chromium against the real `lethe serve`: the new-run form with its
//! instant and server-side validation, the live page following a run to its result, the
//! read-only share page without a token, the sweep builder and the compare page. The fake
//! executor makes them deterministic (20 steps of 100 ms, forget quality = lr × 1000);
//! engine_pages.rs trains with the real engine.

use lethe_e2e::browser::Browser;
use lethe_e2e::http;
use lethe_e2e::pages::{error, fake_server, field, finished, models_dir, open_form};
use lethe_e2e::server::lethe;
use shared::run::{Created, RunState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_from_the_form_goes_live_to_its_result_and_share_page() -> anyhow::Result<()> {
    let models = models_dir();
    let roots = tempfile::tempdir()?;
    let server = fake_server(
        models.path(),
        &["--data-root", roots.path().to_str().unwrap()],
    )
    .await?;
    let browser = Browser::start().await?;
    open_form(&browser, &server, "tiny").await?;
    browser.click("[data-testid=preset-baldro-dv-npo]").await?;
    browser.find(&field("wrapper.tau")).await?;

    // The memory switches are painted (a click at each centre lands on it) and reach the spec.
    for css in [
        field("trainer.reference_mode"),
        field("trainer.optimizer_offload"),
        field("trainer.gradient_checkpointing"),
    ] {
        let painted = browser.painted(&css).await?;
        assert!(
            painted.len() == 1 && painted[0].visible(),
            "{css}: {painted:?}"
        );
    }
    browser
        .select(&field("trainer.reference_mode"), "cached")
        .await?;
    browser.click(&field("trainer.optimizer_offload")).await?;
    browser.screenshot("new-run-memory-switches").await?;

    // Instant validation: the same rules as the server, as the user types.
    browser.fill(&field("trainer.lr"), "abc").await?;
    browser
        .wait_for_text(&error("trainer.lr"), |t| {
            t.contains("`abc` is not a number")
        })
        .await?;
    let submit = browser.find("[data-testid=submit-run]").await?;
    assert!(
        submit.attr("disabled").await?.is_some(),
        "submit waits for a valid form"
    );
    browser.fill(&field("trainer.lr"), "-1").await?;
    browser
        .wait_for_text(&error("trainer.lr"), |t| t.contains("must be a number > 0"))
        .await?;
    browser.fill(&field("trainer.lr"), "0.00002").await?;
    browser
        .wait_for_text(&error("trainer.lr"), str::is_empty)
        .await?;
    let typed = browser
        .find(&field("trainer.lr"))
        .await?
        .prop("value")
        .await?;
    assert_eq!(
        typed.as_deref(),
        Some("0.00002"),
        "typing is never rewritten"
    );

    // Only the server knows its data roots: its 422 shows next to the field.
    browser
        .fill(&field("eval.retain_ref"), "/etc/hostname")
        .await?;
    browser.click("[data-testid=submit-run]").await?;
    let message = browser
        .wait_for_text(&error("eval.retain_ref"), |t| !t.is_empty())
        .await?;
    assert!(message.contains("data roots"), "{message}");
    browser.screenshot("new-run-server-422").await?;
    browser.fill(&field("eval.retain_ref"), " ").await?;
    browser
        .wait_for_text(&error("eval.retain_ref"), str::is_empty)
        .await?;

    browser.click("[data-testid=submit-run]").await?;
    let path = browser
        .wait_for_path(|p| p.starts_with("/runs/") && p != "/runs/new")
        .await?;
    let id: i64 = path.trim_start_matches("/runs/").parse()?;
    let detail: shared::run::RunDetail = serde_json::from_slice(
        &http::get(server.authority(), &format!("/api/runs/{id}"), &[])
            .await?
            .body,
    )?;
    assert_eq!(
        detail.spec.trainer.reference_mode,
        shared::run::ReferenceMode::Cached
    );
    assert!(detail.spec.trainer.optimizer_offload);
    browser.find("[data-testid=page-run]").await?;
    assert_eq!(
        browser.text("[data-testid=run-objective]").await?,
        "BalDRO-DV + NPO"
    );
    browser
        .wait_for_text("[data-testid=progress-text]", |t| t.starts_with("step "))
        .await?;
    browser.screenshot("run-live").await?;
    browser
        .wait_for_text("[data-testid=run-state]", |t| t == "succeeded")
        .await?;
    // The fake's forget quality is lr × 1000.
    browser
        .wait_for_text("[data-testid=forget-quality]", |t| t == "0.020")
        .await?;
    assert_eq!(
        browser.count("[data-testid=mu-table] tbody tr").await?,
        9,
        "the nine model-utility inputs"
    );
    let legend = browser.text("[data-testid=truth-ratio-histogram]").await?;
    assert!(
        legend.contains("this run (20 items)") && legend.contains("retain reference (20 items)"),
        "{legend}"
    );
    // Total and forget share an axis; the retain term (half the fake's loss) has its own.
    assert_eq!(browser.count("[data-testid=chart-loss] polyline").await?, 2);
    browser
        .find("[data-testid=chart-retain-loss] polyline")
        .await?;
    let grid_note = browser.text("[data-testid=per-sample-note]").await?;
    assert!(
        grid_note.contains("20 optimizer steps drew 80 samples of 4 forget items, 20 passes"),
        "{grid_note}"
    );
    assert_eq!(
        browser.count("[data-testid=chart-per-sample] rect").await?,
        4 * 20,
        "4 forget items × 20 epochs"
    );
    browser.find("[data-testid=chart-weights] rect").await?;
    browser
        .fill("[data-testid=rouge-search]", "kuwait 14")
        .await?;
    browser
        .wait_for_text("[data-testid=rouge-count]", |t| t == "1 of 1 generation")
        .await?;
    let log = browser
        .wait_for_text("[data-testid=log-tail]", |t| t.ends_with("succeeded"))
        .await?;
    assert!(log.contains("fake run of"), "{log}");
    let eval = browser.find("[data-testid=download-eval]").await?;
    assert_eq!(
        eval.attr("href").await?.as_deref(),
        Some(format!("/api/runs/{id}/artifacts/eval/TOFU_EVAL.json").as_str())
    );
    browser.screenshot("run-result").await?;
    browser
        .screenshot_at("[data-testid=chart-per-sample]", "run-per-sample")
        .await?;
    let (scroll, viewport) = browser.phone_widths().await?;
    assert!(
        scroll <= viewport,
        "the result page scrolls sideways on a phone: {scroll} > {viewport}"
    );
    browser.screenshot("run-result-phone").await?;
    browser.client.set_window_size(1280, 800).await?;

    let share = browser
        .find("[data-testid=share-link]")
        .await?
        .attr("href")
        .await?
        .unwrap();
    assert!(share.starts_with("/s/"), "{share}");
    browser.open(&server.base_url, &share).await?;
    browser.find("[data-testid=page-share]").await?;
    browser
        .wait_for_text("[data-testid=forget-quality]", |t| t == "0.020")
        .await?;
    assert_eq!(browser.count("[data-testid=cancel-run]").await?, 0);
    assert_eq!(browser.count("[data-testid=share-link]").await?, 0);
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_result_opens_without_a_token_on_a_team_server() -> anyhow::Result<()> {
    let models = models_dir();
    let server = fake_server(models.path(), &["--auth", "tokens"]).await?;
    let made = lethe(&[
        &"token",
        &"create",
        &"--name",
        &"alice",
        &"--data-dir",
        &server.data_dir,
    ])
    .await?;
    let token = made.trim().to_string();
    let auth = format!("Bearer {token}");
    let spec = r#"{"model": "tiny", "objective": {"method": "wga"}, "wrapper": {"kind": "g", "ratio": 0.5}, "trainer": {"lr": 3e-5}}"#;
    let response = http::post_json_with(
        server.authority(),
        "/api/runs",
        spec,
        &[("Authorization", &auth)],
    )
    .await?;
    assert_eq!(
        response.status,
        201,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let id = serde_json::from_slice::<Created>(&response.body)?.ids[0];
    let run = finished(&server, id, Some(&token)).await?;
    assert_eq!(run.summary.state, RunState::Succeeded);
    let slug = run.share_slug.unwrap();

    let browser = Browser::start().await?;
    browser
        .open(&server.base_url, &format!("/s/{slug}"))
        .await?;
    browser
        .wait_for_text("[data-testid=run-state]", |t| t == "succeeded")
        .await?;
    assert_eq!(
        browser.text("[data-testid=run-objective]").await?,
        "BalDRO-G + WGA"
    );
    browser
        .wait_for_text("[data-testid=forget-quality]", |t| t == "0.030")
        .await?;
    // BalDRO-G keeps half of the 4 samples each step.
    browser.find("[data-testid=chart-kept] polyline").await?;
    assert_eq!(browser.count("[data-testid=chart-weights]").await?, 0);
    browser.screenshot("share-team-server").await?;

    // Without the token, everything else on a team server stays closed.
    browser.open(&server.base_url, "/").await?;
    let denied = browser
        .wait_for_text("[data-testid=runs-error]", |t| !t.is_empty())
        .await?;
    assert!(denied.contains("token"), "{denied}");

    // The token pasted into the footer opens the rest: the list, and the live socket (which
    // carries it as a subprotocol, browsers having no websocket headers).
    browser.click("[data-testid=token-control] summary").await?;
    browser.fill("[data-testid=token-input]", &token).await?;
    browser.click("[data-testid=token-save]").await?;
    browser
        .wait_for_text(&format!("[data-testid=run-state-{id}]"), |t| {
            t == "succeeded"
        })
        .await?;
    browser
        .open(&server.base_url, &format!("/runs/{id}"))
        .await?;
    browser
        .wait_for_text("[data-testid=run-state]", |t| t == "succeeded")
        .await?;
    browser
        .wait_for_text("[data-testid=connection]", |t| t == "Finished")
        .await?;
    browser.find("[data-testid=share-link]").await?;
    browser.close().await
}
