//! The runs API through `oneshot` with the fake executor: every route, every error (422 naming
//! the field, 404, 409, 401 in team mode), the queue's states, share links, the OpenAPI table,
//! and random bodies that must never yield a 500 or create a row.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};
use server::auth::AuthMode;
use server::jobs::fake::FakeExecutor;
use shared::error::ErrorBody;
use shared::run::{Created, RunDetail, RunPage, RunState};
use tower::ServiceExt as _;

struct Server {
    router: Router,
    state: server::AppState,
    _dir: tempfile::TempDir,
}

async fn server_with(auth: AuthMode, fake: FakeExecutor) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(models.join("tiny")).unwrap();
    std::fs::write(models.join("tiny/config.json"), "{}").unwrap();
    let roots = dir.path().join("roots");
    std::fs::create_dir_all(roots.join("tofu")).unwrap();
    std::fs::write(roots.join("retain.json"), "{}").unwrap();
    let parts = server::Parts {
        data_dir: dir.path().join("data"),
        static_dir: dir.path().join("public"),
        devices: vec![engine::DeviceInfo {
            device: "cpu".into(),
            backend: "flex",
            adapter: "test".into(),
        }],
        registry: server::models::ModelRegistry {
            roots: vec![models],
            hf_cache: None,
            default_data: None,
        },
        auth,
        concurrency: 1,
        requeue_interrupted: false,
        data_roots: vec![roots],
        device_memory: None,
    };
    let state = server::start(parts, Arc::new(fake)).await.unwrap();
    Server {
        router: server::app(state.clone()),
        state,
        _dir: dir,
    }
}

async fn server() -> Server {
    server_with(AuthMode::Off, FakeExecutor::default()).await
}

async fn call(
    router: &Router,
    method: Method,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

async fn post(router: &Router, path: &str, body: &str) -> (StatusCode, Vec<u8>) {
    call(router, Method::POST, path, Some(body), None).await
}

async fn get(router: &Router, path: &str) -> (StatusCode, Vec<u8>) {
    call(router, Method::GET, path, None, None).await
}

fn spec(lr: f64) -> String {
    json!({"model": "tiny", "objective": {"method": "npo"}, "trainer": {"lr": lr}, "tags": ["t"]})
        .to_string()
}

async fn run(router: &Router, id: i64) -> RunDetail {
    let (status, body) = get(router, &format!("/api/runs/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

async fn wait_for(router: &Router, id: i64, state: RunState) -> RunDetail {
    for _ in 0..500 {
        let detail = run(router, id).await;
        if detail.summary.state == state {
            return detail;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "run {id} never reached {state:?}: {:?}",
        run(router, id).await
    );
}

fn error(body: &[u8]) -> ErrorBody {
    serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(body));
    })
}

async fn count_runs(router: &Router) -> u64 {
    let (_, body) = get(router, "/api/runs?limit=500").await;
    serde_json::from_slice::<RunPage>(&body).unwrap().total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_goes_from_queued_to_succeeded_with_steps_metrics_and_artifacts() {
    let s = server().await;
    let (status, body) = post(&s.router, "/api/runs", &spec(2e-5)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let created: Created = serde_json::from_slice(&body).unwrap();
    let id = created.ids[0];
    let done = wait_for(&s.router, id, RunState::Succeeded).await;
    assert_eq!(done.summary.name, "npo-forget01");
    assert_eq!(done.summary.created_by, "local");
    assert!((done.summary.metrics["forget_quality"] - 0.02).abs() < 1e-12);
    assert!(done.summary.started_at_ms.is_some() && done.summary.finished_at_ms.is_some());
    assert_eq!(done.environment["backend"], "fake");
    assert!(done.artifacts.contains(&"steps.jsonl".to_string()));
    assert!(done.artifacts.contains(&"spec.json".to_string()));
    for artifact in [
        shared::paths::ARTIFACT_EVAL_LOG,
        shared::paths::ARTIFACT_RETAIN_REF,
    ] {
        assert!(
            done.artifacts.iter().any(|a| a == artifact),
            "{artifact}: {:?}",
            done.artifacts
        );
    }
    let (status, body) = get(&s.router, &format!("/api/runs/{id}/steps")).await;
    assert_eq!(status, StatusCode::OK);
    let steps: Vec<shared::live::StepPoint> = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        steps.iter().map(|p| p.step).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let (status, body) = get(&s.router, &format!("/api/runs/{id}/steps.csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(String::from_utf8(body).unwrap().lines().count(), 6);
    let (status, body) = get(&s.router, &format!("/api/runs/{id}/artifacts/metrics.json")).await;
    assert_eq!(status, StatusCode::OK);
    let metrics: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(metrics["model_utility"], 0.5);
    for bad in ["../lethe.db", "nope.json", "%2e%2e/lethe.db"] {
        let (status, _) = get(&s.router, &format!("/api/runs/{id}/artifacts/{bad}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
    let (status, body) = get(&s.router, &format!("/api/runs/export.csv?ids={id}")).await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(body).unwrap();
    assert!(
        csv.starts_with(
            "id,name,state,model,method,wrapper,split,lr,seed,forget_quality,model_utility\n"
        ),
        "{csv}"
    );
    assert!(csv.contains(",succeeded,"), "{csv}");
    // Finished: cancelling is a conflict; deleting removes the row and the files.
    let (status, body) = post(&s.router, &format!("/api/runs/{id}/cancel"), "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error(&body).code, "conflict");
    let (status, _) = call(
        &s.router,
        Method::DELETE,
        &format!("/api/runs/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!s.state.data_dir.join("runs").join(id.to_string()).exists());
    let (status, body) = get(&s.router, &format!("/api/runs/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error(&body).message, format!("no run {id}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_specs_get_422_naming_the_field_and_create_nothing() {
    let s = server().await;
    let cases = [
        (
            json!({"model": "tiny", "objective": {"method": "npo"}, "trainer": {"lr": -1.0}}),
            "trainer.lr",
        ),
        (
            json!({"model": "tiny", "objective": {"method": "npo"}, "lr": 1}),
            "lr",
        ),
        (
            json!({"model": "tiny", "objective": {"method": "npo", "params": {"tau": 1}}}),
            "objective.params.tau",
        ),
        (
            json!({"model": "tiny", "objective": {"method": "nope"}}),
            "objective.method",
        ),
        (
            json!({"model": "tiny", "objective": {"method": "npo"}, "wrapper": {"kind": "g", "ratio": 2}}),
            "wrapper.ratio",
        ),
        (
            json!({"model": "tiny", "objective": {"method": "npo"}, "trainer": {"batch_size": "8"}}),
            "trainer.batch_size",
        ),
        (
            json!({"model": "elsewhere", "objective": {"method": "npo"}}),
            "model",
        ),
        (json!({"objective": {"method": "npo"}}), "model"),
        (
            json!({"model": "tiny", "objective": {}}),
            "objective.method",
        ),
        (json!([1, 2]), "(body)"),
        (
            json!({"model": "tiny", "objective": {"method": "npo"}, "data": {"source": {"kind": "dir", "path": "/etc"}}}),
            "data.source.path",
        ),
        (
            json!({"model": "tiny", "objective": {"method": "npo"}, "data": {"source": {"kind": "dir", "path": "retain.json"}}}),
            "data.source.path",
        ),
        (
            json!({"model": "tiny", "objective": {"method": "npo"}, "eval": {"retain_ref": "../models/tiny/config.json"}}),
            "eval.retain_ref",
        ),
    ];
    for (body, field) in cases {
        let (status, bytes) = post(&s.router, "/api/runs", &body.to_string()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let e = error(&bytes);
        assert_eq!(e.code, "unprocessable");
        assert_eq!(e.fields[0].field, field, "{body}: {e:?}");
    }
    let (status, bytes) = post(&s.router, "/api/runs", "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error(&bytes).code, "bad_request");
    let big = format!("{{\"model\": \"{}\"}}", "x".repeat(2 << 20));
    let (status, _) = post(&s.router, "/api/runs", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(count_runs(&s.router).await, 0);
    // Paths under the data roots pass.
    let inside = json!({"model": "tiny", "objective": {"method": "npo"},
        "data": {"source": {"kind": "dir", "path": "tofu"}}, "eval": {"retain_ref": "retain.json"}});
    let (status, bytes) = post(&s.router, "/api/runs", &inside.to_string()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    for path in [
        "/api/runs/999",
        "/api/runs/abc",
        "/api/runs/999/steps",
        "/api/sweeps/5",
        "/api/share/0123456789abcdef0123456789abcdef",
    ] {
        let (status, bytes) = get(&s.router, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error(&bytes).code, "not_found");
    }
    let (status, bytes) = get(&s.router, "/api/runs?state=done").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&bytes).fields[0].field, "state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_runs_one_at_a_time_and_cancels_queued_and_running_runs() {
    let fake = FakeExecutor {
        steps: 200,
        step_delay: Duration::from_millis(20),
        ..FakeExecutor::default()
    };
    let s = server_with(AuthMode::Off, fake).await;
    let mut ids = Vec::new();
    for lr in [1e-5, 2e-5, 3e-5] {
        let (_, body) = post(&s.router, "/api/runs", &spec(lr)).await;
        ids.push(serde_json::from_slice::<Created>(&body).unwrap().ids[0]);
    }
    wait_for(&s.router, ids[0], RunState::Running).await;
    assert_eq!(run(&s.router, ids[1]).await.summary.state, RunState::Queued);
    // Deleting a running run is refused; cancelling a queued one is immediate.
    let (status, _) = call(
        &s.router,
        Method::DELETE,
        &format!("/api/runs/{}", ids[0]),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = post(&s.router, &format!("/api/runs/{}/cancel", ids[1]), "").await;
    assert_eq!(status, StatusCode::OK);
    let cancelled: RunDetail = serde_json::from_slice(&body).unwrap();
    assert_eq!(cancelled.summary.state, RunState::Cancelled);
    let (status, _) = post(&s.router, &format!("/api/runs/{}/cancel", ids[1]), "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Cancelling the running one stops it mid-run; then the third runs.
    let (status, _) = post(&s.router, &format!("/api/runs/{}/cancel", ids[0]), "").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let stopped = wait_for(&s.router, ids[0], RunState::Cancelled).await;
    assert!(stopped.summary.metrics.is_empty());
    let steps = server::jobs::read_steps(&s.state.data_dir, ids[0]);
    assert!(
        !steps.is_empty() && steps.len() < 200,
        "{} steps",
        steps.len()
    );
    wait_for(&s.router, ids[2], RunState::Running).await;
    // Filters and pages.
    let (_, body) = get(&s.router, "/api/runs?state=cancelled").await;
    let page: RunPage = serde_json::from_slice(&body).unwrap();
    assert_eq!(page.total, 2);
    let (_, body) = get(&s.router, "/api/runs?limit=1&offset=1&sort=oldest").await;
    let page: RunPage = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (page.total, page.runs.len(), page.runs[0].id),
        (3, 1, ids[1])
    );
    let (_, body) = get(&s.router, "/api/runs?tag=t&method=npo&model=tiny").await;
    assert_eq!(serde_json::from_slice::<RunPage>(&body).unwrap().total, 3);
    let (_, body) = get(&s.router, "/api/runs?tag=other").await;
    assert_eq!(serde_json::from_slice::<RunPage>(&body).unwrap().total, 0);
    s.state.queue.shutdown(Duration::from_secs(5)).await;
    let interrupted = run(&s.router, ids[2]).await;
    assert_eq!(interrupted.summary.state, RunState::Interrupted);
    let check = s
        .state
        .db
        .call(|conn| server::db::integrity_check(conn))
        .await
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_run_records_its_error() {
    let fake = FakeExecutor {
        fail_at: Some(3),
        ..FakeExecutor::default()
    };
    let s = server_with(AuthMode::Off, fake).await;
    let (_, body) = post(&s.router, "/api/runs", &spec(1e-5)).await;
    let id = serde_json::from_slice::<Created>(&body).unwrap().ids[0];
    let failed = wait_for(&s.router, id, RunState::Failed).await;
    assert_eq!(failed.error.as_deref(), Some("injected failure at step 3"));
    assert_eq!(server::jobs::read_steps(&s.state.data_dir, id).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeps_expand_the_grid_all_or_nothing() {
    let s = server().await;
    let sweep = json!({
        "name": "study",
        "base": {"model": "tiny", "objective": {"method": "npo"}},
        "grid": {
            "objectives": [{"method": "npo"}, {"method": "wga"}, {"method": "tnpo"}],
            "wrappers": [{"kind": "none"}, {"kind": "dv", "tau": 1.0}, {"kind": "g", "ratio": 0.5}]
        }
    });
    let (status, body) = post(&s.router, "/api/sweeps", &sweep.to_string()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let created: Created = serde_json::from_slice(&body).unwrap();
    assert_eq!(created.ids.len(), 9);
    let sweep_id = created.sweep_id.unwrap();
    let (status, body) = get(&s.router, &format!("/api/sweeps/{sweep_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let detail: Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = detail["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names[..3],
        [
            "study/npo-forget01",
            "study/dv-npo-forget01",
            "study/g-npo-forget01"
        ]
    );
    let mut bad = sweep.clone();
    bad["grid"]["lrs"] = json!([1e-5, -1.0]);
    let (status, body) = post(&s.router, "/api/sweeps", &bad.to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&body).fields[0].field, "runs.1.trainer.lr");
    assert_eq!(count_runs(&s.router).await, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_mode_needs_tokens_and_share_links_need_none() {
    let s = server_with(AuthMode::Tokens, FakeExecutor::default()).await;
    let token = server::auth::new_token();
    let hash = server::auth::hash_token(&token);
    s.state
        .db
        .call(move |conn| server::db::insert_token(conn, "alice", &hash, false))
        .await
        .unwrap();
    let (status, body) = post(&s.router, "/api/runs", &spec(1e-5)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error(&body).code, "unauthorized");
    let (status, _) = call(
        &s.router,
        Method::GET,
        "/api/runs",
        None,
        Some("lethe_wrong"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(count_runs_with(&s.router, &token).await, 0);
    let (status, body) = call(
        &s.router,
        Method::POST,
        "/api/runs",
        Some(&spec(1e-5)),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = serde_json::from_slice::<Created>(&body).unwrap().ids[0];
    let (_, body) = call(
        &s.router,
        Method::GET,
        &format!("/api/runs/{id}"),
        None,
        Some(&token),
    )
    .await;
    let detail: RunDetail = serde_json::from_slice(&body).unwrap();
    assert_eq!(detail.summary.created_by, "alice");
    let slug = detail.share_slug.unwrap();
    let (status, body) = get(&s.router, &format!("/api/share/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    let shared: RunDetail = serde_json::from_slice(&body).unwrap();
    assert_eq!(shared.summary.id, id);
    assert_eq!(shared.share_slug, None);
    let (status, _) = get(&s.router, &format!("/api/share/{slug}/steps")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&s.router, "/api/health").await;
    assert_eq!(status, StatusCode::OK);
    let revoke = s
        .state
        .db
        .call(|conn| server::db::revoke_token(conn, "alice"))
        .await
        .unwrap();
    assert!(revoke);
    let (status, _) = call(&s.router, Method::GET, "/api/runs", None, Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn count_runs_with(router: &Router, token: &str) -> u64 {
    let (status, body) = call(router, Method::GET, "/api/runs", None, Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice::<RunPage>(&body).unwrap().total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_endpoint_is_routed() {
    let s = server().await;
    let (status, body) = get(&s.router, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for endpoint in server::routes::ENDPOINTS {
        let path = endpoint
            .path
            .replace("{*path}", "x")
            .replace("{id}", "424242")
            .replace("{slug}", "nope");
        let documented = endpoint.path.replace("{*", "{");
        assert!(
            doc["paths"][&documented][endpoint.method.to_lowercase()].is_object(),
            "{documented}"
        );
        let method = Method::from_bytes(endpoint.method.as_bytes()).unwrap();
        let (status, body) = call(&s.router, method, &path, Some("{}"), None).await;
        // Routed: the handler answered (a 404 from a handler names the thing, not the route).
        if status == StatusCode::NOT_FOUND {
            let e = error(&body);
            assert!(
                !e.message.starts_with("no route"),
                "{} {path}: {}",
                endpoint.method,
                e.message
            );
        }
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{} {path}",
            endpoint.method
        );
    }
}

/// Random mutations of a valid spec: the server answers 201 exactly when the mutated spec is
/// valid (and then it created one row), and otherwise a 4xx that created nothing; never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bodies_never_500_and_never_create_invalid_rows() {
    let s = server().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let fields = [
        "/model",
        "/name",
        "/tags",
        "/data",
        "/data/split",
        "/data/source",
        "/objective",
        "/objective/method",
        "/objective/params",
        "/wrapper",
        "/trainer/lr",
        "/trainer/epochs",
        "/trainer/batch_size",
        "/trainer/seed",
        "/eval/max_new_tokens",
        "/eval",
        "/template",
        "/extra",
    ];
    let values = || -> Vec<Value> {
        vec![
            json!(null),
            json!(-1),
            json!(0),
            json!(1e308),
            json!(0.5),
            json!("npo"),
            json!(""),
            json!("forget05"),
            json!([]),
            json!([1, "a"]),
            json!({}),
            json!({"kind": "dv"}),
            json!({"kind": "g", "ratio": 0}),
            json!({"method": "wga", "params": {"beta": 2}}),
            json!(true),
            json!("tiny"),
            json!({"kind": "dir", "path": "../../etc"}),
            json!(u64::MAX),
            json!({"beta": -1}),
        ]
    };
    let mut created = 0;
    for _ in 0..300 {
        let mut body = json!({"model": "tiny", "objective": {"method": "npo"}, "trainer": {}, "eval": {}, "data": {}});
        for _ in 0..rng.random_range(1..4) {
            let field = fields[rng.random_range(0..fields.len())];
            let value = values()[rng.random_range(0..values().len())].clone();
            let (parent, key) = field.rsplit_once('/').unwrap();
            let target = if parent.is_empty() {
                Some(&mut body)
            } else {
                body.pointer_mut(parent)
            };
            if let Some(Value::Object(map)) = target {
                map.insert(key.to_string(), value);
            }
        }
        let text = if rng.random_bool(0.1) {
            let t = body.to_string();
            t[..rng.random_range(0..t.len())].to_string()
        } else {
            body.to_string()
        };
        let before = count_runs(&s.router).await;
        let (status, bytes) = post(&s.router, "/api/runs", &text).await;
        assert!(!status.is_server_error(), "{text}: {status}");
        let after = count_runs(&s.router).await;
        if status == StatusCode::CREATED {
            let spec: shared::run::RunSpec = serde_json::from_str(&text).unwrap();
            assert!(spec.validate().is_empty(), "{text}");
            assert_eq!(after, before + 1);
            created += 1;
        } else {
            assert!(status.is_client_error(), "{text}: {status}");
            error(&bytes);
            assert_eq!(after, before, "{text}");
        }
    }
    assert!(created > 0, "the mutations never produced a valid spec");
}
