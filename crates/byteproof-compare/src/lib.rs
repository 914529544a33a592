//! The compare engine: fetch one version from N registries concurrently, hash, check claims, decide a verdict.
