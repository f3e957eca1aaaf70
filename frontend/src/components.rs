//! Props-only pieces of pages.

pub mod charts;
pub mod memory_view;
pub mod result_view;
pub mod robustness_view;
pub mod run_view;
pub mod server_status;
pub mod token_control;
pub mod trajectory_chart;
