//! The devices of one run: `cuda:0,cuda:1`.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use super::DeviceSpec;
use crate::EngineError;

/// The devices of one run, as written on the command line: `cuda:0,cuda:1`. A model on several
/// has its decoder layers split over them, in order ([`crate::llama::layer_split`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Devices(Vec<DeviceSpec>);

impl Devices {
    /// Just `spec`.
    pub fn one(spec: DeviceSpec) -> Self {
        Self(vec![spec])
    }

    /// The first device: where inputs are built, and the backend of them all.
    pub fn first(&self) -> DeviceSpec {
        self.0[0]
    }

    /// Every device, in order.
    pub fn specs(&self) -> &[DeviceSpec] {
        &self.0
    }

    /// How many devices.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a list holds at least one device.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first `count` devices, or an error naming `field` when there are fewer.
    pub fn take(&self, count: usize, field: &str) -> Result<Self, EngineError> {
        if count == 0 || count > self.len() {
            return Err(EngineError::InvalidConfig {
                field: field.into(),
                reason: format!(
                    "the run asks for {count} devices; {} are given ({self})",
                    self.len()
                ),
            });
        }
        Ok(Self(self.0[..count].to_vec()))
    }

    /// The burn devices, in order.
    pub fn devices(&self) -> Result<Vec<Device>, EngineError> {
        self.0.iter().map(|spec| spec.device()).collect()
    }
}

impl From<DeviceSpec> for Devices {
    fn from(spec: DeviceSpec) -> Self {
        Self::one(spec)
    }
}

impl FromStr for Devices {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let specs = text
            .split(',')
            .map(str::parse::<DeviceSpec>)
            .collect::<Result<Vec<_>, _>>()?;
        let invalid = |reason: String| EngineError::InvalidConfig {
            field: "devices".into(),
            reason,
        };
        for (index, spec) in specs.iter().enumerate() {
            if specs[..index].contains(spec) {
                return Err(invalid(format!("`{text}` names {spec} twice")));
            }
            if spec.backend() != specs[0].backend() {
                return Err(invalid(format!(
                    "`{text}` mixes backends ({} and {}); one run's devices share one",
                    specs[0], spec
                )));
            }
            if *spec == DeviceSpec::Cpu && specs.len() > 1 {
                return Err(invalid(
                    "the CPU is one device; split a model over GPUs (cuda:N, wgpu:N)".into(),
                ));
            }
        }
        Ok(Self(specs))
    }
}

impl fmt::Display for Devices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, spec) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{spec}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lists_parse_and_refuse_repeats_and_mixed_backends() {
        let devices: Devices = "cuda:0,cuda:1".parse().unwrap();
        assert_eq!(devices.specs(), [DeviceSpec::Cuda(0), DeviceSpec::Cuda(1)]);
        assert_eq!(devices.to_string(), "cuda:0,cuda:1");
        assert_eq!(devices.first(), DeviceSpec::Cuda(0));
        let pair: Devices = "wgpu,wgpu:cpu".parse().unwrap();
        assert_eq!(pair.len(), 2);
        assert_eq!(
            "cpu".parse::<Devices>().unwrap(),
            Devices::one(DeviceSpec::Cpu)
        );
        for (bad, says) in [
            ("cuda:0,cuda:0", "twice"),
            ("cuda:0,wgpu", "mixes backends"),
            ("cpu,cpu", "the CPU is one device"),
            ("cuda:0,", "not a device"),
        ] {
            let message = bad.parse::<Devices>().unwrap_err().to_string();
            assert!(message.contains(says), "{bad}: {message}");
        }
        let message = devices.take(3, "trainer.devices").unwrap_err().to_string();
        assert!(message.contains("trainer.devices"), "{message}");
        assert_eq!(devices.take(1, "trainer.devices").unwrap().len(), 1);
    }
}
