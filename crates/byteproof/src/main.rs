//! The `byteproof` command line: glue over the library crates. It parses arguments, resolves
//! configuration, calls the engines, and is the only place that prints or picks an exit code.

fn main() {}
