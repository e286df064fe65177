//! Finding the command lines of the docs, and what each asks of the harness
//! (run it and expect an exit code, or parse it only); the convention is
//! in `commands.rs` and docs/architecture.md.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::shell::{self, Split, Token};

/// Files the summary variables of a GitHub Actions step point at, in the
/// block's temp directory.
pub(super) const STEP_FILES: [(&str, &str); 2] = [
    ("GITHUB_STEP_SUMMARY", "github-step-summary.md"),
    ("GITHUB_OUTPUT", "github-output.txt"),
];

/// Where a line is: `docs/plans.md:43`.
#[derive(Clone, Debug)]
pub(super) struct At {
    pub(super) file: String,
    pub(super) line: usize,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What a checked line asks of the harness.
#[derive(Debug)]
pub(super) enum Expect {
    /// Run it; it exits with this code.
    Exit(i32),
    /// Parse it only, for this reason.
    NotRun(String),
}

/// One of our command lines in a shell block.
#[derive(Debug)]
pub(super) struct Command {
    pub(super) at: At,
    /// The arguments after the program name.
    pub(super) args: Vec<String>,
    /// `NAME=value` before the program.
    pub(super) vars: Vec<(String, String)>,
    /// `> FILE` (false) or `>> FILE` (true).
    pub(super) stdout_to: Option<(String, bool)>,
    pub(super) expect: Expect,
}

/// What the docs hold: the runnable blocks, and the fragments only parsed.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub(super) blocks: Vec<Vec<Command>>,
    /// `(where, arguments, whether required arguments may be missing)`.
    pub(super) parsed_only: Vec<(At, Vec<String>, bool)>,
    pub(super) problems: Vec<String>,
}

pub(super) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `README.md` and `docs/*.md`, as `(relative name, text)`.
pub(super) fn documents() -> Vec<(String, String)> {
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

/// What the lines of a fenced block are, by its info string.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fence {
    /// `sh`, `bash`, `shell`, `zsh`: every line is a command line.
    Shell,
    /// `console`: a line starting with `$ ` is a command line; the rest is output.
    Console,
    /// Anything else (YAML, JSON, output).
    Other,
}

fn fence_kind(info: &str) -> Fence {
    match info.split([' ', ',', '{']).next().unwrap_or("") {
        "sh" | "bash" | "shell" | "zsh" => Fence::Shell,
        "console" => Fence::Console,
        _ => Fence::Other,
    }
}

pub(super) fn find(docs: &[(String, String)]) -> Found {
    let mut found = Found::default();
    for (file, text) in docs {
        let mut fence: Option<(Fence, Vec<Command>)> = None;
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
                    None => Some((fence_kind(info.trim()), Vec::new())),
                    Some((_, block)) => {
                        if !block.is_empty() {
                            found.blocks.push(block);
                        }
                        None
                    }
                };
                continue;
            }
            let Some((kind, block)) = fence.as_mut() else {
                match raw.trim().is_empty() {
                    true => {
                        prose_spans(&paragraph, file, &mut found);
                        paragraph.clear();
                    }
                    false => paragraph.push((n, raw)),
                }
                continue;
            };
            let output =
                *kind == Fence::Console && pending.is_none() && !raw.trim_start().starts_with("$ ");
            if *kind == Fence::Other || output {
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
        // `autosre-deploy`, or a built one: `./target/release/autosre-deploy`.
        [program, rest @ ..]
            if *program == "autosre-deploy" || program.ends_with("/autosre-deploy") =>
        {
            rest.iter().map(|s| s.to_string()).collect()
        }
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
        _ if matches!(expect, Expect::NotRun(_)) => None,
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
///
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
        if before.is_some_and(|c| !(c.is_whitespace() || "`$:'\"(/".contains(c))) {
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

/// The code spans of a prose paragraph: `autosre-deploy ARGS`, and
/// `SUBCOMMAND --flag ...` (a subcommand of the real tree, then at least a
/// flag), are parsed with missing required arguments allowed (prose names
/// commands: "`autosre-deploy grant` grants ...").
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
            // `autosre-deploy grant`, or `script: autosre-deploy plan ...`.
            let named = mentions(&span, span.starts_with("autosre-deploy "));
            if !named.is_empty() {
                for args in named {
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
