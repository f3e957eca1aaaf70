//! The built UI, served by the real `lethe` binary, renders in headless Chromium and shows the
//! server's health data fetched from the API.

use lethe_e2e::browser::Browser;
use lethe_e2e::http;
use lethe_e2e::pages::submit;
use lethe_e2e::server::LetheServer;
use shared::health::Health;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_renders_navigation_and_health_from_the_api() -> anyhow::Result<()> {
    let server = LetheServer::start().await?;
    let response = http::get(server.authority(), shared::paths::API_HEALTH, &[]).await?;
    assert_eq!(response.status, 200);
    let health: Health = serde_json::from_slice(&response.body)?;
    assert_eq!(health.backend.device, "cpu");

    let browser = Browser::start().await?;
    browser
        .client
        .goto(&format!("{}/", server.base_url))
        .await?;

    let mut labels = Vec::new();
    for test_id in ["nav-runs", "nav-new-run", "nav-compare", "nav-host"] {
        let link = browser.find(&format!("[data-testid={test_id}]")).await?;
        labels.push(link.text().await?);
    }
    assert_eq!(labels, ["Runs", "New run", "Compare", "Host"]);
    browser.find("[data-testid=page-runs]").await?;

    let version = browser
        .wait_for_text("[data-testid=server-version]", |text| !text.is_empty())
        .await?;
    assert_eq!(version, format!("Lethe {}", health.version));
    // First paint, recorded for the closing notes (never asserted: speed lives in benchmarks).
    let timing = browser
        .client
        .execute(
            "const paint = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));\
             const nav = performance.getEntriesByType('navigation')[0];\
             return {first_contentful_paint_ms: paint['first-contentful-paint'] ?? null,\
                     dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,\
                     app_with_health_ms: performance.now()};",
            vec![],
        )
        .await?;
    std::fs::write(
        lethe_e2e::artifacts_dir().join("first-paint.json"),
        serde_json::to_vec_pretty(&timing)?,
    )?;
    eprintln!("first paint on localhost: {timing}");
    let commit = browser.text("[data-testid=server-commit]").await?;
    assert_eq!(commit, health.git_commit);
    let device = browser.text("[data-testid=server-device]").await?;
    assert_eq!(
        device,
        format!("{} ({})", health.backend.device, health.backend.backend)
    );
    let adapter = browser.text("[data-testid=server-adapter]").await?;
    assert_eq!(adapter, health.backend.adapter);
    let precisions = browser.text("[data-testid=server-precisions]").await?;
    assert_eq!(
        precisions,
        format!("trains in {}", health.backend.precisions.join(", "))
    );
    assert_eq!(
        health.backend.precisions,
        ["f32"],
        "a cpu server trains in f32 only"
    );
    browser.screenshot("shell-runs").await?;

    // Client-side navigation: the router swaps the page without a reload.
    browser
        .find("[data-testid=nav-new-run]")
        .await?
        .click()
        .await?;
    browser.find("[data-testid=page-new-run]").await?;
    assert_eq!(browser.client.current_url().await?.path(), "/runs/new");
    let current = browser.find("[data-testid=nav-new-run]").await?;
    assert_eq!(current.attr("aria-current").await?.as_deref(), Some("page"));

    // A deep link is answered by the server's SPA fallback and routed by the client.
    browser
        .client
        .goto(&format!("{}/compare", server.base_url))
        .await?;
    browser.find("[data-testid=page-compare]").await?;
    browser.screenshot("shell-compare").await?;

    browser
        .client
        .goto(&format!("{}/no/such/page", server.base_url))
        .await?;
    let missing = browser.text("[data-testid=page-not-found]").await?;
    assert!(missing.contains("/no/such/page"), "{missing}");

    browser.close().await
}

/// The runs list shows a run submitted over the API and follows it to `succeeded` without a
/// reload (the fake executor: 20 steps of 100 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_list_follows_a_submitted_run_to_its_result() -> anyhow::Result<()> {
    let models = tempfile::tempdir()?;
    std::fs::create_dir_all(models.path().join("tiny"))?;
    std::fs::write(models.path().join("tiny/config.json"), "{}")?;
    let server = LetheServer::start_with(&[
        "--fake-executor".as_ref(),
        "--model-root".as_ref(),
        models.path().as_os_str(),
    ])
    .await?;
    let browser = Browser::start().await?;
    browser
        .client
        .goto(&format!("{}/", server.base_url))
        .await?;
    browser.find("[data-testid=runs-empty]").await?;
    let spec = r#"{"model": "tiny", "objective": {"method": "npo"}, "wrapper": {"kind": "dv"}, "trainer": {"lr": 2e-5}}"#;
    let id = submit(&server, spec).await?;
    let row = browser.find(&format!("[data-testid=run-row-{id}]")).await?;
    let text = row.text().await?;
    assert!(
        text.contains("BalDRO-DV + NPO") && text.contains("forget01"),
        "{text}"
    );
    browser
        .wait_for_text(&format!("[data-testid=run-state-{id}]"), |t| t == "running")
        .await?;
    browser.screenshot("runs-running").await?;
    browser
        .wait_for_text(&format!("[data-testid=run-state-{id}]"), |t| {
            t == "succeeded"
        })
        .await?;
    // The fake's forget quality is lr × 1000.
    let fq = browser
        .wait_for_text(&format!("[data-testid=run-fq-{id}]"), |t| t != "–")
        .await?;
    assert_eq!(fq, "0.020");
    browser.screenshot("runs-succeeded").await?;
    browser.close().await
}

#[tokio::test]
async fn built_bundle_is_served_compressed_and_cached() -> anyhow::Result<()> {
    let server = LetheServer::start().await?;
    let index = http::get(server.authority(), "/", &[]).await?;
    assert_eq!(
        index.status,
        200,
        "index: {}",
        String::from_utf8_lossy(&index.body)
    );
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    let html = String::from_utf8(index.body)?;
    let wasm_path = html
        .split('"')
        .find(|part| part.starts_with("/pkg/") && part.ends_with(".wasm"))
        .expect("index.html names the wasm bundle")
        .to_string();

    let plain = http::get(server.authority(), &wasm_path, &[]).await?;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-type"), Some("application/wasm"));
    assert_eq!(
        plain.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    for encoding in ["gzip", "br"] {
        let compressed = http::get(
            server.authority(),
            &wasm_path,
            &[("Accept-Encoding", encoding)],
        )
        .await?;
        assert_eq!(compressed.status, 200);
        assert_eq!(compressed.header("content-encoding"), Some(encoding));
        // The build's precompressed copy, not a per-response compression.
        let suffix = if encoding == "br" { "br" } else { "gz" };
        let file = lethe_e2e::repo_root()
            .join("public")
            .join(format!("{}.{suffix}", wasm_path.trim_start_matches('/')));
        assert!(
            compressed.body == std::fs::read(&file)?,
            "{encoding}: the response is not {}",
            file.display()
        );
        assert!(
            compressed.body.len() < plain.body.len(),
            "{encoding}: {} bytes vs {} raw",
            compressed.body.len(),
            plain.body.len()
        );
        eprintln!(
            "wasm bundle: {} bytes raw, {} bytes {encoding}",
            plain.body.len(),
            compressed.body.len()
        );
    }
    Ok(())
}
