//! The CI files shipped in the repository hold up: `action.yml` uses every
//! input it declares and offers exactly the outputs the tool writes, and
//! every `autosre-deploy` command line in `action.yml` and `examples/`
//! names commands and flags that exist (each checked against that
//! command's `--help`).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::ci::Step;
use crate::harness::*;

fn repo_file(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn yaml(path: &str) -> Value {
    serde_saphyr::from_str(&repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Check that `line` (the words after `autosre-deploy`) names a command
/// and only flags that command's `--help` lists.
async fn assert_command_exists(file: &str, line: &[String]) {
    let command: Vec<&str> = line
        .iter()
        .map(String::as_str)
        .take_while(|w| !w.starts_with('-'))
        .collect();
    assert!(!command.is_empty(), "{file}: no command in {line:?}");
    let mut args = command.clone();
    args.push("--help");
    let help = run_in_process(&args, autosre_deploy::Env::default()).await;
    assert_eq!(
        help.code,
        0,
        "{file}: `{}`: {}",
        command.join(" "),
        help.all()
    );
    for flag in line.iter().filter(|w| w.starts_with("--")) {
        let flag = flag.split('=').next().unwrap();
        assert!(
            help.stdout.contains(&format!("{flag} ")) || help.stdout.contains(&format!("{flag}\n")),
            "{file}: `autosre-deploy {}` has no {flag}:\n{}",
            command.join(" "),
            help.stdout
        );
    }
}

/// The words after `autosre-deploy` on each line of a shell script that runs it.
fn script_lines(script: &str) -> Vec<Vec<String>> {
    script
        .lines()
        .filter_map(|l| l.trim().strip_prefix("autosre-deploy "))
        .map(|rest| rest.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// The command line the action runs for a step's `with:` (as `action.yml`'s
/// script builds it).
fn action_line(with: &Value) -> Vec<String> {
    let get = |k: &str| with[k].as_str().unwrap_or("").to_string();
    let command = get("command");
    let mut line = vec![command.clone()];
    for (input, flag) in [("env", "--env"), ("image", "--image")] {
        if !get(input).is_empty() {
            line.extend([flag.to_string(), get(input)]);
        }
    }
    if !get("plan-file").is_empty() {
        let flag = if command == "plan" { "--out" } else { "--plan" };
        line.extend([flag.to_string(), get("plan-file")]);
    }
    line.push("--ci".into());
    line.push("github".into());
    line
}

#[tokio::test(flavor = "multi_thread")]
async fn the_action_uses_its_inputs_and_offers_what_the_tool_writes() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let steps_text = serde_json::to_string(steps).unwrap();
    let inputs = action["inputs"].as_object().expect("inputs");
    for name in [
        "command",
        "env",
        "image",
        "plan-file",
        "working-directory",
        "version",
    ] {
        assert!(inputs.contains_key(name), "input `{name}` missing");
    }
    for name in inputs.keys() {
        assert!(
            steps_text.contains(&format!("inputs.{name} ")),
            "input `{name}` is declared but no step uses it"
        );
    }
    // The script that runs the tool passes what its `--help` lists.
    let run = steps
        .iter()
        .find(|s| s["id"] == "run")
        .expect("a step with id `run`");
    let script = run["run"].as_str().unwrap();
    assert!(script.contains("--ci github"), "{script}");
    for (command, flags) in [
        ("plan", ["--env", "--image", "--out", "--ci"]),
        ("deploy", ["--env", "--image", "--plan", "--ci"]),
    ] {
        for flag in flags {
            assert!(script.contains(flag), "{flag} not in {script}");
        }
        let line: Vec<String> = std::iter::once(command)
            .chain(flags)
            .map(str::to_string)
            .collect();
        assert_command_exists("action.yml", &line).await;
    }

    // What the tool writes to $GITHUB_OUTPUT over a plan --out and a deploy.
    let h = Harness::start_staging(staging_world().build()).await;
    let mut written = BTreeSet::new();
    let file = h.dir.path().join("plan.json").display().to_string();
    for (name, args) in [
        ("plan", vec!["plan", "--env", "staging", "--out", &file]),
        ("deploy", vec!["deploy", "--plan", &file]),
    ] {
        let step = Step::new(&h, name);
        step.run(&h, &args).await.assert_code(0);
        written.extend(step.outputs().into_keys());
    }
    let offered: BTreeSet<String> = action["outputs"]
        .as_object()
        .expect("outputs")
        .iter()
        .map(|(name, o)| {
            assert_eq!(
                o["value"],
                format!("${{{{ steps.run.outputs.{name} }}}}"),
                "output `{name}`"
            );
            name.clone()
        })
        .collect();
    assert_eq!(offered, written, "the action's outputs are the tool's");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_pipelines_run_commands_and_flags_that_exist() {
    // GitHub Actions: `run:` scripts, and each use of the action.
    let workflow = yaml("examples/github-actions.yml");
    let mut lines = Vec::new();
    let mut uses_auth = false;
    for (_, job) in workflow["jobs"].as_object().expect("jobs") {
        for step in job["steps"].as_array().expect("steps") {
            if let Some(script) = step["run"].as_str() {
                lines.extend(script_lines(script));
            }
            let uses = step["uses"].as_str().unwrap_or("");
            uses_auth |= uses.starts_with("google-github-actions/auth@");
            if uses.contains("/autosre-deploy@") {
                lines.push(action_line(&step["with"]));
            }
        }
    }
    assert!(
        uses_auth,
        "the workflow authenticates with Workload Identity Federation"
    );
    let commands: BTreeSet<&str> = lines.iter().map(|l| l[0].as_str()).collect();
    for needed in ["plan", "deploy"] {
        assert!(commands.contains(needed), "{needed} in {lines:?}");
    }
    assert!(lines.iter().any(|l| l.contains(&"--out".to_string())));
    assert!(lines.iter().any(|l| l.contains(&"--plan".to_string())));
    for line in &lines {
        assert_command_exists("examples/github-actions.yml", line).await;
    }

    // Cloud Build: each step on the image runs its args.
    let build = yaml("examples/cloudbuild.yaml");
    let mut steps = 0;
    for step in build["steps"].as_array().expect("steps") {
        if !step["name"]
            .as_str()
            .unwrap_or("")
            .contains("/autosre-deploy:")
        {
            continue;
        }
        let line: Vec<String> = step["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        assert_command_exists("examples/cloudbuild.yaml", &line).await;
        steps += 1;
    }
    assert!(steps >= 2, "plan and deploy steps");
}
