//! The app shell: navigation, the route table, and the server status line.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::path;
use shared::paths;

use crate::components::server_status::ServerStatus;
use crate::components::token_control::TokenControl;
use crate::pages::compare_page::ComparePage;
use crate::pages::host_page::HostPage;
use crate::pages::new_run_page::NewRunPage;
use crate::pages::not_found_page::NotFoundPage;
use crate::pages::run_page::RunPage;
use crate::pages::runs_page::RunsPage;
use crate::pages::share_page::SharePage;

/// The top-level pages reachable from the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The runs list.
    Runs,
    /// The new-run form.
    NewRun,
    /// The compare page.
    Compare,
    /// The host's devices.
    Host,
}

impl Page {
    /// Every navigation entry, in display order.
    pub const NAV: [Page; 4] = [Page::Runs, Page::NewRun, Page::Compare, Page::Host];

    /// The client route.
    pub fn path(self) -> &'static str {
        match self {
            Page::Runs => paths::PAGE_RUNS,
            Page::NewRun => paths::PAGE_NEW_RUN,
            Page::Compare => paths::PAGE_COMPARE,
            Page::Host => paths::PAGE_HOST,
        }
    }

    /// The navigation label.
    pub fn label(self) -> &'static str {
        match self {
            Page::Runs => "Runs",
            Page::NewRun => "New run",
            Page::Compare => "Compare",
            Page::Host => "Host",
        }
    }

    /// The `data-testid` of its navigation link.
    pub fn test_id(self) -> &'static str {
        match self {
            Page::Runs => "nav-runs",
            Page::NewRun => "nav-new-run",
            Page::Compare => "nav-compare",
            Page::Host => "nav-host",
        }
    }
}

/// The whole application.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="shell-header">
                <a class="brand" href=paths::PAGE_RUNS>"Lethe"</a>
                <NavBar/>
            </header>
            <main class="shell-main">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=RunsPage/>
                    <Route path=path!("/runs/new") view=NewRunPage/>
                    <Route path=path!("/runs/:id") view=RunPage/>
                    <Route path=path!("/compare") view=ComparePage/>
                    <Route path=path!("/host") view=HostPage/>
                    <Route path=path!("/s/:slug") view=SharePage/>
                </Routes>
            </main>
            <footer class="shell-footer">
                <ServerStatus/>
                <TokenControl/>
            </footer>
        </Router>
    }
}

/// The navigation links; the current page is marked with `aria-current="page"`.
#[component]
fn NavBar() -> impl IntoView {
    let location = use_location();
    let links = Page::NAV
        .into_iter()
        .map(|page| {
            let current = move || (location.pathname.get() == page.path()).then_some("page");
            view! {
                <a href=page.path() data-testid=page.test_id() aria-current=current>
                    {page.label()}
                </a>
            }
        })
        .collect_view();
    view! { <nav class="shell-nav" aria-label="Main">{links}</nav> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn navigation_labels_are_the_shells_contract() {
        let labels: Vec<_> = Page::NAV.iter().map(|page| page.label()).collect();
        assert_eq!(labels, ["Runs", "New run", "Compare", "Host"]);
    }

    #[test]
    fn every_page_has_a_distinct_path_and_test_id() {
        let mut paths: Vec<_> = Page::NAV.iter().map(|page| page.path()).collect();
        let mut ids: Vec<_> = Page::NAV.iter().map(|page| page.test_id()).collect();
        paths.dedup();
        ids.dedup();
        assert_eq!(paths.len(), Page::NAV.len());
        assert_eq!(ids.len(), Page::NAV.len());
        assert!(paths.iter().all(|path| path.starts_with('/')));
    }
}
