//! Shared by the integration tests: the RFC 8448 corpus.

use serde_json::Value;
use std::path::PathBuf;

/// The parsed `rfc8448.json`; fails with a clear message when the corpus is missing.
pub(crate) fn rfc8448() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/rfc8448/rfc8448.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "RFC 8448 corpus missing at {} ({e}): see /work/shared/testdata/rfc8448/SOURCE.md",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("rfc8448.json is not JSON")
}
