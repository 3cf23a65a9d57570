//! dist, checksums, sign, keygen, formula and the fixtures.

use super::*;

#[test]
fn placeholder() {}
