//! Running a training step or an inference batch on a thread of rayon's pool.
//!
//! The CPU kernels, burn's CPU backend and `gemm` split their loops over rayon's pool. From a
//! thread outside the pool, every split hands all of its work to the pool's threads and puts the
//! caller to sleep until they finish: `n + 1` threads on `n` cores, and a wake-up and a sleep per
//! parallel loop (hundreds per step of a small model). From one of the pool's threads a split
//! keeps part of the work on the calling thread, the other threads steal the rest, and nothing
//! crosses from outside until the step ends. PyTorch's OpenMP does the same: the calling thread
//! is thread 0 of its team.

use burn::tensor::Device;

/// `work()`, on one of rayon's threads when `device` is the CPU; elsewhere (a GPU device, whose
/// kernels run on the device) on this thread. Concurrent callers take turns for the pool's
/// threads, one step or batch at a time.
pub fn on_pool<R: Send>(device: &Device, work: impl FnOnce() -> R + Send) -> R {
    if super::is_cpu(device) {
        rayon::scope(|_| work())
    } else {
        work()
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use burn::tensor::Device;

    use super::on_pool;

    /// The caller (a test thread) is outside the pool; the work, on plain and training CPU
    /// devices, runs inside it and its result comes back.
    #[test]
    fn cpu_work_runs_on_a_pool_thread() {
        assert!(rayon::current_thread_index().is_none());
        for device in [Device::flex(), Device::flex().autodiff()] {
            let (index, value) = on_pool(&device, || (rayon::current_thread_index(), 2 + 2));
            assert!(index.is_some(), "{device:?}");
            assert_eq!(value, 4);
        }
    }
}
