//! Examples of runway as a library live in `library.rs` (run with
//! `cargo run -p runway-examples --example library`); this crate has no code of its own.
