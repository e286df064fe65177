//! One view per command: what it shows on stdout, in each output format. The format
//! (`--output human|json|markdown`) is chosen once, in [`show`], rather than matched at every
//! place a command prints.

use serde::Serialize;

use crate::cli::Output;
use crate::printer::Printer;

/// What a command shows on stdout.
pub(crate) trait View {
    /// The document `--output json` prints.
    fn json(&self) -> impl Serialize + '_;
    /// Text for people; `printer` paints it.
    fn human(&self, printer: &Printer) -> String;
    /// GitHub-flavoured Markdown: the text for people unless the view has a form of its own.
    fn markdown(&self, printer: &Printer) -> String {
        self.human(printer)
    }
}

/// Prints `view` on stdout in the `output` format; nothing when the text is empty.
pub(crate) fn show(output: Output, printer: &Printer, view: &impl View) {
    let text = match output {
        Output::Json => crate::report::json(&view.json()),
        Output::Human => view.human(printer),
        Output::Markdown => view.markdown(printer),
    };
    if !text.is_empty() {
        printer.data(&text);
    }
}

/// A report whose JSON is a document and whose text is a sentence (the same in Markdown).
pub(crate) struct Reported<'a, T> {
    pub(crate) json: &'a T,
    pub(crate) text: String,
}

impl<T: Serialize> View for Reported<'_, T> {
    fn json(&self) -> impl Serialize + '_ {
        self.json
    }

    fn human(&self, _: &Printer) -> String {
        self.text.clone()
    }
}

/// `blocks` one after the other, each on lines of its own (as successive
/// [`Printer::data`] calls print them); empty ones left out.
pub(crate) fn blocks(blocks: &[&str]) -> String {
    let mut out = String::new();
    for b in blocks.iter().filter(|b| !b.is_empty()) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::LogFormat;
    use crate::printer::{Capture, PrinterConfig, Streams};

    /// `output` of `view`, as stdout receives it.
    fn shown(output: Output, view: &impl View) -> String {
        let out = Capture::new();
        let streams = Streams::new(out.clone(), Capture::new());
        let printer = Printer::new(
            PrinterConfig::new(false, LogFormat::Text, &|_| None),
            streams,
        );
        show(output, &printer, view);
        out.contents()
    }

    #[test]
    fn each_format_is_the_views_own_and_empty_text_prints_nothing() {
        #[derive(Serialize)]
        struct Doc {
            n: u32,
        }
        let sentence = Reported {
            json: &Doc { n: 1 },
            text: "done".into(),
        };
        assert_eq!(shown(Output::Human, &sentence), "done\n");
        assert_eq!(shown(Output::Markdown, &sentence), "done\n");
        assert_eq!(shown(Output::Json, &sentence), "{\n  \"n\": 1\n}\n");
        let silent = Reported {
            json: &Doc { n: 2 },
            text: String::new(),
        };
        assert_eq!(shown(Output::Human, &silent), "");
    }

    #[test]
    fn blocks_print_as_successive_lines() {
        assert_eq!(blocks(&["a\n", "", "b"]), "a\nb");
        assert_eq!(blocks(&["a", "b\n"]), "a\nb\n");
    }
}
