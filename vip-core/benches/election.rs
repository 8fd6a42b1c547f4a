//! Benchmark placeholder; filled in with the election machine.
#![allow(missing_docs)]
fn main() {}
