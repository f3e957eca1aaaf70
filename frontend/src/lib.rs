//! Lethe's browser UI: a leptos client-side-rendered app, compiled to wasm and served by the
//! `lethe` server.
//!
//! It depends on `shared` only (never on burn or axum) and talks to the server through
//! [`api::client`]. Entry point: [`App`], mounted by `main.rs`.

pub mod api;
pub mod app;
pub mod components;
pub mod format;
pub mod pages;

pub use app::App;
