//! The run as a GitHub Actions step (issue 18): with `GITHUB_ACTIONS=true`
//! the tool writes `$GITHUB_OUTPUT` (url, revision, changed, plan_file,
//! exit_reason), puts the Markdown plan or the outcome in
//! `$GITHUB_STEP_SUMMARY`, turns config errors into `::error` annotations
//! on the file, line and column, warnings into `::warning`, and folds long
//! phases in `::group::` blocks. `--ci none` turns it off, `--ci github` on.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::harness::*;

/// The files a runner gives a step, in the harness's temp dir.
pub(crate) struct Step {
    pub output: PathBuf,
    pub summary: PathBuf,
}

impl Step {
    pub(crate) fn new(h: &Harness, name: &str) -> Step {
        Step {
            output: h.dir.path().join(format!("{name}.output")),
            summary: h.dir.path().join(format!("{name}.summary.md")),
        }
    }

    /// The runner's variables for this step.
    fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GITHUB_ACTIONS", "true".to_string()),
            ("GITHUB_OUTPUT", self.output.display().to_string()),
            ("GITHUB_STEP_SUMMARY", self.summary.display().to_string()),
        ]
    }

    pub(crate) async fn run(&self, h: &Harness, args: &[&str]) -> Run {
        let vars = self.vars();
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        h.run_with(args, &vars).await
    }

    /// `$GITHUB_OUTPUT` parsed as the runner parses it: `name=value`, or
    /// `name<<DELIM` ... `DELIM`.
    pub(crate) fn outputs(&self) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        parse_outputs(&text)
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(&self.summary).unwrap_or_default()
    }
}

pub(crate) fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        } else {
            panic!("not an output line: {line:?} in\n{text}");
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_writes_outputs_the_markdown_summary_and_the_plan_file() {
    let h = Harness::start_staging(staging_world().build()).await;
    let step = Step::new(&h, "plan");
    let file = h.dir.path().join("plan.json");
    let file = file.to_str().unwrap();
    let run = step
        .run(&h, &["plan", "--env", "staging", "--out", file])
        .await;
    run.assert_code(0);
    let outputs = step.outputs();
    assert_eq!(outputs["changed"], "true", "{outputs:?}");
    assert_eq!(outputs["plan_file"], file, "{outputs:?}");
    assert_eq!(outputs["exit_reason"], "success", "{outputs:?}");
    assert!(
        !outputs.contains_key("revision"),
        "a plan makes no revision"
    );
    // The summary is the Markdown plan, exactly as `--output markdown` prints it.
    let markdown = h
        .run(&["plan", "--env", "staging", "--output", "markdown"])
        .await;
    markdown.assert_code(0);
    assert_eq!(step.summary(), markdown.stdout);
    // Stdout stays the plan: no workflow command in it.
    assert!(!run.stdout.contains("::"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_writes_the_url_and_revision_and_folds_its_phases() {
    let h = Harness::start_staging(staging_world().build()).await;
    let step = Step::new(&h, "deploy");
    let run = step.run(&h, &["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    let outputs = step.outputs();
    let service = h.emulator.service(SERVICE).expect("deployed");
    let revision = service["latestReadyRevision"].as_str().unwrap();
    let revision = revision.rsplit('/').next().unwrap();
    assert_eq!(outputs["revision"], revision, "{outputs:?}");
    assert_eq!(outputs["url"], service["uri"].as_str().unwrap());
    assert_eq!(outputs["changed"], "true");
    assert_eq!(outputs["exit_reason"], "success");
    let summary = step.summary();
    assert!(summary.contains("— deployed"), "{summary}");
    assert!(summary.contains(revision), "{summary}");
    for fold in ["::group::Reading live state", "::group::Applying the plan"] {
        run.assert_stderr_contains(fold);
    }
    assert_eq!(
        run.stderr.matches("::group::").count(),
        run.stderr.matches("::endgroup::").count(),
        "{}",
        run.stderr
    );

    // Again: nothing to change, said in the outputs.
    let again = Step::new(&h, "again");
    again
        .run(&h, &["deploy", "--env", "staging"])
        .await
        .assert_code(0);
    let outputs = again.outputs();
    assert_eq!(outputs["changed"], "false", "{outputs:?}");
    assert_eq!(outputs["url"], service["uri"].as_str().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_config_is_an_error_annotation_on_its_line_and_column() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config(
        "staging",
        &staging().replace("memory: 16Gi", "memory: 16GB"),
    );
    for args in [
        &["plan", "--env", "staging"][..],
        &["validate", "--env", "staging"][..],
    ] {
        let step = Step::new(&h, args[0]);
        let run = step.run(&h, args).await;
        run.assert_code(2);
        // Where the plain error line says it is.
        let file = h.config_dir().join("staging.yaml").display().to_string();
        let line = staging()
            .lines()
            .position(|l| l.contains("memory: 16Gi"))
            .unwrap()
            + 1;
        let col = staging()
            .lines()
            .nth(line - 1)
            .unwrap()
            .find("16Gi")
            .unwrap()
            + 1;
        let plain = format!("{file}:{line}:{col}: service.memory:");
        assert!(run.stderr.contains(&plain), "{args:?}: {}", run.stderr);
        let annotation = format!(
            "::error file={},line={line},col={col},title=service.memory::",
            file.replace(':', "%3A").replace(',', "%2C")
        );
        assert_eq!(
            run.stderr.matches(&annotation).count(),
            1,
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(step.outputs()["exit_reason"], "config");
        assert!(h.journal().is_empty(), "nothing sent");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ci_none_writes_nothing_and_ci_github_works_off_github() {
    let h = Harness::start_staging(staging_world().build()).await;
    let step = Step::new(&h, "off");
    let run = step
        .run(&h, &["plan", "--env", "staging", "--ci", "none"])
        .await;
    run.assert_code(0);
    assert!(!step.output.exists() && !step.summary.exists());
    assert!(!run.stderr.contains("::"), "{}", run.stderr);

    let step = Step::new(&h, "forced");
    let vars = step.vars();
    let vars: Vec<(&str, &str)> = vars
        .iter()
        .map(|(k, v)| match *k {
            "GITHUB_ACTIONS" => (*k, UNSET),
            _ => (*k, v.as_str()),
        })
        .collect();
    let run = h
        .run_with(&["plan", "--env", "staging", "--ci", "github"], &vars)
        .await;
    run.assert_code(0);
    assert_eq!(step.outputs()["changed"], "true");
}

/// A run over several targets: `targets` is one line of JSON (what
/// `fromJSON` takes) with each target's status, URL and revision; `changed`
/// says whether any target changed; `url` and `revision` are per target, so
/// not set alone; the summary is the run's Markdown, a heading per target.
#[tokio::test(flavor = "multi_thread")]
async fn several_targets_write_a_targets_output_and_one_summary() {
    let h = Harness::start(staging_world().build()).await;
    let two_regions = staging().replace(
        "region: us-central1\n",
        "regions: [us-central1, europe-west1]\n",
    );
    h.write_config("staging", &two_regions);

    let plan = Step::new(&h, "plan");
    plan.run(&h, &["plan", "--env", "staging"])
        .await
        .assert_code(0);
    let outputs = plan.outputs();
    assert_eq!(outputs["changed"], "true", "{outputs:?}");
    let targets: serde_json::Value = serde_json::from_str(&outputs["targets"]).unwrap();
    let names: Vec<&str> = targets
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["staging/us-central1", "staging/europe-west1"]);
    assert!(!outputs["targets"].contains('\n'), "one line for fromJSON");
    let markdown = h
        .run(&["plan", "--env", "staging", "--output", "markdown"])
        .await;
    assert_eq!(plan.summary(), markdown.stdout);

    let deploy = Step::new(&h, "deploy");
    deploy
        .run(&h, &["deploy", "--env", "staging"])
        .await
        .assert_code(0);
    let outputs = deploy.outputs();
    assert_eq!(outputs["changed"], "true", "{outputs:?}");
    assert_eq!(outputs["exit_reason"], "success", "{outputs:?}");
    assert!(!outputs.contains_key("url") && !outputs.contains_key("revision"));
    let targets: serde_json::Value = serde_json::from_str(&outputs["targets"]).unwrap();
    for (t, region) in targets
        .as_array()
        .unwrap()
        .iter()
        .zip(["us-central1", "europe-west1"])
    {
        let name = format!("projects/{PROJECT}/locations/{region}/services/autosre");
        let service = h.emulator.service(&name).expect("deployed");
        let revision = service["latestReadyRevision"].as_str().unwrap();
        assert_eq!(t["status"], "done", "{t}");
        assert_eq!(t["changed"], true, "{t}");
        assert_eq!(t["url"], service["uri"], "{t}");
        assert_eq!(t["revision"], revision.rsplit('/').next().unwrap(), "{t}");
    }
    let summary = deploy.summary();
    assert!(
        summary.starts_with("## autosre-deploy deploy: 2 targets"),
        "{summary}"
    );
}
