//! Placeholder written by the lead so the workspace builds; replace freely.
