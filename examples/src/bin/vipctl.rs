//! vipctl.
fn main() {}
