//! Standard output and error for the commands, so that a reader that goes
//! away early (`entra-csa plan … | head -1`) ends the output quietly instead
//! of with a panic (exit 101) or "error: Broken pipe".
//!
//! Two rules, by what a command's exit status says:
//! - Commands whose output *is* their result (`report`, `export` to stdout,
//!   `schema`, `completions`, `show`, a valid `validate`) stop at the closed
//!   pipe: the write error travels up and `cli::run` ends the program with
//!   status 0 and no message, as ripgrep does.
//! - Commands whose status carries a verdict (`plan`, `validate` with
//!   problems, `apply`, `check-access`) write through [`stdout`], which drops
//!   what nobody reads: the command runs to its end (a plan is still saved
//!   with `--out`, an apply still finishes) and its status stands, so a
//!   pipeline gate on exit 2 behind `| head` under `pipefail` never reads
//!   "no changes" where there are changes.

use std::io::{self, Write};

/// Whether `error` is, or was caused by, a write to a pipe whose reader has gone.
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|io_error| io_error.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Standard output that drops what it cannot write to a closed pipe; every
/// other error (a full disk behind `> file`) still fails the write.
pub fn stdout() -> DropsWhenClosed<io::Stdout> {
    DropsWhenClosed::new(io::stdout())
}

/// A writer whose writes succeed, unwritten, once its reader has gone.
#[derive(Debug)]
pub struct DropsWhenClosed<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> DropsWhenClosed<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        DropsWhenClosed { inner, closed: false }
    }

    /// Whether the reader has gone (some output was dropped).
    pub fn closed(&self) -> bool {
        self.closed
    }

    fn absorb<T>(&mut self, result: io::Result<T>, unwritten: T) -> io::Result<T> {
        match result {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(unwritten)
            }
            other => other,
        }
    }
}

impl<W: Write> Write for DropsWhenClosed<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buffer.len());
        }
        let result = self.inner.write(buffer);
        self.absorb(result, buffer.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = self.inner.flush();
        self.absorb(result, ())
    }
}

/// Writes a line to standard error, as `eprintln!` does, but never panics
/// when stderr is a closed pipe (`2>&1 | head -1`): a message nobody can
/// read is dropped.
macro_rules! tell {
    ($($message:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($message)*);
    }};
}
pub(crate) use tell;

/// As [`tell!`], without the line end (a prompt, or text that ends in one).
macro_rules! tell_part {
    ($($message:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr().lock(), $($message)*);
    }};
}
pub(crate) use tell_part;

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe whose reader has gone after `room` bytes.
    struct ClosesAfter {
        room: usize,
        written: Vec<u8>,
    }

    impl Write for ClosesAfter {
        fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
            if self.written.len() >= self.room {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            let take = buffer.len().min(self.room - self.written.len());
            self.written.extend_from_slice(&buffer[..take]);
            Ok(take)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_after_the_reader_has_gone_are_dropped() {
        let mut out = DropsWhenClosed::new(ClosesAfter { room: 4, written: Vec::new() });
        writeln!(out, "first line").unwrap();
        writeln!(out, "second line").unwrap();
        out.flush().unwrap();
        assert!(out.closed());
        assert_eq!(out.inner.written, b"firs");
    }

    #[test]
    fn other_errors_still_fail() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::StorageFull))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut out = DropsWhenClosed::new(Full);
        assert!(writeln!(out, "x").is_err());
        assert!(!out.closed());
    }

    #[test]
    fn a_closed_pipe_is_found_behind_context() {
        let error = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("cannot write the report");
        assert!(is_closed_pipe(&error));
        assert!(!is_closed_pipe(&anyhow::anyhow!("Broken pipe")));
    }
}
