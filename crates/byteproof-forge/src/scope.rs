//! Where runners live and which repository an operation is about, parsed from the forms the
//! command line uses: `instance`, `org/NAME` or `repo/OWNER/REPO` for a [`Scope`], and
//! `OWNER/REPO` for a [`Repo`].
//!
//! Names are checked against what both forges allow (letters, digits, `.`, `-`, `_`), so a
//! typo or a stray `/` is a usage error here rather than a 404 from the server.

use std::fmt;
use std::str::FromStr;

/// A repository, `OWNER/REPO`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Repo {
    owner: String,
    name: String,
}

impl Repo {
    /// The repository `name` of `owner`.
    pub fn new(owner: &str, name: &str) -> Result<Self, ScopeError> {
        let whole = format!("{owner}/{name}");
        let check = |part: &str| {
            check_name(part).map_err(|reason| ScopeError {
                input: whole.clone(),
                expected: "OWNER/REPO",
                reason,
            })
        };
        check(owner)?;
        check(name)?;
        Ok(Self {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The owner (a user or an organisation).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The repository's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl FromStr for Repo {
    type Err = ScopeError;

    /// `OWNER/REPO`.
    fn from_str(text: &str) -> Result<Self, ScopeError> {
        let refuse = |reason| ScopeError {
            input: text.to_owned(),
            expected: "OWNER/REPO",
            reason,
        };
        let (owner, name) = text.split_once('/').ok_or_else(|| refuse(NO_SLASH))?;
        if name.contains('/') {
            return Err(refuse(TOO_MANY_PARTS));
        }
        Self::new(owner, name).map_err(|e| refuse(e.reason))
    }
}

/// Where self-hosted runners are registered and listed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The whole instance (Gitea's site-admin level; GitHub has no such level here).
    Instance,
    /// An organisation.
    Org(String),
    /// A repository.
    Repo(Repo),
}

impl fmt::Display for Scope {
    /// The form [`Scope::from_str`] reads: `instance`, `org/NAME`, `repo/OWNER/REPO`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Instance => f.write_str("instance"),
            Scope::Org(org) => write!(f, "org/{org}"),
            Scope::Repo(repo) => write!(f, "repo/{repo}"),
        }
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    /// `instance`, `org/NAME` or `repo/OWNER/REPO`.
    fn from_str(text: &str) -> Result<Self, ScopeError> {
        let refuse = |reason| ScopeError {
            input: text.to_owned(),
            expected: "instance, org/NAME or repo/OWNER/REPO",
            reason,
        };
        if text == "instance" {
            return Ok(Scope::Instance);
        }
        let (kind, rest) = text
            .split_once('/')
            .ok_or_else(|| refuse("the scope kind is instance, org or repo"))?;
        match kind {
            "org" if rest.contains('/') => Err(refuse(TOO_MANY_PARTS)),
            "org" => check_name(rest)
                .map(|()| Scope::Org(rest.to_owned()))
                .map_err(refuse),
            "repo" => rest
                .parse::<Repo>()
                .map(Scope::Repo)
                .map_err(|e| refuse(e.reason)),
            _ => Err(refuse("the scope kind is instance, org or repo")),
        }
    }
}

/// A scope or repository that cannot be read; a usage error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not {expected}: {reason}")]
pub struct ScopeError {
    input: String,
    expected: &'static str,
    reason: &'static str,
}

const NO_SLASH: &str = "OWNER and REPO are separated by '/'";
const TOO_MANY_PARTS: &str = "there are more '/'-separated parts than expected";

/// A user, organisation or repository name: letters, digits, `.`, `-` and `_`, not `.`/`..`.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("a name is empty")
    } else if name == "." || name == ".." {
        Err("'.' and '..' are not names")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        Err("names hold only letters, digits, '.', '-' and '_'")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_and_print_the_command_line_forms() {
        for text in [
            "instance",
            "org/bytelyst",
            "repo/bytelyst/app.js",
            "repo/a_b/c-d",
        ] {
            let scope: Scope = text.parse().unwrap();
            assert_eq!(scope.to_string(), text);
        }
        assert_eq!(
            "repo/bytelyst/app".parse::<Scope>().unwrap(),
            Scope::Repo(Repo::new("bytelyst", "app").unwrap())
        );
        assert_eq!(
            "org/bytelyst".parse::<Scope>().unwrap(),
            Scope::Org("bytelyst".to_owned())
        );
    }

    #[test]
    fn bad_scopes_say_what_is_expected() {
        let cases = [
            ("", "the scope kind is instance, org or repo"),
            ("Instance", "the scope kind is instance, org or repo"),
            ("user/me", "the scope kind is instance, org or repo"),
            ("org/", "a name is empty"),
            ("org/a/b", TOO_MANY_PARTS),
            ("repo/bytelyst", NO_SLASH),
            ("repo/bytelyst/", "a name is empty"),
            ("repo/a/b/c", TOO_MANY_PARTS),
            ("repo/a/..", "'.' and '..' are not names"),
            (
                "repo/a b/c",
                "names hold only letters, digits, '.', '-' and '_'",
            ),
            (
                "org/a%2Fb",
                "names hold only letters, digits, '.', '-' and '_'",
            ),
        ];
        for (text, reason) in cases {
            let err = text.parse::<Scope>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("{text:?} is not instance, org/NAME or repo/OWNER/REPO: {reason}"),
            );
        }
    }

    #[test]
    fn repos_are_owner_slash_name() {
        let repo: Repo = "bytelyst/app".parse().unwrap();
        assert_eq!((repo.owner(), repo.name()), ("bytelyst", "app"));
        assert_eq!(repo.to_string(), "bytelyst/app");
        assert_eq!(
            "bytelyst".parse::<Repo>().unwrap_err().to_string(),
            format!("\"bytelyst\" is not OWNER/REPO: {NO_SLASH}")
        );
        assert!("a/b/c".parse::<Repo>().is_err());
        assert!(Repo::new("a", "").is_err());
    }
}
