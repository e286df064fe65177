//! Every command line in `README.md` and `docs/*.md` is checked, so that a
//! renamed flag breaks the build, not the reader (as cargo's and clap's
//! trycmd/snapbox tests do, here in-process and against the emulator).
//!
//! The convention, for whoever writes docs (docs/architecture.md says it too):
//!
//! - In a fenced `sh`/`bash`/`shell` block (of a `console` block, the lines
//!   after `$ `), a line that starts with `autosre-deploy` (or
//!   `path/to/autosre-deploy`) or `cargo run -- ...` (after an optional `$ `
//!   prompt and `NAME=value` assignments) is parsed by the tool's real clap tree and then
//!   **run**, in-process, against the emulator: the blocks of a file each get
//!   a fresh emulator and a temp directory holding the shipped `config/*.yaml`
//!   (plus a copy of `staging.yaml` for any other `--env` a doc names) and a
//!   small source tree, and the lines of a block run in order, so `plan --out
//!   p.json` then `deploy --plan p.json` works. It must exit 0, or what its
//!   trailing comment declares: `# ... exits 2: the plan has changes`.
//! - A line that cannot run here says so in its comment, with the reason:
//!   `# not run: needs a real Google project`. It is still parsed.
//! - `>`/`>>` into a file and `| another-program` work (the other program is
//!   not run); `$GITHUB_STEP_SUMMARY` and `$GITHUB_OUTPUT` name files of the
//!   temp directory. Other shell syntax (`&&`, `$(...)`, unknown variables)
//!   fails the test unless the line says `not run:`.
//! - A shell line that starts with another program is that program's (gcloud,
//!   docker, cargo test) and is not ours to run; if it runs autosre-deploy
//!   inside (`docker run IMAGE autosre-deploy validate`) it must say `not run:`.
//! - Everywhere else (other fenced blocks, inline code spans in prose), text
//!   that reads `autosre-deploy ARGS`, or starts with a subcommand and a flag
//!   (`deploy --plan FILE`), is parsed: its subcommands and flags must exist
//!   (in prose, required arguments may be missing and placeholders such as
//!   `DURATION` stand for values).

use std::path::{Path, PathBuf};

use super::find::{Command, Expect, Found, STEP_FILES, documents, find, repo};
use crate::harness::*;

/// Parse `args` with the tool's real clap tree; `fragment`: required
/// arguments may be missing (a flag named in prose). `None` for `--help`.
fn parse(args: &[String], fragment: bool) -> Result<Option<clap::ArgMatches>, String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let argv = std::iter::once("autosre-deploy".to_string()).chain(args.iter().cloned());
    let e = match autosre_deploy::command().try_get_matches_from(argv) {
        Ok(m) => return Ok(Some(m)),
        Err(e) => e,
    };
    // In prose, a missing value or a placeholder (`--timeout DURATION`) is fine.
    let placeholder = match e.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(v)) => v
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "_=-".contains(c)),
        _ => false,
    };
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(None),
        ErrorKind::MissingRequiredArgument
        | ErrorKind::MissingSubcommand
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            if fragment =>
        {
            Ok(None)
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation if fragment && placeholder => Ok(None),
        _ => Err(e.render().to_string().trim_end().to_string()),
    }
}

/// The matches of the innermost subcommand, and every level above it.
fn levels(m: &clap::ArgMatches) -> Vec<&clap::ArgMatches> {
    let mut out = vec![m];
    while let Some((_, sub)) = out.last().unwrap().subcommand() {
        out.push(sub);
    }
    out
}

/// The world the docs run against: `config/staging.yaml`'s (which the
/// fixture configs share) and `config/example.yaml`'s.
fn world() -> World {
    const EXAMPLE_NUMBER: u64 = 210_987_654_321;
    // The example's runtime account is the project's default compute
    // account, which a project of the world has.
    let b = staging_world()
        .project(EXAMPLE_PROJECT, EXAMPLE_NUMBER)
        .project_binding(EXAMPLE_PROJECT, "roles/owner", "user:owner@example.com");
    with_example_images(with_secrets(b, EXAMPLE_PROJECT)).build()
}

/// The config of an environment the docs name but the repository does not
/// ship: `config/staging.yaml`, with the production guardrails for `prod*`.
fn fixture_config(env: &str) -> String {
    let config = staging();
    match env.starts_with("prod") {
        true => config.replacen("region:", "production: true\nregion:", 1),
        false => config,
    }
}

/// A small service to build with `--source .`.
fn fixture_source(dir: &Path) {
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM python:3.12-slim\nCOPY . /app\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(dir.join("app/main.py"), "print('agent')\n").unwrap();
}

/// Run one block's commands in order, in a fresh emulator and temp
/// directory; returns what went wrong.
async fn run_block(block: &[Command]) -> Vec<String> {
    let h = Harness::start(world()).await;
    let dir = h.dir.path().to_path_buf();
    for entry in std::fs::read_dir(repo().join("config")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "yaml") {
            std::fs::copy(&path, h.config_dir().join(path.file_name().unwrap())).unwrap();
        }
    }
    fixture_source(&dir);
    let mut problems = Vec::new();
    for cmd in block {
        let Expect::Exit(expected) = cmd.expect else {
            continue;
        };
        let Ok(parsed) = parse(&cmd.args, false) else {
            continue; // reported by the parse check
        };
        let mut args = cmd.args.clone();
        // `--help` and `--version` run as written.
        let Some(matches) = parsed else {
            problems.extend(check_run(cmd, expected, &args, &h).await);
            continue;
        };
        for m in levels(&matches) {
            if let Ok(Some(env)) = m.try_get_one::<String>("env") {
                let file = h.config_dir().join(format!("{env}.yaml"));
                if !file.exists() {
                    std::fs::write(file, fixture_config(env)).unwrap();
                }
            }
            // In-process runs share the test's working directory: relative
            // paths are made the block's.
            for id in m.ids() {
                let Ok(Some(values)) = m.try_get_many::<PathBuf>(id.as_str()) else {
                    continue;
                };
                for v in values.filter(|v| v.is_relative()) {
                    let (v, abs) = (v.display().to_string(), dir.join(v).display().to_string());
                    for a in args.iter_mut() {
                        if *a == v {
                            *a = abs.clone();
                        } else if let Some(flag) = a.strip_suffix(&format!("={v}")) {
                            *a = format!("{flag}={abs}");
                        }
                    }
                }
            }
        }
        if matches.value_source("config_dir") == Some(clap::parser::ValueSource::DefaultValue) {
            args.extend([
                "--config-dir".to_string(),
                h.config_dir().display().to_string(),
            ]);
        }
        problems.extend(check_run(cmd, expected, &args, &h).await);
    }
    problems
}

/// Find the command lines of `docs` and parse each; the parse errors join
/// `problems`. Returns what was found and how many lines were parsed.
fn check(docs: &[(String, String)]) -> (Found, usize) {
    let mut found = find(docs);
    let mut parsed = 0;
    for cmd in found.blocks.iter().flatten() {
        parsed += 1;
        if let Err(e) = parse(&cmd.args, false) {
            let line = cmd.args.join(" ");
            found.problems.push(format!("{}: `{line}`: {e}", cmd.at));
        }
    }
    for (at, args, fragment) in &found.parsed_only {
        parsed += 1;
        if let Err(e) = parse(args, *fragment) {
            found
                .problems
                .push(format!("{at}: `{}`: {e}", args.join(" ")));
        }
    }
    (found, parsed)
}

/// Run the command line `cmd` as `args` against `h`'s emulator, its stdout
/// into the file the line redirects it to; what went wrong, if anything.
async fn check_run(cmd: &Command, expected: i32, args: &[String], h: &Harness) -> Option<String> {
    let dir = h.dir.path();
    let mut vars: Vec<(String, String)> = STEP_FILES
        .iter()
        .map(|(k, f)| (k.to_string(), dir.join(f).display().to_string()))
        .collect();
    vars.extend(cmd.vars.iter().cloned());
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_in_process(&argv, h.env_vars(&vars).into_iter().collect()).await;
    if let Some((file, append)) = &cmd.stdout_to {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(*append)
            .truncate(!*append)
            .open(dir.join(file))
            .unwrap();
        std::io::Write::write_all(&mut f, run.stdout.as_bytes()).unwrap();
    }
    (run.code != expected).then(|| {
        format!(
            "{}: `{}` exited {} (the doc expects {expected}; declare another code with \
             `# exits N: <why>`)\n--- stdout ---\n{}\n--- stderr ---\n{}",
            cmd.at,
            cmd.args.join(" "),
            run.code,
            run.stdout,
            run.stderr
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::print_stderr,
    reason = "what ran and what did not is read in the test's output"
)]
async fn every_command_line_in_the_docs_parses_and_runs() {
    let (mut found, parsed) = check(&documents());
    let runs = found
        .blocks
        .iter()
        .flatten()
        .filter(|c| matches!(c.expect, Expect::Exit(_)))
        .count();
    let outcomes = futures::future::join_all(found.blocks.iter().map(|b| run_block(b))).await;
    found.problems.extend(outcomes.into_iter().flatten());
    eprintln!("{parsed} command lines parsed, {runs} of them run");
    for cmd in found.blocks.iter().flatten() {
        if let Expect::NotRun(why) = &cmd.expect {
            eprintln!("{}: not run: {why}", cmd.at);
        }
    }
    assert!(
        runs >= 8,
        "only {runs} command lines run: is the finder broken?"
    );
    assert!(
        found.problems.is_empty(),
        "{} problem(s) with the docs' command lines:\n\n{}",
        found.problems.len(),
        found.problems.join("\n\n")
    );
}

/// A doc with one of each kind of line the harness knows.
const SAMPLE: &str = r#"# Sample

Use `deploy --plann FILE`, `plan --env E [--output human|jsn]` and
`autosre-deploy chekc --env E`; `autosre-deploy grant` is fine, `x: autosre-deploy plan -x` not.

```sh
autosre-deploy plan --env staging --detailed-exit-code
autosre-deploy plan --env staging && echo done
docker run --rm img autosre-deploy validate
autosre-deploy key generate | gcloud secrets versions add k --data-file=-   # not run: needs gcloud
cargo test --workspace
autosre-deploy plan --env staging --detailed-exitcode
autosre-deploy plan --env prod \
  --out p.json
cargo run -- deploy --plan p.json   # exits 1: why not
autosre-deploy plan --env staging --detailed-exitcode
```

```yaml
run: autosre-deploy plan --env staging --outptu p.json
description: what autosre-deploy needs
```

```console
$ autosre-deploy validate
hint: run autosre-deploy deploy --plann p.json
$ ./target/debug/autosre-deploy --version
```
"#;

#[test]
fn stale_flags_and_lines_it_cannot_classify_are_named_by_file_and_line() {
    let (found, parsed) = check(&[("docs/sample.md".to_string(), SAMPLE.to_string())]);
    let problems = found.problems.join("\n");
    for expected in [
        "docs/sample.md:3: `deploy --plann FILE`: error: unexpected argument '--plann'",
        "docs/sample.md:3: `plan --env E --output jsn`: error: invalid value 'jsn'",
        "docs/sample.md:4: `chekc --env E`: error: unrecognized subcommand 'chekc'",
        "docs/sample.md:4: `plan -x`: error: unexpected argument '-x'",
        "docs/sample.md:7: `plan --env staging --detailed-exit-code`: error: unexpected argument",
        "docs/sample.md:8: the harness cannot run the shell syntax `&`",
        "docs/sample.md:9: runs autosre-deploy inside another program",
        "docs/sample.md:20: `plan --env staging --outptu p.json`: error: unexpected argument",
        "docs/sample.md:26: `deploy --plann p.json`: error: unexpected argument",
    ] {
        assert!(
            problems.contains(expected),
            "{expected}\nnot in\n{problems}"
        );
    }
    assert_eq!(found.problems.len(), 9, "{problems}");
    // Prose: `deploy --plann`, the synopsis and its 2 alternatives, `chekc`,
    // `grant`, `plan -x`; the shell block: 6 lines of ours and the docker line's
    // `validate`; the YAML's `plan`; the console's command and the `deploy`
    // of its output, `--version`.
    assert_eq!(parsed, 18, "{found:#?}");
    let block: Vec<(String, &Expect)> = found.blocks[0]
        .iter()
        .map(|c| (c.at.to_string(), &c.expect))
        .collect();
    assert_eq!(
        format!("{block:?}"),
        "[(\"docs/sample.md:7\", Exit(0)), \
         (\"docs/sample.md:10\", NotRun(\"needs gcloud\")), \
         (\"docs/sample.md:12\", Exit(0)), \
         (\"docs/sample.md:13\", Exit(0)), \
         (\"docs/sample.md:15\", Exit(1)), \
         (\"docs/sample.md:16\", Exit(0))]"
    );
    assert_eq!(found.blocks.len(), 2);
    let console: Vec<String> = found.blocks[1].iter().map(|c| c.at.to_string()).collect();
    assert_eq!(console, ["docs/sample.md:25", "docs/sample.md:27"]);
}

#[tokio::test]
async fn a_block_runs_in_order_and_an_undeclared_exit_code_fails() {
    let (found, _) = check(&[("docs/sample.md".to_string(), SAMPLE.to_string())]);
    let problems = run_block(&found.blocks[0]).await;
    // Line 12 has changes to show and does not say so; `deploy --plan p.json`
    // applies the plan the line before saved (for a `prod` config made for
    // the doc) although its comment expects it to fail; line 16, after that
    // deploy, has no changes left.
    assert_eq!(problems.len(), 2, "{problems:#?}");
    let starts = [
        "docs/sample.md:12: `plan --env staging --detailed-exitcode` exited 2 (the doc expects 0",
        "docs/sample.md:15: `deploy --plan p.json` exited 0 (the doc expects 1",
    ];
    for (problem, start) in problems.iter().zip(starts) {
        assert!(problem.starts_with(start), "{problem}");
    }
    // `validate` of the shipped configs, and `--version` as written.
    let console = run_block(&found.blocks[1]).await;
    assert!(console.is_empty(), "{console:#?}");
}
