//! A property test of the loader over random input (issue 7, "The fault matrix"): mutations of
//! `config/staging.yaml` (lines deleted, duplicated, swapped, re-indented; scalars replaced by
//! random tokens; random unicode; anchors, aliases and merge keys) and random bytes (invalid
//! UTF-8 included, read through [`load`] from a file). Whatever the input, the loader never
//! panics, and every error is one line that says where: `<file>:<line>:<col>: ` with a line
//! inside the file, for bytes that are not UTF-8 too (the position of the first such byte).
//!
//! Deterministic: each case comes from a seeded [`StdRng`]; a failure names the seed and the
//! case number and shows the input.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use super::*;

/// The shipped staging file: what the mutations start from.
const BASE: &str = include_str!("../../../config/staging.yaml");
/// Cases per property.
const CASES: usize = 2000;

/// Tokens a scalar or a line may be replaced by: YAML's special values and indicators,
/// numbers out of every range, tags, anchors and aliases.
const TOKENS: &[&str] = &[
    "",
    "~",
    "null",
    "true",
    "false",
    "yes",
    "off",
    "0",
    "-1",
    "1.5",
    "1e309",
    "-.inf",
    ".nan",
    "0x1F",
    "0o17",
    "99999999999999999999999999",
    "\"\"",
    "''",
    "\"unterminated",
    "'unterminated",
    "\"\\u0000\"",
    "\"\\xff\"",
    "[",
    "]",
    "[a, b]",
    "{",
    "}",
    "{a: 1}",
    "{a: 1, a: 2}",
    "-",
    "- x",
    "? x",
    ": x",
    "|",
    ">-",
    "|9",
    "&a",
    "&a x",
    "*a",
    "*undefined",
    "<<: *a",
    "!!binary aGk=",
    "!!str",
    "!!int x",
    "!!map",
    "!custom x",
    "!<tag:yaml.org,2002:str> x",
    "%YAML 1.2",
    "%TAG ! tag:x,2000:",
    "---",
    "...",
    "#",
    "@x",
    "`x",
    "a: b: c",
    "\t",
    "\r",
    "x\u{0}y",
    "projects/p/secrets/s:latest",
    "roles/owner",
    "allUsers",
    "us-central1",
    "16Gi",
    "300s",
];

/// Characters that break naive text handling: controls, bidi overrides, zero-width and
/// combining marks, a BOM, line and paragraph separators, NEL, astral characters.
const UNICODE: &[char] = &[
    '\u{0}',
    '\u{7}',
    '\u{8}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '\u{ad}',
    '\u{301}',
    '\u{200b}',
    '\u{200d}',
    '\u{202e}',
    '\u{2028}',
    '\u{2029}',
    '\u{feff}',
    '\u{fffd}',
    '\u{ffff}',
    'é',
    'ß',
    'İ',
    'Ω',
    '中',
    '🦀',
    '\u{10ffff}',
    '\t',
    '\r',
    '\n',
    ':',
    '#',
    '&',
    '*',
    '!',
    '|',
    '>',
    '"',
    '\'',
    '{',
    '[',
    '-',
    '?',
    '%',
    '@',
    '`',
    ' ',
];

/// Bytes YAML gives meaning to, a few letters and digits, and bytes that are never UTF-8 or
/// only as part of a sequence.
const YAML_BYTES: &[u8] = b" \t\n\r:-#&*!|>'\"{}[],?%@`abc019\xc3\xa9\xff\xfe\x80";

/// Which property a case belongs to, for messages.
#[derive(Clone, Copy, Debug)]
enum Property {
    Yaml,
    Bytes,
}

/// What the loader made of an input that passed [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Loaded,
    Syntax,
    Invalid,
    NotUtf8,
}

/// Checks what the loader made of `input` (read from, or named, `path`).
fn check(
    case: &str,
    path: &Path,
    input: &[u8],
    result: std::thread::Result<Result<Environment, ConfigError>>,
) -> Outcome {
    let shown_input = String::from_utf8_lossy(input);
    let error = match result {
        Err(_) => panic!("{case}: the loader panicked on:\n{shown_input:?}"),
        Ok(Ok(_)) => return Outcome::Loaded,
        Ok(Err(error)) => error,
    };
    let shown = error.to_string();
    let file = path.display().to_string();
    assert!(
        !shown.contains('\n') && !shown.contains('\r'),
        "{case}: the error is not one line: {shown:?}\ninput: {shown_input:?}"
    );
    let rest = shown.strip_prefix(&format!("{file}:")).unwrap_or_else(|| {
        panic!("{case}: the error does not start with `{file}:`: {shown:?}\ninput: {shown_input:?}")
    });
    match &error {
        ConfigError::Syntax { line, column, .. } | ConfigError::Invalid { line, column, .. } => {
            assert!(
                rest.starts_with(&format!("{line}:{column}: ")),
                "{case}: no `:LINE:COL: ` after the file: {shown:?}\ninput: {shown_input:?}"
            );
            // Lines as YAML counts them: LF, CRLF or a lone CR ends one.
            let lines = shown_input.replace("\r\n", "\n").replace('\r', "\n");
            let count = lines.split('\n').count() as u64;
            assert!(
                *line >= 1 && *column >= 1 && *line <= count,
                "{case}: {line}:{column} is outside the file ({count} lines): {shown:?}\n\
                 input: {shown_input:?}"
            );
            match error {
                ConfigError::Syntax { .. } if std::str::from_utf8(input).is_err() => {
                    Outcome::NotUtf8
                }
                ConfigError::Syntax { .. } => Outcome::Syntax,
                _ => Outcome::Invalid,
            }
        }
        other => panic!("{case}: unexpected error {other:?}\ninput: {shown_input:?}"),
    }
}

/// A random token, unicode string or word.
fn token(rng: &mut StdRng) -> String {
    match rng.random_range(0..4) {
        0 | 1 => TOKENS[rng.random_range(0..TOKENS.len())].to_owned(),
        2 => (0..rng.random_range(1..8))
            .map(|_| UNICODE[rng.random_range(0..UNICODE.len())])
            .collect(),
        _ => (0..rng.random_range(1..40))
            .map(|_| char::from(rng.random_range(b'!'..=b'~')))
            .collect(),
    }
}

/// One random edit of `lines`.
fn mutate(rng: &mut StdRng, lines: &mut Vec<String>) {
    if lines.is_empty() {
        lines.push(token(rng));
        return;
    }
    let i = rng.random_range(0..lines.len());
    match rng.random_range(0..11) {
        // Delete a line.
        0 => {
            lines.remove(i);
        }
        // Duplicate a line (duplicate keys).
        1 => {
            let l = lines[i].clone();
            lines.insert(rng.random_range(0..=lines.len()), l);
        }
        // Swap two lines.
        2 => {
            let j = rng.random_range(0..lines.len());
            lines.swap(i, j);
        }
        // Re-indent: more, less, or a tab.
        3 => {
            let l = lines[i].trim_start().to_owned();
            let indent = match rng.random_range(0..3) {
                0 => " ".repeat(rng.random_range(0..12)),
                1 => "\t".to_owned(),
                _ => format!(" \t{}", " ".repeat(rng.random_range(0..4))),
            };
            lines[i] = indent + &l;
        }
        // Replace the scalar after `: ` (or a list item) with a random token.
        4 | 5 => {
            let l = &lines[i];
            let cut = l
                .find(": ")
                .map(|p| p + 2)
                .or_else(|| l.find("- ").map(|p| p + 2))
                .unwrap_or(l.len());
            lines[i] = format!("{}{}", &l[..cut], token(rng));
        }
        // Insert random unicode at a random place in the line.
        6 => {
            let l = &lines[i];
            let bounds: Vec<usize> = l.char_indices().map(|(p, _)| p).chain([l.len()]).collect();
            let at = bounds[rng.random_range(0..bounds.len())];
            let c = UNICODE[rng.random_range(0..UNICODE.len())];
            lines[i] = format!("{}{c}{}", &l[..at], &l[at..]);
        }
        // Anchor one value and alias it elsewhere (or somewhere it cannot be).
        7 => {
            let name = ["a", "b", "key", "x"][rng.random_range(0..4)];
            if let Some(p) = lines[i].find(": ") {
                lines[i].insert_str(p + 2, &format!("&{name} "));
            } else if lines[i].ends_with(':') {
                lines[i].push_str(&format!(" &{name}"));
            }
            let j = rng.random_range(0..lines.len());
            let l = &lines[j];
            if let Some(p) = l.find(": ") {
                lines[j] = format!("{}*{name}", &l[..p + 2]);
            } else {
                lines.insert(j, format!("  <<: *{name}"));
            }
        }
        // A new line: a token, a key with a token, a merge key.
        8 => {
            let indent = " ".repeat(2 * rng.random_range(0..3));
            let l = match rng.random_range(0..3) {
                0 => token(rng),
                1 => format!("{indent}{}: {}", token(rng), token(rng)),
                _ => format!("{indent}<<: *{}", ["a", "b", "key"][rng.random_range(0..3)]),
            };
            lines.insert(rng.random_range(0..=lines.len()), l);
        }
        // Truncate the file at a random character.
        9 => {
            lines.truncate(i + 1);
            let l = &lines[i];
            let cut = l
                .char_indices()
                .map(|(p, _)| p)
                .nth(rng.random_range(0..=l.chars().count()))
                .unwrap_or(l.len());
            lines[i].truncate(cut);
        }
        // Join two lines.
        _ => {
            if i + 1 < lines.len() {
                let next = lines.remove(i + 1);
                lines[i].push(' ');
                lines[i].push_str(&next);
            }
        }
    }
}

/// A mutation of the staging file: one to four edits, in any line ending.
fn random_yaml(rng: &mut StdRng) -> String {
    let mut lines: Vec<String> = BASE.lines().map(str::to_owned).collect();
    // Mostly one edit, so that most files stay close enough to valid to reach validation.
    let edits = [1, 1, 1, 1, 2, 2, 3, 4][rng.random_range(0..8)];
    for _ in 0..edits {
        mutate(rng, &mut lines);
    }
    let eol = ["\n", "\n", "\n", "\r\n", "\r"][rng.random_range(0..5)];
    let mut text = lines.join(eol);
    if rng.random_bool(0.8) {
        text.push_str(eol);
    }
    text
}

/// Random bytes: fully random, or the staging file with bytes flipped, inserted or cut
/// (so that invalid UTF-8 also sits inside otherwise valid YAML).
fn random_bytes(rng: &mut StdRng) -> Vec<u8> {
    match rng.random_range(0..3) {
        0 => {
            let mut bytes = vec![0u8; rng.random_range(0..512)];
            rng.fill_bytes(&mut bytes);
            bytes
        }
        1 => (0..rng.random_range(0..512))
            .map(|_| YAML_BYTES[rng.random_range(0..YAML_BYTES.len())])
            .collect(),
        _ => {
            let mut bytes = BASE.as_bytes().to_vec();
            for _ in 0..rng.random_range(1..=6) {
                let at = rng.random_range(0..=bytes.len());
                match rng.random_range(0..3) {
                    0 if at < bytes.len() => bytes[at] = rng.random(),
                    1 => bytes.insert(at, rng.random()),
                    _ => bytes.truncate(at.max(1)),
                }
            }
            bytes
        }
    }
}

/// Runs [`CASES`] cases of `property` from `seed`; `f` makes one input and checks it. Returns
/// how many cases had each outcome, and asserts that each of `expected` was reached at least
/// `CASES / 40` times, so that a generator that degenerates (every case a syntax error, say)
/// fails rather than passing without testing anything.
fn run_cases(
    property: Property,
    seed: u64,
    expected: &[Outcome],
    mut f: impl FnMut(&str, &mut StdRng) -> Outcome,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = std::collections::BTreeMap::new();
    for n in 0..CASES {
        let case = format!("{property:?} seed {seed} case {n}");
        *tally.entry(f(&case, &mut rng)).or_insert(0usize) += 1;
    }
    for outcome in expected {
        assert!(
            tally.get(outcome).copied().unwrap_or(0) >= CASES / 40,
            "{property:?}: too few cases reached {outcome:?}: {tally:?}"
        );
    }
}

/// The loader's outcome, with a panic caught.
fn caught(
    f: impl FnOnce() -> Result<Environment, ConfigError>,
) -> std::thread::Result<Result<Environment, ConfigError>> {
    catch_unwind(AssertUnwindSafe(f))
}

#[test]
fn random_yaml_never_panics_and_every_error_says_where() {
    let source = Path::new("config/staging.yaml");
    assert!(
        parse(source, "staging", BASE).is_ok(),
        "the base file loads"
    );
    let expected = [Outcome::Loaded, Outcome::Syntax, Outcome::Invalid];
    run_cases(Property::Yaml, 0x5eed_7a11, &expected, |case, rng| {
        let text = random_yaml(rng);
        let result = caught(|| parse(source, "staging", &text));
        check(case, source, text.as_bytes(), result)
    });
}

#[test]
fn random_bytes_never_panic_and_every_error_says_where() {
    use std::io::{Seek, Write};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.yaml");
    // Rewritten in place: creating a file per case costs more than the loading.
    let mut file = std::fs::File::create(&path).unwrap();
    let expected = [
        Outcome::Loaded,
        Outcome::Syntax,
        Outcome::Invalid,
        Outcome::NotUtf8,
    ];
    run_cases(Property::Bytes, 0xb17e_5eed, &expected, |case, rng| {
        let bytes = random_bytes(rng);
        file.set_len(0).unwrap();
        file.rewind().unwrap();
        file.write_all(&bytes).unwrap();
        let result = caught(|| load(dir.path(), "fuzz"));
        check(case, &path, &bytes, result)
    });
}
