//! `emulator/deploy/nginx.conf`, the example in docs/EMULATOR.md
//! ("Deploying"), passes `nginx -t` with a throwaway certificate in a
//! temporary prefix. `.ci/run` installs nginx and openssl: on CI a missing
//! one fails the test; elsewhere it is skipped, saying so.

use std::path::Path;
use std::process::Command;

#[allow(dead_code)]
#[path = "support/skip.rs"]
mod skip;

/// Whether `program` can be started at all.
fn found(program: &str) -> bool {
    Command::new(program).arg("-v").output().is_ok()
}

fn self_signed(certs: &Path) {
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=cloudmine.example.com", "-keyout"])
        .arg(certs.join("cloudmine.key"))
        .arg("-out")
        .arg(certs.join("cloudmine.crt"))
        .output()
        .unwrap()
        .status;
    assert!(status.success(), "openssl made a certificate");
}

#[test]
fn the_example_nginx_config_is_valid() {
    if !found("nginx") || !found("openssl") {
        // Not installed by .ci/run, so not required on CI either.
        skip::skip_or_fail("nginx or openssl is not installed; nginx.conf not checked");
        return;
    }
    let prefix = tempfile::tempdir().unwrap();
    let conf = prefix.path().join("conf");
    std::fs::create_dir_all(conf.join("certs")).unwrap();
    std::fs::create_dir_all(prefix.path().join("logs")).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx.conf");
    std::fs::copy(&example, conf.join("nginx.conf")).unwrap();
    self_signed(&conf.join("certs"));
    let out = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(prefix.path())
        .arg("-c")
        .arg(conf.join("nginx.conf"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nginx -t: {text}");
    assert!(text.contains("test is successful"), "{text}");
}

/// The check fails on a broken config (so the test above can fail).
#[test]
fn nginx_t_refuses_a_broken_config() {
    if !found("nginx") {
        skip::skip_or_fail("nginx is not installed");
        return;
    }
    let prefix = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(prefix.path().join("logs")).unwrap();
    let conf = prefix.path().join("broken.conf");
    std::fs::write(
        &conf,
        "events {}\nhttp { upstream cloudmine { server; } }\n",
    )
    .unwrap();
    let out = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(prefix.path())
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!out.status.success());
}
