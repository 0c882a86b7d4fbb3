//! `siem-pipeline backfill`: the command around [`siem_pipeline::backfill`]
//! (arguments, the progress bar, the summary, Ctrl-C). Part of the binary,
//! not of the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use siem_pipeline::backfill::{Checkpoint, ListingQueue, Plan, Progress, Scope, plan};
use siem_pipeline::pipeline::Pipeline;
use siem_pipeline::telemetry::{self, METRICS, http::Health};
use tokio_util::sync::CancellationToken;

/// The arguments of `siem-pipeline backfill`.
#[derive(clap::Args)]
pub struct Args {
    #[arg(short, long, env = "SIEM_CONFIG")]
    pub config: PathBuf,
    /// `s3://bucket/prefix`
    pub url: String,
    /// First day to read (YYYY-MM-DD), from the date in each key (else
    /// the object's Last-Modified date).
    #[arg(long)]
    pub since: Option<chrono::NaiveDate>,
    /// Last day to read (YYYY-MM-DD), included.
    #[arg(long)]
    pub until: Option<chrono::NaiveDate>,
    /// Only objects that route to this log type.
    #[arg(long)]
    pub log_type: Option<String>,
    /// Objects read at once (default: `s3.max_concurrent_objects`).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// List and count what would be read, then exit.
    #[arg(long)]
    pub dry_run: bool,
    /// Checkpoint file (default: backfill-<bucket>-<hash>.checkpoint.json
    /// in the current directory, named after the arguments).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    telemetry::init_logging(false, "warn");
    let mut config = crate::load_config(&args.config)?;
    let (bucket, prefix) = Scope::parse_url(&args.url)?;
    let log_type = match &args.log_type {
        Some(name) => Some(siem_pipeline::log_types::by_name(name)?.name()),
        None => None,
    };
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since > until
    {
        anyhow::bail!("--since {since} is after --until {until}");
    }
    if args.concurrency == Some(0) {
        anyhow::bail!("--concurrency must be at least 1");
    }
    let scope = Scope {
        bucket,
        prefix,
        since: args.since,
        until: args.until,
        log_type,
    };
    let checkpoint_path = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| PathBuf::from(scope.checkpoint_name()));
    let checkpoint = Arc::new(Checkpoint::open(&checkpoint_path)?);
    let resuming =
        checkpoint.state().done_through.is_some() || !checkpoint.state().done_after.is_empty();

    let sdk = siem_pipeline::source::aws_sdk_config(&config.aws).await;
    let own = siem_pipeline::source::aws_clients(&sdk, &config.aws).0;
    // Listed with the role objects of this bucket and prefix are read with.
    let clients =
        siem_pipeline::source::s3::S3Clients::new(&sdk, &config.aws, own, &config.s3.assume_roles)
            .await;
    let s3 = clients.for_object(&scope.bucket, &scope.prefix).0.clone();
    let planned = plan(&s3, &scope, &checkpoint).await?;
    print_plan(&args.url, &planned, resuming.then_some(&checkpoint_path));
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    if planned.objects == 0 {
        checkpoint.remove();
        return Ok(ExitCode::SUCCESS);
    }

    // The service's read path, fed by the listing: stop when it is read.
    config.sqs.exit_after_empty_receives = Some(1);
    config.sqs.visibility_timeout = Some(siem_pipeline::backfill::VISIBILITY_TIMEOUT);
    config.sqs.receivers = 1;
    if let Some(n) = args.concurrency {
        config.s3.max_concurrent_objects = n;
    }
    let batch = config.s3.max_concurrent_objects;
    let mut pipeline = Pipeline::connect(config, Arc::new(Health::default()))
        .await
        .context("connecting to OpenSearch")?;
    let queue =
        Arc::new(ListingQueue::new(Arc::new(s3), scope, checkpoint.clone()).with_batch(batch));
    pipeline.queue = queue.clone();

    let shutdown = CancellationToken::new();
    let interrupted = CancellationToken::new();
    {
        let (shutdown, interrupted) = (shutdown.clone(), interrupted.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "\ninterrupted: finishing the objects under way (Ctrl-C again to stop at once)"
                );
                interrupted.cancel();
                shutdown.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
    }
    let started = Instant::now();
    let bar = tokio::spawn(show_progress(queue.progress.clone(), planned.clone()));
    let summary = pipeline
        .run(shutdown)
        .await
        .context("running the backfill")?;
    bar.abort();
    let _ = bar.await;

    let unfinished = queue.unfinished();
    let done = queue.progress.objects_done.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64().max(0.001);
    println!(
        "{done} object(s) in {elapsed:.1}s ({:.1} objects/s, {:.0} records/s): {} indexed, {} already indexed, {} dead-lettered, {} object(s) not finished",
        done as f64 / elapsed,
        sum("siem_records_total") as f64 / elapsed,
        summary.indexed,
        summary.already_indexed,
        sum("siem_dead_letters_total"),
        unfinished.len(),
    );
    for key in unfinished.iter().take(20) {
        println!("  not finished: {key}");
    }
    if let Some(stage) = summary.failed_stage {
        anyhow::bail!("the {stage} panicked; the backfill stopped");
    }
    if interrupted.is_cancelled() || !unfinished.is_empty() {
        println!(
            "resume with the same command: the checkpoint is {}",
            checkpoint_path.display()
        );
        return Ok(ExitCode::from(if interrupted.is_cancelled() {
            130
        } else {
            2
        }));
    }
    checkpoint.remove();
    Ok(ExitCode::SUCCESS)
}

fn print_plan(url: &str, plan: &Plan, resuming: Option<&PathBuf>) {
    if let Some(path) = resuming {
        println!(
            "resuming from {}: {} object(s) already done",
            path.display(),
            plan.done
        );
    }
    let by_type: Vec<String> = plan
        .by_log_type
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    println!(
        "{url}: {} object(s) to read, {} ({}); skipped: {} unrouted, {} of another log type, {} outside the dates",
        plan.objects,
        HumanBytes(plan.bytes),
        if by_type.is_empty() {
            "none".to_owned()
        } else {
            by_type.join(", ")
        },
        plan.unrouted,
        plan.other_log_type,
        plan.out_of_dates,
    );
}

/// The sum of a counter of the pipeline's metrics over all its labels.
fn sum(name: &str) -> u64 {
    METRICS
        .registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .map(|m| m.get_counter().get_value() as u64)
        .sum()
}

/// A progress bar on a terminal; a plain line every ten seconds otherwise.
async fn show_progress(progress: Arc<Progress>, plan: Plan) {
    let terminal = std::io::stderr().is_terminal();
    let bar = ProgressBar::new(plan.bytes);
    if terminal {
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let mut last_line = Instant::now();
    loop {
        let objects = progress.objects_done.load(Ordering::Relaxed);
        bar.set_position(progress.bytes_done.load(Ordering::Relaxed));
        let message = format!(
            "objects {objects}/{} records {}",
            plan.objects,
            sum("siem_records_total")
        );
        if !terminal && last_line.elapsed() >= Duration::from_secs(10) {
            eprintln!(
                "backfill: {message}, {}/{} ({}/s)",
                HumanBytes(bar.position()),
                HumanBytes(plan.bytes),
                // The average: objects finish in steps, which makes
                // indicatif's recent rate swing between zero and a burst.
                HumanBytes(
                    (bar.position() as f64 / started.elapsed().as_secs_f64().max(1.0)) as u64
                ),
            );
            last_line = Instant::now();
        }
        bar.set_message(message);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
