//! One live line per target of a run over several: its phase and the time
//! since the run began, redrawn in place on a terminal (indicatif's
//! `MultiProgress`). Elsewhere (CI logs, a pipe, `--log-format json`) each
//! change of phase is a plain line prefixed with the target (`[ENV/REGION]`),
//! and with `--quiet` there is none; never both.
//!
//! While a board is on screen, the printer's other lines are written above
//! it, and a wait a target's printer would show as its own spinner (a
//! rollout's) becomes that target's line instead (see `Progress`).

use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::progress::ErrTerm;
use super::streams::lock;
use super::{Printer, Severity};

const TICK: Duration = Duration::from_millis(120);

/// A board on screen: its bars, and each target's.
pub(super) type OnScreen = (MultiProgress, Vec<(Arc<str>, ProgressBar)>);

pub(crate) struct Board {
    printer: Printer,
    /// On a terminal: the bars, by target.
    bars: Option<Vec<(Arc<str>, ProgressBar)>>,
}

impl Printer {
    /// A board with one line per target in `targets`.
    pub(crate) fn board(&self, targets: &[String]) -> Board {
        let bars = self.shared.live.then(|| {
            let term = ErrTerm {
                sink: self.shared.err.clone(),
                width: self.shared.err_width,
            };
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::term_like_with_hz(
                Box::new(term),
                20,
            ));
            let width = targets.iter().map(|t| t.len()).max().unwrap_or(0);
            let style = ProgressStyle::with_template(&format!(
                "{{spinner}} {{prefix:<{width}}} {{msg}} ({{elapsed}})"
            ))
            .expect("the template is valid")
            .tick_chars("|/-\\ ");
            let bars: Vec<(Arc<str>, ProgressBar)> = targets
                .iter()
                .map(|t| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.set_prefix(t.clone());
                    bar.enable_steady_tick(TICK);
                    (Arc::<str>::from(t.as_str()), bar)
                })
                .collect();
            *lock(&self.shared.board) = Some((multi, bars.clone()));
            bars
        });
        Board {
            printer: self.clone(),
            bars,
        }
    }

    /// Whether a board is on screen: a wait is then shown on its target's
    /// line, not as a spinner of its own.
    pub(super) fn board_live(&self) -> bool {
        lock(&self.shared.board).is_some()
    }

    /// Show `text` on this printer's target's line of the board on screen.
    pub(super) fn board_line(&self, text: &str) {
        let Some(target) = &self.prefix else { return };
        let board = lock(&self.shared.board);
        let bar = board
            .as_ref()
            .and_then(|(_, bars)| bars.iter().find(|(t, _)| t == target));
        if let Some((_, bar)) = bar {
            bar.set_message(text.to_string());
        }
    }
}

impl Board {
    /// `target` is now at `phase`: its line on a terminal, else a line
    /// `[target] phase` (none with `--quiet`).
    pub(crate) fn set(&self, target: &str, phase: &str) {
        match &self.bars {
            Some(bars) => {
                if let Some((_, bar)) = bars.iter().find(|(t, _)| t.as_ref() == target) {
                    bar.set_message(phase.to_string());
                }
            }
            None => {
                if !self.printer.shared.quiet {
                    let p = self.printer.for_target(target);
                    p.line(Severity::Info, phase, phase, serde_json::Map::new());
                }
            }
        }
    }

    /// `target` reached its last phase: its line stays, no longer ticking.
    pub(crate) fn finish(&self, target: &str, phase: &str) {
        self.set(target, phase);
        if let Some(bars) = &self.bars
            && let Some((_, bar)) = bars.iter().find(|(t, _)| t.as_ref() == target)
        {
            bar.finish();
        }
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        if let Some(bars) = self.bars.take() {
            for (_, bar) in bars {
                bar.finish();
            }
            *lock(&self.printer.shared.board) = None;
        }
    }
}
