//! The real [`Executor`]: the [runner](mod@crate::runner) in this process, on the devices of this
//! host's pool that the queue gives a run.
//! It only adapts: the queue's context in, the runner's events out.

use std::collections::BTreeMap;

use engine::{DeviceInfo, Devices};
use shared::run::RunSpec;

use crate::jobs::{Executor, JobContext};
use crate::runner::{self, Places};

/// The engine on this host's devices.
#[derive(Debug, Clone)]
pub struct EngineExecutor {
    /// Where the names in specs resolve (confined to the server's registry and data roots).
    pub places: Places,
    /// What each device of the pool is.
    pub device_info: Vec<DeviceInfo>,
}

impl Executor for EngineExecutor {
    fn environment(&self, devices: &Devices) -> BTreeMap<String, String> {
        let first = devices.first().to_string();
        let info = self.device_info.iter().find(|i| i.device == first);
        BTreeMap::from([
            ("lethe".into(), env!("CARGO_PKG_VERSION").into()),
            ("git_commit".into(), env!("LETHE_GIT_COMMIT").into()),
            ("burn".into(), "0.22.1".into()),
            ("device".into(), devices.to_string()),
            ("backend".into(), devices.first().backend().to_string()),
            (
                "adapter".into(),
                info.map_or_else(String::new, |i| i.adapter.clone()),
            ),
        ])
    }

    fn execute(
        &self,
        spec: &RunSpec,
        ctx: &mut JobContext<'_>,
    ) -> anyhow::Result<BTreeMap<String, f64>> {
        runner::execute(
            spec,
            &self.places,
            &ctx.dir,
            ctx.devices,
            &mut *ctx.emit,
            ctx.cancel,
        )
    }
}
