//! What the emulator "sent" (password-reset mails, push notifications),
//! kept in the database ([`InFlight`](crate::store::InFlight)) so every
//! instance serving it reads the same outbox: the newest [`OUTBOX_CAP`] of
//! each kind, oldest first. Imports no handler.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::{Mail, OUTBOX_CAP, Push};
use crate::store::{SentKind, Store, StoreError, StoreResult};

async fn record<T: Serialize>(
    store: &dyn Store,
    kind: SentKind,
    app_id: &str,
    item: &T,
) -> StoreResult<()> {
    let value = serde_json::to_value(item)
        .map_err(|e| StoreError::Invalid(format!("an item sent: {e}")))?;
    store.sent_append(kind, app_id, &value, OUTBOX_CAP).await
}

async fn read<T: DeserializeOwned>(
    store: &dyn Store,
    kind: SentKind,
    app_id: Option<&str>,
) -> StoreResult<Vec<T>> {
    store
        .sent_read(kind, app_id)
        .await?
        .into_iter()
        .map(|v| {
            serde_json::from_value(v)
                .map_err(|e| StoreError::Invalid(format!("a stored item sent: {e}")))
        })
        .collect()
}

/// Keeps a mail, dropping the oldest beyond [`OUTBOX_CAP`].
pub(crate) async fn record_mail(store: &dyn Store, mail: &Mail) -> StoreResult<()> {
    record(store, SentKind::Mail, &mail.app_id, mail).await
}

/// Keeps a push notification, dropping the oldest beyond [`OUTBOX_CAP`].
pub(crate) async fn record_push(store: &dyn Store, push: &Push) -> StoreResult<()> {
    record(store, SentKind::Push, &push.app_id, push).await
}

/// The mails of `app_id` (every app's with `None`), oldest first.
pub(crate) async fn mails(store: &dyn Store, app_id: Option<&str>) -> StoreResult<Vec<Mail>> {
    read(store, SentKind::Mail, app_id).await
}

/// The pushes of `app_id` (every app's with `None`), oldest first.
pub(crate) async fn pushes(store: &dyn Store, app_id: Option<&str>) -> StoreResult<Vec<Push>> {
    read(store, SentKind::Push, app_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn the_outbox_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(":memory:".as_ref(), dir.path())
            .await
            .unwrap();
        for i in 0..OUTBOX_CAP + 5 {
            let push = Push {
                app_id: if i % 2 == 0 { "a" } else { "b" }.into(),
                sender: None,
                notification: serde_json::json!({ "text": i.to_string() }),
            };
            record_push(&store, &push).await.unwrap();
        }
        let all = pushes(&store, None).await.unwrap();
        assert_eq!(all.len(), OUTBOX_CAP);
        assert_eq!(all[0].notification["text"], "5");
        let a = pushes(&store, Some("a")).await.unwrap();
        assert!(a.iter().all(|p| p.app_id == "a"));
        assert!(mails(&store, None).await.unwrap().is_empty(), "kinds apart");
    }
}
