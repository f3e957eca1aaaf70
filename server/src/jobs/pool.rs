//! The host's device pool: which run holds which device. Each device takes at most
//! `per_device` runs at once (`--concurrency`, default 1), and a run takes one slot on each of
//! as many distinct devices as it asks for (`trainer.devices`).
//!
//! Scheduling ([`DevicePool::schedule`]) walks the queue oldest first, and a run that fits the
//! free devices starts: a run that does not fit holds back no run behind it. The oldest run
//! that waits takes a reservation: from then on each device that a finishing run frees is kept
//! for it, until it has enough, so a stream of small runs cannot starve it.

use engine::{DeviceSpec, Devices};
use shared::health::DeviceSlot;

/// The devices of one host and the runs on them.
#[derive(Debug)]
pub struct DevicePool {
    devices: Vec<PoolDevice>,
    per_device: usize,
    reservation: Option<Reservation>,
}

/// The devices kept for the oldest waiting run (one slot on each).
#[derive(Debug)]
struct Reservation {
    run: i64,
    wanted: usize,
    devices: Vec<usize>,
}

#[derive(Debug)]
struct PoolDevice {
    spec: DeviceSpec,
    memory: Option<u64>,
    runs: Vec<i64>,
}

/// What [`DevicePool::schedule`] decided for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start the run on these devices (indices into the pool).
    Start(Vec<usize>),
    /// The run asks for more devices than the pool has: it can never start here.
    TooBig,
}

impl DevicePool {
    /// A pool of `devices`, each taking `per_device` runs at once, with their memory (`None`:
    /// unknown).
    pub fn new(devices: &Devices, memory: &[Option<u64>], per_device: usize) -> Self {
        Self {
            devices: devices
                .specs()
                .iter()
                .enumerate()
                .map(|(index, spec)| PoolDevice {
                    spec: *spec,
                    memory: memory.get(index).copied().flatten(),
                    runs: Vec::new(),
                })
                .collect(),
            per_device: per_device.max(1),
            reservation: None,
        }
    }

    /// How many devices the pool has: the most one run can take.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// Never true: a pool holds at least one device.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// Decides which of `queued` (id, devices asked for; oldest first) start now, and on which
    /// devices (those with the most free slots, then the lowest index); runs not named wait.
    pub fn schedule(&mut self, queued: &[(i64, usize)]) -> Vec<(i64, Decision)> {
        if let Some(reservation) = &self.reservation
            && !queued.iter().any(|(id, _)| *id == reservation.run)
        {
            self.reservation = None;
        }
        let mut free: Vec<usize> = self
            .devices
            .iter()
            .map(|d| self.per_device.saturating_sub(d.runs.len()))
            .collect();
        if let Some(reservation) = &self.reservation {
            for &d in &reservation.devices {
                free[d] = free[d].saturating_sub(1);
            }
        }
        let mut decisions = Vec::new();
        for &(id, wanted) in queued {
            let wanted = wanted.max(1);
            if wanted > free.len() {
                decisions.push((id, Decision::TooBig));
                continue;
            }
            let mine = match &self.reservation {
                Some(reservation) if reservation.run == id => reservation.devices.clone(),
                _ => Vec::new(),
            };
            let mut candidates: Vec<usize> = (0..free.len())
                .filter(|&d| free[d] > 0 && !mine.contains(&d))
                .collect();
            candidates.sort_by_key(|&d| (std::cmp::Reverse(free[d]), d));
            candidates.truncate(wanted - mine.len());
            if mine.len() + candidates.len() < wanted {
                if self.reservation.is_none() {
                    self.reservation = Some(Reservation {
                        run: id,
                        wanted,
                        devices: Vec::new(),
                    });
                }
                continue;
            }
            for &d in &candidates {
                free[d] -= 1;
            }
            if !mine.is_empty() {
                self.reservation = None;
            }
            let mut devices = [mine, candidates].concat();
            devices.sort_unstable();
            decisions.push((id, Decision::Start(devices)));
        }
        decisions
    }

    /// Records that run `id` holds `devices` (indices); their specs, in order.
    pub fn hold(&mut self, id: i64, devices: &[usize]) -> Vec<DeviceSpec> {
        devices
            .iter()
            .map(|&index| {
                let device = &mut self.devices[index];
                device.runs.push(id);
                device.spec
            })
            .collect()
    }

    /// Frees every device run `id` holds; a waiting run's reservation keeps them.
    pub fn release(&mut self, id: i64) {
        for (index, device) in self.devices.iter_mut().enumerate() {
            let held = device.runs.len();
            device.runs.retain(|run| *run != id);
            if device.runs.len() < held
                && let Some(reservation) = &mut self.reservation
                && reservation.devices.len() < reservation.wanted
                && !reservation.devices.contains(&index)
            {
                reservation.devices.push(index);
            }
        }
    }

    /// Each device, its memory and the runs on it, for `/api/health`.
    pub fn slots(&self) -> Vec<DeviceSlot> {
        self.devices
            .iter()
            .map(|d| DeviceSlot {
                device: d.spec.to_string(),
                memory_bytes: d.memory,
                runs: d.runs.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(devices: &str, per_device: usize) -> DevicePool {
        DevicePool::new(&devices.parse().unwrap(), &[], per_device)
    }

    /// Schedules `queued` and holds what starts; the runs started, with their devices.
    fn round(pool: &mut DevicePool, queued: &mut Vec<(i64, usize)>) -> Vec<(i64, Vec<usize>)> {
        let mut started = Vec::new();
        for (id, decision) in pool.schedule(queued) {
            if let Decision::Start(devices) = decision {
                pool.hold(id, &devices);
                queued.retain(|(q, _)| *q != id);
                started.push((id, devices));
            }
        }
        started
    }

    #[test]
    fn one_device_runs_fill_the_pool_in_order() {
        let mut pool = pool("wgpu:0,wgpu:1,wgpu:2", 1);
        let mut queue = vec![(1, 1), (2, 1), (3, 1), (4, 1)];
        assert_eq!(
            round(&mut pool, &mut queue),
            [(1, vec![0]), (2, vec![1]), (3, vec![2])]
        );
        assert_eq!(round(&mut pool, &mut queue), []);
        pool.release(2);
        assert_eq!(round(&mut pool, &mut queue), [(4, vec![1])]);
    }

    #[test]
    fn a_run_that_does_not_fit_holds_back_no_smaller_run_behind_it() {
        let mut pool = pool("wgpu:0,wgpu:1,wgpu:2", 1);
        let mut queue = vec![(1, 1)];
        round(&mut pool, &mut queue);
        // Two devices free: the 3-device run waits, the 1-device runs behind it start.
        let mut queue = vec![(2, 3), (3, 1), (4, 1)];
        assert_eq!(round(&mut pool, &mut queue), [(3, vec![1]), (4, vec![2])]);
    }

    #[test]
    fn a_waiting_multi_device_run_is_not_starved_by_a_stream_of_small_ones() {
        let mut pool = pool("wgpu:0,wgpu:1", 1);
        let mut queue = vec![(1, 1)];
        round(&mut pool, &mut queue);
        // Run 2 wants both devices; small runs keep arriving and the oldest running run
        // finishes each round.
        queue = vec![(2, 2), (3, 1)];
        let mut order = Vec::new();
        let mut running = vec![1];
        for next in 4..12 {
            for (id, _) in round(&mut pool, &mut queue) {
                order.push(id);
                running.push(id);
            }
            queue.push((next, 1));
            if !running.is_empty() {
                pool.release(running.remove(0));
            }
        }
        // Run 3 takes the device that was free when run 2 began to wait; every device freed
        // after that is kept for run 2, which starts before any later run.
        assert_eq!(order[..2], [3, 2], "{order:?}");
    }

    #[test]
    fn a_run_asking_for_more_devices_than_the_pool_has_is_named() {
        let mut pool = pool("wgpu:0,wgpu:1", 1);
        assert_eq!(
            pool.schedule(&[(1, 3), (2, 2)]),
            [(1, Decision::TooBig), (2, Decision::Start(vec![0, 1]))]
        );
    }

    #[test]
    fn several_runs_per_device_spread_over_the_freest() {
        let mut pool = pool("wgpu:0,wgpu:1", 2);
        let mut queue = vec![(1, 1), (2, 1), (3, 2), (4, 1)];
        assert_eq!(
            round(&mut pool, &mut queue),
            [(1, vec![0]), (2, vec![1]), (3, vec![0, 1])]
        );
        assert_eq!(queue, [(4, 1)]);
    }

    #[test]
    fn holding_and_releasing_shows_in_the_slots() {
        let mut pool = DevicePool::new(
            &"wgpu:0,wgpu:1,wgpu:2".parse().unwrap(),
            &[Some(1 << 30)],
            1,
        );
        let specs = pool.hold(9, &[0, 2]);
        assert_eq!(specs[1].to_string(), "wgpu:2");
        let slots = pool.slots();
        assert_eq!(
            (slots[0].runs.as_slice(), slots[0].memory_bytes),
            ([9].as_slice(), Some(1 << 30))
        );
        assert!(slots[1].runs.is_empty());
        assert_eq!(pool.schedule(&[(10, 2)]), []);
        pool.release(9);
        assert!(pool.slots().iter().all(|s| s.runs.is_empty()));
    }
}
