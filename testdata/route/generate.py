#!/usr/bin/env python3
"""Writes the event payloads under testdata/route/ (see testdata/README.md, section route/).

Shapes follow shared/reference/forge-routing-api.md section 1 (GitHub webhook schemas, Gitea's
modules/structs) with every field a real delivery carries, so the parser meets unknown fields,
nulls and nested objects it does not read. Expectations are not made here: they are written by
hand in cases.json. Run from anywhere: python3 testdata/route/generate.py
"""

import copy
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
GH_API = "https://api.github.com"
GH_WEB = "https://github.com"
GITEA = "https://git.chemlab.example"

SHA = {
    "base": "5b1d3c8e9f0a7e6d2c4b1a0f9e8d7c6b5a493827",
    "head": "a3f9c27d41e8b6f05c2d9e7a1b4c8f3d6e0a9b12",
    "before": "0d4e9f6a2b7c8d1e3f5a6b9c0d2e4f7a8b1c3d5e",
    "merge": "e7c1b9a4d2f8e0c6b3a5d9f1e7c4b2a8d6f0e3c9",
    "group": "f2a8c4e6b0d1f3a5c7e9b2d4f6a8c0e1b3d5f7a9",
}


# --- GitHub -----------------------------------------------------------------------------------

def gh_user(login, uid, node, kind="User"):
    base = f"{GH_API}/users/{login}"
    return {
        "login": login,
        "id": uid,
        "node_id": node,
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": f"{GH_WEB}/apps/{login[:-5]}" if kind == "Bot" else f"{GH_WEB}/{login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


ORG = gh_user("chemlab", 91200001, "O_kgDOBW-7cQ", "Organization")
OWNER = gh_user("mara-lind", 3120457, "MDQ6VXNlcjMxMjA0NTc=")
MEMBER = gh_user("jonas-weber", 5870213, "MDQ6VXNlcjU4NzAyMTM=")
COLLABORATOR = gh_user("priya-n", 14402981, "MDQ6VXNlcjE0NDAyOTgx")
OUTSIDER = gh_user("kwame-o", 28815530, "MDQ6VXNlcjI4ODE1NTMw")
FIRST_TIME = gh_user("lena-fischer", 40017762, "MDQ6VXNlcjQwMDE3NzYy")
FIRST_TIMER = gh_user("tomasz-k", 181552043, "U_kgDOCtJ0qw")
PRIVATE_MEMBER = gh_user("ines-alvarez", 9937140, "MDQ6VXNlcjk5MzcxNDA=")
DEPENDABOT = gh_user("dependabot[bot]", 49699333, "MDM6Qm90NDk2OTkzMzM=", "Bot")
RENOVATE = gh_user("renovate[bot]", 29139614, "MDM6Qm90MjkxMzk2MTQ=", "Bot")
PRE_COMMIT = gh_user("pre-commit-ci[bot]", 66853113, "MDM6Qm90NjY4NTMxMTM=", "Bot")
ACTIONS_BOT = gh_user("github-actions[bot]", 41898282, "MDM6Qm90NDE4OTgyODI=", "Bot")


def gh_org():
    return {
        "login": "chemlab",
        "id": ORG["id"],
        "node_id": ORG["node_id"],
        "url": f"{GH_API}/orgs/chemlab",
        "repos_url": f"{GH_API}/orgs/chemlab/repos",
        "events_url": f"{GH_API}/orgs/chemlab/events",
        "hooks_url": f"{GH_API}/orgs/chemlab/hooks",
        "issues_url": f"{GH_API}/orgs/chemlab/issues",
        "members_url": f"{GH_API}/orgs/chemlab/members{{/member}}",
        "public_members_url": f"{GH_API}/orgs/chemlab/public_members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{ORG['id']}?v=4",
        "description": "Reproducible builds for computational chemistry",
    }


def gh_repo(owner, name, rid, fork=False, push_style=False):
    full = f"{owner['login']}/{name}"
    api = f"{GH_API}/repos/{full}"
    repo = {
        "id": rid,
        "node_id": f"R_kgDOJ{rid % 100000:05d}",
        "name": name,
        "full_name": full,
        "private": False,
        "owner": copy.deepcopy(owner),
        "html_url": f"{GH_WEB}/{full}",
        "description": "Reaction network solver and its CLI",
        "fork": fork,
        "url": api,
        "forks_url": f"{api}/forks",
        "keys_url": f"{api}/keys{{/key_id}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "teams_url": f"{api}/teams",
        "hooks_url": f"{api}/hooks",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "events_url": f"{api}/events",
        "assignees_url": f"{api}/assignees{{/user}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "tags_url": f"{api}/tags",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}",
        "trees_url": f"{api}/git/trees{{/sha}}",
        "statuses_url": f"{api}/statuses/{{sha}}",
        "languages_url": f"{api}/languages",
        "stargazers_url": f"{api}/stargazers",
        "contributors_url": f"{api}/contributors",
        "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription",
        "commits_url": f"{api}/commits{{/sha}}",
        "git_commits_url": f"{api}/git/commits{{/sha}}",
        "comments_url": f"{api}/comments{{/number}}",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "merges_url": f"{api}/merges",
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{api}/downloads",
        "issues_url": f"{api}/issues{{/number}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "labels_url": f"{api}/labels{{/name}}",
        "releases_url": f"{api}/releases{{/id}}",
        "deployments_url": f"{api}/deployments",
        "created_at": 1709294113 if push_style else "2024-03-01T11:55:13Z",
        "updated_at": "2026-05-30T08:12:44Z",
        "pushed_at": 1780906211 if push_style else "2026-06-08T09:30:11Z",
        "git_url": f"git://github.com/{full}.git",
        "ssh_url": f"git@github.com:{full}.git",
        "clone_url": f"{GH_WEB}/{full}.git",
        "svn_url": f"{GH_WEB}/{full}",
        "homepage": "",
        "size": 4821,
        "stargazers_count": 37,
        "watchers_count": 37,
        "language": "Rust",
        "has_issues": not fork,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": False,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0 if fork else 6,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": 0 if fork else 11,
        "license": {
            "key": "apache-2.0",
            "name": "Apache License 2.0",
            "spdx_id": "Apache-2.0",
            "url": f"{GH_API}/licenses/apache-2.0",
            "node_id": "MDc6TGljZW5zZTI=",
        },
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [] if fork else ["chemistry", "reproducible-builds"],
        "visibility": "public",
        "forks": 0 if fork else 6,
        "open_issues": 0 if fork else 11,
        "watchers": 37,
        "default_branch": "main",
    }
    if push_style:
        repo["stargazers"] = 37
        repo["master_branch"] = "main"
        if owner["type"] == "Organization":
            repo["organization"] = "chemlab"
        repo["custom_properties"] = {}
    else:
        repo.update({
            "allow_squash_merge": True,
            "allow_merge_commit": False,
            "allow_rebase_merge": True,
            "allow_auto_merge": True,
            "delete_branch_on_merge": True,
            "allow_update_branch": True,
            "use_squash_pr_title_as_default": True,
            "squash_merge_commit_message": "PR_BODY",
            "squash_merge_commit_title": "PR_TITLE",
            "merge_commit_message": "PR_TITLE",
            "merge_commit_title": "MERGE_MESSAGE",
        })
    return repo


BASE_REPO = gh_repo(ORG, "reactor", 771204518)
OWNER_REPO = gh_repo(OWNER, "moltools", 698113204)


def gh_pr(*, number, author, association, head_repo, base_repo, branch, title, labels=(),
          action="opened", sender=None, draft=False, head_label=None):
    api = f"{GH_API}/repos/{base_repo['full_name']}"
    web = f"{GH_WEB}/{base_repo['full_name']}"
    head_owner = head_repo["owner"] if head_repo else author
    pr = {
        "url": f"{api}/pulls/{number}",
        "id": 2400000000 + number,
        "node_id": f"PR_kwDOLfT2Zs5{number:06d}",
        "html_url": f"{web}/pull/{number}",
        "diff_url": f"{web}/pull/{number}.diff",
        "patch_url": f"{web}/pull/{number}.patch",
        "issue_url": f"{api}/issues/{number}",
        "number": number,
        "state": "closed" if action == "closed" else "open",
        "locked": False,
        "title": title,
        "user": copy.deepcopy(author),
        "body": f"{title}.\n\nTested with `cargo test --workspace`.",
        "created_at": "2026-06-08T09:14:02Z",
        "updated_at": "2026-06-08T09:30:11Z",
        "closed_at": "2026-06-08T09:30:11Z" if action == "closed" else None,
        "merged_at": None,
        "merge_commit_sha": SHA["merge"],
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [
            {
                "id": 6810000000 + i,
                "node_id": f"LA_kwDOLfT2Zs8AAAABlf{i:04d}",
                "url": f"{api}/labels/{name}",
                "name": name,
                "color": "0366d6",
                "default": False,
                "description": None,
            }
            for i, name in enumerate(labels)
        ],
        "milestone": None,
        "draft": draft,
        "commits_url": f"{api}/pulls/{number}/commits",
        "review_comments_url": f"{api}/pulls/{number}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{number}/comments",
        "statuses_url": f"{api}/statuses/{SHA['head']}",
        "head": {
            "label": head_label if head_label is not None else f"{head_owner['login']}:{branch}",
            "ref": branch,
            "sha": SHA["head"],
            "user": copy.deepcopy(head_owner),
            "repo": copy.deepcopy(head_repo),
        },
        "base": {
            "label": f"{base_repo['owner']['login']}:main",
            "ref": "main",
            "sha": SHA["base"],
            "user": copy.deepcopy(base_repo["owner"]),
            "repo": copy.deepcopy(base_repo),
        },
        "_links": {
            "self": {"href": f"{api}/pulls/{number}"},
            "html": {"href": f"{web}/pull/{number}"},
            "issue": {"href": f"{api}/issues/{number}"},
            "comments": {"href": f"{api}/issues/{number}/comments"},
            "review_comments": {"href": f"{api}/pulls/{number}/comments"},
            "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{api}/pulls/{number}/commits"},
            "statuses": {"href": f"{api}/statuses/{SHA['head']}"},
        },
        "author_association": association,
        "auto_merge": None,
        "active_lock_reason": None,
        "merged": False,
        "mergeable": None,
        "rebaseable": None,
        "mergeable_state": "unknown",
        "merged_by": None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": head_repo is not None and head_repo["full_name"] != base_repo["full_name"],
        "commits": 3,
        "additions": 112,
        "deletions": 17,
        "changed_files": 4,
    }
    event = {"action": action, "number": number, "pull_request": pr}
    if action == "synchronize":
        event["before"] = SHA["before"]
        event["after"] = SHA["head"]
    if action == "labeled":
        event["label"] = copy.deepcopy(pr["labels"][-1])
    event["repository"] = copy.deepcopy(base_repo)
    if base_repo["owner"]["type"] == "Organization":
        event["organization"] = gh_org()
    event["sender"] = copy.deepcopy(sender or author)
    return event


def fork_of(user, name="reactor", rid=None):
    return gh_repo(user, name, rid or 800000000 + user["id"] % 100000000, fork=True)


def gh_commit(message, author_name, email, username):
    return {
        "id": SHA["head"],
        "tree_id": "9c41e2b7a05d38f6e1c4a9b2d7e0f3a6c8b5d1e4",
        "distinct": True,
        "message": message,
        "timestamp": "2026-06-08T11:30:11+02:00",
        "url": f"{GH_WEB}/chemlab/reactor/commit/{SHA['head']}",
        "author": {"name": author_name, "email": email, "username": username},
        "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
        "added": [],
        "removed": [],
        "modified": ["src/solver.rs", "Cargo.toml"],
    }


def gh_push():
    commit = gh_commit("solver: stiff ODE step control (#214)", "Jonas Weber",
                       "5870213+jonas-weber@users.noreply.github.com", "jonas-weber")
    return {
        "ref": "refs/heads/main",
        "before": SHA["before"],
        "after": SHA["head"],
        "repository": gh_repo(ORG, "reactor", BASE_REPO["id"], push_style=True),
        "pusher": {"name": "jonas-weber", "email": "5870213+jonas-weber@users.noreply.github.com"},
        "organization": gh_org(),
        "sender": copy.deepcopy(MEMBER),
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"{GH_WEB}/chemlab/reactor/compare/{SHA['before'][:12]}...{SHA['head'][:12]}",
        "commits": [commit],
        "head_commit": copy.deepcopy(commit),
    }


def gh_merge_group():
    return {
        "action": "checks_requested",
        "merge_group": {
            "head_sha": SHA["group"],
            "head_ref": f"refs/heads/gh-readonly-queue/main/pr-214-{SHA['base']}",
            "base_sha": SHA["base"],
            "base_ref": "refs/heads/main",
            "head_commit": {
                "id": SHA["group"],
                "tree_id": "1e7b3d9f5a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b",
                "message": "solver: stiff ODE step control (#214)",
                "timestamp": "2026-06-08T09:41:27Z",
                "author": {"name": "Jonas Weber", "email": "5870213+jonas-weber@users.noreply.github.com"},
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
            },
        },
        "repository": copy.deepcopy(BASE_REPO),
        "organization": gh_org(),
        "sender": copy.deepcopy(ACTIONS_BOT),
    }


def gh_workflow_dispatch(inputs):
    return {
        "inputs": inputs,
        "ref": "refs/heads/main",
        "repository": copy.deepcopy(BASE_REPO),
        "organization": gh_org(),
        "sender": copy.deepcopy(MEMBER),
        "workflow": ".github/workflows/ci.yml",
    }


# --- Gitea ------------------------------------------------------------------------------------

def gitea_user(login, uid, full_name, is_admin=False):
    return {
        "id": uid,
        "login": login,
        "login_name": "",
        "source_id": 0,
        "full_name": full_name,
        "email": f"{login}@noreply.git.chemlab.example",
        "avatar_url": f"{GITEA}/avatars/{uid:032x}",
        "html_url": f"{GITEA}/{login}",
        "language": "",
        "is_admin": is_admin,
        "last_login": "0001-01-01T00:00:00Z",
        "created": "2025-02-11T10:20:31Z",
        "restricted": False,
        "active": False,
        "prohibit_login": False,
        "location": "",
        "website": "",
        "description": "",
        "visibility": "public",
        "followers_count": 0,
        "following_count": 0,
        "starred_repos_count": 0,
        "username": login,
    }


GT_ORG = gitea_user("chemlab", 3, "ChemLab")
GT_MEMBER = gitea_user("jonas", 7, "Jonas Weber")
GT_OUTSIDER = gitea_user("kwame", 19, "Kwame Owusu")
GT_RENOVATE = gitea_user("renovate", 23, "Renovate Bot")


def gitea_repo(owner, name, rid, fork=False, parent=None):
    full = f"{owner['login']}/{name}"
    repo = {
        "id": rid,
        "owner": copy.deepcopy(owner),
        "name": name,
        "full_name": full,
        "description": "Reaction network solver and its CLI",
        "empty": False,
        "private": False,
        "fork": fork,
        "template": False,
        "mirror": False,
        "size": 2913,
        "language": "",
        "languages_url": f"{GITEA}/api/v1/repos/{full}/languages",
        "html_url": f"{GITEA}/{full}",
        "url": f"{GITEA}/api/v1/repos/{full}",
        "link": "",
        "ssh_url": f"git@git.chemlab.example:{full}.git",
        "clone_url": f"{GITEA}/{full}.git",
        "original_url": "",
        "website": "",
        "stars_count": 4,
        "forks_count": 0 if fork else 2,
        "watchers_count": 3,
        "open_issues_count": 5,
        "open_pr_counter": 0 if fork else 3,
        "release_counter": 9,
        "default_branch": "main",
        "archived": False,
        "created_at": "2025-02-11T10:24:02Z",
        "updated_at": "2026-06-08T09:30:11Z",
        "archived_at": "1970-01-01T00:00:00Z",
        "permissions": {"admin": False, "push": False, "pull": True},
        "has_issues": True,
        "internal_tracker": {
            "enable_time_tracker": True,
            "allow_only_contributors_to_track_time": True,
            "enable_issue_dependencies": True,
        },
        "has_wiki": True,
        "has_pull_requests": True,
        "has_projects": True,
        "projects_mode": "all",
        "has_releases": True,
        "has_packages": True,
        "has_actions": True,
        "ignore_whitespace_conflicts": False,
        "allow_merge_commits": True,
        "allow_rebase": True,
        "allow_rebase_explicit": True,
        "allow_squash_merge": True,
        "allow_fast_forward_only_merge": True,
        "allow_rebase_update": True,
        "default_delete_branch_after_merge": False,
        "default_merge_style": "merge",
        "default_allow_maintainer_edit": False,
        "avatar_url": "",
        "internal": False,
        "mirror_interval": "",
        "object_format_name": "sha1",
        "mirror_updated": "0001-01-01T00:00:00Z",
        "topics": [],
        "licenses": ["Apache-2.0"],
    }
    if parent is not None:
        repo["parent"] = copy.deepcopy(parent)
    return repo


GT_BASE = gitea_repo(GT_ORG, "reactor", 42)


def gitea_pr(*, number, author, head_repo, base_repo, branch, title, action="opened",
             sender=None, head_label=None, head_repo_id=None, head_ref=None):
    web = f"{GITEA}/{base_repo['full_name']}"
    pr = {
        "id": 300 + number,
        "url": f"{web}/pulls/{number}",
        "number": number,
        "user": copy.deepcopy(author),
        "title": title,
        "body": f"{title}.",
        "labels": [],
        "milestone": None,
        "assignee": None,
        "assignees": None,
        "requested_reviewers": None,
        "requested_reviewers_teams": None,
        "state": "open",
        "draft": False,
        "is_locked": False,
        "comments": 0,
        "review_comments": 0,
        "additions": 112,
        "deletions": 17,
        "changed_files": 4,
        "html_url": f"{web}/pulls/{number}",
        "diff_url": f"{web}/pulls/{number}.diff",
        "patch_url": f"{web}/pulls/{number}.patch",
        "mergeable": True,
        "merged": False,
        "merged_at": None,
        "merge_commit_sha": None,
        "merged_by": None,
        "allow_maintainer_edit": False,
        "base": {
            "label": "main",
            "ref": "main",
            "sha": SHA["base"],
            "repo_id": base_repo["id"],
            "repo": copy.deepcopy(base_repo),
        },
        "head": {
            "label": branch if head_label is None else head_label,
            "ref": head_ref or branch,
            "sha": SHA["head"],
            "repo_id": head_repo["id"] if head_repo else -1,
            "repo": copy.deepcopy(head_repo),
        },
        "merge_base": SHA["base"],
        "due_date": None,
        "created_at": "2026-06-08T11:14:02+02:00",
        "updated_at": "2026-06-08T11:30:11+02:00",
        "closed_at": None,
        "pin_order": 0,
    }
    if head_repo_id is not None:
        pr["head"]["repo_id"] = head_repo_id
    return {
        "action": action,
        "number": number,
        "pull_request": pr,
        "requested_reviewer": None,
        "repository": copy.deepcopy(base_repo),
        "sender": copy.deepcopy(sender or author),
        "commit_id": "",
        "review": None,
    }


def gitea_push():
    commit = {
        "id": SHA["head"],
        "message": "solver: stiff ODE step control\n",
        "url": f"{GITEA}/chemlab/reactor/commit/{SHA['head']}",
        "author": {"name": "Jonas Weber", "email": "jonas@chemlab.example", "username": "jonas"},
        "committer": {"name": "Jonas Weber", "email": "jonas@chemlab.example", "username": "jonas"},
        "verification": None,
        "timestamp": "2026-06-08T11:30:11+02:00",
        "added": [],
        "removed": [],
        "modified": ["src/solver.rs", "Cargo.toml"],
    }
    return {
        "ref": "refs/heads/main",
        "before": SHA["before"],
        "after": SHA["head"],
        "compare_url": f"{GITEA}/chemlab/reactor/compare/{SHA['before']}...{SHA['head']}",
        "commits": [commit],
        "total_commits": 1,
        "head_commit": copy.deepcopy(commit),
        "repository": copy.deepcopy(GT_BASE),
        "pusher": copy.deepcopy(GT_MEMBER),
        "sender": copy.deepcopy(GT_MEMBER),
    }


# --- the payloads -----------------------------------------------------------------------------

def payloads():
    kwame_fork = fork_of(OUTSIDER)
    yield "github/pr-member.json", gh_pr(
        number=214, author=MEMBER, association="MEMBER", head_repo=BASE_REPO, base_repo=BASE_REPO,
        branch="solver/stiff-step-control", title="solver: stiff ODE step control")
    yield "github/pr-owner-synchronize.json", gh_pr(
        number=58, author=OWNER, association="OWNER", head_repo=OWNER_REPO, base_repo=OWNER_REPO,
        branch="smiles-parser", title="Parse aromatic SMILES rings", action="synchronize")
    yield "github/pr-collaborator-reopened.json", gh_pr(
        number=221, author=COLLABORATOR, association="COLLABORATOR", head_repo=BASE_REPO,
        base_repo=BASE_REPO, branch="priya/units", title="units: kJ/mol everywhere", action="reopened")
    yield "github/pr-member-labeled-draft.json", gh_pr(
        number=230, author=MEMBER, association="MEMBER", head_repo=BASE_REPO, base_repo=BASE_REPO,
        branch="bench/jacobian", title="WIP: sparse Jacobian", action="labeled",
        labels=("performance",), draft=True)
    yield "github/pr-fork-member.json", gh_pr(
        number=219, author=MEMBER, association="MEMBER", head_repo=fork_of(MEMBER),
        base_repo=BASE_REPO, branch="docs-typo", title="docs: fix typo in README")
    yield "github/pr-outside-contributor.json", gh_pr(
        number=217, author=OUTSIDER, association="CONTRIBUTOR", head_repo=kwame_fork,
        base_repo=BASE_REPO, branch="fix-arrhenius", title="Fix Arrhenius prefactor units")
    yield "github/pr-first-time-contributor.json", gh_pr(
        number=224, author=FIRST_TIME, association="FIRST_TIME_CONTRIBUTOR",
        head_repo=fork_of(FIRST_TIME), base_repo=BASE_REPO, branch="patch-1",
        title="Update README.md")
    yield "github/pr-first-timer.json", gh_pr(
        number=225, author=FIRST_TIMER, association="FIRST_TIMER", head_repo=fork_of(FIRST_TIMER),
        base_repo=BASE_REPO, branch="main", title="Add Polish translation")
    yield "github/pr-private-member-as-contributor.json", gh_pr(
        number=226, author=PRIVATE_MEMBER, association="CONTRIBUTOR", head_repo=BASE_REPO,
        base_repo=BASE_REPO, branch="ines/ci-cache", title="ci: cache the cargo registry")
    yield "github/pr-none-association.json", gh_pr(
        number=227, author=OUTSIDER, association="NONE", head_repo=kwame_fork,
        base_repo=BASE_REPO, branch="fix-arrhenius-2", title="Fix Arrhenius again",
        action="edited")
    yield "github/pr-dependabot.json", gh_pr(
        number=228, author=DEPENDABOT, association="CONTRIBUTOR", head_repo=BASE_REPO,
        base_repo=BASE_REPO, branch="dependabot/cargo/serde-1.0.219",
        title="Bump serde from 1.0.217 to 1.0.219", labels=("dependencies", "rust"))
    yield "github/pr-renovate.json", gh_pr(
        number=229, author=RENOVATE, association="NONE", head_repo=BASE_REPO, base_repo=BASE_REPO,
        branch="renovate/tokio-1.x", title="fix(deps): update rust crate tokio to v1.47.1",
        labels=("dependencies",))
    yield "github/pr-member-pushes-to-dependabot-pr.json", gh_pr(
        number=228, author=DEPENDABOT, association="CONTRIBUTOR", head_repo=BASE_REPO,
        base_repo=BASE_REPO, branch="dependabot/cargo/serde-1.0.219",
        title="Bump serde from 1.0.217 to 1.0.219", labels=("dependencies", "rust"),
        action="synchronize", sender=MEMBER)
    yield "github/pr-bot-pushes-to-member-pr.json", gh_pr(
        number=214, author=MEMBER, association="MEMBER", head_repo=BASE_REPO, base_repo=BASE_REPO,
        branch="solver/stiff-step-control", title="solver: stiff ODE step control",
        action="synchronize", sender=PRE_COMMIT)
    yield "github/pr-deleted-head-repo.json", gh_pr(
        number=198, author=MEMBER, association="MEMBER", head_repo=None, base_repo=BASE_REPO,
        branch="old-experiment", title="Experiment: implicit Euler", action="closed")
    yield "github/pr-head-repo-is-a-fork.json", gh_pr(
        number=12, author=OWNER, association="OWNER",
        head_repo=gh_repo(OWNER, "moltools", 698113204, fork=True),
        base_repo=gh_repo(OWNER, "moltools", 698113204, fork=True),
        branch="rdkit-bridge", title="RDKit bridge")
    # The base is a fork of the head's repository: the head repository's own `fork` flag is
    # false, yet the PR crosses repositories.
    yield "github/pr-cross-repo-head-not-a-fork.json", gh_pr(
        number=7, author=OWNER, association="OWNER", head_repo=gh_repo(OWNER, "reactor", 590338127),
        base_repo=gh_repo(ORG, "reactor", BASE_REPO["id"], fork=True), branch="main",
        title="Sync upstream main")
    yield "github/pull-request-target-member.json", gh_pr(
        number=214, author=MEMBER, association="MEMBER", head_repo=BASE_REPO, base_repo=BASE_REPO,
        branch="solver/stiff-step-control", title="solver: stiff ODE step control")
    yield "github/pull-request-target-fork.json", gh_pr(
        number=217, author=OUTSIDER, association="CONTRIBUTOR", head_repo=kwame_fork,
        base_repo=BASE_REPO, branch="fix-arrhenius", title="Fix Arrhenius prefactor units")
    yield "github/push.json", gh_push()
    yield "github/merge-group.json", gh_merge_group()
    yield "github/workflow-dispatch-inputs-null.json", gh_workflow_dispatch(None)
    yield "github/workflow-dispatch-inputs.json", gh_workflow_dispatch(
        {"runner": "self-hosted", "dry_run": "true"})

    gt_fork = gitea_repo(GT_OUTSIDER, "reactor", 57, fork=True, parent=GT_BASE)
    yield "gitea/pr-member.json", gitea_pr(
        number=31, author=GT_MEMBER, head_repo=GT_BASE, base_repo=GT_BASE,
        branch="solver/stiff-step-control", title="solver: stiff ODE step control")
    yield "gitea/pr-member-synchronized.json", gitea_pr(
        number=31, author=GT_MEMBER, head_repo=GT_BASE, base_repo=GT_BASE,
        branch="solver/stiff-step-control", title="solver: stiff ODE step control",
        action="synchronized")
    yield "gitea/pr-member-label-updated.json", gitea_pr(
        number=31, author=GT_MEMBER, head_repo=GT_BASE, base_repo=GT_BASE,
        branch="solver/stiff-step-control", title="solver: stiff ODE step control",
        action="label_updated")
    yield "gitea/pr-fork.json", gitea_pr(
        number=33, author=GT_OUTSIDER, head_repo=gt_fork, base_repo=GT_BASE,
        branch="fix-arrhenius", title="Fix Arrhenius prefactor units")
    yield "gitea/pr-agit.json", gitea_pr(
        number=34, author=GT_OUTSIDER, head_repo=GT_BASE, base_repo=GT_BASE,
        branch="", head_ref="refs/pull/34/head", title="solver: faster LU")
    yield "gitea/pr-deleted-head-repo.json", gitea_pr(
        number=29, author=GT_OUTSIDER, head_repo=None, base_repo=GT_BASE,
        branch="old-experiment", head_ref="refs/pull/29/head", title="Experiment: implicit Euler")
    yield "gitea/pr-renovate-user.json", gitea_pr(
        number=35, author=GT_RENOVATE, head_repo=GT_BASE, base_repo=GT_BASE,
        branch="renovate/tokio-1.x", title="fix(deps): update rust crate tokio to v1.47.1")
    yield "gitea/pull-request-target.json", gitea_pr(
        number=31, author=GT_MEMBER, head_repo=GT_BASE, base_repo=GT_BASE,
        branch="solver/stiff-step-control", title="solver: stiff ODE step control")
    yield "gitea/push.json", gitea_push()
    yield "gitea/workflow-dispatch.json", {
        "workflow": "ci.yml",
        "ref": "refs/heads/main",
        "inputs": {"dry_run": "false"},
        "repository": copy.deepcopy(GT_BASE),
        "sender": copy.deepcopy(GT_MEMBER),
    }


def main():
    for name, payload in payloads():
        path = HERE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    # Not produced from a payload: broken files, written as they are.
    errors = HERE / "errors"
    errors.mkdir(exist_ok=True)
    member = json.dumps(dict(payloads())["github/pr-member.json"], indent=2)
    (errors / "truncated.json").write_text(member[: len(member) // 2])
    (errors / "empty.json").write_text("")
    (errors / "whitespace.json").write_text("\n  \n")
    (errors / "not-an-object.json").write_text('["pull_request"]\n')
    no_label = dict(payloads())["github/pr-member.json"]
    del no_label["pull_request"]["head"]["label"]
    (errors / "pr-without-head-label.json").write_text(json.dumps(no_label, indent=2) + "\n")


if __name__ == "__main__":
    main()
