//! A Slurm job-array script for a study: one array task per job (`relarc job`), and a
//! dependent step that collects the table when the array has ended.

use std::fmt::Write as _;
use std::path::Path;

use super::plan::Study;

/// What each array task asks Slurm for.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    pub cpus: usize,
    /// Slurm's --mem, e.g. 8G.
    pub mem: String,
    /// Slurm's --time, e.g. 04:00:00.
    pub time: String,
    pub partition: Option<String>,
    /// GPUs per task (--gres=gpu:N).
    pub gpus: usize,
}

/// The script, to be submitted with `sbatch` from any folder: it changes to `workdir`, and
/// the relarc binary is `relarc` (absolute, so compute nodes need the same path).
pub fn script(study: &Study, plan: &Path, relarc: &Path, workdir: &Path, res: &Resources) -> String {
    let mut s = String::from("#!/bin/bash\n");
    let rung0 = study.jobs.iter().filter(|j| j.rung == 0).count();
    let name = format!("relarc-{:?}", study.kind).to_lowercase();
    let _ = writeln!(s, "#SBATCH --job-name={name}");
    let _ = writeln!(s, "#SBATCH --array=0-{}", rung0.saturating_sub(1));
    let _ = writeln!(s, "#SBATCH --cpus-per-task={}", res.cpus.max(1));
    let _ = writeln!(s, "#SBATCH --mem={}", res.mem);
    let _ = writeln!(s, "#SBATCH --time={}", res.time);
    if let Some(p) = &res.partition {
        let _ = writeln!(s, "#SBATCH --partition={p}");
    }
    if res.gpus > 0 {
        let _ = writeln!(s, "#SBATCH --gres=gpu:{}", res.gpus);
    }
    let _ = writeln!(
        s,
        "#SBATCH --output={}/slurm-%A_%a.out",
        study.out.join("logs").display()
    );
    let _ = writeln!(s, "#SBATCH --chdir={}", quote(workdir));
    let _ = writeln!(
        s,
        "# {} jobs from {} (written by: {})",
        study.jobs.len(),
        plan.display(),
        study.command
    );
    s += "set -euo pipefail\n";
    let _ = writeln!(s, "RELARC={}", quote(relarc));
    let _ = writeln!(s, "PLAN={}", quote(plan));
    s += "RUNG=${RELARC_RUNG:-0}\n";
    s += &next_step(study);
    s += "# The task's index in its rung's array is its job index in the plan, after the rungs before.\n";
    s += "OFFSET=${RELARC_OFFSET:-0}\n";
    s += "export RELARC_THREADS=${SLURM_CPUS_PER_TASK:-1}\n";
    s += "exec \"$RELARC\" job \"$PLAN\" --index $((OFFSET + SLURM_ARRAY_TASK_ID))\n";
    s
}

/// The lowest task of each rung's array submits what depends on the array: the next rung
/// (after all of this one succeeded) or, after the last, `relarc collect` (whatever ended).
fn next_step(study: &Study) -> String {
    let rungs = study.rungs();
    let mut s = String::from(
        "if [ \"${SLURM_ARRAY_TASK_ID}\" = \"${SLURM_ARRAY_TASK_MIN:-0}\" ]; then\n  case \"$RUNG\" in\n",
    );
    let mut offset = 0;
    for rung in 0..rungs {
        let here = study.jobs.iter().filter(|j| j.rung == rung).count();
        offset += here;
        if rung + 1 < rungs {
            let next = study.jobs.iter().filter(|j| j.rung == rung + 1).count();
            let _ = writeln!(
                s,
                "    {rung}) sbatch --array=0-{} --dependency=afterok:${{SLURM_ARRAY_JOB_ID}} --export=ALL,RELARC_RUNG={},RELARC_OFFSET={offset} \"$0\" ;;",
                next.saturating_sub(1),
                rung + 1
            );
        } else {
            let _ = writeln!(
                s,
                "    {rung}) sbatch --job-name=relarc-collect --dependency=afterany:${{SLURM_ARRAY_JOB_ID}} --output={}/slurm-collect-%j.out --wrap=\"$RELARC collect $PLAN\" ;;",
                study.out.join("logs").display()
            );
        }
    }
    s += "  esac\nfi\n";
    s
}

/// A path as one shell word.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}
