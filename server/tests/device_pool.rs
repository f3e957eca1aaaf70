//! The host's device pool against a real `lethe serve` with the fake executor (20 steps of 100
//! ms a run; it names the devices without opening them): runs proceed in parallel, one per
//! device; a 2-device run gets two; no device holds two runs at once; nothing runs twice; and a
//! run asking for more devices than the pool has is refused by name.
#![expect(clippy::unwrap_used, reason = "tests panic on setup failure")]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::json;
use shared::health::Health;
use shared::run::{Created, RunState};

#[path = "support/serve.rs"]
mod support;
use support::{post, run, serve, tiny_model_root, wait_for};

fn health(base: &str) -> Health {
    let text = ureq::get(&format!("{base}/api/health"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn runs_share_the_pool_one_per_device_and_a_two_device_run_gets_two() {
    let dir = tempfile::tempdir().unwrap();
    let root = tiny_model_root(dir.path());
    let data = dir.path().join("data");
    let server = serve(
        &data,
        &[
            "--fake-executor",
            "--model-root",
            root.to_str().unwrap(),
            "--devices",
            "wgpu:0,wgpu:1,wgpu:2",
        ],
    );
    let before = health(&server.base);
    let names: Vec<&str> = before.devices.iter().map(|d| d.device.as_str()).collect();
    assert_eq!(names, ["wgpu:0", "wgpu:1", "wgpu:2"]);
    assert!(before.devices.iter().all(|d| d.runs.is_empty()));

    // More devices than the pool has: refused at once, naming the field.
    let too_big =
        json!({"model": "tiny", "objective": {"method": "npo"}, "trainer": {"devices": 4}});
    let error = ureq::post(&format!("{}/api/runs", server.base))
        .set("Content-Type", "application/json")
        .send_string(&too_big.to_string())
        .unwrap_err();
    let ureq::Error::Status(422, response) = error else {
        panic!("{error}");
    };
    let body = response.into_string().unwrap();
    assert!(
        body.contains("trainer.devices") && body.contains("pool has 3"),
        "{body}"
    );

    let one = json!({"model": "tiny", "objective": {"method": "npo"}});
    let two = json!({"model": "tiny", "objective": {"method": "npo"}, "trainer": {"devices": 2}});
    let mut ids = Vec::new();
    for spec in [&one, &one, &one, &two, &one] {
        let created: Created =
            serde_json::from_value(post(&server.base, "/api/runs", spec)).unwrap();
        ids.extend(created.ids);
    }
    let two_id = ids[3];

    // Watch the pool until every run has ended.
    let start = Instant::now();
    let mut most_at_once = 0;
    let mut seen_on: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    loop {
        let now = health(&server.base);
        let busy: BTreeSet<i64> = now.devices.iter().flat_map(|d| d.runs.clone()).collect();
        most_at_once = most_at_once.max(busy.len());
        for device in &now.devices {
            assert!(
                device.runs.len() <= 1,
                "two runs on {}: {:?}",
                device.device,
                device.runs
            );
            for id in &device.runs {
                seen_on
                    .entry(*id)
                    .or_default()
                    .insert(device.device.clone());
            }
        }
        let done = ids
            .iter()
            .all(|id| run(&server.base, *id).summary.state.is_terminal());
        if done {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "runs did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(most_at_once, 3, "three devices, three runs at once");

    let mut spans: Vec<(i64, i64, BTreeSet<String>)> = Vec::new();
    for id in &ids {
        let detail = wait_for(
            &server.base,
            *id,
            RunState::is_terminal,
            Duration::from_secs(5),
        );
        assert_eq!(
            detail.summary.state,
            RunState::Succeeded,
            "run {id}: {:?}",
            detail.error
        );
        let placement = detail.placement.expect("a placement");
        assert_eq!(placement.executor, "local");
        let wanted = if *id == two_id { 2 } else { 1 };
        let devices: BTreeSet<String> = placement.devices.iter().cloned().collect();
        assert_eq!(devices.len(), wanted, "run {id}: {placement:?}");
        assert_eq!(detail.environment["device"], placement.devices.join(","));
        if let Some(seen) = seen_on.get(id) {
            assert!(
                seen.is_subset(&devices),
                "run {id} seen on {seen:?}, placed on {devices:?}"
            );
        }
        // Executed once: one start line in its log.
        let log = std::fs::read_to_string(data.join(format!("runs/{id}/log.txt"))).unwrap();
        assert_eq!(log.matches("fake run of").count(), 1, "{log}");
        spans.push((
            detail.summary.started_at_ms.unwrap(),
            detail.summary.finished_at_ms.unwrap(),
            devices,
        ));
    }
    // Runs that shared a device never overlapped in time.
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            if !a.2.is_disjoint(&b.2) {
                assert!(
                    a.1 <= b.0 || b.1 <= a.0,
                    "{a:?} and {b:?} overlap on one device"
                );
            }
        }
    }
    assert!(
        health(&server.base)
            .devices
            .iter()
            .all(|d| d.runs.is_empty())
    );
}
