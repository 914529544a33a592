//! Who the pull request author is to the repository: GitHub's `author_association`, or, where a
//! payload has none (Gitea), the author's permission looked up through the forge API.

use std::fmt;
use std::future::Future;
use std::str::FromStr;

/// GitHub's `author_association` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Association {
    /// Owner of the repository.
    Owner,
    /// Member of the organisation that owns the repository.
    Member,
    /// Invited to collaborate on the repository.
    Collaborator,
    /// Has committed to the repository before.
    Contributor,
    /// Has not committed to the repository before.
    FirstTimeContributor,
    /// Has never committed to GitHub before.
    FirstTimer,
    /// A placeholder account for an imported user.
    Mannequin,
    /// No association.
    None,
}

impl Association {
    /// Every value, in GitHub's order.
    pub const ALL: [Self; 8] = [
        Self::Owner,
        Self::Member,
        Self::Collaborator,
        Self::Contributor,
        Self::FirstTimeContributor,
        Self::FirstTimer,
        Self::Mannequin,
        Self::None,
    ];

    /// The payload spelling, e.g. `FIRST_TIME_CONTRIBUTOR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "OWNER",
            Self::Member => "MEMBER",
            Self::Collaborator => "COLLABORATOR",
            Self::Contributor => "CONTRIBUTOR",
            Self::FirstTimeContributor => "FIRST_TIME_CONTRIBUTOR",
            Self::FirstTimer => "FIRST_TIMER",
            Self::Mannequin => "MANNEQUIN",
            Self::None => "NONE",
        }
    }
}

impl fmt::Display for Association {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an `author_association` value.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown author association {0:?}; expected one of OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, FIRST_TIMER, MANNEQUIN, NONE"
)]
pub struct UnknownAssociation(pub String);

impl FromStr for Association {
    type Err = UnknownAssociation;

    /// Accepts the payload spelling in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownAssociation(s.to_owned()))
    }
}

/// A user's permission on a repository, from the forges' collaborator-permission endpoint
/// (`GET /repos/{owner}/{repo}/collaborators/{user}/permission`, `permission` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Gitea: the repository owner.
    Owner,
    /// Administers the repository.
    Admin,
    /// Can push (GitHub's `maintain` is reported as `write`).
    Write,
    /// Can read (GitHub's `triage` is reported as `read`).
    Read,
    /// No access.
    None,
}

impl Permission {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Write => "write",
            Self::Read => "read",
            Self::None => "none",
        }
    }

    /// Owner, admin and write are treated as [`Association::Collaborator`].
    pub fn is_collaborator(self) -> bool {
        matches!(self, Self::Owner | Self::Admin | Self::Write)
    }
}

/// A permission string neither forge sends.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown repository permission {0:?}; expected owner, admin, maintain, write, triage, read or none"
)]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;

    /// Reads either forge's spelling; `maintain` counts as write and `triage` as read.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "owner" => Ok(Self::Owner),
            "admin" => Ok(Self::Admin),
            "maintain" | "write" => Ok(Self::Write),
            "triage" | "read" => Ok(Self::Read),
            "none" => Ok(Self::None),
            _ => Err(UnknownPermission(s.to_owned())),
        }
    }
}

/// Looks up a user's permission on a repository through a forge's API. A forge client
/// implements it; [`decide_resolving`](crate::decide_resolving) calls it only for a pull
/// request whose payload has no `author_association`.
pub trait AssociationResolver {
    /// Why a look-up failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The permission of `login` on `repository` (`owner/name`).
    fn permission(
        &self,
        repository: &str,
        login: &str,
    ) -> impl Future<Output = Result<Permission, Self::Error>> + Send;
}

/// The answer of a look-up, kept for the rule's detail.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) repository: String,
    pub(crate) permission: Permission,
}
