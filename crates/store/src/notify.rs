//! Wake-ups across servers: `NOTIFY cloud_wake, '<kind>'` after a write, and
//! a listener for the notifications other servers send (PostgreSQL only).
//!
//! On SQLite there is one server per database, so [`SqlStore::notify_wake`]
//! does nothing and [`SqlStore::wake_listener`] gives `None`; in-process
//! wake-ups are the supervisor crate's `Wake`.
//!
//! A notification is a hint, never the work itself: the receiver re-reads
//! its pending work from the tables. So a lost notification (the listener's
//! connection dropped) costs latency, not correctness, and the listener says
//! when that may have happened ([`WakeMessage::Reconnected`]) so the caller
//! can wake everything.

use crate::SqlStore;
use crate::db::{Pool, Query};
use crate::error::Result;
use sqlx::postgres::PgListener;

/// The channel every server listens on.
pub const WAKE_CHANNEL: &str = "cloud_wake";

/// What a [`WakeListener`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WakeMessage {
    /// Another (or this) server asked the supervisor of this kind to run.
    Wake(String),
    /// The connection was lost and re-established: notifications sent in
    /// between are gone.
    Reconnected,
}

/// A dedicated connection listening on [`WAKE_CHANNEL`].
#[derive(Debug)]
pub struct WakeListener {
    listener: PgListener,
}

impl WakeListener {
    /// The next message; an error means the database is unreachable (the
    /// next call tries to reconnect).
    pub async fn recv(&mut self) -> Result<WakeMessage> {
        Ok(match self.listener.try_recv().await? {
            Some(n) => WakeMessage::Wake(n.payload().to_string()),
            None => WakeMessage::Reconnected,
        })
    }
}

impl SqlStore {
    /// Tells every listening server that the supervisor of `kind` has work
    /// (`SELECT pg_notify('cloud_wake', kind)`); a no-op on SQLite.
    pub async fn notify_wake(&self, kind: &str) -> Result<()> {
        if let Pool::Postgres(_) = &self.pool {
            Query::new("SELECT CAST(pg_notify(")
                .bind(WAKE_CHANNEL)
                .sql(", ")
                .bind(kind)
                .sql(") AS TEXT)")
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// A listener on its own connection (PostgreSQL), or `None` on SQLite.
    pub async fn wake_listener(&self) -> Result<Option<WakeListener>> {
        match &self.pool {
            Pool::Postgres(pool) => {
                let mut listener = PgListener::connect_with(pool).await?;
                listener.listen(WAKE_CHANNEL).await?;
                Ok(Some(WakeListener { listener }))
            }
            Pool::Sqlite(_) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;
    use std::time::Duration;

    backend_test!(a_notification_reaches_a_listener, |store| {
        let listener = store.wake_listener().await.unwrap();
        match store.backend() {
            crate::Backend::Sqlite => {
                assert!(listener.is_none());
                store.notify_wake("cluster").await.unwrap();
            }
            crate::Backend::Postgres => {
                let mut listener = listener.unwrap();
                store.notify_wake("cluster").await.unwrap();
                let got = tokio::time::timeout(Duration::from_secs(5), listener.recv())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(got, WakeMessage::Wake("cluster".into()));
            }
        }
    });
}
