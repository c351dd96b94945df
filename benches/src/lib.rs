//! Shared helpers for the per-layer benchmarks run by `cargo xtask bench`.
