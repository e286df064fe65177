//! GitHub Actions' file and workflow-command formats, as pure functions.
//!
//! The formats are GitHub's "Workflow commands for GitHub Actions"
//! (https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands),
//! escaped as the official toolkit escapes them (actions/toolkit
//! `packages/core/src/command.ts`, `escapeData` and `escapeProperty`; the
//! `name<<delimiter` syntax of `packages/core/src/file-command.ts`).

use std::fmt::Write;

/// GitHub drops a step summary over 1024 KiB ("Adding a job summary", same
/// page); ours stays well below, with room for the truncation line.
pub(crate) const SUMMARY_LIMIT: usize = 1000 * 1024;

/// The `summary` output is meant for a pull-request comment, whose body
/// GitHub caps at 65536 characters (the REST API's 422 "body is too long").
pub(crate) const COMMENT_LIMIT: usize = 60 * 1024;

/// The line that ends a summary cut at [`SUMMARY_LIMIT`].
pub(crate) const TRUNCATED: &str =
    "\n\n> **Note**: truncated here to fit GitHub's limit; see the log for the rest.\n";

/// A message of a workflow command: `%`, CR and LF escaped (`escapeData`).
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value of a workflow command: as [`escape_data`], and `:` and
/// `,` too, which separate properties (`escapeProperty`).
pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Where an annotation points: a file, and in it a line and column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) file: String,
    pub(crate) line: Option<u64>,
    pub(crate) col: Option<u64>,
}

/// `::error file=F,line=L,col=C,title=T::message` (or `warning`), one line.
pub(crate) fn annotation(
    level: &str,
    location: Option<&Location>,
    title: &str,
    message: &str,
) -> String {
    let mut props = Vec::new();
    if let Some(l) = location {
        props.push(format!("file={}", escape_property(&l.file)));
        if let Some(line) = l.line {
            props.push(format!("line={line}"));
        }
        if let Some(col) = l.col {
            props.push(format!("col={col}"));
        }
    }
    props.push(format!("title={}", escape_property(title)));
    format!("::{level} {}::{}\n", props.join(","), escape_data(message))
}

/// `::group::title`, the start of a fold in the log.
pub(crate) fn group(title: &str) -> String {
    format!("::group::{}\n", escape_data(title))
}

/// `::endgroup::`, the end of the fold.
pub(crate) const END_GROUP: &str = "::endgroup::\n";

/// Lines for `$GITHUB_OUTPUT`: `name=value`, or, for a value with a line
/// break, `name<<DELIM`, the value, `DELIM`, with a delimiter the value
/// does not contain (the toolkit's `ghadelimiter_<uuid>`).
pub(crate) fn outputs(pairs: &[(&str, String)], nonce: u64) -> String {
    let mut s = String::new();
    for (name, value) in pairs {
        if value.contains('\n') || value.contains('\r') {
            let mut delim = format!("ghadelimiter_{nonce:016x}");
            while value.contains(&delim) {
                delim.push('_');
            }
            let _ = write!(s, "{name}<<{delim}\n{value}\n{delim}\n");
        } else {
            let _ = writeln!(s, "{name}={value}");
        }
    }
    s
}

/// `markdown` cut below `limit` bytes at a line break, with [`TRUNCATED`]
/// after it; unchanged when it fits.
pub(crate) fn capped(markdown: &str, limit: usize) -> String {
    if markdown.len() <= limit {
        return markdown.to_string();
    }
    let room = limit - TRUNCATED.len() - 4;
    let mut end = room;
    while !markdown.is_char_boundary(end) {
        end -= 1;
    }
    let cut = markdown[..end].rfind('\n').unwrap_or(end);
    let mut s = markdown[..cut].to_string();
    // An open code fence would swallow the note.
    if s.matches("```").count() % 2 == 1 {
        s.push_str("\n```");
    }
    s.push_str(TRUNCATED);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_toolkit_does() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn annotation_carries_file_line_col_and_title() {
        let at = Location {
            file: "config/dev,1.yaml".into(),
            line: Some(3),
            col: Some(9),
        };
        assert_eq!(
            annotation("error", Some(&at), "service.memory", "bad: 1\n2"),
            "::error file=config/dev%2C1.yaml,line=3,col=9,title=service.memory::bad: 1%0A2\n"
        );
        assert_eq!(
            annotation("warning", None, "autosre-deploy", "w"),
            "::warning title=autosre-deploy::w\n"
        );
    }

    #[test]
    fn multiline_outputs_use_a_delimiter_the_value_lacks() {
        let nonce = 0xab;
        let delim = format!("ghadelimiter_{nonce:016x}");
        let out = outputs(
            &[
                ("url", "https://x".into()),
                ("targets", format!("a\n{delim}\nb")),
            ],
            nonce,
        );
        assert_eq!(
            out,
            format!("url=https://x\ntargets<<{delim}_\na\n{delim}\nb\n{delim}_\n")
        );
    }

    #[test]
    fn summaries_over_the_limit_are_cut_with_a_note() {
        let small = "# plan\n";
        assert_eq!(capped(small, SUMMARY_LIMIT), small);
        let line = "| é | row |\n";
        let big = format!("```\n{}", line.repeat(SUMMARY_LIMIT / line.len() + 10));
        let cut = capped(&big, SUMMARY_LIMIT);
        assert!(cut.len() <= SUMMARY_LIMIT, "{}", cut.len());
        assert!(capped(&big, COMMENT_LIMIT).len() <= COMMENT_LIMIT);
        assert!(cut.ends_with(TRUNCATED));
        assert_eq!(cut.matches("```").count() % 2, 0);
    }
}
