//! The real [`Executor`]: the [runner](mod@crate::runner) in this process, on this host's device.
//! It only adapts: the queue's context in, the runner's events out.

use std::collections::BTreeMap;

use engine::{DeviceInfo, DeviceSpec};
use shared::run::RunSpec;

use crate::jobs::{Executor, JobContext};
use crate::runner::{self, Places};

/// The engine on this host's device.
#[derive(Debug, Clone)]
pub struct EngineExecutor {
    /// Where the names in specs resolve (confined to the server's registry and data roots).
    pub places: Places,
    /// Compute device.
    pub device: DeviceSpec,
    /// What the device is.
    pub device_info: DeviceInfo,
}

impl Executor for EngineExecutor {
    fn environment(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("lethe".into(), env!("CARGO_PKG_VERSION").into()),
            ("git_commit".into(), env!("LETHE_GIT_COMMIT").into()),
            ("burn".into(), "0.22.1".into()),
            ("device".into(), self.device_info.device.clone()),
            ("backend".into(), self.device_info.backend.to_string()),
            ("adapter".into(), self.device_info.adapter.clone()),
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
            &self.device.into(),
            &mut *ctx.emit,
            ctx.cancel,
        )
    }
}
