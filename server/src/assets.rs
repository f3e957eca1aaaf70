//! The UI's static files.
//!
//! `scripts/build-frontend.sh` writes the wasm bundle into `<static>/pkg/` under content-hashed
//! names and lists them in `<static>/pkg/manifest.json`. The server renders `<static>/index.html`
//! with those names, so the bundle can be cached forever while index.html is revalidated on every
//! load. Any other path without a file extension is a client route and gets index.html too.

use std::path::Path;

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Router, middleware};
use serde::Deserialize;
use shared::paths;
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `Cache-Control` of hashed bundle files: their name changes whenever their content does.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of index.html: always revalidate, so a new build is picked up at once.
pub const REVALIDATE: &str = "no-cache";
/// `Cache-Control` of other static files (icons).
pub const SHORT: &str = "public, max-age=3600";

/// The file names `build-frontend.sh` gives the bundle, as URL paths.
#[derive(Debug, Deserialize)]
struct Manifest {
    js: String,
    wasm: String,
    css: String,
}

/// Serves `<static>/pkg/`, with the `.br` and `.gz` copies the build wrote for clients that
/// accept them (brotli at its highest quality is too slow to do per response); found files are
/// cached forever, misses are not cached.
pub fn bundle_routes(static_dir: &Path) -> Router<AppState> {
    let files = ServeDir::new(static_dir.join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(middleware::map_response(cache_forever_if_found))
}

async fn cache_forever_if_found(mut response: Response) -> Response {
    if response.status().is_success() {
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    }
    response
}

/// `GET /` and `GET /index.html`: the app shell with the current bundle's names filled in.
pub async fn get_index(State(state): State<AppState>) -> ApiResult<Response> {
    render_index(&state.static_dir).await
}

/// Everything no route matched: JSON 404 under `/api`, a static file when the path names one,
/// else index.html (a client-side route such as `/runs/new`).
pub async fn get_static_or_index(
    State(state): State<AppState>,
    request: Request,
) -> ApiResult<Response> {
    let path = request.uri().path().to_string();
    if path == paths::API_PREFIX || path.starts_with(&format!("{}/", paths::API_PREFIX)) {
        return Err(ApiError::NotFound(format!("no API route {path}")));
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Err(ApiError::NotFound(format!(
            "no route {} {path}",
            request.method()
        )));
    }
    let names_a_file = path
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    if !names_a_file {
        return render_index(&state.static_dir).await;
    }
    let mut response = ServeDir::new(state.static_dir.as_path())
        .oneshot(request)
        .await
        .map(|response| response.map(Body::new))
        .context("reading a static file")?;
    if response.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::NotFound(format!("no file {path}")));
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(SHORT));
    Ok(response)
}

async fn render_index(static_dir: &Path) -> ApiResult<Response> {
    let template_path = static_dir.join("index.html");
    let template = tokio::fs::read_to_string(&template_path)
        .await
        .with_context(|| format!("reading {}", template_path.display()))?;
    let manifest_path = static_dir.join("pkg").join("manifest.json");
    let Ok(manifest) = tokio::fs::read(&manifest_path).await else {
        return Ok(bundle_missing(&manifest_path));
    };
    let manifest: Manifest = serde_json::from_slice(&manifest)
        .with_context(|| format!("parsing {}", manifest_path.display()))?;
    let page = template
        .replace("{{bundle_js}}", &manifest.js)
        .replace("{{bundle_wasm}}", &manifest.wasm)
        .replace("{{bundle_css}}", &manifest.css);
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static(REVALIDATE)),
        ],
        page,
    )
        .into_response())
}

/// A page that says how to build the UI, instead of a blank screen.
fn bundle_missing(manifest_path: &Path) -> Response {
    let message = format!(
        "<!doctype html><meta charset=utf-8><title>Lethe</title>\
         <p>The web UI is not built: {} is missing. Run <code>scripts/setup.sh</code> \
         (or <code>scripts/build-frontend.sh</code>) and reload. The API is up at \
         <a href=\"{health}\">{health}</a>.</p>",
        manifest_path.display(),
        health = paths::API_HEALTH
    );
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static(REVALIDATE)),
        ],
        message,
    )
        .into_response()
}
