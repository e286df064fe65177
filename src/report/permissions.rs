//! The permission table `check` prints: every permission the plan needs, on
//! which resource, held or missing, and the role that grants it.
//!
//! Its own file because it renders one part of the plan on demand (`check`
//! only), in both formats, apart from the plan walk in the parent module.

use std::fmt::Write;

use super::Format;
use crate::plan::permissions::{PermissionCheck, PermissionStatus};
use crate::printer::{Style, markdown};

fn status_word(s: PermissionStatus) -> &'static str {
    match s {
        PermissionStatus::Held => "held",
        PermissionStatus::Missing => "MISSING",
        PermissionStatus::Unknown => "not checked",
    }
}

/// The full permission table `check` prints: every permission the plan
/// needs, on which resource, held or missing, and the role that grants it.
pub(crate) fn permissions_table(checks: &[PermissionCheck], format: Format<'_>) -> String {
    let mut s = String::new();
    if checks.is_empty() {
        return s;
    }
    match format {
        Format::Text(p) => {
            let _ = writeln!(s, "\nPermissions of the deploying identity:");
            let width = checks.iter().map(|c| c.permission.len()).max().unwrap_or(0);
            for c in checks {
                let word = status_word(c.status);
                let mark = match c.status {
                    PermissionStatus::Held => p.paint_out(Style::Green, word),
                    PermissionStatus::Missing => p.paint_out(Style::Red, word),
                    PermissionStatus::Unknown => p.paint_out(Style::Yellow, word),
                };
                let _ = writeln!(
                    s,
                    "  {mark}{} {:width$}  {}  ({}; {})",
                    " ".repeat(11usize.saturating_sub(word.len())),
                    c.permission,
                    c.resource.label(),
                    if c.required { "required" } else { "optional" },
                    c.role,
                );
            }
        }
        Format::Markdown => {
            let _ = writeln!(
                s,
                "\n#### Permissions of the deploying identity\n\n{}",
                markdown::header(&["permission", "resource", "status", "required", "granted by"])
            );
            for c in checks {
                let _ = writeln!(
                    s,
                    "{}",
                    markdown::row(&[
                        markdown::code(&c.permission),
                        c.resource.label(),
                        status_word(c.status).to_string(),
                        if c.required { "yes" } else { "no" }.to_string(),
                        markdown::code(&c.role),
                    ])
                );
            }
        }
    }
    s
}
