//! GitHub-flavoured Markdown tables: the one writer every table the tool prints goes through.
//!
//! A cell's `|` is escaped as `\|`, which GFM reads as a literal pipe, inside code spans too,
//! and a line break becomes `<br>` (a table row is one line), so whatever a value holds, it
//! stays one cell of one row (<https://github.github.com/gfm/#tables-extension->).

/// `text` as the content of one table cell.
pub(crate) fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push_str("\\|"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

/// One row, each cell escaped: `| a | b |`.
pub(crate) fn row<S: AsRef<str>>(cells: &[S]) -> String {
    let mut s = String::from("|");
    for c in cells {
        match c.as_ref() {
            "" => s.push_str(" |"),
            text => {
                s.push(' ');
                s.push_str(&cell(text));
                s.push_str(" |");
            }
        }
    }
    s
}

/// The header row and the delimiter row of a table with these columns.
pub(crate) fn header<S: AsRef<str>>(columns: &[S]) -> String {
    format!("{}\n|{}", row(columns), "---|".repeat(columns.len()))
}

/// `text` in a code span, as a cell's content is written before [`row`] escapes it.
pub(crate) fn code(text: &str) -> String {
    format!("`{text}`")
}

/// Checks that every table in `md` (a run of lines starting with `|`) has as many cell
/// separators in each row as in its header, and returns how many tables there are: what a
/// test of any renderer asserts after putting a `|` or a line break in a value.
#[cfg(test)]
pub(crate) fn assert_tables_intact(md: &str) -> usize {
    let separators = |line: &str| {
        let mut n = 0;
        let mut escaped = false;
        for c in line.chars() {
            match (c, escaped) {
                ('\\', false) => escaped = true,
                ('|', false) => n += 1,
                _ => escaped = false,
            }
        }
        n
    };
    let mut tables = 0;
    let mut header: Option<usize> = None;
    for line in md.lines() {
        match (line.starts_with('|'), header) {
            (true, None) => {
                tables += 1;
                header = Some(separators(line));
            }
            (true, Some(n)) => {
                assert_eq!(separators(line), n, "a row of another shape: {line}\n{md}")
            }
            (false, _) => header = None,
        }
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_or_a_line_break_stays_in_its_cell() {
        let line = row(&["`a|b`", "one\ntwo\r\nthree", "", "plain"]);
        assert_eq!(line, "| `a\\|b` | one<br>two<br>three | | plain |");
        assert_eq!(
            assert_tables_intact(&format!("{}\n{line}", header(&["a", "b", "c", "d"]))),
            1
        );
        assert_eq!(
            header(&["check", "result"]),
            "| check | result |\n|---|---|"
        );
    }
}
