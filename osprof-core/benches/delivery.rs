//! Whole-process cost of delivery: CPU per span with a sink that serialises every payload
//! to JSON text, throughput, and resident memory after 10 million spans.
//!
//! `cargo bench -p osprof-core --bench delivery` prints one line per figure.

mod measure;

use std::hint::black_box;
use std::time::Instant;

use std::sync::Mutex;

use osprof_core::notifier::{Batch, Driver};
use osprof_core::{Error, Trace, notifier};

/// A storage-like driver: takes each payload as JSON text and appends it to a buffer that
/// it empties as a file or Redis driver would after writing it out.
struct JsonTextDriver(Mutex<Vec<u8>>);

impl Driver for JsonTextDriver {
    fn notify(&self, payload: &serde_json::Value) -> Result<(), Error> {
        let mut buffer = self.0.lock().unwrap();
        serde_json::to_writer(&mut *buffer, payload).expect("payloads serialise");
        black_box(buffer.len());
        buffer.clear();
        Ok(())
    }

    fn notify_batch(&self, batch: &mut Batch<'_>) -> Result<(), Error> {
        let mut buffer = self.0.lock().unwrap();
        while let Some(json) = batch.next_json() {
            buffer.extend_from_slice(json.as_bytes());
            buffer.push(b'\n');
            if buffer.len() > 1 << 16 {
                black_box(buffer.len());
                buffer.clear();
            }
        }
        Ok(())
    }
}

fn record(spans: u64) {
    osprof_core::init("bench", None, None);
    for _ in 0..spans {
        let _span = Trace::new("span", None);
    }
    osprof_core::clean();
    notifier::flush();
}

fn measure(label: &str, spans: u64) {
    let cpu_before = measure::cpu_seconds();
    let wall = Instant::now();
    record(spans);
    let elapsed = wall.elapsed().as_secs_f64();
    let cpu = measure::cpu_seconds() - cpu_before;
    println!(
        "delivery/{label}: {spans} spans, {:.0} ns process CPU per span, {:.2} M spans/s",
        cpu / spans as f64 * 1e9,
        spans as f64 / elapsed / 1e6
    );
}

fn main() {
    // `cargo bench --bench delivery -- json_text` runs the figures whose label holds
    // `json_text`; no filter runs them all.
    let filter = measure::filter();
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    record(100_000); // warm up: the delivery thread, the ring, the allocator
    let spans = 2_000_000;

    if "value_to_string_sink".contains(&filter) {
        // A closure sink that serialises each `Value` payload (`serde_json::to_string`).
        notifier::set(|payload: &serde_json::Value| {
            black_box(serde_json::to_string(payload).expect("payloads serialise"));
        });
        measure("value_to_string_sink", spans);
    }
    // A driver that takes the JSON text of each payload (`Batch::next_json`).
    notifier::set(JsonTextDriver(Mutex::new(Vec::new())));
    if "json_text_driver".contains(&filter) {
        measure("json_text_driver", spans);
    }
    if !"rss".contains(&filter) {
        return;
    }
    let rss_before = measure::resident_mib();
    record(10_000_000);
    let rss_after = measure::resident_mib();
    println!(
        "delivery/rss: 10M spans into the JSON text driver, RSS {rss_before:.1} MiB -> {rss_after:.1} MiB (+{:.1} MiB)",
        rss_after - rss_before
    );
    let stats = notifier::stats();
    println!(
        "delivery/stats: recorded {}, stored {}, dropped {}, failed {}",
        stats.recorded, stats.stored, stats.dropped, stats.failed
    );
}
