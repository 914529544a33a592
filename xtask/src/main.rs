//! `cargo xtask`: what a person would otherwise type.

fn main() {}
