//! Workspace integration tests against real peers live in `tests/tests/`.
