//! What the queue announces: new work, finished executions, changed generations.
//!
//! Listeners never poll for these. On PostgreSQL each change is a `NOTIFY` sent in the
//! transaction that makes it (so it is delivered once committed, to every process listening
//! on the database); on SQLite, whose writers all live in this process, the store sends the
//! same events on an in-process channel after the commit. An event may be missed (a listener
//! fell behind, the listening connection was lost): the listener is then told to
//! [`QueueEvent::Resync`] — re-read what it waits for.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::model::Tier;

/// Events a listener may fall behind by before it is told to re-read.
const BUFFER: usize = 4096;
/// The PostgreSQL channel every store of a database notifies and listens on.
pub(crate) const CHANNEL: &str = "mdc_queue";
/// Ids per notification: a payload stays far below PostgreSQL's 8,000 bytes.
const IDS_PER_NOTIFICATION: usize = 100;

/// A change in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueEvent {
    /// Work was queued (or re-queued) on this tier: idle workers of the tier claim.
    Queued(Tier),
    /// These executions reached a final status.
    Finished(Vec<String>),
    /// A step of this generation changed, or the generation ended.
    GenerationChanged(String),
    /// Events may have been missed: re-read whatever is awaited.
    Resync,
}

impl QueueEvent {
    /// The notification payloads of this event (several when it names many ids).
    pub(crate) fn payloads(&self) -> Vec<String> {
        match self {
            QueueEvent::Queued(tier) => vec![format!("q:{}", tier.as_str())],
            QueueEvent::Finished(ids) => ids
                .chunks(IDS_PER_NOTIFICATION)
                .map(|chunk| format!("f:{}", chunk.join(",")))
                .collect(),
            QueueEvent::GenerationChanged(id) => vec![format!("g:{id}")],
            QueueEvent::Resync => vec!["r:".to_string()],
        }
    }

    /// Reads a notification payload; anything unknown (a newer server's event) is a resync.
    pub(crate) fn parse(payload: &str) -> QueueEvent {
        let (kind, rest) = payload.split_once(':').unwrap_or(("", ""));
        match kind {
            "q" => Tier::parse(rest).map_or(QueueEvent::Resync, QueueEvent::Queued),
            "f" => QueueEvent::Finished(
                rest.split(',')
                    .filter(|id| !id.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
            "g" if !rest.is_empty() => QueueEvent::GenerationChanged(rest.to_string()),
            _ => QueueEvent::Resync,
        }
    }
}

/// A listener's view of the queue's events, from the moment it subscribed.
pub struct Subscription {
    receiver: broadcast::Receiver<QueueEvent>,
}

impl Subscription {
    /// The next event; [`QueueEvent::Resync`] when some were missed. `None` once the store
    /// is closed.
    pub async fn recv(&mut self) -> Option<QueueEvent> {
        match self.receiver.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(QueueEvent::Resync),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next event if one is already waiting (a listener drains these to handle a burst
    /// at once); [`QueueEvent::Resync`] when some were missed.
    pub fn try_recv(&mut self) -> Option<QueueEvent> {
        match self.receiver.try_recv() {
            Ok(event) => Some(event),
            Err(broadcast::error::TryRecvError::Lagged(_)) => Some(QueueEvent::Resync),
            Err(_) => None,
        }
    }
}

/// Where a store's events go out and come in.
#[derive(Debug, Clone)]
pub(crate) struct EventHub {
    sender: broadcast::Sender<QueueEvent>,
    /// The PostgreSQL listening task, stopped when the last handle of the store goes.
    listener: Option<Arc<ListenerTask>>,
}

/// Aborts the listening task when dropped.
#[derive(Debug)]
pub(crate) struct ListenerTask(tokio::task::JoinHandle<()>);

impl Drop for ListenerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl EventHub {
    /// Events sent in this process only (SQLite).
    pub(crate) fn local() -> EventHub {
        EventHub {
            sender: broadcast::channel(BUFFER).0,
            listener: None,
        }
    }

    /// Events of every process on the PostgreSQL database at `url`, listened to on a
    /// connection of their own; ready when this returns, so nothing committed after it is
    /// missed.
    pub(crate) async fn postgres(url: &str) -> crate::Result<EventHub> {
        let (sender, _) = broadcast::channel(BUFFER);
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        let forward = sender.clone();
        let task = tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        let _ = forward.send(QueueEvent::parse(notification.payload()));
                    }
                    // The connection was lost and is re-established on the next call:
                    // whatever was notified meanwhile is gone.
                    Ok(None) => {
                        let _ = forward.send(QueueEvent::Resync);
                    }
                    Err(err) => {
                        tracing::warn!(%err, "lost the queue's notifications; listening again");
                        let _ = forward.send(QueueEvent::Resync);
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    }
                }
            }
        });
        Ok(EventHub {
            sender,
            listener: Some(Arc::new(ListenerTask(task))),
        })
    }

    /// A new subscription.
    pub(crate) fn subscribe(&self) -> Subscription {
        Subscription {
            receiver: self.sender.subscribe(),
        }
    }

    /// Whether events travel through the database (PostgreSQL) rather than this process.
    pub(crate) fn through_database(&self) -> bool {
        self.listener.is_some()
    }

    /// Sends events in this process (after their transaction committed).
    pub(crate) fn send_local(&self, events: Vec<QueueEvent>) {
        for event in events {
            // Nobody listening is fine.
            let _ = self.sender.send(event);
        }
    }

    /// Stops listening.
    pub(crate) fn close(&self) {
        if let Some(listener) = &self.listener {
            listener.0.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back_as_the_same_events() {
        let many: Vec<String> = (0..250).map(|n| format!("{n:032}")).collect();
        for event in [
            QueueEvent::Queued(Tier::Standard),
            QueueEvent::GenerationChanged("g1".into()),
            QueueEvent::Resync,
        ] {
            assert_eq!(event.payloads().len(), 1);
            assert_eq!(QueueEvent::parse(&event.payloads()[0]), event);
        }
        let payloads = QueueEvent::Finished(many.clone()).payloads();
        assert_eq!(payloads.len(), 3);
        assert!(payloads.iter().all(|p| p.len() < 8000));
        let read: Vec<String> = payloads
            .iter()
            .flat_map(|p| match QueueEvent::parse(p) {
                QueueEvent::Finished(ids) => ids,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(read, many);
        assert_eq!(QueueEvent::parse("x:future"), QueueEvent::Resync);
        assert_eq!(QueueEvent::parse("q:ultra"), QueueEvent::Resync);
    }
}
