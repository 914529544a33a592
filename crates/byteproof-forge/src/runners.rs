//! Self-hosted runners: list, get and delete, registration and remove tokens, JIT
//! configurations.
//!
//! **Gitea** (`gitea-api.md` §5, `forge-routing-api.md` §3.5), at instance
//! (`/admin/actions/runners`), organisation (`/orgs/{org}/actions/runners`) and repository
//! (`/repos/{owner}/{repo}/actions/runners`) scope:
//! - list / get / delete from **1.24**: `{"runners": [...], "total_count": n}` paged with
//!   `page`/`limit`; DELETE → 204; an unknown or foreign runner → 404;
//! - registration token: `GET …/registration-token` from **1.22** (instance:
//!   `/admin/runners/registration-token`), `POST` on the same paths (instance:
//!   `/admin/actions/runners/registration-token`) from **1.24**; both → 200 `{"token"}`, the
//!   same long-lived token on every call. Before 1.22 there is no REST route: the error says
//!   where the web UI and the `gitea actions generate-runner-token` command give one;
//! - no remove tokens and no JIT endpoint (its equivalent is `act_runner register --ephemeral`).
//!
//! **GitHub** (`forge-routing-api.md` §3.1–§3.4), at organisation and repository scope:
//! - list (`{"total_count", "runners"}`, `per_page` ≤ 100), get, delete (204);
//! - `POST …/registration-token` and `…/remove-token` → 201 `{"token", "expires_at"}` (one
//!   hour);
//! - `POST …/generate-jitconfig` with `name`, `runner_group_id`, 1–100 `labels` → 201
//!   `{"runner", "encoded_jit_config"}`; the configuration is a credential.
//!
//! Every token and JIT configuration comes back as a [`Secret`].

use byteproof_http::Method;
use byteproof_redact::Secret;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use crate::client::{Call, Items, timestamp};
use crate::{Forge, ForgeClient, ForgeError, GiteaFeature, Operation, Scope};

/// A self-hosted runner as the forge reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Runner {
    /// The forge's id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Whether the forge has heard from it lately (Gitea: within a minute).
    pub status: RunnerStatus,
    /// Whether it is running a job.
    pub busy: bool,
    /// Whether it takes one job and is then removed.
    pub ephemeral: bool,
    /// Its labels (GitHub lists its automatic ones as read-only).
    pub labels: Vec<RunnerLabel>,
    /// Its operating system (GitHub only).
    pub os: Option<String>,
}

/// A runner's connection status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunnerStatus {
    /// `online`.
    Online,
    /// `offline`.
    Offline,
    /// A value neither reference documents, kept as sent.
    Other(String),
}

/// A runner label.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunnerLabel {
    /// The label, e.g. `ubuntu-latest`.
    pub name: String,
    /// GitHub's automatic labels (`self-hosted`, `Linux`, `X64`); Gitea's are all custom.
    pub read_only: bool,
}

/// A registration or remove token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunnerToken {
    /// The token.
    pub token: Secret,
    /// When it expires (GitHub: one hour); Gitea's tokens do not expire.
    pub expires_at: Option<Timestamp>,
}

/// What a JIT runner is to be (GitHub, `forge-routing-api.md` §3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JitRequest {
    /// The runner's name, unique in its scope.
    pub name: String,
    /// 1 to 100 custom labels.
    pub labels: Vec<String>,
    /// The runner group; [`JitRequest::new`] uses 1, GitHub's "Default" group (that this is
    /// right for repository runners is unverified in the reference).
    pub runner_group_id: u64,
    /// The work folder, relative to the runner's install folder (GitHub's default: `_work`).
    pub work_folder: Option<String>,
}

impl JitRequest {
    /// A runner called `name` with `labels`, in group 1, with the default work folder.
    pub fn new(name: &str, labels: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            runner_group_id: 1,
            work_folder: None,
        }
    }
}

/// A just-in-time runner configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JitConfig {
    /// The runner, registered (offline) as soon as the call returns: its id is what to delete
    /// if it never starts.
    pub runner: Runner,
    /// The opaque configuration for `run.sh --jitconfig` (a credential).
    pub encoded_jit_config: Secret,
}

#[derive(Deserialize)]
struct RunnerBody {
    id: u64,
    name: String,
    status: String,
    busy: bool,
    #[serde(default)]
    ephemeral: bool,
    #[serde(default)]
    labels: Vec<LabelBody>,
    #[serde(default)]
    os: Option<String>,
}

#[derive(Deserialize)]
struct LabelBody {
    name: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

impl From<RunnerBody> for Runner {
    fn from(body: RunnerBody) -> Self {
        let status = match body.status.as_str() {
            "online" => RunnerStatus::Online,
            "offline" => RunnerStatus::Offline,
            _ => RunnerStatus::Other(body.status),
        };
        Runner {
            id: body.id,
            name: body.name,
            status,
            busy: body.busy,
            ephemeral: body.ephemeral,
            labels: body
                .labels
                .into_iter()
                .map(|label| RunnerLabel {
                    read_only: label.kind.as_deref() == Some("read-only"),
                    name: label.name,
                })
                .collect(),
            os: body.os,
        }
    }
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
    #[serde(default)]
    expires_at: Option<String>,
}

#[derive(Deserialize)]
struct JitBody {
    runner: RunnerBody,
    encoded_jit_config: String,
}

impl ForgeClient {
    /// Every runner of `scope`, all pages. Gitea ≥ 1.24; on Gitea the instance list includes
    /// organisation and repository runners.
    pub async fn runners(&self, scope: &Scope) -> Result<Vec<Runner>, ForgeError> {
        let operation = Operation::RunnerList;
        let path = self.runners_path(operation, scope)?;
        self.require(operation, GiteaFeature::RunnerApi, || None)
            .await?;
        let call = self.call(operation, scope.to_string(), Method::GET, &path);
        let page_size = match self.forge() {
            Forge::Gitea => 50,
            Forge::Github => 100,
        };
        let runners: Vec<RunnerBody> = self
            .all_pages(&call, Items::Field("runners"), page_size)
            .await?;
        Ok(runners.into_iter().map(Runner::from).collect())
    }

    /// The runner `id` of `scope`, or `None` when the forge answers 404 (deleted, or not in
    /// this scope; GitHub also answers 404 for what the credential cannot see). Gitea ≥ 1.24.
    pub async fn runner(&self, scope: &Scope, id: u64) -> Result<Option<Runner>, ForgeError> {
        let call = self
            .runner_call(Operation::RunnerGet, Method::GET, scope, id)
            .await?;
        match self.fetch::<RunnerBody>(&call).await {
            Ok(body) => Ok(Some(body.into())),
            Err(ForgeError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Deletes the runner `id` of `scope` (its registration; the process is not touched). A
    /// runner already gone is [`ForgeError::NotFound`]. Gitea ≥ 1.24.
    pub async fn delete_runner(&self, scope: &Scope, id: u64) -> Result<(), ForgeError> {
        let call = self
            .runner_call(Operation::RunnerDelete, Method::DELETE, scope, id)
            .await?;
        self.send(&call).await.map(drop)
    }

    /// A token to register a runner in `scope`. Gitea: `GET` from 1.22, `POST` from 1.24,
    /// chosen by the server's version; GitHub: `POST`.
    pub async fn registration_token(&self, scope: &Scope) -> Result<RunnerToken, ForgeError> {
        let operation = Operation::RegistrationToken;
        let mut path = self.runners_path(operation, scope)?;
        let method = match self.forge() {
            Forge::Github => Method::POST,
            Forge::Gitea => {
                self.require(operation, GiteaFeature::RegistrationToken, || {
                    Some(self.token_without_api(scope))
                })
                .await?;
                if self
                    .cached_version()
                    .await?
                    .has(GiteaFeature::RegistrationTokenPost)
                {
                    Method::POST
                } else {
                    if *scope == Scope::Instance {
                        path = vec!["admin", "runners"];
                    }
                    Method::GET
                }
            }
        };
        path.push("registration-token");
        let call = self.call(operation, scope.to_string(), method, &path);
        self.runner_token(&call).await
    }

    /// A token to remove a runner of `scope` with `config.sh remove` (GitHub).
    pub async fn remove_token(&self, scope: &Scope) -> Result<RunnerToken, ForgeError> {
        let operation = Operation::RemoveToken;
        self.only_on(
            Forge::Github,
            operation,
            "Gitea has no remove tokens; delete the runner through its runner API (Gitea ≥ 1.24)",
        )?;
        let mut path = self.runners_path(operation, scope)?;
        path.push("remove-token");
        let call = self.call(operation, scope.to_string(), Method::POST, &path);
        self.runner_token(&call).await
    }

    /// Registers a just-in-time runner in `scope` and returns its configuration (GitHub). A
    /// name already registered in the scope is [`ForgeError::Conflict`]; after a 5xx that was
    /// retried (the error's attempts), that may be this call's own earlier attempt, so look
    /// the name up in [`ForgeClient::runners`] before registering it under another name.
    pub async fn jit_config(
        &self,
        scope: &Scope,
        request: &JitRequest,
    ) -> Result<JitConfig, ForgeError> {
        let operation = Operation::JitConfig;
        self.only_on(
            Forge::Github,
            operation,
            "Gitea has no JIT endpoint; its equivalent is an ephemeral runner, registered with a \
             registration token and `act_runner register --ephemeral` (Gitea ≥ 1.24)",
        )?;
        let mut path = self.runners_path(operation, scope)?;
        check_jit_request(request)?;
        path.push("generate-jitconfig");
        let mut body = json!({
            "name": request.name,
            "runner_group_id": request.runner_group_id,
            "labels": request.labels,
        });
        if let Some(folder) = &request.work_folder {
            body["work_folder"] = json!(folder);
        }
        let call = self
            .call(operation, scope.to_string(), Method::POST, &path)
            .json(body);
        let answer: JitBody = self.fetch(&call).await?;
        Ok(JitConfig {
            runner: answer.runner.into(),
            encoded_jit_config: Secret::new(answer.encoded_jit_config),
        })
    }

    /// The path of `scope`'s runners; GitHub has no instance level.
    fn runners_path<'s>(
        &self,
        operation: Operation,
        scope: &'s Scope,
    ) -> Result<Vec<&'s str>, ForgeError> {
        match scope {
            Scope::Instance => {
                self.only_on(
                    Forge::Gitea,
                    operation,
                    "GitHub runners belong to an organisation (org/NAME) or a repository \
                     (repo/OWNER/REPO); enterprise runners are not supported",
                )?;
                Ok(vec!["admin", "actions", "runners"])
            }
            Scope::Org(org) => Ok(vec!["orgs", org, "actions", "runners"]),
            Scope::Repo(repo) => Ok(vec![
                "repos",
                repo.owner(),
                repo.name(),
                "actions",
                "runners",
            ]),
        }
    }

    /// The call for one runner, after the scope and version checks.
    async fn runner_call(
        &self,
        operation: Operation,
        method: Method,
        scope: &Scope,
        id: u64,
    ) -> Result<Call, ForgeError> {
        let mut path = self.runners_path(operation, scope)?;
        self.require(operation, GiteaFeature::RunnerApi, || None)
            .await?;
        let id_text = id.to_string();
        path.push(&id_text);
        Ok(self.call(operation, format!("runner {id} at {scope}"), method, &path))
    }

    async fn runner_token(&self, call: &Call) -> Result<RunnerToken, ForgeError> {
        let body: TokenBody = self.fetch(call).await?;
        let expires_at = body
            .expires_at
            .map(|text| timestamp(call, "expires_at", &text))
            .transpose()?;
        Ok(RunnerToken {
            token: Secret::new(body.token),
            expires_at,
        })
    }

    /// Where a Gitea without the REST route gives registration tokens (`gitea-api.md` §5).
    fn token_without_api(&self, scope: &Scope) -> String {
        let api = self.api_url().as_str().trim_end_matches('/');
        let root = api.strip_suffix("/api/v1").unwrap_or(api);
        let (page, flag) = match scope {
            Scope::Instance => ("admin/actions/runners".to_owned(), String::new()),
            Scope::Org(org) => (
                format!("{org}/settings/actions/runners"),
                format!(" --scope {org}"),
            ),
            Scope::Repo(repo) => (
                format!("{repo}/settings/actions/runners"),
                format!(" --scope {repo}"),
            ),
        };
        format!(
            "get a token in the web UI at {root}/{page}, or on the server with \
             `gitea --config app.ini actions generate-runner-token{flag}`"
        )
    }
}

/// A name, and 1 to 100 non-empty labels (`forge-routing-api.md` §3.1).
fn check_jit_request(request: &JitRequest) -> Result<(), ForgeError> {
    let bad = |reason: &str| ForgeError::invalid("JIT runner", reason);
    if request.name.trim().is_empty() || request.name.chars().any(char::is_control) {
        return Err(bad("the runner needs a name without control characters"));
    }
    if request.labels.is_empty() || request.labels.len() > 100 {
        return Err(bad(&format!(
            "GitHub takes 1 to 100 labels, not {}",
            request.labels.len()
        )));
    }
    if request.labels.iter().any(|l| l.trim().is_empty()) {
        return Err(bad("a label is empty"));
    }
    Ok(())
}
