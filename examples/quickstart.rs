//! Quickstart: start a `cloudmine-emulator` in this process, then write, read,
//! search and delete objects through the SDK, printing each step.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! To run against another server instead, set `CLOUDMINE_API_ROOT`,
//! `CLOUDMINE_APP_ID` and `CLOUDMINE_API_KEY`.

use cloudmine::{CallInfo, CallOptions, DestroyAll, Event, EventEmitter, WebService};
use cloudmine_emulator::Emulator;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
struct Car {
    make: String,
    model: String,
    price: u32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // An emulator on a free loopback port, unless a server was named.
    let (emulator, api_root, app_id, api_key) = match std::env::var("CLOUDMINE_API_ROOT") {
        Ok(root) => (
            None,
            root,
            std::env::var("CLOUDMINE_APP_ID")?,
            std::env::var("CLOUDMINE_API_KEY")?,
        ),
        Err(_) => {
            let emulator = Emulator::builder()
                .app("quickstart", "quickstart-key")
                .start()
                .await?;
            let root = emulator.base_url();
            println!("emulator listening on {root}");
            (
                Some(emulator),
                root,
                "quickstart".into(),
                "quickstart-key".into(),
            )
        }
    };

    let ws = WebService::builder()
        .app_id(app_id)
        .api_key(api_key)
        .api_root(api_root)
        .app_name("quickstart")
        .build()?;

    // Write three objects in one call.
    let written = ws
        .objects()
        .set_many(json!({
            "car-1": {"__class__": "car", "make": "Tesla", "model": "3", "price": 40000},
            "car-2": {"__class__": "car", "make": "Fiat", "model": "500", "price": 15000},
            "car-3": {"__class__": "car", "make": "Volvo", "model": "XC40", "price": 32000}
        }))
        .await?;
    println!("set:     {}", written.success());

    // Read one back, typed.
    let read = ws.objects().get(["car-2"]).await?;
    let car: Car = read.value_as("car-2")?.ok_or("car-2 is missing")?;
    println!(
        "get:     car-2 is a {} {} at {}",
        car.make, car.model, car.price
    );

    // Merge a change into an object.
    ws.objects()
        .update("car-2", json!({"price": 14000}))
        .await?;

    // Search, sorted, with a count, and watch the events fire.
    let found = ws
        .objects()
        .search(r#"[__class__ = "car", price < 35000]"#)
        .options(CallOptions::new().sort(["price"]).count(true))
        .on(Event::Success, |data: &Value, call: &CallInfo| {
            println!(
                "event:   success (HTTP {:?}) with {} keys",
                call.status(),
                data.as_object().map_or(0, |o| o.len())
            );
        })
        .on(Event::Complete, |_: &Value, _: &CallInfo| {
            println!("event:   complete")
        })
        .await?;
    for (key, car) in found.clone().into_map::<Car>()? {
        println!(
            "search:  {key}: {} {} at {}",
            car.make, car.model, car.price
        );
    }
    println!(
        "search:  {} of {:?} matches",
        found.keys().len(),
        found.count()
    );

    // A missing key is reported per key; the call still succeeds.
    let partial = ws.objects().get(["car-1", "car-404"]).await?;
    for (key, error) in partial.key_errors() {
        println!("partial: {key}: {error}");
    }

    // Delete one, then everything.
    ws.objects().destroy(["car-1"]).await?;
    let gone = ws
        .objects()
        .destroy_all(DestroyAll::ObjectsAndFiles)
        .await?;
    println!("deleted: {:?}", gone.keys());
    let left = ws.objects().get_all().await?;
    println!("left:    {}", left.success());

    if let Some(emulator) = emulator {
        emulator.shutdown().await?;
    }
    Ok(())
}
