//! The ACL and geo calls on the blocking client, finished with `.wait()`.

use std::time::Duration;

use cloudmine::{Acl, CallOptions, DistanceUnit, GeoPoint, Near, Permission, WebService, blocking};
use cloudmine_emulator::Emulator;
use serde_json::json;

const APP: &str = "blocking-acl-app";
const KEY: &str = "blocking-acl-key";

fn user(
    rt: &tokio::runtime::Runtime,
    emu: &Emulator,
    email: &str,
) -> (blocking::WebService, String) {
    let id = rt.block_on(emu.create_user(APP, email)).unwrap();
    let token = rt
        .block_on(emu.create_session(APP, &id, Duration::from_secs(3600)))
        .unwrap();
    let ws = blocking::WebService::new(
        WebService::builder()
            .app_id(APP)
            .api_key(KEY)
            .api_root(emu.base_url()),
    )
    .unwrap();
    ws.set_session_token(token).unwrap();
    (ws, id)
}

#[test]
fn acls_sharing_and_geo_without_a_runtime() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(Emulator::builder().app(APP, KEY).start())
        .unwrap();
    let (alice, _) = user(&rt, &emu, "alice@example.com");
    let (bob, bob_id) = user(&rt, &emu, "bob@example.com");

    let acl = alice
        .acls()
        .save(&Acl::new([bob_id.as_str()], Permission::Read.into()))
        .wait()
        .unwrap();
    let id = acl.id.clone().unwrap();
    assert_eq!(alice.acls().get(&id).wait().unwrap(), acl);
    assert_eq!(alice.acls().all().wait().unwrap().acls.len(), 1);
    assert_eq!(alice.acls().get_many([&id]).wait().unwrap().acls.len(), 1);
    assert_eq!(alice.acls().search("").wait().unwrap().acls.len(), 1);

    let here = GeoPoint::new(39.95, -75.16).unwrap();
    alice
        .objects()
        .set_with_access("spot", json!({"loc": here}), [&id])
        .wait()
        .unwrap();
    let shared = CallOptions::new()
        .shared_only(true)
        .distance(true)
        .units(DistanceUnit::M);
    let near = Near::new("loc", here)
        .unwrap()
        .within(1.0, DistanceUnit::Km)
        .unwrap();
    let found = bob
        .objects()
        .search(near)
        .options(shared.clone())
        .wait()
        .unwrap();
    assert_eq!(found.keys(), ["spot"]);
    let d = found.distance("spot").unwrap().unwrap();
    assert_eq!((d.value, d.unit), (0.0, DistanceUnit::M));

    alice.acls().delete(&id).wait().unwrap();
    let near = Near::new("loc", here).unwrap();
    assert!(
        bob.objects()
            .search(near)
            .options(shared)
            .wait()
            .unwrap()
            .keys()
            .is_empty()
    );
    assert_eq!(
        alice.acls().get(&id).wait().unwrap_err().status(),
        Some(404)
    );
}
