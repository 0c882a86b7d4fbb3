//! Where reading threads hand over what they read: a document goes to the
//! batcher once the bytes budget has room for it; a record that did not become
//! a document goes to the dead-letter writer, under the same budget; an error after which nothing
//! more was read fails the message, to be read again. Called from blocking
//! threads only: every hand-over may wait.

use std::ops::ControlFlow;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::dead_letter::{DeadLetter, DeadLetterSender, Entry};
use crate::ack::Pending;
use crate::budget::Budget;
use crate::document::{Document, ObjectIdentity, RecordOrigin};
use crate::read::{EncodedRecord, RecordError};
use crate::telemetry::events::{DocumentInFlight, Emit, RecordFailed};

/// The sink's entrance, shared by every reading thread.
#[derive(Debug)]
pub struct Intake {
    pub documents: mpsc::Sender<Document>,
    pub dead_letters: DeadLetterSender,
    pub budget: Budget,
}

impl Intake {
    /// Hands one document to the batcher; `Break` when the sink is gone
    /// (shutdown), after failing the message.
    pub fn document(
        &self,
        record: EncodedRecord,
        log_type: &'static str,
        identity: &Arc<ObjectIdentity>,
        object: &Pending,
    ) -> ControlFlow<()> {
        let Some(share) = self
            .budget
            .take_blocking(record.bulk.len() + record.frame.len())
        else {
            object.fail();
            return ControlFlow::Break(());
        };
        let doc = Document {
            index: record.index,
            id: record.id,
            log_type,
            bulk: record.bulk,
            actions: record.actions,
            created: false,
            record: record.frame,
            origin: RecordOrigin {
                object: identity.clone(),
                ordinal: record.ordinal,
            },
            ack: object.split(),
            budget: Some(share),
            counted: DocumentInFlight::enter(),
        };
        if self.documents.blocking_send(doc).is_err() {
            object.fail();
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// Sets a record that did not become a document aside, or, when the
    /// stream broke and no single record can be, fails the message so that
    /// the whole object is read again.
    pub fn record_error(
        &self,
        error: RecordError,
        log_type: &'static str,
        identity: &Arc<ObjectIdentity>,
        object: &Pending,
    ) {
        RecordFailed {
            log_type,
            bucket: &identity.bucket,
            key: &identity.key,
            reason: error.label(),
            error: &error,
        }
        .emit();
        let Some(letter) = DeadLetter::for_record(log_type, identity, error) else {
            object.fail();
            return;
        };
        // A dead letter holds memory (or, for a record too long for memory,
        // disk) until written, like a document.
        let Some(share) = self.budget.take_blocking(letter.weight()) else {
            object.fail();
            return;
        };
        self.dead_letters.blocking_send(Entry {
            letter,
            pending: object.split(),
            share: Some(share),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::future::BoxFuture;
    use tokio::sync::Notify;

    use super::*;
    use crate::ack::InFlight;
    use crate::log_types::NormalizeError;
    use crate::sink::dead_letter::{DeadLetterError, DeadLetterStore, spawn_writer};
    use crate::source::Message;

    /// A store that writes only once the gate opens.
    struct Gated(Arc<Notify>);

    impl DeadLetterStore for Gated {
        fn write(
            &self,
            _name: String,
            _body: Vec<u8>,
        ) -> BoxFuture<'_, Result<(), DeadLetterError>> {
            Box::pin(async move {
                self.0.notified().await;
                Ok(())
            })
        }
        fn describe(&self) -> String {
            "gated".into()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_letter_holds_its_share_of_the_bytes_budget_until_it_is_written() {
        let gate = Arc::new(Notify::new());
        let (dead_letters, writer) = spawn_writer(Arc::new(Gated(gate.clone())));
        let budget = Budget::new(8 << 10);
        let intake = Arc::new(Intake {
            documents: mpsc::channel(1).0,
            dead_letters,
            budget: budget.clone(),
        });
        let (in_flight, _completions) = InFlight::new();
        let message = Message {
            message_id: "m".into(),
            receipt_handle: "r".into(),
            body: String::new(),
            sent_at: None,
            receive_count: 1,
        };
        let object = in_flight.receive(&message);
        let identity = Arc::new(ObjectIdentity {
            bucket: "b".into(),
            key: "k".into(),
            version: String::new(),
            written_at: None,
        });
        let reading = intake.clone();
        tokio::task::spawn_blocking(move || {
            let error = RecordError::Normalize {
                ordinal: 0,
                source: NormalizeError::InvalidJson("not JSON".into()),
                frame: vec![b'x'; 6 << 10],
            };
            reading.record_error(error, "t", &identity, &object);
            object.done();
        })
        .await
        .expect("hands the letter over");

        let no_room = tokio::time::timeout(Duration::from_millis(100), budget.take(4 << 10)).await;
        assert!(
            no_room.is_err(),
            "6 KiB of an 8 KiB budget are held by the unwritten dead letter"
        );
        gate.notify_one();
        let room = tokio::time::timeout(Duration::from_secs(5), budget.take(4 << 10)).await;
        assert!(
            room.is_ok_and(|share| share.is_some()),
            "written, its share came back"
        );
        drop(intake);
        writer.await.expect("the writer ends");
    }
}
