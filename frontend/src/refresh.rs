//! Pages that refresh while they are open.

use leptos::prelude::*;

/// A counter that ticks every `period` while the calling component lives: read it in a
/// resource's fetcher to refetch on each tick.
pub fn refresh_tick(period: std::time::Duration) -> RwSignal<u32> {
    let tick = RwSignal::new(0_u32);
    let handle =
        set_interval_with_handle(move || tick.update(|t| *t = t.wrapping_add(1)), period).ok();
    on_cleanup(move || {
        if let Some(handle) = handle {
            handle.clear();
        }
    });
    tick
}
