//! The little of a POSIX shell that the docs' command lines use: words with
//! quotes and backslashes, `$VAR` from a fixed table, a trailing `# comment`,
//! and the operators `|`, `>`, `>>`. Anything else a shell would do
//! (`$(...)`, `&&`, `;`, globs, `<`) is refused with a reason, so that a line
//! the harness cannot run exactly as a reader would is never half-run.

/// One piece of a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Token {
    Word(String),
    /// `|`, `>` or `>>`.
    Op(&'static str),
}

/// A command line split into tokens, and its trailing comment (without `#`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Split {
    pub tokens: Vec<Token>,
    pub comment: String,
}

/// Split `line`; `var` gives the value of `$NAME` (`None`: the harness does
/// not know it, and the line is refused).
pub(super) fn split(line: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<Split, String> {
    let mut tokens = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    let mut comment = String::new();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    tokens.push(Token::Word(w));
                }
            }
            '#' if word.is_none() => {
                comment = chars.collect::<String>().trim().to_string();
                break;
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("an unclosed ' quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("an unclosed \" quote".into()),
                        },
                        Some('$') => w.push_str(&variable(&mut chars, var)?),
                        Some('`') => return Err("command substitution (`...`)".into()),
                        Some(c) => w.push(c),
                        None => return Err("an unclosed \" quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("a trailing backslash".into()),
            },
            '$' => {
                let value = variable(&mut chars, var)?;
                word.get_or_insert_with(String::new).push_str(&value);
            }
            '|' | '>' => {
                if let Some(w) = word.take() {
                    if c == '>' && w.chars().all(|d| d.is_ascii_digit()) {
                        return Err(format!("the redirection {w}>"));
                    }
                    tokens.push(Token::Word(w));
                }
                let op = match (c, chars.peek()) {
                    ('|', Some('|')) => return Err("the operator ||".into()),
                    ('|', _) => "|",
                    ('>', Some('>')) => {
                        chars.next();
                        ">>"
                    }
                    ('>', Some('&')) => return Err("the redirection >&".into()),
                    _ => ">",
                };
                tokens.push(Token::Op(op));
            }
            '`' => return Err("command substitution (`...`)".into()),
            ';' | '&' | '<' | '(' | ')' | '*' | '?' | '{' | '}' => {
                return Err(format!("the shell syntax `{c}`"));
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word.take() {
        tokens.push(Token::Word(w));
    }
    Ok(Split { tokens, comment })
}

/// The value of the variable after a `$`: `$NAME` or `${NAME}`.
fn variable(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let braced = chars.peek() == Some(&'{');
    if braced {
        chars.next();
    }
    if chars.peek() == Some(&'(') {
        return Err("command substitution $(...)".into());
    }
    let mut name = String::new();
    while let Some(&c) = chars.peek() {
        if !(c.is_ascii_alphanumeric() || c == '_') {
            break;
        }
        name.push(c);
        chars.next();
    }
    if braced && chars.next() != Some('}') {
        return Err(format!("the expansion ${{{name}...}}"));
    }
    if name.is_empty() {
        return Err("a lone $".into());
    }
    var(&name).ok_or_else(|| format!("the variable ${name}, which the docs' test does not define"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Result<Split, String> {
        split(line, &|name| (name == "OUT").then(|| "out.md".to_string()))
    }

    fn w(s: &str) -> Token {
        Token::Word(s.to_string())
    }

    #[test]
    fn words_quotes_variables_operators_and_comments() {
        let s = words(r#"a "b c" 'd $e' f\ g "$OUT" >> "$OUT"   # a comment # more"#).unwrap();
        assert_eq!(
            s.tokens,
            [
                w("a"),
                w("b c"),
                w("d $e"),
                w("f g"),
                w("out.md"),
                Token::Op(">>"),
                w("out.md")
            ]
        );
        assert_eq!(s.comment, "a comment # more");
        let s = words("x --a=b|y > z").unwrap();
        assert_eq!(
            s.tokens,
            [
                w("x"),
                w("--a=b"),
                Token::Op("|"),
                w("y"),
                Token::Op(">"),
                w("z")
            ]
        );
        assert_eq!(words("a#b").unwrap().tokens, [w("a#b")]);
    }

    #[test]
    fn what_the_harness_cannot_run_is_refused() {
        for line in [
            "a && b",
            "a; b",
            "a $(b)",
            "a `b`",
            "a $UNKNOWN",
            "a 2> e",
            "a 2>&1",
            "a < f",
            "a *",
            "a 'open",
            "a || b",
        ] {
            assert!(words(line).is_err(), "{line}");
        }
    }
}
