//! The sweep builder and the compare page in headless Chromium against the real `lethe serve`
//! with the fake executor: the grid's run count as boxes and lists change, the comparison
//! table, the FQ-vs-MU scatter painted on screen (and the study report's SVG of the same sweep),
//! and selections and filters kept in the address.

use lethe_e2e::browser::{Browser, Painted};
use lethe_e2e::pages::{SVG_NS, error, fake_server, finished, models_dir, open_form};
use lethe_e2e::server::lethe;
use shared::run::RunState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_builder_counts_its_grid_and_the_compare_page_lays_runs_out() -> anyhow::Result<()>
{
    let models = models_dir();
    let server = fake_server(models.path(), &[]).await?;
    let browser = Browser::start().await?;
    open_form(&browser, &server, "tiny").await?;
    browser.click("[data-testid=preset-seed-study]").await?;
    browser
        .wait_for_text("[data-testid=sweep-count]", |t| {
            t == "This grid makes 27 runs."
        })
        .await?;
    for unchecked in [
        "sweep-split-forget05",
        "sweep-split-forget10",
        "sweep-method-wga",
        "sweep-method-tnpo",
        "sweep-wrapper-g",
    ] {
        browser.click(&format!("[data-testid={unchecked}]")).await?;
    }
    browser
        .wait_for_text("[data-testid=sweep-count]", |t| {
            t == "This grid makes 2 runs."
        })
        .await?;
    browser.fill("[data-testid=sweep-lrs]", "1e-5, x").await?;
    browser
        .wait_for_text(&error("grid.lrs"), |t| t.contains("`x` is not a number"))
        .await?;
    browser
        .fill("[data-testid=sweep-lrs]", "1e-5, 4e-5")
        .await?;
    browser
        .wait_for_text("[data-testid=submit-run]", |t| t == "Start sweep (4 runs)")
        .await?;
    browser.screenshot("new-sweep").await?;
    let (scroll, viewport) = browser.phone_widths().await?;
    assert!(
        scroll <= viewport,
        "the form scrolls sideways on a phone: {scroll} > {viewport}"
    );
    browser.screenshot("new-sweep-phone").await?;
    browser.client.set_window_size(1280, 800).await?;
    browser.click("[data-testid=submit-run]").await?;
    let path = browser
        .wait_for_path(|p| p.starts_with("/compare?runs="))
        .await?;
    let ids: Vec<i64> = path
        .trim_start_matches("/compare?runs=")
        .replace("%2C", ",")
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    assert_eq!(ids.len(), 4, "{path}");
    for id in &ids {
        assert_eq!(
            finished(&server, *id, None).await?.summary.state,
            RunState::Succeeded
        );
    }
    browser.client.refresh().await?;
    let table = browser.text("[data-testid=compare-table]").await?;
    assert!(
        table.contains("BalDRO-DV + NPO") && table.contains("tiny"),
        "{table}"
    );
    // Plain and DV rows, two learning rates each: FQ 0.010 and 0.040.
    let first = browser
        .wait_for_text(&format!("[data-testid=compare-cell-{}]", ids[0]), |t| {
            t.contains("0.010")
        })
        .await?;
    assert!(first.contains("0.500"), "MU of the fake: {first}");
    assert_eq!(
        browser
            .count("[data-testid=compare-scatter] circle")
            .await?,
        4
    );
    // The dots are painted, not only in the DOM: each has a box and is what a click at its
    // centre lands on (an HTML link around an SVG mark would hide it).
    let dots = browser
        .painted("[data-testid=compare-scatter] circle.dot")
        .await?;
    assert_eq!(dots.len(), 4);
    for dot in &dots {
        assert!(dot.visible(), "a scatter point is not painted: {dot:?}");
        assert_eq!(dot.namespace.as_deref(), Some(SVG_NS), "the link is SVG's");
    }
    browser
        .screenshot_at("[data-testid=compare-scatter]", "compare")
        .await?;

    // The study report's SVG of the same sweep, opened in the browser, paints its points too.
    let report = tempfile::tempdir()?;
    lethe(&[
        &"study",
        &"report",
        &"--sweep",
        &"1",
        &"--data-dir",
        &server.data_dir,
        &"--out",
        &report.path(),
    ])
    .await?;
    browser
        .client
        .goto(&format!(
            "file://{}",
            report.path().join("study.svg").display()
        ))
        .await?;
    let marks = browser.painted("circle").await?;
    assert!(marks.len() > 4, "4 runs and the legend: {marks:?}");
    assert!(marks.iter().all(Painted::visible), "{marks:?}");
    browser.screenshot("study-svg").await?;
    browser.open(&server.base_url, &path).await?;
    browser.find("[data-testid=compare-table]").await?;

    // Unpicking a run rewrites the shareable address.
    browser
        .click(&format!("[data-testid=pick-run-{}]", ids[0]))
        .await?;
    let rest: Vec<String> = ids[1..].iter().map(i64::to_string).collect();
    let expected = format!("/compare?runs={}", rest.join("%2C"));
    let plain = format!("/compare?runs={}", rest.join(","));
    browser
        .wait_for_path(|p| p == expected || p == plain)
        .await?;
    browser
        .wait_for_text("[data-testid=compare-table]", |t| {
            !t.contains(&format!("#{} ", ids[0]))
        })
        .await?;

    // The runs list filters from its address: the sweep's tag, then a state none has.
    browser.open(&server.base_url, "/?tag=seed-study").await?;
    browser
        .wait_for_text("[data-testid=page-range]", |t| t == "1–4 of 4")
        .await?;
    browser
        .select("[data-testid=filter-state]", "failed")
        .await?;
    browser.find("[data-testid=runs-empty]").await?;
    browser
        .wait_for_path(|p| p == "/?state=failed&tag=seed-study")
        .await?;
    browser.close().await
}
