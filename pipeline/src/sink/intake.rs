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
use crate::telemetry::METRICS;
use crate::telemetry::events::{Emit, RecordFailed};

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
        let Some(share) = self.budget.take_blocking(record.bulk.len() + record.frame.len()) else {
            object.fail();
            return ControlFlow::Break(());
        };
        let doc = Document {
            index: record.index,
            id: record.id,
            log_type,
            bulk: record.bulk,
            record: record.frame,
            origin: RecordOrigin {
                object: identity.clone(),
                ordinal: record.ordinal,
            },
            ack: object.split(),
            budget: Some(share),
        };
        METRICS.documents_in_flight.inc();
        if self.documents.blocking_send(doc).is_err() {
            METRICS.documents_in_flight.dec();
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
        // A dead letter holds memory until written, like a document.
        let Some(share) = self.budget.take_blocking(letter.record.len()) else {
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
