//! What one run's SLURM job is: the `sbatch` arguments (name, directory, output file, partition,
//! account, time limit, GPUs, requeue) and the job script, `runs/<id>/slurm.sh`, which runs
//! `lethe worker runs/<id>` on the compute node with the server's places.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use engine::{DeviceSpec, Devices};

use crate::config::ServeArgs;
use crate::runner::Places;

/// How the server's jobs are submitted (from `lethe serve --executor slurm --slurm-…`).
#[derive(Debug, Clone, Default)]
pub struct JobSettings {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--time`.
    pub time: Option<String>,
    /// `--gres`, with `{n}` for the run's device count; `None`: no generic resources.
    pub gres: Option<String>,
    /// More `sbatch` arguments, as given.
    pub extra: Vec<String>,
    /// `--requeue` (else `--no-requeue`).
    pub requeue: bool,
    /// The `lethe` binary the nodes run.
    pub lethe: PathBuf,
    /// The worker's flags besides the directory and devices (the server's places).
    pub worker_args: Vec<String>,
}

/// The name of run `id`'s job (`squeue -n lethe-<id>`).
pub fn job_name(id: i64) -> String {
    format!("lethe-{id}")
}

/// `'text'` for `sh`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The devices a job asking for `count` uses on its node, of `backend`: a GPU job gets the
/// first `count` of the GPUs SLURM gave it (SLURM renumbers them from 0).
pub fn node_devices(backend: DeviceSpec, count: usize) -> anyhow::Result<Devices> {
    let list = match backend {
        DeviceSpec::Cpu if count == 1 => "cpu".to_string(),
        DeviceSpec::Cpu => anyhow::bail!(
            "trainer.devices: a job on the CPU uses one device ({count} asked); start the server \
             with --devices cuda (or wgpu) to split models over a node's GPUs"
        ),
        DeviceSpec::Wgpu(_) if count == 1 => "wgpu".to_string(),
        DeviceSpec::Wgpu(_) => (0..count)
            .map(|i| format!("wgpu:{i}"))
            .collect::<Vec<_>>()
            .join(","),
        DeviceSpec::Cuda(_) => (0..count)
            .map(|i| format!("cuda:{i}"))
            .collect::<Vec<_>>()
            .join(","),
    };
    Ok(list.parse()?)
}

impl JobSettings {
    /// The settings `lethe serve --executor slurm` was given: the `--slurm-*` flags, this binary
    /// (or `--slurm-lethe`), and the server's places as the worker's flags, as absolute paths.
    pub fn from_args(args: &ServeArgs, places: &Places) -> anyhow::Result<Self> {
        let absolute = |path: &Path| -> anyhow::Result<String> {
            Ok(std::path::absolute(path)
                .with_context(|| format!("{}: no absolute path", path.display()))?
                .to_string_lossy()
                .into_owned())
        };
        let flags = &args.executor;
        let mut worker_args = vec!["--data-dir".to_string(), absolute(&args.places.data_dir)?];
        for root in &args.places.model_roots {
            worker_args.extend(["--model-root".to_string(), absolute(root)?]);
        }
        match (&args.places.tofu_dir, &places.tofu_dir) {
            (Some(hub), _) if hub.as_os_str() == "hub" => {
                worker_args.extend(["--tofu-dir".to_string(), "hub".to_string()]);
            }
            (_, Some(dir)) => worker_args.extend(["--tofu-dir".to_string(), absolute(dir)?]),
            (_, None) => {}
        }
        for root in &args.places.data_roots {
            worker_args.extend(["--data-root".to_string(), absolute(root)?]);
        }
        if args.fake_executor {
            worker_args.extend([
                "--fake-executor".to_string(),
                "--fake-steps".to_string(),
                args.fake_steps.to_string(),
            ]);
        }
        let lethe = match &flags.slurm_lethe {
            Some(path) => path.clone(),
            None => std::env::current_exe().context("finding this lethe binary")?,
        };
        Ok(Self {
            partition: flags.slurm_partition.clone(),
            account: flags.slurm_account.clone(),
            time: flags.slurm_time.clone(),
            gres: (flags.slurm_gres != "none" && !flags.slurm_gres.is_empty())
                .then(|| flags.slurm_gres.clone()),
            extra: flags.slurm_args.clone(),
            requeue: flags.slurm_requeue,
            lethe,
            worker_args,
        })
    }

    /// The `sbatch` arguments of run `id`'s job, whose directory is `dir`, on `devices`.
    pub fn sbatch_args(&self, id: i64, dir: &Path, devices: &Devices) -> Vec<String> {
        let mut args = vec![
            format!("--job-name={}", job_name(id)),
            format!("--chdir={}", dir.display()),
            format!("--output={}", dir.join("slurm-%j.out").display()),
            if self.requeue {
                "--requeue".into()
            } else {
                "--no-requeue".into()
            },
        ];
        for (flag, value) in [
            ("partition", &self.partition),
            ("account", &self.account),
            ("time", &self.time),
        ] {
            if let Some(value) = value {
                args.push(format!("--{flag}={value}"));
            }
        }
        if let Some(gres) = &self.gres
            && devices.first() != DeviceSpec::Cpu
        {
            args.push(format!(
                "--gres={}",
                gres.replace("{n}", &devices.len().to_string())
            ));
        }
        args.extend(self.extra.iter().cloned());
        args
    }

    /// The job script of run `id`.
    pub fn script(&self, id: i64, dir: &Path, devices: &Devices) -> String {
        let mut text = format!(
            "#!/bin/sh\n# Lethe run {id}, written by `lethe serve --executor slurm`, submitted with\n\
             #   sbatch"
        );
        for arg in self.sbatch_args(id, dir, devices) {
            let _ = write!(text, " {}", quote(&arg));
        }
        let _ = write!(
            text,
            " slurm.sh\n# The worker writes the run's files into this directory; the server follows \
             them.\nexec {} worker {} --devices {}",
            quote(&self.lethe.to_string_lossy()),
            quote(&dir.to_string_lossy()),
            quote(&devices.to_string())
        );
        for arg in &self.worker_args {
            let _ = write!(text, " {}", quote(arg));
        }
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> JobSettings {
        JobSettings {
            partition: Some("gpu".into()),
            account: None,
            time: Some("04:00:00".into()),
            gres: Some("gpu:{n}".into()),
            extra: vec!["--qos=high".into()],
            requeue: true,
            lethe: "/shared/lethe/lethe".into(),
            worker_args: vec!["--data-dir".into(), "/shared/it's data".into()],
        }
    }

    #[test]
    fn a_two_gpu_job_asks_for_two_gpus_and_runs_the_worker_on_them() {
        let devices = node_devices(DeviceSpec::Cuda(0), 2).unwrap();
        assert_eq!(devices.to_string(), "cuda:0,cuda:1");
        let dir = Path::new("/shared/data/runs/7");
        let args = settings().sbatch_args(7, dir, &devices);
        assert_eq!(
            args,
            [
                "--job-name=lethe-7",
                "--chdir=/shared/data/runs/7",
                "--output=/shared/data/runs/7/slurm-%j.out",
                "--requeue",
                "--partition=gpu",
                "--time=04:00:00",
                "--gres=gpu:2",
                "--qos=high",
            ]
        );
        let script = settings().script(7, dir, &devices);
        assert!(script.starts_with("#!/bin/sh\n"), "{script}");
        assert!(
            script.contains(
                "exec '/shared/lethe/lethe' worker '/shared/data/runs/7' --devices \
                 'cuda:0,cuda:1' '--data-dir' '/shared/it'\\''s data'\n"
            ),
            "{script}"
        );
    }

    #[test]
    fn cpu_jobs_take_no_gpus_and_one_device() {
        let cpu = node_devices(DeviceSpec::Cpu, 1).unwrap();
        let args = settings().sbatch_args(1, Path::new("/d"), &cpu);
        assert!(!args.iter().any(|a| a.starts_with("--gres")), "{args:?}");
        let error = node_devices(DeviceSpec::Cpu, 2).unwrap_err().to_string();
        assert!(error.starts_with("trainer.devices"), "{error}");
    }
}
