//! Unit tests of `compute` over fixture live states: no process, no emulator.

use super::*;
