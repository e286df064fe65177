//! The printer over captured streams: colour decisions from the environment,
//! JSON lines, `--quiet`, and progress away from a terminal.

use super::*;

fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.to_string())
    }
}

fn color(vars: &[(&str, &str)], is_terminal: bool) -> bool {
    ColorEnv::from_env(&env(vars)).color(is_terminal)
}

/// A printer over two buffers, both claimed to be terminals (or not).
fn printer(
    quiet: bool,
    format: LogFormat,
    vars: &[(&str, &str)],
    terminal: bool,
) -> (Printer, Capture, Capture) {
    let (out, err) = (Capture::new(), Capture::new());
    let streams = Streams::new(out.clone(), err.clone()).terminals(terminal, terminal);
    let p = Printer::new(PrinterConfig::new(quiet, format, &env(vars)), streams);
    (p, out, err)
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

/// anstream's rules over anstyle-query's variables, in their order.
#[test]
fn colour_follows_no_color_clicolor_and_term() {
    // A terminal, and nothing said: colour (even with no TERM at all).
    assert!(color(&[("TERM", "xterm-256color")], true));
    assert!(color(&[], true));
    // Not a terminal: none.
    assert!(!color(&[("TERM", "xterm")], false));
    // NO_COLOR set and not empty wins over everything; empty counts as unset.
    assert!(!color(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")], true));
    assert!(color(&[("NO_COLOR", "")], true));
    // CLICOLOR_FORCE colours even a pipe, and beats CLICOLOR=0.
    assert!(color(&[("CLICOLOR_FORCE", "1")], false));
    assert!(color(&[("CLICOLOR_FORCE", "1"), ("CLICOLOR", "0")], false));
    assert!(!color(&[("CLICOLOR_FORCE", "")], false));
    // CLICOLOR=0 turns a terminal's colour off; another value does not.
    assert!(!color(&[("CLICOLOR", "0")], true));
    assert!(color(&[("CLICOLOR", "1")], true));
    // A dumb terminal gets none, unless CLICOLOR or CI says otherwise.
    assert!(!color(&[("TERM", "dumb")], true));
    assert!(color(&[("TERM", "dumb"), ("CLICOLOR", "1")], true));
    assert!(color(&[("TERM", "dumb"), ("CI", "true")], true));
}

#[test]
fn colour_on_a_terminal_only_and_markers_always() {
    let (p, out, err) = printer(false, LogFormat::Text, &[], true);
    p.data(&format!("{} roles/x", p.paint_out(Style::Green, "+")));
    p.warn("careful");
    assert_eq!(out.contents(), "\x1b[32m+\x1b[0m roles/x\n");
    assert_eq!(err.contents(), "\x1b[33mwarning:\x1b[0m careful\n");

    let (p, out, err) = printer(false, LogFormat::Text, &[("NO_COLOR", "1")], true);
    p.data(&format!("{} roles/x", p.paint_out(Style::Green, "+")));
    p.warn("careful");
    assert_eq!(out.contents(), "+ roles/x\n");
    assert_eq!(err.contents(), "warning: careful\n");
}

/// Text painted for stdout but shown on stderr follows stderr's decision.
#[test]
fn painting_for_stderr_follows_stderr() {
    let (out, err) = (Capture::new(), Capture::new());
    let streams = Streams::new(out, err).terminals(false, true);
    let p = Printer::new(
        PrinterConfig::new(false, LogFormat::Text, &env(&[])),
        streams,
    );
    assert_eq!(p.paint_out(Style::Red, "-"), "-");
    assert_eq!(
        p.painting_for_stderr().paint_out(Style::Red, "-"),
        "\x1b[31m-\x1b[0m"
    );
}

#[test]
fn text_lines_have_their_prefixes() {
    let (p, out, err) = printer(false, LogFormat::Text, &[], false);
    p.step("Deploying");
    p.info("two\nlines");
    p.success("done");
    p.error("it broke", Some("run this\nthen that"));
    assert_eq!(out.contents(), "");
    assert_eq!(
        err.contents(),
        "==> Deploying\ntwo\nlines\nok: done\nerror: it broke\n  hint: run this\n        then that\n"
    );
}

#[test]
fn quiet_keeps_only_warnings_errors_and_data() {
    let (p, out, err) = printer(true, LogFormat::Text, &[("NO_COLOR", "1")], true);
    p.step("a step");
    p.info("some info");
    p.success("done");
    let mut progress = p.progress("Waiting");
    progress.update("still");
    progress.finish("ready");
    p.warn("careful");
    p.error("it broke", None);
    p.data("the plan");
    assert_eq!(err.contents(), "warning: careful\nerror: it broke\n");
    assert_eq!(out.contents(), "the plan\n");
}

/// `--log-format json`: every stderr line is one object with Cloud Logging's
/// names, multi-line text and the error's hint included; stdout stays data.
#[test]
fn json_lines_parse_with_severity_message_and_time() {
    let (p, out, err) = printer(false, LogFormat::Json, &[("CLICOLOR_FORCE", "1")], true);
    p.step("Deploying");
    p.info("Plan for environment `staging`\n  + roles/run.invoker");
    p.success("done");
    p.warn("careful");
    p.error("it broke", Some("run this"));
    let mut progress = p.progress("Waiting");
    progress.update("for the revision");
    progress.fail("gave up");
    p.data("{\"schema_version\": 1}");

    let lines = json_lines(&err.contents());
    let severities: Vec<_> = lines.iter().map(|l| l["severity"].clone()).collect();
    assert_eq!(
        severities,
        [
            "INFO", "INFO", "INFO", "WARNING", "ERROR", "INFO", "INFO", "WARNING"
        ]
    );
    for l in &lines {
        let time = l["time"].as_str().expect("time is a string");
        assert!(time.contains('T') && time.ends_with('Z'), "{time}");
        assert!(!l["message"].as_str().unwrap().contains('\x1b'), "{l}");
    }
    assert_eq!(lines[0]["message"], "Deploying");
    assert_eq!(
        lines[1]["message"],
        "Plan for environment `staging`\n  + roles/run.invoker"
    );
    assert_eq!(lines[4]["message"], "it broke");
    assert_eq!(lines[4]["hint"], "run this");
    assert_eq!(lines[5]["message"], "Waiting...");
    assert!(
        lines[6]["message"]
            .as_str()
            .unwrap()
            .starts_with("Waiting: for the revision (")
    );
    assert_eq!(lines[7]["message"], "Waiting: gave up");
    assert_eq!(out.contents(), "{\"schema_version\": 1}\n");
}

/// Away from a terminal, progress is a line per change, not a spinner.
#[test]
fn progress_off_a_terminal_prints_a_line_per_change() {
    let (p, _, err) = printer(false, LogFormat::Text, &[], false);
    let mut progress = p.progress("Creating service");
    progress.update("waiting for revision r1");
    progress.update("waiting for revision r1");
    progress.update("waiting for revision r2");
    progress.finish("ready");
    let text = err.contents();
    assert!(!text.contains('\r'), "{text:?}");
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "Creating service...");
    assert!(lines[1].starts_with("Creating service: waiting for revision r1 ("));
    assert!(lines[1].ends_with("s elapsed)"));
    assert!(lines[2].starts_with("Creating service: waiting for revision r2 ("));
    assert_eq!(lines[3], "ok: ready");
}

/// On a terminal, the spinner draws into the injected stream, is cleared
/// when the wait ends, and a line printed meanwhile is not lost.
#[test]
fn progress_on_a_terminal_spins_in_place() {
    let (p, _, err) = printer(false, LogFormat::Text, &[("NO_COLOR", "1")], true);
    let mut progress = p.progress("Creating service");
    progress.update("waiting");
    p.warn("meanwhile");
    progress.finish("ready");
    let text = err.contents();
    assert!(text.contains("\r\x1b[2K"), "{text:?}");
    assert!(text.contains("Creating service: "), "{text:?}");
    assert!(text.contains("warning: meanwhile\n"), "{text:?}");
    assert!(text.ends_with("ok: ready\n"), "{text:?}");
}
