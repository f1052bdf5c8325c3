//! API benchmark: create and get throughput and latency with concurrent
//! clients, on embedded SQLite and on PostgreSQL, through the real router over
//! loopback HTTP.
//!
//! ```text
//! cargo run --release -p cloud-bench --bin api-bench -- --requests 2000 --concurrency 16
//! ```
//!
//! PostgreSQL comes from `--pg-url` or `CLOUD_TEST_PG_URL` (`scripts/testenv.sh up`); each run uses a new
//! database. The numbers it prints are recorded in `docs/benchmarks.md`.

use anyhow::{Context, Result, bail};
use clap::Parser;
use cloud_api::{ApiConfig, AppState};
use cloud_store::SqlStore;
use cloud_store::testing::TestDb;
use cloud_supervisor::Wake;
use futures::stream::{self, StreamExt};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "API throughput and latency on SQLite and PostgreSQL")]
struct Args {
    /// Requests per operation and backend.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// PostgreSQL server URL (default: $CLOUD_TEST_PG_URL); a new database is created on it.
    #[arg(long, env = "CLOUD_TEST_PG_URL")]
    pg_url: Option<String>,
    /// Only this backend (sqlite or postgres).
    #[arg(long)]
    only: Option<String>,
}

struct Row {
    backend: &'static str,
    operation: &'static str,
    requests: usize,
    concurrency: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Row {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
        sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mut rows = Vec::new();
    if args.only.as_deref().is_none_or(|b| b == "sqlite") {
        let db = TestDb::sqlite().await;
        rows.extend(run_backend("sqlite", db.store.clone(), &args).await?);
    }
    if args.only.as_deref().is_none_or(|b| b == "postgres") {
        let Some(pg_url) = &args.pg_url else {
            bail!(
                "PostgreSQL: set --pg-url or CLOUD_TEST_PG_URL (scripts/testenv.sh up), or pass --only sqlite"
            );
        };
        let db = TestDb::postgres_at(pg_url).await;
        rows.extend(run_backend("postgres", db.store.clone(), &args).await?);
    }
    print_table(&rows);
    Ok(())
}

async fn run_backend(backend: &'static str, store: SqlStore, args: &Args) -> Result<Vec<Row>> {
    let state = AppState::new(store, Wake::new(), ApiConfig::default())?;
    let app = cloud_api::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let base = format!("http://{addr}");
    cloud_client::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(args.concurrency)
        .build()?;

    let run_id = std::process::id();
    let started = Instant::now();
    let created: Vec<(Duration, String)> = stream::iter(0..args.requests)
        .map(|i| {
            let client = client.clone();
            let url = format!("{base}/api/installations");
            async move {
                let body = serde_json::json!({
                    "OwnerID": "bench",
                    "DNS": format!("bench{run_id}x{i}.example.com"),
                    "Database": "aws-rds",
                    "Filestore": "aws-s3",
                    "Size": "100users",
                    "Affinity": "multitenant",
                });
                let t = Instant::now();
                let resp = client.post(&url).json(&body).send().await?;
                let status = resp.status();
                let value: serde_json::Value = resp.json().await?;
                if status.as_u16() != 202 {
                    bail!("create answered {status}: {value}");
                }
                let id = value["ID"]
                    .as_str()
                    .context("no ID in the create answer")?
                    .to_string();
                Ok::<_, anyhow::Error>((t.elapsed(), id))
            }
        })
        .buffer_unordered(args.concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    let create_elapsed = started.elapsed();

    let ids: Vec<String> = created.iter().map(|(_, id)| id.clone()).collect();
    let started = Instant::now();
    let gets: Vec<Duration> = stream::iter(0..args.requests)
        .map(|i| {
            let client = client.clone();
            let url = format!("{base}/api/installation/{}", ids[(i * 7919) % ids.len()]);
            async move {
                let t = Instant::now();
                let resp = client.get(&url).send().await?;
                let status = resp.status();
                let _ = resp.bytes().await?;
                if status.as_u16() != 200 {
                    bail!("get answered {status}");
                }
                Ok::<_, anyhow::Error>(t.elapsed())
            }
        })
        .buffer_unordered(args.concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    let get_elapsed = started.elapsed();
    server.abort();

    Ok(vec![
        Row {
            backend,
            operation: "create installation",
            requests: args.requests,
            concurrency: args.concurrency,
            elapsed: create_elapsed,
            latencies: created.into_iter().map(|(d, _)| d).collect(),
        },
        Row {
            backend,
            operation: "get installation",
            requests: args.requests,
            concurrency: args.concurrency,
            elapsed: get_elapsed,
            latencies: gets,
        },
    ])
}

fn print_table(rows: &[Row]) {
    println!(
        "| backend | operation | requests | clients | throughput (req/s) | p50 (ms) | p99 (ms) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} |",
            r.backend,
            r.operation,
            r.requests,
            r.concurrency,
            r.requests as f64 / r.elapsed.as_secs_f64(),
            r.percentile(50.0),
            r.percentile(99.0),
        );
    }
}
