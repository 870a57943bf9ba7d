//! Prometheus metrics (text exposition format, served at GET /metrics).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Every metric the node exports.
pub struct Metrics {
    registry: Registry,
    pub txs_committed: Counter,
    pub txs_failed: Counter,
    pub txs_admitted: Counter,
    pub txs_rejected: Family<Vec<(String, String)>, Counter>,
    pub blocks: Counter,
    pub height: Gauge,
    pub mempool_depth: Gauge,
    pub block_txs: Histogram,
    pub block_interval_seconds: Histogram,
    pub block_commit_seconds: Histogram,
    pub submit_to_commit_seconds: Histogram,
    pub http_requests: Family<Vec<(String, String)>, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("verity");
        let m = Metrics {
            txs_committed: Counter::default(),
            txs_failed: Counter::default(),
            txs_admitted: Counter::default(),
            txs_rejected: Family::default(),
            blocks: Counter::default(),
            height: Gauge::default(),
            mempool_depth: Gauge::default(),
            block_txs: Histogram::new(exponential_buckets(1.0, 4.0, 8)),
            block_interval_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 14)),
            block_commit_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            submit_to_commit_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            http_requests: Family::default(),
            registry: Registry::default(),
        };
        registry.register("txs_committed", "Transactions committed in blocks (rate = tx/s)", m.txs_committed.clone());
        registry.register("txs_failed", "Committed transactions whose action failed", m.txs_failed.clone());
        registry.register("txs_admitted", "Transactions admitted to the mempool", m.txs_admitted.clone());
        registry.register("txs_rejected", "Transactions refused at admission, by code", m.txs_rejected.clone());
        registry.register("blocks", "Blocks committed", m.blocks.clone());
        registry.register("height", "Height of the last committed block", m.height.clone());
        registry.register("mempool_depth", "Transactions waiting in the mempool", m.mempool_depth.clone());
        registry.register("block_txs", "Transactions per block", m.block_txs.clone());
        registry.register(
            "block_interval_seconds",
            "Time between consecutive committed blocks",
            m.block_interval_seconds.clone(),
        );
        registry.register(
            "block_commit_seconds",
            "Time to execute, prove, sign and durably commit one block",
            m.block_commit_seconds.clone(),
        );
        registry.register(
            "submit_to_commit_seconds",
            "Latency from admission to durable commit, per transaction",
            m.submit_to_commit_seconds.clone(),
        );
        registry.register("http_requests", "HTTP requests by route and status", m.http_requests.clone());
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// Renders the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing metrics into a String cannot fail");
        out
    }
}
