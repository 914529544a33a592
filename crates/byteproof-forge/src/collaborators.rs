//! A user's permission on a repository, for trust decisions a payload cannot make alone
//! (Gitea payloads have no `author_association`; GitHub reports private organisation members
//! as `CONTRIBUTOR`): `GET /repos/{owner}/{repo}/collaborators/{user}/permission` →
//! `{"permission", "role_name", "user"}` on both forges (`forge-routing-api.md` §1.8, rules 4
//! and 5). GitHub's `permission` is `admin`, `write`, `read` or `none` (`maintain` is reported
//! as `write`, `triage` as `read`); Gitea's also has `owner`.

use std::fmt;

use byteproof_http::Method;
use serde::Deserialize;

use crate::{ForgeClient, ForgeError, Operation, Repo};

/// A user's access level on a repository, lowest first, so `permission >= Permission::Write`
/// reads as it should.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// No access.
    None,
    /// Read (GitHub's `triage` role too).
    Read,
    /// Write (GitHub's `maintain` role too).
    Write,
    /// Administration.
    Admin,
    /// Owner (Gitea only).
    Owner,
}

impl Permission {
    /// The level for a forge's word, `None` for a word neither forge documents.
    fn from_forge(word: &str) -> Option<Self> {
        Some(match word {
            "none" => Permission::None,
            "read" | "triage" => Permission::Read,
            "write" | "maintain" => Permission::Write,
            "admin" => Permission::Admin,
            "owner" => Permission::Owner,
            _ => return None,
        })
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Permission::None => "none",
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Admin => "admin",
            Permission::Owner => "owner",
        })
    }
}

#[derive(Deserialize)]
struct PermissionBody {
    permission: String,
}

impl ForgeClient {
    /// `login`'s permission on `repo`. A word neither forge documents is
    /// [`ForgeError::Malformed`], never a guess.
    pub async fn collaborator_permission(
        &self,
        repo: &Repo,
        login: &str,
    ) -> Result<Permission, ForgeError> {
        if login.is_empty() || login.contains('/') || login.chars().any(char::is_control) {
            return Err(ForgeError::invalid(
                format!("user {login:?}"),
                "a login is not empty and holds no '/' or control characters",
            ));
        }
        let call = self.call(
            Operation::CollaboratorPermission,
            format!("{login} on {repo}"),
            Method::GET,
            &[
                "repos",
                repo.owner(),
                repo.name(),
                "collaborators",
                login,
                "permission",
            ],
        );
        let body: PermissionBody = self.fetch(&call).await?;
        Permission::from_forge(&body.permission).ok_or_else(|| ForgeError::Malformed {
            endpoint: call.endpoint(),
            detail: format!("unknown permission {:?}", body.permission),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_and_roles_map_down() {
        assert!(Permission::Owner > Permission::Admin);
        assert!(Permission::Admin > Permission::Write);
        assert!(Permission::Read > Permission::None);
        assert_eq!(Permission::from_forge("maintain"), Some(Permission::Write));
        assert_eq!(Permission::from_forge("triage"), Some(Permission::Read));
        assert_eq!(Permission::from_forge("Admin"), None);
        for level in [
            Permission::None,
            Permission::Read,
            Permission::Write,
            Permission::Admin,
            Permission::Owner,
        ] {
            assert_eq!(Permission::from_forge(&level.to_string()), Some(level));
        }
    }
}
