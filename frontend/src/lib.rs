//! Lethe's browser UI: a leptos client-side-rendered app, compiled to wasm and served by the
//! `lethe` server.
//!
//! It depends on `shared` only (never on burn or axum) and talks to the server through
//! [`api::client`]. Entry point: [`App`], mounted by `main.rs`.

pub mod api;
pub mod app;
pub mod chart;
pub mod compare;
pub mod components;
pub mod eval_view;
pub mod form;
pub mod format;
pub mod live;
pub mod model_choice;
pub mod pages;
pub mod refresh;
pub mod runs_query;
pub mod sample_grid;
pub mod trajectory;

pub use app::App;
