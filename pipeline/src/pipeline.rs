//! The order of stages, and the only place that knows it.
//!
//! ```text
//! receive ─▶ heartbeat every message ─▶ parse notification ─▶ per object: route ─▶ GetObject (stream)
//!   ─▶ [blocking thread: read::read_object — decompress ─▶ frame ─▶ normalize ─▶ enrich ─▶ encode]
//!   ─▶ documents: budget ─▶ bounded channel ─▶ sink::batcher ─▶ _bulk ─┐
//!   ─▶ record errors: sink::dead_letter ──────────────────────────────┤
//!                                       ack: every Pending done ─▶ DeleteMessageBatch
//! ```
//!
//! Each behaviour lives with its stage: visibility in [`crate::source::visibility`],
//! completion in [`crate::ack`], reading in [`crate::read`], the bytes budget in
//! [`crate::budget`], what operators see in [`crate::telemetry::events`]. This
//! file only connects them and decides what happens at shutdown.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::io::SyncIoBridge;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::ack::{self, InFlight, Pending};
use crate::budget::Budget;
use crate::config::Config;
use crate::document::{IndexNaming, ObjectIdentity};
use crate::enrich::Enrichers;
use crate::log_types::{self, LogType};
use crate::read as reader;
use crate::sink::bulk::BatchSummary;
use crate::sink::circuit::Circuit;
use crate::sink::dead_letter::{self, DeadLetterSender, DeadLetterStore};
use crate::sink::intake::Intake;
use crate::sink::{BulkApi, OpenSearch, batcher};
use crate::source::receiver::{Receiver, WAITING_TICK};
use crate::source::visibility::{self, Heartbeat};
use crate::source::{
    Message, Notification, ObjectError, ObjectRef, ObjectStore, Queue, notification,
};
use crate::telemetry::events::{self as event, Emit};
use crate::telemetry::http::Health;

pub use crate::read::{
    EncodedRecord, Limits, ObjectMeta, ObjectSummary, RecordError, read_object,
    read_object_enriched,
};

/// Everything a running pipeline needs.
pub struct Pipeline {
    pub config: Config,
    pub queue: Arc<dyn Queue>,
    pub store: Arc<dyn ObjectStore>,
    pub opensearch: Arc<dyn BulkApi>,
    pub dead_letters: Option<Arc<dyn DeadLetterStore>>,
    pub health: Arc<Health>,
    /// Shared by every reading thread; its data reloads while the run goes on.
    pub enrichers: Arc<Enrichers>,
    /// The log types objects are routed to, in routing order.
    pub log_types: &'static [&'static dyn LogType],
}

/// Totals of a run, returned when it stops.
#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    pub messages: u64,
    pub indexed: u64,
    pub already_indexed: u64,
    pub rejected: u64,
    pub gave_up: u64,
    /// Whether shutdown had to abandon in-flight work (its messages were
    /// made visible again).
    pub abandoned: bool,
    /// A stage that panicked and stopped the run: the process should exit
    /// with an error, and be restarted.
    pub failed_stage: Option<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    OpenSearch(#[from] crate::sink::SinkError),
    #[error(transparent)]
    Queue(#[from] crate::source::QueueError),
}

/// After the drain, the time left for releasing abandoned messages and
/// deleting completed ones. `stopTimeout` must exceed
/// `pipeline.shutdown_grace_secs` by more than this.
const FINAL_CALLS: Duration = Duration::from_secs(5);

/// State shared by the tasks of one run.
struct Shared {
    queue: Arc<dyn Queue>,
    store: Arc<dyn ObjectStore>,
    log_types: &'static [&'static dyn LogType],
    naming: IndexNaming,
    limits: Limits,
    enrichers: Arc<Enrichers>,
    intake: Intake,
    in_flight: InFlight,
    /// `s3.max_concurrent_objects`.
    objects: Arc<Semaphore>,
    heartbeat: Heartbeat,
    /// Cancelled to make every in-flight message visible again at once.
    release: CancellationToken,
    heartbeats: TaskTracker,
}

impl Pipeline {
    /// Builds the AWS and OpenSearch clients from `config`, checks that
    /// OpenSearch answers and installs the index templates.
    pub async fn connect(config: Config, health: Arc<Health>) -> Result<Pipeline, StartError> {
        let sdk = crate::source::aws_sdk_config(&config.aws).await;
        let (s3, sqs) = crate::source::aws_clients(&sdk, &config.aws);
        let opensearch = OpenSearch::new(&config.opensearch, Some(&sdk))?;
        opensearch.ping().await?;
        crate::sink::templates::install(&opensearch, &config.opensearch.index_prefix).await?;
        let dead_letters = dead_letter::open_store(&config.dead_letter, || s3.clone());
        let fetcher = crate::enrich::Fetcher {
            s3: Some(s3.clone()),
        };
        let enrichers = Arc::new(Enrichers::start(&config.enrich, fetcher).await);
        Ok(Pipeline {
            queue: Arc::new(crate::source::sqs::SqsQueue::new(
                sqs,
                config.sqs.queue_url.clone(),
                config.sqs.wait_time,
                config.sqs.max_messages,
            )),
            store: Arc::new(crate::source::s3::S3Store::with_clients(
                crate::source::s3::S3Clients::new(&sdk, &config.aws, s3, &config.s3.assume_roles)
                    .await,
            )),
            opensearch: Arc::new(opensearch),
            dead_letters,
            health,
            enrichers,
            log_types: log_types::REGISTRY,
            config,
        })
    }

    /// Runs until `shutdown` is cancelled (or, when configured, until the queue
    /// stays empty), then finishes in-flight work: within the grace period
    /// after a signal, or completely when the queue ran dry. Work that cannot
    /// finish in time is abandoned and its messages made visible again.
    pub async fn run(self, shutdown: CancellationToken) -> Result<RunSummary, StartError> {
        let Pipeline {
            config,
            queue,
            store,
            opensearch,
            dead_letters,
            health,
            enrichers,
            log_types,
        } = self;
        let visibility_timeout = match config.sqs.visibility_timeout {
            Some(t) => t,
            None => Duration::from_secs(queue.attributes().await?.visibility_timeout_secs.max(2)),
        };
        if dead_letters.is_none() {
            warn!(
                "no dead-letter store configured (dead_letter.s3_url or dead_letter.directory): records that can never be indexed keep their message on the queue until its redrive policy moves it"
            );
        }
        // A stage that panics stops the run: receiving on into a dead sink,
        // acker or dead-letter writer would push every message through its
        // receive count into the queue's dead-letter queue.
        let failed = Arc::new(std::sync::OnceLock::new());
        let (dl_sender, dl_writer) = match dead_letters {
            Some(store) => {
                let (s, w) = dead_letter::writer(store);
                (
                    s,
                    Some(tokio::spawn(vital(
                        "dead-letter writer",
                        w,
                        failed.clone(),
                        shutdown.clone(),
                    ))),
                )
            }
            None => (DeadLetterSender::none(), None),
        };
        let (doc_tx, doc_rx) = mpsc::channel(config.pipeline.channel_capacity);
        let (in_flight, completions) = InFlight::new();
        let circuit = Circuit::default();
        let probe = tokio::spawn(circuit.clone().probe(opensearch.clone()));
        let sink = tokio::spawn(vital(
            "bulk sink",
            batcher::run(
                doc_rx,
                opensearch,
                config.bulk.clone(),
                dl_sender.clone(),
                circuit.clone(),
            ),
            failed.clone(),
            shutdown.clone(),
        ));
        let acker = tokio::spawn(vital(
            "acker",
            ack::run_acker(completions, queue.clone()),
            failed.clone(),
            shutdown.clone(),
        ));
        let depth = tokio::spawn(crate::source::depth::watch(queue.clone(), health.clone()));
        let enrich_reload = tokio::spawn(enrichers.clone().watch());
        let shared = Arc::new(Shared {
            queue: queue.clone(),
            store,
            log_types,
            naming: IndexNaming {
                prefix: config.opensearch.index_prefix.clone(),
                rotation: config.opensearch.index_rotation,
            },
            limits: Limits::from_config(&config.pipeline),
            enrichers,
            intake: Intake {
                documents: doc_tx,
                dead_letters: dl_sender,
                budget: Budget::new(config.pipeline.max_bytes_in_flight),
            },
            in_flight: in_flight.clone(),
            objects: Arc::new(Semaphore::new(config.s3.max_concurrent_objects)),
            heartbeat: Heartbeat {
                timeout: visibility_timeout,
                cap: config.sqs.max_visibility_extension,
            },
            release: CancellationToken::new(),
            heartbeats: TaskTracker::new(),
        });
        let tasks = TaskTracker::new();
        let empty_streak = Arc::new(AtomicU32::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let mut receivers = Vec::new();
        for _ in 0..config.sqs.receivers {
            let receiver = Receiver {
                queue: queue.clone(),
                slots: shared.objects.clone(),
                stop: shutdown.child_token(),
                health: health.clone(),
                empty_streak: empty_streak.clone(),
                exit_after_empty: config.sqs.exit_after_empty_receives,
                tasks: tasks.clone(),
                heartbeat: shared.heartbeat,
                available: circuit.subscribe(),
            };
            receivers.push(tokio::spawn(receive_loop(
                receiver,
                shared.clone(),
                tasks.clone(),
                received.clone(),
            )));
        }
        let mut receiving = tokio::spawn(futures::future::join_all(receivers));

        // Receiving stops at a signal, or by itself once the queue ran dry.
        let received_all = tokio::select! {
            _ = &mut receiving => true,
            () = shutdown.cancelled() => false,
        };
        depth.abort();
        enrich_reload.abort();
        probe.abort();
        info!("receiving stopped; finishing in-flight messages");

        // Every message received must be over: all of it when the queue ran
        // dry, within the grace period of the signal otherwise.
        let grace = config.pipeline.shutdown_grace;
        let signalled_grace = async {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        let finished = tokio::select! {
            () = in_flight.wait() => true,
            () = signalled_grace => false,
        };
        if !finished {
            warn!(
                ?grace,
                "in-flight work did not finish within the grace period; making its messages visible again"
            );
            // Everything that could still be waiting is woken to fail:
            // object slots, the bytes budget, the sink, the dead letters.
            in_flight.abandon();
            shared.release.cancel();
            shared.objects.close();
            shared.intake.budget.close();
            sink.abort();
            if let Some(w) = &dl_writer {
                w.abort();
            }
        }
        if !received_all {
            // A receive under way at the signal hands its messages back; it
            // ends within the long poll.
            let _ = tokio::time::timeout(config.sqs.wait_time + FINAL_CALLS, receiving).await;
        }
        let heartbeats = shared.heartbeats.clone();
        let bulk = if finished {
            tasks.close();
            tasks.wait().await;
            drop(shared);
            let bulk = sink.await.unwrap_or_default();
            if let Some(w) = dl_writer {
                let _ = w.await;
            }
            bulk
        } else {
            drop(shared);
            BatchSummary::default()
        };
        drop(in_flight);
        // Releases and the last deletions share a few seconds, so that the
        // whole stop fits the container's stop timeout.
        let last_calls = tokio::time::Instant::now() + FINAL_CALLS;
        heartbeats.close();
        let _ = tokio::time::timeout_at(last_calls, heartbeats.wait()).await;
        let _ = tokio::time::timeout_at(last_calls, acker).await;
        Ok(RunSummary {
            messages: received.load(Ordering::Relaxed),
            indexed: bulk.indexed,
            already_indexed: bulk.already_indexed,
            rejected: bulk.rejected,
            gave_up: bulk.gave_up,
            abandoned: !finished,
            failed_stage: failed.get().copied(),
        })
    }
}

/// Runs a stage the run cannot do without. A panic in it is logged, recorded
/// in `failed` and stops the run; what the stage held is dropped unsettled,
/// which fails its messages.
async fn vital<T: Default>(
    stage: &'static str,
    task: impl std::future::Future<Output = T>,
    failed: Arc<std::sync::OnceLock<&'static str>>,
    stop: CancellationToken,
) -> T {
    match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(task)).await {
        Ok(done) => done,
        Err(_) => {
            tracing::error!(stage, "a stage of the pipeline panicked; stopping the run");
            let _ = failed.set(stage);
            stop.cancel();
            T::default()
        }
    }
}

async fn receive_loop(
    mut receiver: Receiver,
    shared: Arc<Shared>,
    tasks: TaskTracker,
    received: Arc<AtomicU64>,
) {
    while let Some(messages) = receiver.next().await {
        received.fetch_add(messages.len() as u64, Ordering::Relaxed);
        // Every message is kept hidden from the moment it is received, also
        // while it waits below for its turn.
        let messages: Vec<(Message, Pending)> =
            messages.into_iter().map(|m| receive(m, &shared)).collect();
        for (message, pending) in messages {
            handle_message(message, pending, &shared, &tasks, &receiver.health).await;
        }
    }
}

/// Starts a received message's completion and its visibility heartbeat.
fn receive(message: Message, shared: &Shared) -> (Message, Pending) {
    event::MessageReceived.emit();
    let pending = shared.in_flight.receive(&message);
    shared.heartbeats.spawn(visibility::heartbeat(
        shared.queue.clone(),
        message.clone(),
        shared.heartbeat,
        pending.over(),
        shared.release.clone(),
    ));
    (message, pending)
}

async fn handle_message(
    message: Message,
    pending: Pending,
    shared: &Arc<Shared>,
    tasks: &TaskTracker,
    health: &Health,
) {
    let objects = match notification::parse(&message.body) {
        Err(error) => {
            event::MessageInvalid {
                message_id: &message.message_id,
                reason: error.label(),
                error: &error,
            }
            .emit();
            pending.fail();
            return;
        }
        Ok(Notification::Discard(reason)) => {
            event::MessageDiscarded {
                message_id: &message.message_id,
                reason: reason.label(),
            }
            .emit();
            pending.done();
            return;
        }
        Ok(Notification::Objects(objects)) => objects,
    };
    for object in objects {
        let permit = loop {
            // Waiting for room is healthy; say so while it lasts.
            tokio::select! {
                permit = shared.objects.clone().acquire_owned() => break permit,
                () = tokio::time::sleep(WAITING_TICK) => health.turned(),
            }
        };
        let Ok(permit) = permit else {
            pending.fail();
            return;
        };
        let (shared, object_pending) = (shared.clone(), pending.split());
        tasks.spawn(async move {
            let _counted = event::ObjectInFlight::enter();
            process_object(object, object_pending, &shared).await;
            drop(permit);
        });
    }
    pending.done();
}

async fn process_object(object: ObjectRef, pending: Pending, shared: &Arc<Shared>) {
    // Routing by key: the first log type that claims it.
    let Some(log_type) = shared
        .log_types
        .iter()
        .copied()
        .find(|t| t.matches_key(&object.key))
    else {
        event::ObjectUnrouted {
            bucket: &object.bucket,
            key: &object.key,
        }
        .emit();
        pending.fail();
        return;
    };
    let name = log_type.name();
    if log_type.holds_no_records(&object.key) {
        event::ObjectSkipped {
            log_type: name,
            bucket: &object.bucket,
            key: &object.key,
        }
        .emit();
        pending.done();
        return;
    }
    let body = match shared.store.get(&object).await {
        Ok(body) => body,
        Err(error) => {
            // Deleted (or expired) before we got to it: nothing left to read.
            let gone = matches!(error, ObjectError::NotFound { .. });
            event::ObjectNotRead {
                log_type: name,
                reason: error.label(),
                gone,
                error: &error,
            }
            .emit();
            if gone {
                pending.done();
            } else {
                pending.fail();
            }
            return;
        }
    };
    let identity = Arc::new(ObjectIdentity {
        bucket: object.bucket.clone(),
        key: object.key.clone(),
        version: body
            .version_id
            .clone()
            .or_else(|| body.etag.clone())
            .unwrap_or_default(),
        written_at: body.last_modified,
    });
    let meta = ObjectMeta {
        content_encoding: body.content_encoding.clone(),
        content_type: body.content_type.clone(),
        written_at: body.last_modified,
    };
    let reader = SyncIoBridge::new(body.reader);
    let reading = shared.clone();
    let result = tokio::task::spawn_blocking(move || {
        let shared = reading;
        let mut on_record = |record: Result<EncodedRecord, RecordError>| match record {
            Ok(record) => shared.intake.document(record, name, &identity, &pending),
            Err(error) => {
                shared.intake.record_error(error, name, &identity, &pending);
                ControlFlow::Continue(())
            }
        };
        let summary = reader::read_object_enriched(
            reader,
            &meta,
            &identity,
            log_type,
            &shared.naming,
            shared.limits,
            &shared.enrichers,
            &mut on_record,
        );
        // Read to its end (a stop or a broken stream failed the message above).
        pending.done();
        summary
    })
    .await;
    match result {
        Ok(summary) => event::ObjectRead {
            log_type: name,
            bucket: &object.bucket,
            key: &object.key,
            outcome: summary.outcome(),
            documents: summary.documents,
            record_errors: summary.record_errors,
            compressed_bytes: summary.compressed_bytes,
            decompressed_bytes: summary.decompressed_bytes,
            fatal: summary.fatal.as_deref(),
        }
        .emit(),
        // The reader's `Pending` was dropped by the panic: the message stays.
        Err(join_error) => event::ObjectPanicked {
            log_type: name,
            bucket: &object.bucket,
            key: &object.key,
            error: &join_error,
        }
        .emit(),
    }
}
