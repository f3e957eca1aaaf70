//! One component per client route.

pub mod compare_page;
pub mod host_page;
pub mod new_run_page;
pub mod not_found_page;
pub mod run_page;
pub mod runs_page;
pub mod share_page;
