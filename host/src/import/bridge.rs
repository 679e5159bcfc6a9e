//! Where the synchronous vault meets the async plugin runtime, in one
//! place: an importer plugin runs on the tokio runtime and reads ahead on
//! its own thread ([`pipeline`]) while the caller writes to the vault on
//! this one.

use std::path::Path;

use super::engine::record_size;
use super::{Collected, ImportError, PART_BYTES, PART_RECORDS, Request, stream};

/// Runs an importer plugin over the source ([`super::stream`]) from
/// synchronous code inside the tokio runtime, handing each batch to `sink`
/// while the plugin reads ahead on another thread ([`pipeline`]).
///
/// # Errors
///
/// As [`super::stream`], or the first error of `sink`.
///
/// # Panics
///
/// Outside a multi-threaded tokio runtime.
pub fn stream_blocking(
    plugin_dir: &Path,
    cache_dir: &Path,
    request: &Request<'_>,
    sink: impl FnMut(Collected) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        pipeline(
            |send| runtime.block_on(stream(plugin_dir, cache_dir, request, send)),
            sink,
        )
    })
}

/// [`stream_blocking`], collecting every batch.
///
/// # Errors
///
/// As [`stream_blocking`].
pub fn collect_blocking(
    plugin_dir: &Path,
    cache_dir: &Path,
    request: &Request<'_>,
) -> Result<Collected, ImportError> {
    let mut all = Collected::default();
    stream_blocking(plugin_dir, cache_dir, request, |part| {
        all.extend(part);
        Ok(())
    })?;
    Ok(all)
}

/// Runs `produce` on its own thread and `consume` on this one, passing
/// each part through a channel, so that reading and parsing the source (in
/// the sandbox) overlaps writing what was read. The reader may run ahead
/// by up to one part ([`PART_RECORDS`] records or [`PART_BYTES`], but
/// always at least one item), so memory stays bounded. Order is kept. The
/// first error wins: a failing `consume` stops `produce` (its next
/// hand-over fails), a failing `produce` ends the parts `consume` receives.
/// Blocking: call it outside async code (or in `block_in_place`).
///
/// # Errors
///
/// The first error of `consume`, else of `produce`.
pub fn pipeline(
    produce: impl FnOnce(
        &mut dyn FnMut(Collected) -> Result<(), ImportError>,
    ) -> Result<(), ImportError>
    + Send,
    mut consume: impl FnMut(Collected) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    use std::sync::{Condvar, Mutex};
    /// Records and bytes handed over and not yet taken, and whether the
    /// consumer has stopped.
    struct Gate {
        ahead: Mutex<(usize, usize, bool)>,
        taken: Condvar,
    }
    let gate = Gate {
        ahead: Mutex::new((0, 0, false)),
        taken: Condvar::new(),
    };
    let size = |part: &Collected| -> (usize, usize) {
        (
            part.records.len(),
            part.records.iter().map(record_size).sum(),
        )
    };
    let (tx, rx) = std::sync::mpsc::channel::<Collected>();
    std::thread::scope(|scope| {
        let gate = &gate;
        let producer = scope.spawn(move || {
            produce(&mut |part| {
                let (records, bytes) = size(&part);
                let mut ahead = gate.ahead.lock().map_err(|_| ImportError::WriterPanicked)?;
                while !ahead.2
                    && (ahead.0 > 0 || ahead.1 > 0)
                    && (ahead.0 + records > PART_RECORDS || ahead.1 + bytes > PART_BYTES)
                {
                    ahead = gate
                        .taken
                        .wait(ahead)
                        .map_err(|_| ImportError::WriterPanicked)?;
                }
                if ahead.2 {
                    return Err(ImportError::WriterStopped);
                }
                ahead.0 += records;
                ahead.1 += bytes;
                drop(ahead);
                tx.send(part).map_err(|_| ImportError::WriterStopped)
            })
        });
        let release = |records: usize, bytes: usize, stop: bool| {
            if let Ok(mut ahead) = gate.ahead.lock() {
                ahead.0 = ahead.0.saturating_sub(records);
                ahead.1 = ahead.1.saturating_sub(bytes);
                ahead.2 |= stop;
            }
            gate.taken.notify_all();
        };
        let mut consumed = Ok(());
        for part in &rx {
            let (records, bytes) = size(&part);
            release(records, bytes, false);
            consumed = consume(part);
            if consumed.is_err() {
                break;
            }
        }
        // Unblocks a producer waiting to hand over a part.
        release(0, 0, true);
        drop(rx);
        let produced = producer.join().unwrap_or(Err(ImportError::ReaderPanicked));
        consumed.and(produced)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{NewRecord, RecordData, VaultError};

    fn part(title: &str) -> Collected {
        Collected {
            records: vec![NewRecord::new(RecordData::new("login", title))],
            ..Collected::default()
        }
    }

    #[test]
    fn pipeline_keeps_order_and_the_first_error_stops_both_sides() {
        let mut seen = Vec::new();
        pipeline(
            |send| (0..200).try_for_each(|i| send(part(&i.to_string()))),
            |p| {
                seen.push(p.records[0].data.title.clone());
                Ok(())
            },
        )
        .expect("pipeline");
        let expected: Vec<String> = (0..200).map(|i| i.to_string()).collect();
        assert_eq!(seen, expected);

        let produced = std::sync::atomic::AtomicUsize::new(0);
        let err = pipeline(
            |send| {
                for i in 0..100_000 {
                    send(part(&i.to_string()))?;
                    produced.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(())
            },
            |p| {
                if p.records[0].data.title == "3" {
                    return Err(VaultError::Storage("disk full".into()).into());
                }
                Ok(())
            },
        )
        .expect_err("the writer's error");
        assert_eq!(err.to_string(), "vault storage error: disk full");
        assert!(
            produced.load(std::sync::atomic::Ordering::Relaxed) < 100_000,
            "the reader stopped"
        );

        let err = pipeline(
            |_| Err(VaultError::Invalid("bad source".into()).into()),
            |_| Ok(()),
        )
        .expect_err("reader error");
        assert_eq!(err.to_string(), "bad source");
    }
}
