//! Route templates, so neither the server nor the UI writes a path string by hand.

/// API route: server identity and backend.
pub const API_HEALTH: &str = "/api/health";
/// Prefix of every API route; unknown paths under it are JSON 404s, never the UI.
pub const API_PREFIX: &str = "/api";
/// URL prefix of the built wasm bundle (content-hashed file names, cached forever).
pub const BUNDLE_PREFIX: &str = "/pkg";

/// Client route: the runs list.
pub const PAGE_RUNS: &str = "/";
/// Client route: the new-run form.
pub const PAGE_NEW_RUN: &str = "/runs/new";
/// Client route: the compare page.
pub const PAGE_COMPARE: &str = "/compare";
