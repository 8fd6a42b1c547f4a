//! vipd.
fn main() {}
