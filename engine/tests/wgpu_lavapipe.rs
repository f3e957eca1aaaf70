//! The wgpu backend computes correctly on whatever Vulkan adapter this machine has: Mesa's
//! lavapipe (software Vulkan) on CI, a real GPU elsewhere.
//!
//! Kept tiny and bounded: a cold wgpu start compiles WGSL kernels through the driver, which on
//! lavapipe takes seconds per kernel (shared/toolchain/BURN.md). Set `LETHE_SKIP_WGPU=1` to skip on
//! a machine without any Vulkan driver.
#![cfg(feature = "wgpu")]

use std::sync::mpsc;
use std::time::Duration;

use burn::tensor::{Tensor, TensorData, Tolerance};
use engine::DeviceSpec;

/// Upper bound for the whole test, cold kernel compilation included.
const LIMIT: Duration = Duration::from_secs(300);

#[test]
fn wgpu_matmul_and_reduction_match_cpu() {
    if std::env::var_os("LETHE_SKIP_WGPU").is_some() {
        eprintln!("skipped: LETHE_SKIP_WGPU is set");
        return;
    }
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| {
            let info = DeviceSpec::Wgpu.describe().unwrap();
            let device = DeviceSpec::Wgpu.device().unwrap();
            let a = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], &device);
            let b = Tensor::<2>::from_floats([[1.0, 0.5], [-1.0, 2.0], [0.25, -0.5]], &device);
            let product = a.clone().matmul(b).into_data();
            let row_sums = a.sum_dim(1).into_data();
            (info, product, row_sums)
        });
        sender
            .send(outcome)
            .expect("the test thread waits for this result");
    });
    let (info, product, row_sums) = match receiver.recv_timeout(LIMIT) {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("wgpu did not finish a 2x3 matmul within {LIMIT:?}"),
    };
    eprintln!("wgpu adapter: {}", info.adapter);
    assert_eq!(info.backend, "wgpu");
    product.assert_approx_eq::<f32>(
        &TensorData::from([[-0.25, 3.0], [0.5, 9.0]]),
        Tolerance::absolute(1e-5),
    );
    row_sums.assert_approx_eq::<f32>(
        &TensorData::from([[6.0], [15.0]]),
        Tolerance::absolute(1e-5),
    );
}
