//! The built-in test identity provider authenticates nobody, so it is served
//! only when asked (`--test-idp`, `.test_idp(true)`, implied by auto-consent
//! and seeded identities), and it sends codes only to the broker's own
//! callback (issue 12, item 8).

use cloudmine_emulator::Emulator;
use reqwest::StatusCode;

mod support;
use support::binary::Running;
use support::{App, challenge, http};

const APP: &str = "app";
const KEY: &str = "idp-key";
const CM: App = App(APP, KEY);
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// The binary with the app and an in-memory database, and `extra` flags.
fn binary(extra: &[&str]) -> Running {
    let app = format!("{APP}:{KEY}");
    let mut args = vec!["--db", ":memory:", "--app", &app];
    args.extend_from_slice(extra);
    Running::start(&args)
}

/// A start URL at `base` for `network`.
fn start_url(base: &str, network: &str, n: u32) -> String {
    format!(
        "{base}/v1/app/{APP}/account/social/login?service={network}&apikey={KEY}&challenge={}&redirect_uri={REDIRECT}",
        challenge(n)
    )
}

/// What an attacker tries against a server without the test provider: a
/// social login at an unconfigured network, and the provider's pages.
async fn assert_no_test_provider(base: &str) {
    let r = http()
        .get(start_url(base, "github", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    let page = r.text().await.unwrap();
    assert!(
        page.contains("No identity provider is configured for the network github")
            && page.contains("--test-idp"),
        "{page}"
    );
    let cb = format!("{base}/v1/app/{APP}/account/social/callback");
    for path in [
        format!(
            "/idp/github/authorize?response_type=code&client_id={APP}&redirect_uri={cb}&state=s"
        ),
        "/idp/userinfo".to_owned(),
    ] {
        let r = http().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = http()
        .post(format!("{base}/idp/github/consent"))
        .form(&[
            ("client_id", APP),
            ("redirect_uri", cb.as_str()),
            ("state", "s"),
            ("action", "allow"),
            ("email", "victim@example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers().get("location").is_none(), "no code issued");
}

#[tokio::test]
async fn the_binary_serves_no_test_provider_unless_asked() {
    let plain = binary(&[]);
    assert_no_test_provider(&plain.base).await;
    // Asked for: the start goes to the provider's consent page.
    let asked = binary(&["--test-idp"]);
    let r = http()
        .get(start_url(&asked.base, "github", 2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let consent = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(consent.starts_with(&format!("{}/idp/github/authorize?", asked.base)));
    assert_eq!(
        http().get(&consent).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_builder_serves_no_test_provider_unless_asked() {
    let emu = support::builder().app(APP, KEY).start().await.unwrap();
    assert_no_test_provider(&emu.base_url()).await;
    for emu in [
        support::builder().app(APP, KEY).test_idp(true),
        support::builder().app(APP, KEY).auto_consent(true),
        support::builder()
            .app(APP, KEY)
            .identity("Ada", "ada@example.com"),
    ] {
        let emu = emu.start().await.unwrap();
        let r = http()
            .get(start_url(&emu.base_url(), "github", 3))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FOUND, "{emu:?}");
    }
}

/// The authorize and consent parameters of a login started at `emu`.
async fn grant(emu: &Emulator, n: u32) -> Vec<(String, String)> {
    let consent =
        support::location(&CM.start_url(emu, &challenge(n), "github", Some(REDIRECT), &[])).await;
    reqwest::Url::parse(&consent)
        .unwrap()
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "response_type")
        .collect()
}

#[tokio::test]
async fn the_test_provider_sends_codes_only_to_the_broker() {
    let emu = support::builder()
        .app(APP, KEY)
        .identity("Ada Lovelace", "ada@example.com")
        .start()
        .await
        .unwrap();
    let genuine = grant(&emu, 4).await;
    let callback = format!("{}/v1/app/{APP}/account/social/callback", emu.base_url());
    assert!(genuine.contains(&("redirect_uri".into(), callback)));
    for foreign in [
        "http://attacker.example/steal",
        "http://127.0.0.1:9/callback",
        &format!("{}/v1/app/other/account/social/callback", emu.base_url()),
        &format!("{}/v1/app/{APP}/account/social/callback/", emu.base_url()),
    ] {
        let mut form: Vec<(String, String)> = genuine
            .iter()
            .filter(|(k, _)| k != "redirect_uri")
            .cloned()
            .collect();
        form.push(("redirect_uri".into(), foreign.into()));
        let mut allow = form.clone();
        allow.extend([
            ("action".into(), "allow".into()),
            ("identity".into(), "ada@example.com".into()),
        ]);
        let r = http()
            .post(format!("{}/idp/github/consent", emu.base_url()))
            .form(&allow)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{foreign}");
        assert!(
            r.headers().get("location").is_none(),
            "no code to {foreign}"
        );
        let page = r.text().await.unwrap();
        assert!(
            page.contains("redirect_uri must be this emulator"),
            "{page}"
        );
        assert!(!page.contains("code="), "{page}");
        // The consent page itself is refused for that redirect too.
        let q = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let r = http()
            .get(format!("{}/idp/github/authorize?{q}", emu.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{foreign}");
    }
    // The genuine callback still gets its code.
    let mut allow = genuine.clone();
    allow.extend([
        ("action".into(), "allow".into()),
        ("identity".into(), "ada@example.com".into()),
    ]);
    let r = http()
        .post(format!("{}/idp/github/consent", emu.base_url()))
        .form(&allow)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(r.headers()["location"].to_str().unwrap().contains("code="));
}

#[tokio::test]
async fn auto_consent_sends_no_code_to_a_foreign_redirect() {
    let emu = support::builder()
        .app(APP, KEY)
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    let r = http()
        .get(format!(
            "{}/idp/github/authorize?response_type=code&client_id={APP}&redirect_uri=http://attacker.example/cb&state=s",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    // PKCE makes only loopback URIs (native clients, RFC 8252) acceptable.
    let pkce =
        "code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    for (redirect, allowed) in [
        ("http://attacker.example/cb", false),
        ("http://127.0.0.1:9/cb", true),
    ] {
        let r = http()
            .get(format!(
                "{}/idp/github/authorize?response_type=code&client_id={APP}&redirect_uri={redirect}&state=s&{pkce}",
                emu.base_url()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status() == StatusCode::FOUND, allowed, "{redirect}");
        assert_eq!(r.headers().get("location").is_some(), allowed, "{redirect}");
    }
}

fn urlencode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}
