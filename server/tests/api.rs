//! The router as a value: every route answered through `oneshot`, no socket.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use engine::DeviceInfo;
use http_body_util::BodyExt as _;
use server::app;
use shared::error::ErrorBody;
use shared::health::Health;
use tower::ServiceExt as _;

const JS: &str = "/pkg/frontend-0123456789abcdef.js";
const WASM: &str = "/pkg/frontend-fedcba9876543210_bg.wasm";
const CSS: &str = "/pkg/style-00112233445566ff.css";

fn device() -> DeviceInfo {
    DeviceInfo {
        device: "cpu".into(),
        backend: "flex",
        adapter: "Test CPU (2 threads)".into(),
    }
}

/// A static dir like `public/` after `scripts/build-frontend.sh`.
fn static_dir(with_bundle: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("index.html"),
        r#"<html><link href="{{bundle_css}}"><script type="module">import init from "{{bundle_js}}"; init({module_or_path: "{{bundle_wasm}}"});</script></html>"#,
    )
    .unwrap();
    std::fs::write(
        root.join("favicon.svg"),
        "<svg xmlns='http://www.w3.org/2000/svg'/>",
    )
    .unwrap();
    if with_bundle {
        let pkg = root.join("pkg");
        std::fs::create_dir(&pkg).unwrap();
        let js = "export default function init() {}\n".repeat(200);
        write_under(root, JS, js.as_bytes());
        write_under(root, WASM, &[0u8; 4096]);
        write_under(root, CSS, b"body { margin: 0 }");
        let manifest = format!(r#"{{"js": "{JS}", "wasm": "{WASM}", "css": "{CSS}"}}"#);
        std::fs::write(pkg.join("manifest.json"), manifest).unwrap();
    }
    dir
}

fn write_under(root: &Path, url_path: &str, contents: &[u8]) {
    std::fs::write(root.join(url_path.trim_start_matches('/')), contents).unwrap();
}

async fn router(dir: &tempfile::TempDir) -> Router {
    let parts = server::Parts {
        data_dir: dir.path().join("data"),
        static_dir: dir.path().to_path_buf(),
        devices: vec![device()],
        registry: server::models::ModelRegistry::default(),
        auth: server::auth::AuthMode::Off,
        concurrency: 1,
        requeue_interrupted: false,
        data_roots: vec![],
        device_memory: None,
    };
    let executor = std::sync::Arc::new(server::jobs::fake::FakeExecutor::default());
    app(server::start(parts, executor).await.unwrap())
}

async fn send(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

async fn get(router: &Router, path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    send(router, Request::get(path).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn health_reports_version_commit_and_device() {
    let dir = static_dir(true);
    let (status, headers, body) = get(&router(&dir).await, "/api/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let health: Health = serde_json::from_slice(&body).unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert!(!health.git_commit.is_empty());
    assert_eq!(health.backend.device, "cpu");
    assert_eq!(health.backend.backend, "flex");
    assert_eq!(health.backend.adapter, "Test CPU (2 threads)");
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s_not_the_ui() {
    let dir = static_dir(true);
    let router = router(&dir).await;
    for path in ["/api/nope", "/api", "/api/runs/unknown/thing"] {
        let (status, headers, body) = get(&router, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{path}");
        let error: ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(error.code, "not_found");
        assert!(error.message.contains(path), "{}", error.message);
    }
}

#[tokio::test]
async fn index_and_client_routes_get_the_shell_with_hashed_bundle_names() {
    let dir = static_dir(true);
    let router = router(&dir).await;
    for path in [
        "/",
        "/index.html",
        "/runs/new",
        "/compare",
        "/host",
        "/runs/42",
    ] {
        let (status, headers, body) = get(&router, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
        let html = String::from_utf8(body).unwrap();
        assert!(
            html.contains(JS) && html.contains(WASM) && html.contains(CSS),
            "{html}"
        );
        assert!(!html.contains("{{"), "unfilled placeholder in {html}");
    }
}

#[tokio::test]
async fn bundle_files_have_wasm_mime_and_immutable_caching() {
    let dir = static_dir(true);
    let router = router(&dir).await;
    let (status, headers, _) = get(&router, WASM).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let (status, headers, _) = get(&router, JS).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/javascript");
    let (status, headers, _) = get(&router, "/pkg/frontend-missing.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        headers.get(header::CACHE_CONTROL).is_none(),
        "a miss must not be cached forever"
    );
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_accepts_it() {
    let dir = static_dir(true);
    let router = router(&dir).await;
    let (_, _, plain) = get(&router, JS).await;
    for encoding in ["gzip", "br"] {
        let request = Request::get(JS)
            .header(header::ACCEPT_ENCODING, encoding)
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = send(&router, request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_ENCODING], encoding);
        assert!(
            body.len() < plain.len() / 4,
            "{encoding}: {} vs {}",
            body.len(),
            plain.len()
        );
    }
}

#[tokio::test]
async fn other_static_files_are_served_and_missing_files_are_404() {
    let dir = static_dir(true);
    let router = router(&dir).await;
    let (status, headers, _) = get(&router, "/favicon.svg").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=3600");
    let (status, _, body) = get(&router, "/missing.png").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let error: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert!(error.message.contains("/missing.png"), "{}", error.message);
}

#[tokio::test]
async fn without_a_built_bundle_the_page_says_how_to_build_it() {
    let dir = static_dir(false);
    let (status, _, body) = get(&router(&dir).await, "/").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("scripts/setup.sh"), "{html}");
    assert!(html.contains("manifest.json"), "{html}");
}

#[tokio::test]
async fn only_get_and_head_reach_static_files() {
    let dir = static_dir(true);
    let request = Request::post("/runs/new").body(Body::empty()).unwrap();
    let (status, _, _) = send(&router(&dir).await, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
