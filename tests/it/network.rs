//! Network behaviour shared by every client, seen from the outside: proxies from the
//! environment, bounded reads and loopback registries.
//!
//! The proxy tests run each client of byteproof as the real binary with the proxy variables in
//! its environment, against one scripted server that speaks both npm and OCI, behind a counting
//! forward proxy. A new client (the forge API) joins by adding one entry to [`clients`].

use byteproof_testkit::{EndlessServer, ForwardProxy, PROXY_VARIABLES, Reply, ScriptedServer};
use serde_json::json;

use crate::support::{Run, Sandbox};

const PKG: &str = "@bytelyst/errors";
const TARBALL: &[u8] = b"not really a tarball, but the same bytes everywhere";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// One server for every client: an npm packument and tarball (under any path prefix) and an
/// OCI manifest with its digest header.
fn universal_server() -> ScriptedServer {
    ScriptedServer::start(|req| {
        let host = req.header("host").unwrap_or_default().to_owned();
        if req.path.starts_with("/v2/") {
            return Reply::bytes(200, byteproof_oci::MEDIA_OCI_INDEX, "{}")
                .with_header("Docker-Content-Digest", DIGEST);
        }
        if req.path.ends_with(".tgz") {
            return Reply::tarball(TARBALL.to_vec());
        }
        let digests = byteproof_hash::hash_bytes(TARBALL);
        Reply::json(
            200,
            &json!({"name": PKG, "versions": {"1.0.0": {"dist": {
                "shasum": digests.sha1_hex(),
                "integrity": digests.integrity(),
                "tarball": format!("http://{host}/@bytelyst/errors/-/errors-1.0.0.tgz"),
            }}}}),
        )
    })
    .unwrap()
}

/// A client of byteproof: a command that talks to the server at `base`, and the exit code it
/// gives when the server answers.
struct Client {
    name: &'static str,
    run: fn(&Sandbox, &str) -> Run,
    success: i32,
}

/// Every client byteproof has. The forge client joins here.
fn clients() -> Vec<Client> {
    vec![
        Client {
            name: "npm (compare)",
            run: |sandbox, base| {
                sandbox.run(&[
                    "compare",
                    &format!("{PKG}@1.0.0"),
                    "--registry",
                    &format!("a={base}"),
                    "--registry",
                    &format!("b={base}mirror/"),
                    "--retries",
                    "0",
                    "--json",
                ])
            },
            success: 0,
        },
        Client {
            name: "oci (pin)",
            run: |sandbox, base| {
                sandbox.write("ci.yml", "jobs:\n  build:\n    container: node:20\n");
                sandbox.run(&[
                    "pin",
                    "--dry-run",
                    "ci.yml",
                    "--registry-url",
                    &format!("docker.io={base}"),
                ])
            },
            success: 0,
        },
    ]
}

fn sandbox(vars: &[(&str, &str)]) -> Sandbox {
    let mut sandbox = Sandbox::new();
    let docker = sandbox.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    sandbox.env("DOCKER_CONFIG", &docker.display().to_string());
    for name in PROXY_VARIABLES {
        sandbox.env(name, "");
    }
    for (name, value) in vars {
        sandbox.env(name, value);
    }
    sandbox
}

#[test]
fn every_client_goes_through_the_proxy_from_the_environment() {
    let server = universal_server();
    let authority = format!("127.0.0.1:{}", server.port());
    for variable in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        for client in clients() {
            let proxy = ForwardProxy::start().unwrap();
            let run = (client.run)(&sandbox(&[(variable, &proxy.url())]), &server.url());
            run.expect_code(client.success);
            let through = proxy.requests();
            assert!(
                !through.is_empty(),
                "{}: no request went through {variable}",
                client.name
            );
            assert!(
                through
                    .iter()
                    .all(|r| r.contains(&format!("http://{authority}/"))),
                "{}: {through:?}",
                client.name
            );
        }
    }
}

#[test]
fn no_proxy_hosts_are_reached_directly() {
    let server = universal_server();
    for no_proxy in ["127.0.0.1", "localhost,127.0.0.0/8", "*"] {
        for client in clients() {
            let proxy = ForwardProxy::start().unwrap();
            let before = server.request_count();
            let vars = [
                ("HTTP_PROXY", proxy.url()),
                ("NO_PROXY", no_proxy.to_owned()),
            ];
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            (client.run)(&sandbox(&vars), &server.url()).expect_code(client.success);
            assert_eq!(
                proxy.requests(),
                Vec::<String>::new(),
                "{} with NO_PROXY={no_proxy}",
                client.name
            );
            assert!(
                server.request_count() > before,
                "{}: the server saw nothing",
                client.name
            );
        }
    }
}

#[test]
fn https_goes_through_the_proxy_with_connect() {
    // The tunnel leads to a plain-HTTP server, so TLS fails after CONNECT: what matters is that
    // the client asked the proxy, and that the failure is an honest one.
    let server = universal_server();
    let authority = format!("127.0.0.1:{}", server.port());
    for variable in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"] {
        for client in clients() {
            let proxy = ForwardProxy::start().unwrap();
            let run = (client.run)(
                &sandbox(&[(variable, &proxy.url())]),
                &format!("https://{authority}/"),
            );
            assert_ne!(
                run.code, 0,
                "{}: a failed TLS handshake passed\n{}",
                client.name, run.stderr
            );
            let through = proxy.requests();
            assert!(
                !through.is_empty() && through.iter().all(|r| r == &format!("CONNECT {authority}")),
                "{} with {variable}: {through:?}",
                client.name
            );
        }
    }
}

#[test]
fn an_unusable_proxy_variable_is_an_error_not_ignored() {
    let server = universal_server();
    for client in clients() {
        let run = (client.run)(
            &sandbox(&[("HTTP_PROXY", "socks5://127.0.0.1:1")]),
            &server.url(),
        );
        run.expect_code(2);
        assert!(
            run.stderr.contains("HTTP_PROXY is not a usable proxy URL"),
            "{}: {}",
            client.name,
            run.stderr
        );
    }
}

#[test]
fn an_endless_packument_is_too_large_and_exit_3() {
    let endless = EndlessServer::start(200, &[("Content-Type", "application/json")]).unwrap();
    let honest = universal_server();
    let run = sandbox(&[]).run(&[
        "compare",
        &format!("{PKG}@1.0.0"),
        "--registry",
        &format!("a={}", honest.url()),
        "--registry",
        &format!("b={}", endless.url()),
        "--max-packument-size",
        "1000000",
        "--json",
    ]);
    let report = run.expect_code(3).json();
    assert_eq!(report["verdict"], "incomplete");
    let b = &report["registries"][1];
    assert_eq!(b["error_kind"], "too-large", "{b}");
    assert!(
        b["error"]
            .as_str()
            .unwrap()
            .contains("--max-packument-size"),
        "{b}"
    );
}

#[test]
fn a_loopback_registry_is_plain_http_and_said_once() {
    let server = universal_server();
    let registry = format!("127.0.0.1:{}", server.port());
    let sandbox = sandbox(&[]);
    sandbox.write(
        "ci.yml",
        &format!("jobs:\n  a:\n    container: {registry}/node:20\n  b:\n    container: {registry}/node:22\n"),
    );
    let run = sandbox.run(&["pin", "--check", "ci.yml"]);
    run.expect_code(1);
    assert!(run.stdout.contains("unpinned"), "{}", run.stdout);
    let note = format!("{registry} is a loopback registry: plain HTTP");
    assert_eq!(run.stderr.matches(&note).count(), 1, "{}", run.stderr);
}

#[test]
fn an_endless_manifest_is_too_large_and_exit_3() {
    let endless =
        EndlessServer::start(200, &[("Content-Type", byteproof_oci::MEDIA_OCI_INDEX)]).unwrap();
    let sandbox = sandbox(&[]);
    // Pinned already, so the only question is whether the tag still points there: unanswerable.
    sandbox.write(
        "ci.yml",
        &format!("jobs:\n  a:\n    container: node:20@{DIGEST}\n"),
    );
    let run = sandbox.run(&[
        "pin",
        "--check",
        "ci.yml",
        "--registry-url",
        &format!("docker.io={}", endless.url()),
    ]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("manifest larger than the 4194304-byte cap"),
        "{}",
        run.stderr
    );
}
