//! Exit statuses: the contract with CI, documented in `--help` and the README.
//!
//! The order of the variants is their severity: when two apply, the larger wins.

/// How a byteproof run ended. The numeric values are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ExitStatus {
    /// 0: verified and equal (identical tarballs, every image pinned).
    Success = 0,
    /// 1: verified and different (divergent, claim-mismatch, unpinned, stale …).
    Differs = 1,
    /// 2: usage or configuration error, unreadable input, output that could not be written.
    Usage = 2,
    /// 3: could not verify (a registry could not be read, a digest could not be resolved).
    Unverified = 3,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status as u8)
    }
}

/// Text for `--help`.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit status:
  0  identical / verified
  1  differs (divergent, claim-mismatch)
  2  usage or configuration error, unreadable input, stdout could not be written
  3  could not verify (fetch failed, version missing, auth refused)
A closed stdout (`| head`, `| true`) never changes the status; any other failed
write to stdout (a full disk) gives 2, or 3 when the run could not verify.";
