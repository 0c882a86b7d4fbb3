//! The `siem-pipeline` binary: the edge where configuration, AWS clients and
//! signals meet the library. Errors here are `anyhow`; everything below is typed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use siem_pipeline::config::{Config, PipelineConfig};
use siem_pipeline::dashboards::Dashboards;
use siem_pipeline::enrich::Enrichers;
use siem_pipeline::normalize::{self, Routing};
use siem_pipeline::pipeline::{Limits, Pipeline};
use siem_pipeline::sink::retention::Installed;
use siem_pipeline::sink::{OpenSearch, templates};
use siem_pipeline::telemetry::{self, http::Health};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

mod backfill_command;

/// Normalization allocates many small, short-lived objects per record;
/// mimalloc handles that pattern far better than the system allocator
/// (about a third of the CPU time of the read path went to malloc and free).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "siem-pipeline",
    version,
    about = "AWS security findings and logs from S3 into OpenSearch, as ECS."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline: receive notifications, read objects, index records.
    Run {
        /// TOML configuration file; `SIEM_<SECTION>_<KEY>` variables override it.
        #[arg(short, long, env = "SIEM_CONFIG")]
        config: PathBuf,
    },
    /// Install or update the index templates, import the dashboards when
    /// `[dashboards] url` is set, then exit.
    Setup {
        #[arg(short, long, env = "SIEM_CONFIG")]
        config: PathBuf,
    },
    /// Validate the configuration and print it, then exit.
    CheckConfig {
        #[arg(short, long, env = "SIEM_CONFIG")]
        config: PathBuf,
    },
    /// Exit 0 when a running pipeline's /healthz answers 200 (container health checks).
    Healthcheck {
        /// Address of the metrics server.
        #[arg(long, default_value = "127.0.0.1:9464")]
        addr: std::net::SocketAddr,
    },
    /// Normalize local files as the pipeline would and print the documents as NDJSON.
    Normalize {
        /// Use this log type for every file.
        #[arg(long, conflicts_with = "key")]
        log_type: Option<String>,
        /// Route as if every file were stored under this S3 key.
        #[arg(long)]
        key: Option<String>,
        /// Index name prefix used in `_index`.
        #[arg(long, default_value = "siem")]
        index_prefix: String,
        /// Enrich the documents and refuse records and objects as `run` would,
        /// with this file's `[enrich]` section and `[pipeline]` limits.
        #[arg(short, long)]
        config: Option<PathBuf>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Index the records of a dead-letter store again, after a fix (run
    /// `setup` first when the fix is in the templates). Each record gets the
    /// id it would have had: running it twice adds nothing.
    Redrive {
        #[arg(short, long, env = "SIEM_CONFIG")]
        config: PathBuf,
        /// `s3://bucket/prefix/` or a directory; default: the configured
        /// `[dead_letter]` store.
        #[arg(long)]
        from: Option<String>,
    },
    /// Index the objects already in a bucket, through the same read path and
    /// document ids as `run`: overlapping the live queue, or running twice,
    /// adds no duplicate. Interrupted (Ctrl-C), it resumes from its
    /// checkpoint when run again with the same arguments.
    Backfill(backfill_command::Args),
    /// One screen for an operator: the queue and its dead-letter queue, what a
    /// running task is doing (from its /metrics), the indices by log type,
    /// and the newest dead letters.
    Status {
        #[arg(short, long, env = "SIEM_CONFIG")]
        config: PathBuf,
        /// A running task's metrics, e.g. http://10.0.1.5:9464/metrics
        /// (default: `metrics.listen` on this host).
        #[arg(long)]
        metrics: Option<String>,
        /// Seconds between the two scrapes that give the rates.
        #[arg(long, default_value_t = 5)]
        sample_secs: u64,
        /// Dead letters shown.
        #[arg(long, default_value_t = 5)]
        letters: usize,
    },
    /// List the registered log types (the generators in mappings/ and dashboards/ read `--json`).
    LogTypes {
        /// Print a JSON array of objects (name, namespace, …) instead of one name a line.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Normalize {
            log_type,
            key,
            index_prefix,
            config,
            files,
        } => run_normalize(log_type, key, &index_prefix, config.as_deref(), &files),
        Command::CheckConfig { config } => load_config(&config).map(|c| {
            for warning in c.warnings() {
                eprintln!("warning: {warning}");
            }
            println!("{c:#?}");
            ExitCode::SUCCESS
        }),
        Command::Healthcheck { addr } => Ok(
            match telemetry::http::probe(addr, "/healthz", std::time::Duration::from_secs(3)) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) | Err(_) => ExitCode::FAILURE,
            },
        ),
        Command::Setup { config } => runtime().and_then(|rt| rt.block_on(setup(&config))),
        Command::Run { config } => runtime().and_then(|rt| rt.block_on(run(&config))),
        Command::LogTypes { json } => Ok(print_log_types(json)),
        Command::Backfill(args) => {
            runtime().and_then(|rt| rt.block_on(backfill_command::run(args)))
        }
        Command::Status {
            config,
            metrics,
            sample_secs,
            letters,
        } => runtime().and_then(|rt| rt.block_on(status(&config, metrics, sample_secs, letters))),
        Command::Redrive { config, from } => {
            runtime().and_then(|rt| rt.block_on(redrive(&config, from.as_deref())))
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_log_types(json: bool) -> ExitCode {
    if json {
        println!("{}", siem_pipeline::log_types::catalogue());
    } else {
        for t in siem_pipeline::log_types::REGISTRY {
            println!("{}", t.name());
        }
    }
    ExitCode::SUCCESS
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn load_config(path: &std::path::Path) -> anyhow::Result<Config> {
    Ok(Config::load(path, std::env::vars())?)
}

fn run_normalize(
    log_type: Option<String>,
    key: Option<String>,
    index_prefix: &str,
    config: Option<&std::path::Path>,
    files: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let routing = match (log_type, key) {
        (Some(t), _) => Routing::LogType(t),
        (None, Some(k)) => Routing::Key(k),
        (None, None) => Routing::ByPath,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut err = std::io::stderr();
    let (enrichers, limits) = match config {
        Some(path) => {
            telemetry::init_logging(false, "warn");
            let config = load_config(path)?;
            let enrichers = normalize::load_enrichers(&config).context("starting the enrichers")?;
            (enrichers, Limits::from_config(&config.pipeline))
        }
        None => (
            Enrichers::none(),
            Limits::from_config(&PipelineConfig::default()),
        ),
    };
    let summary = normalize::run_enriched(
        files,
        &routing,
        index_prefix,
        &enrichers,
        limits,
        &mut out,
        &mut err,
    )?;
    std::io::Write::flush(&mut out)?;
    Ok(if summary.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

async fn setup(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    telemetry::init_logging(false, "info");
    let config = load_config(path)?;
    let sdk = siem_pipeline::source::aws_sdk_config(&config.aws).await;
    let client = OpenSearch::new(&config.opensearch, Some(&sdk))?;
    let n = templates::install(&client, &config.opensearch.index_prefix)
        .await
        .with_context(|| format!("installing templates into {}", config.opensearch.url))?;
    println!("installed {n} templates into {}", config.opensearch.url);
    let retention = siem_pipeline::sink::retention::install(
        &client,
        &config.retention,
        &config.opensearch.index_prefix,
        config.opensearch.index_rotation,
    )
    .await
    .with_context(|| {
        format!(
            "installing retention policies into {}",
            config.opensearch.url
        )
    })?;
    match retention {
        Installed::NotConfigured => {}
        Installed::NoIsm => eprintln!(
            "warning: {} has no Index State Management plugin: [retention] is not applied, \
             indices are kept until deleted (Amazon OpenSearch Service domains have ISM; \
             Serverless collections use data lifecycle policies instead)",
            config.opensearch.url
        ),
        Installed::Policies(ids) => println!(
            "installed {} retention policies into {}: {}",
            ids.len(),
            config.opensearch.url,
            ids.join(", ")
        ),
    }
    let Some(dashboards) = &config.dashboards else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = Dashboards::new(dashboards)
        .with_context(|| format!("importing dashboards into {}", dashboards.url))?;
    let mut failed = 0;
    for outcome in client.import_all(&config.opensearch.index_prefix).await {
        match outcome {
            Ok(file) => {
                println!(
                    "imported {}: {} objects into {}",
                    file.file, file.success_count, dashboards.url
                );
                for failure in &file.failures {
                    eprintln!("error: {}: {failure}", file.file);
                }
                failed += file.failures.len();
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        eprintln!("error: {failed} dashboard objects or files failed to import");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

async fn redrive(path: &std::path::Path, from: Option<&str>) -> anyhow::Result<ExitCode> {
    use siem_pipeline::sink::dead_letter;
    telemetry::init_logging(false, "warn");
    let config = load_config(path)?;
    let source = match from {
        Some(url) => siem_pipeline::config::DeadLetterSection {
            s3_url: url.starts_with("s3://").then(|| url.to_owned()),
            directory: (!url.starts_with("s3://")).then(|| PathBuf::from(url)),
        }
        .validate()
        .map_err(|e| anyhow::anyhow!("--from {url}: {}", e.message))?,
        None => config.dead_letter.clone(),
    };
    let sdk = siem_pipeline::source::aws_sdk_config(&config.aws).await;
    let s3 = siem_pipeline::source::aws_clients(&sdk, &config.aws).0;
    let Some(store) = dead_letter::open_store(&source, || s3.clone()) else {
        anyhow::bail!(
            "no dead-letter store: give --from or set [dead_letter] in {}",
            path.display()
        );
    };
    let client = OpenSearch::new(&config.opensearch, Some(&sdk))?;
    // Enriched as `run` enriches, with its data wherever it is.
    let enrichers = siem_pipeline::enrich::Enrichers::start(
        &config.enrich,
        siem_pipeline::enrich::Fetcher { s3: Some(s3) },
    )
    .await;
    let summary = siem_pipeline::redrive::redrive(
        store.as_ref(),
        std::sync::Arc::new(client),
        &config,
        &enrichers,
    )
    .await
    .with_context(|| format!("reading {}", store.describe()))?;
    println!(
        "{} file(s), {} letter(s): {} indexed, {} already indexed, {} refused again, {} still invalid, {} without a record to send",
        summary.files,
        summary.letters,
        summary.indexed,
        summary.already_indexed,
        summary.failed,
        summary.invalid,
        summary.not_redrivable
    );
    Ok(
        if summary.failed + summary.invalid + summary.not_redrivable == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        },
    )
}

async fn status(
    path: &std::path::Path,
    metrics: Option<String>,
    sample_secs: u64,
    letters: usize,
) -> anyhow::Result<ExitCode> {
    use siem_pipeline::status;
    telemetry::init_logging(false, "error");
    let config = load_config(path)?;
    let sdk = siem_pipeline::source::aws_sdk_config(&config.aws).await;
    let (s3, sqs) = siem_pipeline::source::aws_clients(&sdk, &config.aws);
    let client = OpenSearch::new(&config.opensearch, Some(&sdk))?;
    let metrics = metrics.or_else(|| {
        config
            .metrics
            .listen
            .map(|a| format!("http://127.0.0.1:{}/metrics", a.port()))
    });
    let window = std::time::Duration::from_secs(sample_secs.max(1));
    let activity = async {
        match &metrics {
            Some(url) => Some((url.clone(), status::activity(url, window).await)),
            None => None,
        }
    };
    let store = siem_pipeline::sink::dead_letter::open_store(&config.dead_letter, || s3.clone());
    let last = async {
        match &store {
            Some(s) => Some((
                s.describe(),
                status::last_letters(s.as_ref(), letters).await,
            )),
            None => None,
        }
    };
    let (queue, activity, indices, letters) = tokio::join!(
        status::queue(&sqs, &config.sqs.queue_url),
        activity,
        status::indices(&client, &config.opensearch.index_prefix),
        last,
    );
    print!(
        "{}",
        status::Status {
            queue,
            activity,
            prefix: config.opensearch.index_prefix.clone(),
            indices,
            letters,
        }
    );
    Ok(ExitCode::SUCCESS)
}

async fn run(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    telemetry::init_logging(true, "info");
    let config = load_config(path)?;
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    let health = Arc::new(Health::default());
    if let Some(addr) = config.metrics.listen {
        let listener = telemetry::http::bind(addr)
            .await
            .with_context(|| format!("binding the metrics server to {addr} (metrics.listen)"))?;
        let health = health.clone();
        tokio::spawn(async move {
            if let Err(e) = telemetry::http::serve(listener, health).await {
                error!(error = %e, "metrics server stopped");
            }
        });
    }
    let pipeline = Pipeline::connect(config, health.clone())
        .await
        .context("connecting to OpenSearch")?;
    health.set_ready(true);

    let shutdown = CancellationToken::new();
    tokio::spawn(wait_for_signal(shutdown.clone()));
    info!(queue = %pipeline.config.sqs.queue_url, opensearch = %pipeline.config.opensearch.url, "siem-pipeline started");
    let summary = pipeline
        .run(shutdown)
        .await
        .context("running the pipeline")?;
    info!(
        messages = summary.messages,
        indexed = summary.indexed,
        already_indexed = summary.already_indexed,
        rejected = summary.rejected,
        gave_up = summary.gave_up,
        abandoned = summary.abandoned,
        "siem-pipeline stopped"
    );
    if let Some(stage) = summary.failed_stage {
        anyhow::bail!("the {stage} panicked; stopped so that the task is replaced");
    }
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal(shutdown: CancellationToken) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            error!(error = %e, "cannot listen for SIGTERM");
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => info!("SIGTERM received; draining"),
        _ = tokio::signal::ctrl_c() => info!("SIGINT received; draining"),
    }
    shutdown.cancel();
}
