//! Debug-build failpoints: `PANE_FAILPOINT=<step>` aborts the process right
//! after that step, as a `kill -9` would, so tests can prove the crash
//! invariant at every step of a swap. Release builds compile this to nothing.

/// Aborts the process if `PANE_FAILPOINT` names `step` (debug builds only).
pub fn hit(step: &str) {
    if cfg!(debug_assertions) && armed().is_some_and(|armed| armed == step) {
        eprintln!("pane: failpoint {step}: aborting");
        std::process::abort();
    }
}

fn armed() -> Option<&'static str> {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ARMED
        .get_or_init(|| std::env::var("PANE_FAILPOINT").ok())
        .as_deref()
}

/// Every step a failpoint can name, in the order an update passes them.
pub const UPDATE_STEPS: &[&str] = &[
    "downloaded",
    "staged",
    "smoke-tested",
    "kept",
    "receipt-pending",
    "swapped",
    "receipt-written-temp",
    "receipt-final",
];
