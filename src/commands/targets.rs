//! `targets`: the deploy targets (environment x region) of the selected
//! environments, every one by default. `--output json` prints them as the
//! array a CI matrix takes (`fromJSON`), one job per target, each running
//! `deploy --target ENV/REGION`.

use crate::ExitStatus;
use crate::cli::{Output, TargetsArgs};
use crate::error::Error;
use crate::fleet::{self, Selection, TargetLine};
use crate::printer::Printer;
use crate::settings::Globals;

pub(crate) fn run(
    globals: &Globals,
    printer: &Printer,
    args: TargetsArgs,
) -> Result<ExitStatus, Error> {
    let selection = Selection {
        all: args.all || args.env.is_empty(),
        envs: args.env,
        target: None,
    };
    let lines: Vec<TargetLine> = fleet::select(&globals.config_dir, &selection)?
        .iter()
        .map(TargetLine::of)
        .collect();
    let text = match globals.output {
        // One line: a GitHub Actions output is `name=value` on one line.
        Output::Json => serde_json::to_string(&lines).expect("targets serialize"),
        Output::Human => {
            let width = lines.iter().map(|l| l.target.len()).max().unwrap_or(0);
            lines
                .iter()
                .map(|l| {
                    format!(
                        "{:width$}  project {}  service {}",
                        l.target, l.project, l.service
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        Output::Markdown => {
            let mut s = format!(
                "### autosre-deploy targets: {} target{}\n\n| target | project | region | service |\n|---|---|---|---|\n",
                lines.len(),
                if lines.len() == 1 { "" } else { "s" }
            );
            for l in &lines {
                s.push_str(&format!(
                    "| `{}` | {} | {} | {} |\n",
                    l.target, l.project, l.region, l.service
                ));
            }
            s
        }
    };
    printer.data(&text);
    Ok(ExitStatus::Success)
}
