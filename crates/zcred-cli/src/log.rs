//! The server's log writer: never blocks the code that logs.
//!
//! Each log line goes into a bounded queue that one thread drains to standard error. When the
//! sink stops reading (a full pipe, a FIFO nobody reads), only that thread waits; the queue
//! fills, and further lines are dropped and counted instead of stalling request handling or
//! shutdown. When the sink reads again, the thread first writes how many lines were dropped.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;

/// Lines that may wait for the sink.
const QUEUE: usize = 4096;

/// A [`tracing_subscriber`] writer factory over the queue.
#[derive(Clone)]
pub struct NonBlocking {
    queue: SyncSender<Vec<u8>>,
    dropped: Arc<AtomicU64>,
}

impl NonBlocking {
    /// A writer to `sink`, drained by a thread of its own.
    pub fn new(mut sink: impl Write + Send + 'static) -> NonBlocking {
        let (queue, lines) = mpsc::sync_channel::<Vec<u8>>(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&dropped);
        std::thread::Builder::new()
            .name("zcred-log".into())
            .spawn(move || {
                let mut reported = 0;
                for line in lines {
                    let now = counted.load(Ordering::Relaxed);
                    if now > reported {
                        let _ = writeln!(
                            sink,
                            "zcred: {} log lines were dropped: the log sink did not read them in time",
                            now - reported
                        );
                        reported = now;
                    }
                    let _ = sink.write_all(&line);
                    let _ = sink.flush();
                }
            })
            .map_or_else(
                |e| eprintln!("zcred: cannot start the log writer ({e}); logging to nothing"),
                |_| {},
            );
        NonBlocking { queue, dropped }
    }

    /// How many lines were dropped so far.
    #[cfg(test)]
    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// One log line being formatted; it is queued (or dropped) when tracing is done with it.
pub struct Line {
    buffer: Vec<u8>,
    writer: NonBlocking,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        match self.writer.queue.try_send(std::mem::take(&mut self.buffer)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.writer.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for NonBlocking {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            buffer: Vec::with_capacity(256),
            writer: self.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that never takes anything: writing blocks forever.
    struct Stuck;

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            loop {
                std::thread::park();
            }
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_sink_drops_and_counts_instead_of_blocking() {
        let writer = NonBlocking::new(Stuck);
        let logging = writer.clone();
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            for n in 0..(QUEUE + 500) {
                let mut line = tracing_subscriber::fmt::MakeWriter::make_writer(&logging);
                writeln!(line, "line {n}").unwrap();
            }
            done.send(()).unwrap();
        });
        // Bounded: a writer that blocked would never get here.
        finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("logging to a stuck sink blocked");
        // The writer thread holds one line in the stuck write; the queue holds QUEUE more.
        assert!(writer.dropped() >= 499, "{}", writer.dropped());
        assert!(writer.dropped() <= 500, "{}", writer.dropped());
    }

    /// A sink that collects what reaches it.
    #[derive(Clone, Default)]
    struct Collected(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Collected {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_reach_the_sink_and_drops_are_reported() {
        let sink = Collected::default();
        let writer = NonBlocking::new(sink.clone());
        writer.dropped.fetch_add(3, Ordering::Relaxed);
        let mut line = tracing_subscriber::fmt::MakeWriter::make_writer(&writer);
        writeln!(line, "after the drops").unwrap();
        drop(line);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
            if text.contains("after the drops") {
                assert!(
                    text.starts_with("zcred: 3 log lines were dropped"),
                    "{text}"
                );
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{text}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
