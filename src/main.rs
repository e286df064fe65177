//! autosre-deploy: the command-line tool arrives in the next commits.
fn main() {}
