//! Every command line in `README.md` and `docs/*.md` is checked, so that a
//! renamed flag breaks the build, not the reader (as cargo's and clap's
//! trycmd/snapbox tests do, here in-process and against the emulator).
//!
//! The convention, for whoever writes docs (docs/architecture.md says it too):
//!
//! - In a fenced `sh`/`bash`/`shell`/`console` block, a line that starts with
//!   `autosre-deploy` or `cargo run -- ...` (after an optional `$ ` prompt and
//!   `NAME=value` assignments) is parsed by the tool's real clap tree and then
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
//!   (`deploy --plan FILE`), is parsed: its subcommands and flags must exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::shell::{self, Split, Token};
use crate::harness::*;

/// Files the summary variables of a GitHub Actions step point at, in the
/// block's temp directory.
const STEP_FILES: [(&str, &str); 2] = [
    ("GITHUB_STEP_SUMMARY", "github-step-summary.md"),
    ("GITHUB_OUTPUT", "github-output.txt"),
];

/// Where a line is: `docs/plans.md:43`.
#[derive(Clone, Debug)]
struct At {
    file: String,
    line: usize,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What a checked line asks of the harness.
#[derive(Debug)]
enum Expect {
    /// Run it; it exits with this code.
    Exit(i32),
    /// Parse it only, for this reason.
    NotRun(String),
}

/// One of our command lines in a shell block.
#[derive(Debug)]
struct Command {
    at: At,
    /// The arguments after the program name.
    args: Vec<String>,
    /// `NAME=value` before the program.
    vars: Vec<(String, String)>,
    /// `> FILE` (false) or `>> FILE` (true).
    stdout_to: Option<(String, bool)>,
    expect: Expect,
}

/// What the docs hold: the runnable blocks, and the fragments only parsed.
#[derive(Debug, Default)]
struct Found {
    blocks: Vec<Vec<Command>>,
    /// `(where, arguments, whether required arguments may be missing)`.
    parsed_only: Vec<(At, Vec<String>, bool)>,
    problems: Vec<String>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `README.md` and `docs/*.md`, as `(relative name, text)`.
fn documents() -> Vec<(String, String)> {
    let mut names = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .map(|e| {
            e.expect("docs/ entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    names.extend(docs);
    names
        .into_iter()
        .map(|n| {
            let text = std::fs::read_to_string(repo().join(&n)).expect("a doc");
            (n, text)
        })
        .collect()
}

/// `$NAME` on a doc's command line: the step files, relative to the block's directory.
fn doc_variable(name: &str) -> Option<String> {
    STEP_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, file)| file.to_string())
}

fn is_shell(info: &str) -> bool {
    let lang = info.split([' ', ',', '{']).next().unwrap_or("");
    matches!(lang, "sh" | "bash" | "shell" | "zsh" | "console")
}

fn find(docs: &[(String, String)]) -> Found {
    let mut found = Found::default();
    for (file, text) in docs {
        let mut fence: Option<(bool, Vec<Command>)> = None;
        let mut paragraph: Vec<(usize, &str)> = Vec::new();
        let mut pending: Option<(usize, String)> = None;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let at = |line| At {
                file: file.clone(),
                line,
            };
            if let Some(info) = raw.trim_start().strip_prefix("```") {
                prose_spans(&paragraph, file, &mut found);
                paragraph.clear();
                fence = match fence.take() {
                    None => Some((is_shell(info.trim()), Vec::new())),
                    Some((_, block)) => {
                        if !block.is_empty() {
                            found.blocks.push(block);
                        }
                        None
                    }
                };
                continue;
            }
            let Some((shell, block)) = fence.as_mut() else {
                match raw.trim().is_empty() {
                    true => {
                        prose_spans(&paragraph, file, &mut found);
                        paragraph.clear();
                    }
                    false => paragraph.push((n, raw)),
                }
                continue;
            };
            if !*shell {
                for args in mentions(raw, false) {
                    found.parsed_only.push((at(n), args, false));
                }
                continue;
            }
            // A backslash at the end continues the line.
            let (start, mut line) = pending.take().unwrap_or((n, String::new()));
            line.push_str(raw);
            if line.ends_with('\\') {
                line.pop();
                line.push(' ');
                pending = Some((start, line));
                continue;
            }
            shell_line(at(start), &line, block, &mut found);
        }
        prose_spans(&paragraph, file, &mut found);
    }
    found
}

/// Classify one (joined) line of a shell block.
fn shell_line(at: At, line: &str, block: &mut Vec<Command>, found: &mut Found) {
    let text = line.trim();
    let text = text.strip_prefix("$ ").unwrap_or(text);
    if text.is_empty() || text.starts_with('#') {
        return;
    }
    let declared = |comment: &str| {
        comment
            .split_once("not run:")
            .map(|(_, why)| why.trim().to_string())
    };
    let split = match shell::split(text, &doc_variable) {
        Ok(split) => split,
        Err(why) => {
            let comment = text.split_once(" #").map(|(_, c)| c).unwrap_or("");
            match (declared(comment), mentions(text, true).is_empty()) {
                (_, true) => {}
                (Some(_), false) => {
                    for args in mentions(text, true) {
                        found.parsed_only.push((at.clone(), args, false));
                    }
                }
                (None, false) => found.problems.push(format!(
                    "{at}: the harness cannot run {why}; simplify the line, or say \
                     `# not run: <why>` after it"
                )),
            }
            return;
        }
    };
    let Split { tokens, comment } = split;
    let mut words = tokens.iter().peekable();
    let mut vars = Vec::new();
    while let Some(Token::Word(w)) = words.peek() {
        match w.split_once('=') {
            Some((k, v))
                if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                vars.push((k.to_string(), v.to_string()));
                words.next();
            }
            _ => break,
        }
    }
    let program: Vec<&str> = words
        .clone()
        .map_while(|t| match t {
            Token::Word(w) => Some(w.as_str()),
            Token::Op(_) => None,
        })
        .collect();
    let args: Vec<String> = match program.as_slice() {
        ["autosre-deploy", rest @ ..] => rest.iter().map(|s| s.to_string()).collect(),
        ["cargo", "run", rest @ ..] => match rest.iter().position(|a| *a == "--") {
            Some(i) => rest[i + 1..].iter().map(|s| s.to_string()).collect(),
            None => Vec::new(),
        },
        _ => {
            // Another program's line; ours only if it runs the tool inside.
            let ours = mentions(text, true);
            if !ours.is_empty() && declared(&comment).is_none() {
                found.problems.push(format!(
                    "{at}: runs autosre-deploy inside another program; say \
                     `# not run: <why>` after it"
                ));
            }
            for args in ours {
                found.parsed_only.push((at.clone(), args, false));
            }
            return;
        }
    };
    let expect = match declared(&comment) {
        Some(why) if why.is_empty() => {
            found
                .problems
                .push(format!("{at}: `not run:` needs a reason"));
            return;
        }
        Some(why) => Expect::NotRun(why),
        None => Expect::Exit(declared_exit(&comment).unwrap_or(0)),
    };
    // After the arguments: `> FILE`, `>> FILE`, or `| other programs`.
    let rest: Vec<&Token> = tokens.iter().skip(vars.len() + program.len()).collect();
    let stdout_to = match rest.as_slice() {
        [] => None,
        [Token::Op(">"), Token::Word(f)] => Some((f.clone(), false)),
        [Token::Op(">>"), Token::Word(f)] => Some((f.clone(), true)),
        [Token::Op("|"), ..] => None,
        _ => {
            found.problems.push(format!(
                "{at}: cannot tell what follows the arguments ({rest:?}); say `# not run: <why>`"
            ));
            return;
        }
    };
    block.push(Command {
        at,
        args,
        vars,
        stdout_to,
        expect,
    });
}

/// `exits N` in a trailing comment.
fn declared_exit(comment: &str) -> Option<i32> {
    let words: Vec<&str> = comment.split_whitespace().collect();
    words.windows(2).find_map(|w| {
        (w[0] == "exits")
            .then(|| w[1].trim_end_matches([':', ',', ';', ')']).parse().ok())
            .flatten()
    })
}

/// The arguments of each `autosre-deploy ARGS` in a text that is not a shell
/// line of ours, up to the end of the simple command.
/// `loose`: any lowercase word may be a subcommand (a line that runs the
/// tool); otherwise only a subcommand of the real tree counts (`autosre-deploy
/// needs ...` in a YAML description is prose).
fn mentions(text: &str, loose: bool) -> Vec<Vec<String>> {
    let subcommands = subcommands();
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("autosre-deploy ") {
        let before = rest[..at].chars().last();
        let after = &rest[at + "autosre-deploy ".len()..];
        rest = after;
        if before.is_some_and(|c| !(c.is_whitespace() || "`$:'\"(".contains(c))) {
            continue;
        }
        let end = after.find(['|', '>', '#', ';', '&', '`', '<', '\'', '"', ')']);
        let args: Vec<String> = after[..end.unwrap_or(after.len())]
            .split_whitespace()
            .map(str::to_string)
            .collect();
        // A subcommand or a flag follows; otherwise it is a name in prose.
        if args.first().is_some_and(|a| {
            a.starts_with('-')
                || subcommands.contains(a)
                || (loose && a.chars().all(|c| c.is_ascii_lowercase()))
        }) {
            out.push(args);
        }
    }
    out
}

/// The names of the tool's subcommands.
fn subcommands() -> BTreeSet<String> {
    autosre_deploy::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// The argument lists a usage synopsis stands for, each to be parsed:
/// `key rotate --env E [--no-deploy] [--output human|json]` gives the part
/// outside brackets, and that part with each alternative of each bracket
/// (`--output human`, `--output json`). `...` (repeatable) is dropped.
fn synopsis(span: &str) -> Vec<Vec<String>> {
    let text = span.replace("\\|", "|").replace("...", " ");
    let (mut base, mut groups, mut depth, mut group) =
        (String::new(), Vec::new(), 0, String::new());
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    groups.push(std::mem::take(&mut group));
                }
            }
            c if depth > 0 => group.push(if c == '[' || c == ']' { ' ' } else { c }),
            c => base.push(c),
        }
    }
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let base = words(&base);
    let mut out = vec![base.clone()];
    for group in groups {
        let mut flag: Option<String> = None;
        for alternative in group.split('|') {
            let mut alt = words(alternative);
            match alt.first() {
                Some(first) if first.starts_with('-') => flag = Some(first.clone()),
                Some(_) => alt.splice(0..0, flag.clone()).for_each(drop),
                None => continue,
            }
            out.push(base.iter().cloned().chain(alt).collect());
        }
    }
    out
}

/// The code spans of a prose paragraph: `autosre-deploy ARGS` is parsed in
/// full; `SUBCOMMAND --flag ...` (a subcommand of the real tree, then at least
/// a flag) is parsed with missing required arguments allowed.
fn prose_spans(paragraph: &[(usize, &str)], file: &str, found: &mut Found) {
    let Some(&(first, _)) = paragraph.first() else {
        return;
    };
    let text: String = paragraph
        .iter()
        .map(|(_, l)| *l)
        .collect::<Vec<_>>()
        .join("\n");
    let subcommands = subcommands();
    let mut line = first;
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let span = part.replace('\n', " ");
            let at = At {
                file: file.to_string(),
                line,
            };
            let words: Vec<String> = span.split_whitespace().map(str::to_string).collect();
            if span.starts_with("autosre-deploy ") {
                for args in mentions(&span, true) {
                    found.parsed_only.push((at.clone(), args, true));
                }
            } else if words.len() >= 2
                && subcommands.contains(&words[0])
                && words.iter().skip(1).any(|w| w.starts_with("--"))
            {
                for args in synopsis(&span) {
                    found.parsed_only.push((at.clone(), args, true));
                }
            }
        }
        line += part.matches('\n').count();
    }
}

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
    let mut b = staging_world()
        .project(EXAMPLE_PROJECT, EXAMPLE_NUMBER)
        .service_account(&default_compute_account(EXAMPLE_NUMBER));
    for s in [
        "gemini-api-key",
        "google-client-id",
        "sre-agent-encryption-key",
    ] {
        b = b.secret(EXAMPLE_PROJECT, s).secret_version(
            EXAMPLE_PROJECT,
            s,
            VersionState::Enabled,
            payload_for(s),
        );
    }
    b.build()
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
        let Ok(Some(matches)) = parse(&cmd.args, false) else {
            continue; // reported by the parse check
        };
        let mut args = cmd.args.clone();
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
        let mut vars: Vec<(String, String)> = STEP_FILES
            .iter()
            .map(|(k, f)| (k.to_string(), dir.join(f).display().to_string()))
            .collect();
        vars.extend(cmd.vars.iter().cloned());
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = run_in_process(&argv, h.env_vars(&vars).into_iter().collect()).await;
        if run.code != expected {
            problems.push(format!(
                "{}: `{}` exited {} (the doc expects {expected}; declare another code with \
                 `# exits N: <why>`)\n--- stdout ---\n{}\n--- stderr ---\n{}",
                cmd.at,
                cmd.args.join(" "),
                run.code,
                run.stdout,
                run.stderr
            ));
        }
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

#[tokio::test(flavor = "multi_thread")]
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
`autosre-deploy chekc --env E`; `autosre-deploy grant` is fine.

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
"#;

#[test]
fn stale_flags_and_lines_it_cannot_classify_are_named_by_file_and_line() {
    let (found, parsed) = check(&[("docs/sample.md".to_string(), SAMPLE.to_string())]);
    let problems = found.problems.join("\n");
    for expected in [
        "docs/sample.md:3: `deploy --plann FILE`: error: unexpected argument '--plann'",
        "docs/sample.md:3: `plan --env E --output jsn`: error: invalid value 'jsn'",
        "docs/sample.md:4: `chekc --env E`: error: unrecognized subcommand 'chekc'",
        "docs/sample.md:7: `plan --env staging --detailed-exit-code`: error: unexpected argument",
        "docs/sample.md:8: the harness cannot run the shell syntax `&`",
        "docs/sample.md:9: runs autosre-deploy inside another program",
        "docs/sample.md:20: `plan --env staging --outptu p.json`: error: unexpected argument",
    ] {
        assert!(
            problems.contains(expected),
            "{expected}\nnot in\n{problems}"
        );
    }
    assert_eq!(found.problems.len(), 7, "{problems}");
    // The `grant` of the prose, the 3 of `--output`, `chekc`, the docker
    // line's `validate`, 7 runnable lines, the YAML's `plan`.
    assert_eq!(parsed, 14, "{found:#?}");
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
}
