//! Repository Actions variables (the routing guard's switch): list, get, create, update, and
//! [`ForgeClient::set_variable`], the create-or-update that changes nothing when the value is
//! already right.
//!
//! **GitHub** (`forge-routing-api.md` §2.1–§2.2): `GET /repos/{o}/{r}/actions/variables`
//! (`{"total_count", "variables"}`, `per_page` ≤ 30); `GET …/{name}` → `{"name", "value", …}`;
//! `POST …/variables` with `{"name", "value"}` → 201, 409 when it exists; `PATCH …/{name}` with
//! `{"value"}` → 204, 404 when missing. Permission: "Variables" (`actions_variables`).
//!
//! **Gitea ≥ 1.22** (§2.3–§2.4): the list is a bare array with `X-Total-Count`, paged with
//! `page`/`limit`; objects carry the value as `data`; `POST …/variables/{name}` with
//! `{"value"}` → 204 (1.22–1.24) or 201 (1.25), 409 when it exists; `PUT …/{name}` → 204, 404
//! when missing (no upsert). An empty value cannot be stored; `\r\n` is stored as `\n`; names
//! are stored upper-case. Only the repository's owner (or a site admin) may read or write,
//! with a token scoped `write:repository` (reads: `read:repository`).
//!
//! Names are checked here as both forges check them (`^[A-Za-z_][A-Za-z0-9_]*$`, no `GITHUB_`
//! prefix; on Gitea no `GITEA_` prefix and not `CI`), so a bad name is a usage error before any
//! call. Gitea 1.22–1.24 also refuse every name starting with `CI` (`CI_…`): writing one there
//! is [`ForgeError::Unsupported`] with that reason.

use byteproof_http::Method;
use serde::Deserialize;
use serde_json::json;

use crate::client::{Call, Items};
use crate::{Forge, ForgeClient, ForgeError, GiteaFeature, Operation, Repo};

/// An Actions variable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Variable {
    /// Its name as the forge stores it (upper case on Gitea).
    pub name: String,
    /// Its value.
    pub value: String,
}

/// What [`ForgeClient::set_variable`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VariableChange {
    /// The variable did not exist and was created.
    Created,
    /// The variable had another value and was updated.
    Updated {
        /// The value it had; `None` when another writer created it between this client's read
        /// and its create.
        previous: Option<String>,
    },
    /// The variable already had the value; nothing was written.
    Unchanged,
}

#[derive(Deserialize)]
struct VariableBody {
    name: String,
    /// Gitea's field for the value.
    #[serde(default)]
    data: Option<String>,
    /// GitHub's field for the value.
    #[serde(default)]
    value: Option<String>,
}

impl ForgeClient {
    /// Every variable of `repo`, all pages. Gitea ≥ 1.22.
    pub async fn variables(&self, repo: &Repo) -> Result<Vec<Variable>, ForgeError> {
        let operation = Operation::VariableList;
        self.require(operation, GiteaFeature::Variables, || None)
            .await?;
        let call = self.call(
            operation,
            repo.to_string(),
            Method::GET,
            &["repos", repo.owner(), repo.name(), "actions", "variables"],
        );
        let (items, page_size) = match self.forge() {
            Forge::Gitea => (Items::Array, 50),
            Forge::Github => (Items::Field("variables"), 30),
        };
        let bodies: Vec<VariableBody> = self.all_pages(&call, items, page_size).await?;
        bodies
            .into_iter()
            .map(|body| self.variable_of(&call, body))
            .collect()
    }

    /// The variable `name` of `repo`, or `None` when the forge answers 404 (also when the
    /// credential cannot see the repository on GitHub). Gitea ≥ 1.22.
    pub async fn variable(&self, repo: &Repo, name: &str) -> Result<Option<Variable>, ForgeError> {
        let call = self
            .variable_call(Operation::VariableGet, Method::GET, repo, name)
            .await?;
        match self.fetch::<VariableBody>(&call).await {
            Ok(body) => self.variable_of(&call, body).map(Some),
            Err(ForgeError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Creates the variable; one that exists already is [`ForgeError::Conflict`].
    pub async fn create_variable(
        &self,
        repo: &Repo,
        name: &str,
        value: &str,
    ) -> Result<(), ForgeError> {
        let operation = Operation::VariableCreate;
        self.check_write(operation, name, value).await?;
        let call = match self.forge() {
            Forge::Gitea => self
                .variable_call(operation, Method::POST, repo, name)
                .await?
                .json(json!({ "value": value })),
            Forge::Github => self
                .call(
                    operation,
                    variable_target(repo, name),
                    Method::POST,
                    &["repos", repo.owner(), repo.name(), "actions", "variables"],
                )
                .json(json!({ "name": name, "value": value })),
        };
        self.send(&call).await.map(drop)
    }

    /// Updates the variable's value; a missing one is [`ForgeError::NotFound`].
    pub async fn update_variable(
        &self,
        repo: &Repo,
        name: &str,
        value: &str,
    ) -> Result<(), ForgeError> {
        let operation = Operation::VariableUpdate;
        self.check_write(operation, name, value).await?;
        let method = match self.forge() {
            Forge::Gitea => Method::PUT,
            Forge::Github => Method::PATCH,
        };
        let call = self
            .variable_call(operation, method, repo, name)
            .await?
            .json(json!({ "value": value }));
        self.send(&call).await.map(drop)
    }

    /// Makes the variable hold `value`: reads it, then writes only if it differs, updating an
    /// existing variable and creating a missing one. A variable created or deleted by someone
    /// else between the read and the write is handled (409 on create → update; 404 on update
    /// → create), so calling this twice is the same as calling it once.
    pub async fn set_variable(
        &self,
        repo: &Repo,
        name: &str,
        value: &str,
    ) -> Result<VariableChange, ForgeError> {
        self.check_write(Operation::VariableUpdate, name, value)
            .await?;
        let wanted = match self.forge() {
            Forge::Gitea => value.replace("\r\n", "\n"),
            Forge::Github => value.to_owned(),
        };
        let change = match self.variable(repo, name).await? {
            Some(current) if current.value == wanted => VariableChange::Unchanged,
            Some(current) => match self.update_variable(repo, name, value).await {
                Ok(()) => VariableChange::Updated {
                    previous: Some(current.value),
                },
                Err(ForgeError::NotFound { .. }) => {
                    self.create_variable(repo, name, value).await?;
                    VariableChange::Created
                }
                Err(error) => return Err(error),
            },
            None => match self.create_variable(repo, name, value).await {
                Ok(()) => VariableChange::Created,
                Err(ForgeError::Conflict { .. }) => {
                    self.update_variable(repo, name, value).await?;
                    VariableChange::Updated { previous: None }
                }
                Err(error) => return Err(error),
            },
        };
        tracing::debug!(%repo, name, ?change, "variable set");
        Ok(change)
    }

    /// The call for one variable, after the name and version checks.
    async fn variable_call(
        &self,
        operation: Operation,
        method: Method,
        repo: &Repo,
        name: &str,
    ) -> Result<Call, ForgeError> {
        check_name(self.forge(), name)?;
        self.require(operation, GiteaFeature::Variables, || None)
            .await?;
        Ok(self.call(
            operation,
            variable_target(repo, name),
            method,
            &[
                "repos",
                repo.owner(),
                repo.name(),
                "actions",
                "variables",
                name,
            ],
        ))
    }

    /// What a write needs beyond a valid name: Gitea cannot store an empty value, and
    /// Gitea 1.22–1.24 refuse names starting with `CI`.
    async fn check_write(
        &self,
        operation: Operation,
        name: &str,
        value: &str,
    ) -> Result<(), ForgeError> {
        check_name(self.forge(), name)?;
        if self.forge() == Forge::Gitea {
            if value.is_empty() {
                return Err(ForgeError::invalid(
                    format!("variable {name}"),
                    "Gitea cannot store an empty value",
                ));
            }
            self.require(operation, GiteaFeature::Variables, || None)
                .await?;
            if name.to_ascii_uppercase().starts_with("CI") {
                self.require(operation, GiteaFeature::CiPrefixedVariableNames, || {
                    Some(format!(
                        "Gitea 1.22–1.24 refuse variable names starting with CI, such as {name}"
                    ))
                })
                .await?;
            }
        }
        Ok(())
    }

    fn variable_of(&self, call: &Call, body: VariableBody) -> Result<Variable, ForgeError> {
        let (value, field) = match self.forge() {
            Forge::Gitea => (body.data, "data"),
            Forge::Github => (body.value, "value"),
        };
        let value = value.ok_or_else(|| ForgeError::Malformed {
            endpoint: call.endpoint(),
            detail: format!("variable {} has no {field:?}", body.name),
        })?;
        Ok(Variable {
            name: body.name,
            value,
        })
    }
}

fn variable_target(repo: &Repo, name: &str) -> String {
    format!("variable {name} of {repo}")
}

/// The rules both forges apply to names (`forge-routing-api.md` §2.2, §2.4), as a usage error.
fn check_name(forge: Forge, name: &str) -> Result<(), ForgeError> {
    let refuse = |reason: &str| ForgeError::invalid(format!("variable name {name:?}"), reason);
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok {
        return Err(refuse("a name starts with a letter or '_'"));
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(refuse("a name holds only letters, digits and '_'"));
    }
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("GITHUB_") {
        return Err(refuse("the GITHUB_ prefix is reserved"));
    }
    if forge == Forge::Gitea && upper.starts_with("GITEA_") {
        return Err(refuse("the GITEA_ prefix is reserved"));
    }
    if forge == Forge::Gitea && upper == "CI" {
        return Err(refuse("Gitea reserves the name CI"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_as_the_forges_check_them() {
        for good in ["ROUTING", "_x", "a1_B2", "CI_SELF_HOSTED_TRUSTED_ROUTING"] {
            check_name(Forge::Gitea, good).unwrap();
            check_name(Forge::Github, good).unwrap();
        }
        for (name, forge, reason) in [
            ("", Forge::Github, "a name starts with a letter or '_'"),
            ("1X", Forge::Github, "a name starts with a letter or '_'"),
            (
                "A-B",
                Forge::Gitea,
                "a name holds only letters, digits and '_'",
            ),
            (
                "A B",
                Forge::Github,
                "a name holds only letters, digits and '_'",
            ),
            (
                "github_token",
                Forge::Github,
                "the GITHUB_ prefix is reserved",
            ),
            ("GITHUB_X", Forge::Gitea, "the GITHUB_ prefix is reserved"),
            ("Gitea_X", Forge::Gitea, "the GITEA_ prefix is reserved"),
            ("ci", Forge::Gitea, "Gitea reserves the name CI"),
        ] {
            let err = check_name(forge, name).unwrap_err();
            assert_eq!(err.to_string(), format!("variable name {name:?}: {reason}"));
            assert_eq!(err.class(), crate::ErrorClass::Usage);
        }
        check_name(Forge::Github, "GITEA_X").unwrap();
        check_name(Forge::Github, "CI").unwrap();
    }
}
