//! The permissions of Google's predefined IAM roles, from a trimmed snapshot of Google's
//! role definitions (`types/roles/predefined.txt`; its README says where it comes from).
//!
//! Shared by the tool (which role to name in a "missing permission" hint, which roles hold a
//! permission) and the emulator (what a binding grants), so neither writes a role's
//! permissions from memory and both are held to the same data by tests.

use std::collections::BTreeMap;
use std::sync::OnceLock;

const DATA: &str = include_str!("../roles/predefined.txt");

/// Role -> its permissions, sorted.
fn table() -> &'static BTreeMap<&'static str, Vec<&'static str>> {
    static TABLE: OnceLock<BTreeMap<&'static str, Vec<&'static str>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut role = None;
        for line in DATA
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            match line.strip_prefix("  ") {
                Some(perm) => out
                    .get_mut(role.expect("a permission follows its role"))
                    .expect("role inserted")
                    .push(perm),
                None => {
                    role = Some(line);
                    out.insert(line, Vec::new());
                }
            }
        }
        for perms in out.values_mut() {
            perms.sort_unstable();
        }
        out
    })
}

/// Every role in the snapshot (`roles/NAME`), sorted.
pub fn roles() -> impl Iterator<Item = &'static str> {
    table().keys().copied()
}

/// The permissions of predefined `role`; `None` for a role not in the snapshot.
pub fn permissions(role: &str) -> Option<&'static [&'static str]> {
    table().get(role).map(Vec::as_slice)
}

/// Whether predefined `role` holds `permission`; `None` for a role not in the snapshot.
pub fn role_holds(role: &str, permission: &str) -> Option<bool> {
    permissions(role).map(|ps| ps.binary_search(&permission).is_ok())
}

/// The roles of the snapshot that hold `permission`, sorted.
pub fn roles_holding(permission: &str) -> impl Iterator<Item = &'static str> {
    table()
        .iter()
        .filter(move |(_, ps)| ps.binary_search(&permission).is_ok())
        .map(|(r, _)| *r)
}

/// Whether any role of the snapshot holds `permission`: a permission no role holds is not
/// one Google knows (the basic roles are trimmed, see the README, so this is for the
/// services the tool uses).
pub fn exists(permission: &str) -> bool {
    roles_holding(permission).next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_reads_as_roles_with_their_permissions() {
        assert!(roles().count() >= 40);
        assert!(roles().all(|r| r.starts_with("roles/")));
        assert!(roles().all(|r| permissions(r).is_some_and(|p| !p.is_empty())));
        assert_eq!(
            role_holds("roles/run.sourceDeveloper", "cloudbuild.builds.create"),
            Some(true)
        );
        assert_eq!(
            role_holds("roles/run.developer", "run.services.setIamPolicy"),
            Some(false)
        );
        assert_eq!(role_holds("roles/made.up", "run.services.get"), None);
        // No predefined role holds a `run.builds.*` permission: there is none.
        assert!(!exists("run.builds.create"));
        assert!(roles_holding("cloudbuild.builds.create").any(|r| r == "roles/owner"));
    }
}
