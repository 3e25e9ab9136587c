//! Studies (ablate, search) as plans of independent jobs: run here, job by job, and as a
//! Slurm job array on a single-node cluster started for the test.

use std::path::{Path, PathBuf};

use relarc::corpus::Corpus;

use crate::common;
use crate::common::read_json;

struct Tiny {
    tmp: tempfile::TempDir,
    train: String,
    dev: String,
}

impl Tiny {
    fn new(data: &Path) -> Tiny {
        let tmp = tempfile::tempdir().unwrap();
        let slice = |name: &str, n: usize| {
            let mut c = Corpus::load(&data.join("conll04").join(name)).unwrap();
            c.sentences.retain(|s| s.tokens.len() <= 25);
            c.sentences.truncate(n);
            let out = tmp.path().join(name);
            c.save(&out).unwrap();
            out.to_str().unwrap().to_string()
        };
        Tiny {
            train: slice("train.json", 24),
            dev: slice("dev.json", 12),
            tmp,
        }
    }

    /// `command` with the preset and the train and dev files, then `more`.
    fn args(&self, command: &str, more: &[&str]) -> Vec<String> {
        let mut args = vec![
            command,
            "--preset",
            "conll04-learned",
            "--train",
            &self.train,
            "--dev",
            &self.dev,
        ];
        args.extend(more);
        strings(&args)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// A two-configuration search of one epoch each, one thread, into `out`.
    fn search(&self, out: &str, more: &[&str]) -> Vec<String> {
        let out = self.path(out);
        let mut args = vec!["search", "--preset", "conll04-learned", "--train", &self.train];
        args.extend(["--dev", &self.dev, "--shared", "1", "--ner", "0..1", "--re", "1"]);
        args.extend([
            "--trials",
            "1",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--threads",
            "1",
        ]);
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend(more);
        args.into_iter().map(String::from).collect()
    }
}

/// relarc run with no job index in its environment, whatever the test runner's.
fn unindexed<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    common::relarc()
        .args(args)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap()
}

fn ok(args: &[String]) -> (String, String) {
    let out = unindexed(args);
    let (o, e) = (common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "relarc {args:?} failed:\n{e}");
    (o, e)
}

fn fails(args: &[&str]) -> String {
    let out = unindexed(args);
    assert!(!out.status.success(), "relarc {args:?} should fail");
    common::stderr(&out)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The table's rows: the lines that start with "|".
fn table(markdown: &str) -> String {
    markdown
        .lines()
        .filter(|l| l.starts_with('|'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_plan_run_job_by_job_gives_the_table_of_a_run_here() {
    let Some(data) = common::data_dir() else { return };
    let t = Tiny::new(&data);
    let (here, _) = ok(&t.search("here", &[]));
    assert!(here.contains("| 1 | 1 |"), "{here}");
    assert!(here.contains("Best configuration: shared 1, NER"), "{here}");
    assert!(
        here.contains("after the relation threshold θr was chosen on dev"),
        "{here}"
    );
    assert!(
        here.contains("micro F1 at the θr the configurations train with (0.9)"),
        "{here}"
    );
    // One epoch each: halving, replayed on the grid's histories, must pick the grid's best.
    assert!(
        here.contains("best configuration in 1 of 1 cases (seed 42: halving picks shared 1, NER"),
        "{here}"
    );
    let best = read_json(t.path("here/best_config.json"));
    assert_eq!(best["shared_layers"], 1);

    let plan = t.path("plan.json");
    let plan_s = plan.to_str().unwrap();
    let (_, err) = ok(&t.search("planned", &["--plan-only", plan_s]));
    assert!(err.contains("2 jobs planned"), "{err}");
    let (table0, _) = ok(&strings(&["collect", plan_s]));
    assert!(
        table0.contains("0 of 2 jobs finished; missing: job 0"),
        "{table0}"
    );

    ok(&strings(&["job", plan_s, "--index", "0"]));
    let (table1, _) = ok(&strings(&["collect", plan_s]));
    assert!(
        table1.contains("1 of 2 jobs finished; missing: job 1 (shared 1, NER 1, RE 1, trial 0)"),
        "{table1}"
    );

    // A finished job is never run again.
    let study = read_json(&plan);
    let job0 = PathBuf::from(study["jobs"][0]["out"].as_str().unwrap()).join("result.json");
    let written = std::fs::metadata(&job0).unwrap().modified().unwrap();
    let (_, again) = ok(&strings(&["job", plan_s, "--index", "0"]));
    assert!(again.contains("finished before: kept"), "{again}");
    assert_eq!(std::fs::metadata(&job0).unwrap().modified().unwrap(), written);

    // A half-finished job starts over in an emptied folder; the index can come from Slurm.
    let job1 = PathBuf::from(study["jobs"][1]["out"].as_str().unwrap());
    std::fs::create_dir_all(job1.join("model")).unwrap();
    std::fs::write(job1.join("model/left-by-a-killed-run"), "x").unwrap();
    let out = common::relarc()
        .args(["job", plan_s])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(!job1.join("model/left-by-a-killed-run").exists());

    let (planned, _) = ok(&strings(&["collect", plan_s]));
    assert!(!planned.contains("missing"), "{planned}");
    assert_eq!(
        table(&planned),
        table(&here),
        "the same seeds give the same table"
    );

    let err = fails(&["job", plan_s, "--index", "5"]);
    assert!(
        err.contains("job index 5 is not in the plan (it has jobs 0 to 1)"),
        "{err}"
    );
    let err = fails(&["job", plan_s]);
    assert!(err.contains("SLURM_ARRAY_TASK_ID"), "{err}");
}

#[test]
fn ablation_variants_are_matched_to_the_baselines_parameters() {
    let Some(data) = common::data_dir() else { return };
    let t = Tiny::new(&data);
    let plan = t.path("ablate.json");
    let args = t.args("ablate", &["--plan-only", plan.to_str().unwrap()]);
    let (_, err) = ok(&args);
    assert!(err.contains("no RE-specific"), "{err}");
    let study = read_json(&plan);
    let groups = study["groups"].as_array().unwrap();
    let layers: Vec<(&str, u64, u64, u64)> = groups
        .iter()
        .map(|g| {
            let n = |k: &str| g[k].as_u64().unwrap();
            (g["name"].as_str().unwrap(), n("shared"), n("ner"), n("re"))
        })
        .collect();
    // Table 1's CoNLL04 column is 1 shared, 1 NER-specific and 2 RE-specific layers; every
    // layer after the first has the same size, so the removed ones move into the shared part.
    assert_eq!(
        layers,
        vec![
            ("baseline", 1, 1, 2),
            ("no NER-specific", 2, 0, 2),
            ("no RE-specific", 3, 1, 0),
            ("no task-specific", 4, 0, 0),
        ]
    );
    let params: Vec<u64> = groups.iter().map(|g| g["parameters"].as_u64().unwrap()).collect();
    assert!(params.iter().all(|&p| p == params[0]), "{params:?}");
    // Three trials of each, seeds 42 to 44, in folders of their own.
    let jobs = study["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 12);
    let seeds: std::collections::BTreeSet<u64> = jobs.iter().map(|j| j["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds.into_iter().collect::<Vec<_>>(), vec![42, 43, 44]);
    let folders: std::collections::BTreeSet<&str> = jobs.iter().map(|j| j["out"].as_str().unwrap()).collect();
    assert_eq!(folders.len(), 12);
}

#[test]
fn halving_rungs_wait_for_the_rung_before() {
    let Some(data) = common::data_dir() else { return };
    let t = Tiny::new(&data);
    let plan = t.path("halving.json");
    let mut args = t.search("halving", &["--plan-only", plan.to_str().unwrap()]);
    let mut set = |flag: &str, value: &str| {
        let at = args.iter().position(|a| a == flag).unwrap();
        args[at + 1] = value.into();
    };
    set("--shared", "1..2");
    set("--epochs", "4");
    args.extend(strings(&["--strategy", "halving"]));
    ok(&args);
    let study = read_json(&plan);
    let jobs = study["jobs"].as_array().unwrap();
    // Four configurations for 1 epoch, the best two for 2, the best one for 4.
    let rungs: Vec<(u64, u64)> = jobs
        .iter()
        .map(|j| (j["rung"].as_u64().unwrap(), j["epochs"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        rungs,
        vec![(0, 1), (0, 1), (0, 1), (0, 1), (1, 2), (1, 2), (2, 4)]
    );
    let err = fails(&["job", plan.to_str().unwrap(), "--index", "4"]);
    assert!(
        err.contains("rung 1 needs rung 0 finished first: 4 of its jobs have no result yet"),
        "{err}"
    );
}

/// Slurm's tools and root (slurmd runs jobs as their users), or why the test is skipped.
fn slurm_missing() -> Option<String> {
    let have = |tool: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Some(tool) = ["munged", "slurmctld", "slurmd", "sbatch"]
        .into_iter()
        .find(|t| !have(t))
    {
        return Some(format!(
            "{tool} is not installed (apt-get install slurm-wlm munge)"
        ));
    }
    let root = std::process::Command::new("id").arg("-u").output().unwrap();
    (common::stdout(&root).trim() != "0").then(|| "slurmd needs root".into())
}

#[test]
fn a_study_runs_as_a_slurm_job_array_and_collects_the_same_table() {
    let Some(data) = common::data_dir() else { return };
    if let Some(why) = slurm_missing() {
        eprintln!("skipped: {why}");
        return;
    }
    let t = Tiny::new(&data);
    let (here, _) = ok(&t.search("here", &[]));
    let (script, _) = ok(&t.search(
        "slurm",
        &[
            "--emit", "slurm", "--cpus", "1", "--mem", "1G", "--time", "00:20:00",
        ],
    ));
    assert!(script.contains("#SBATCH --array=0-1"), "{script}");
    assert!(script.contains("job \"$PLAN\" --index"), "{script}");
    let sbatch = t.path("study.sbatch");
    std::fs::write(&sbatch, &script).unwrap();
    // The array, then the collect step it submitted, run through.
    let wait = format!(
        "sbatch --wait {} && while [ -n \"$(squeue -h)\" ]; do sleep 1; done",
        sbatch.display()
    );
    let cluster = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm_local.sh");
    let out = std::process::Command::new(cluster)
        .args(["bash", "-c", &wait])
        .current_dir(t.tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        common::stdout(&out),
        common::stderr(&out)
    );
    let by_slurm = std::fs::read_to_string(t.path("slurm/study_table.md")).expect("the collect step ran");
    assert_eq!(table(&by_slurm), table(&here));
    assert!(!by_slurm.contains("missing"), "{by_slurm}");
}

#[test]
fn a_halving_search_over_cv_folds_runs_here_rung_after_rung() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let folds = tmp.path().join("folds");
    std::fs::create_dir(&folds).unwrap();
    let mut c = Corpus::load(&data.join("ade/split_0_train.json")).unwrap();
    c.sentences.truncate(30);
    c.save(&folds.join("split_0_train.json")).unwrap();
    let out = tmp.path().join("halving");
    let mut args = vec![
        "search",
        "--preset",
        "ade-learned",
        "--folds",
        folds.to_str().unwrap(),
    ];
    args.extend([
        "--shared", "1", "--ner", "0..1", "--re", "1", "--trials", "1", "--epochs", "2",
    ]);
    args.extend([
        "--strategy",
        "halving",
        "--threshold",
        "0.5",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (table, err) = ok(&strings(&args));
    // Two configurations for one epoch, then the better one for two.
    assert!(err.contains("2 configurations, 3 jobs"), "{err}");
    let report = read_json(out.join("study_report.json"));
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows[0]["rung"], 1, "{table}");
    assert_eq!(rows[1]["rung"], 0, "{table}");
    assert_eq!(report["winner"], rows[0]["name"]);
    // Each job held out the same seeded 10% (3 of 30 sentences) of fold 0 as its dev part.
    let result = read_json(out.join("jobs/002-rung-1-rank-0-fold-0-trial-0/result.json"));
    assert_eq!(result["job"]["data"]["fold"], 0);
    assert_eq!(result["job"]["epochs"], 2);
    assert!(out.join("best_config.json").exists());
    // θr was given, so it was not chosen on dev: the table says which θr its F1 is at.
    assert!(table.contains("at the relation threshold θr given"), "{table}");
}

#[test]
fn affinity_compares_every_layer_and_suggests_a_split() {
    let Some(data) = common::data_dir() else { return };
    let t = Tiny::new(&data);
    let out = t.path("affinity");
    let mut more = vec![
        "--epochs", "1", "--depth", "2", "--tokens", "100", "--device", "cpu",
    ];
    more.extend(["--out", out.to_str().unwrap()]);
    let args = t.args("affinity", &more);
    let (table, _) = ok(&args);
    assert!(table.contains("| 2 |"), "{table}");
    let report = read_json(out.join("affinity.json"));
    let layers: Vec<f64> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(layers.len(), 2);
    assert!(layers.iter().all(|x| (-1.0..=1.0).contains(x)), "{layers:?}");
    assert_eq!(report["tokens"], 100);
    let shared = report["suggested_shared"].as_u64().unwrap();
    assert!((1..=2).contains(&shared));
    assert_eq!(report["suggested"][1].as_u64().unwrap(), 2 - shared);
}
