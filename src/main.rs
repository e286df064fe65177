//! autosre-deploy: the command-line tool arrives in the next commit.

#[allow(dead_code, unused_imports)]
mod config;

fn main() {}
